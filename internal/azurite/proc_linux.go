package azurite

import "syscall"

// setParentDeathSignal has the kernel kill Azurite if the test binary dies
// without running its cleanups (a panic, `go test -timeout`).
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
