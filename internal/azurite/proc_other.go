//go:build !unix

package azurite

import "os/exec"

// setProcessGroup does nothing: without Unix process groups only Azurite's
// own process is stopped.
func setProcessGroup(*exec.Cmd) {}

// signalGroup kills cmd's process (there is no SIGTERM to send).
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
