//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeDevRunsAUsersOwnConfiguration follows the README's "Try your own configuration": `make
// dev` (scripts/dev.sh) builds the provider, starts the fake and prints a file to source; a
// configuration of the user's own then plans and applies with no `terraform init`, and Ctrl-C
// stops the fake and removes everything the script wrote.
func TestMakeDevRunsAUsersOwnConfiguration(t *testing.T) {
	tf := terraformCLI(t)
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	devDir := filepath.Join(t.TempDir(), "dev")

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	script := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "dev.sh"))
	script.Dir = root
	script.Env = append(os.Environ(), "DEV_DIR="+devDir)
	script.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as a terminal runs it
	var out bytes.Buffer
	script.Stdout, script.Stderr = &out, &out
	if err := script.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = script.Wait() // Ctrl-C ends it with a signal's exit status
		close(done)
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = syscall.Kill(-script.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()

	envFile := filepath.Join(devDir, "dev.env")
	waitFor(t, 2*time.Minute, func() bool {
		_, err := os.Stat(envFile)
		return err == nil && strings.Contains(out.String(), "Ctrl-C here stops the fake")
	})
	if !strings.Contains(out.String(), "source "+envFile) {
		t.Fatalf("make dev does not say what to source:\n%s", out.String())
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
	env = append(env, sourced(t, envFile)...)
	for _, secretName := range []string{"ARM_CLIENT_SECRET="} {
		for _, kv := range env {
			if strings.HasPrefix(kv, secretName) && strings.Contains(out.String(), strings.TrimPrefix(kv, secretName)) {
				t.Errorf("make dev printed the value of %s", strings.TrimSuffix(secretName, "="))
			}
		}
	}

	work := t.TempDir()
	writeFile(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    partnerbilling = {
      source = "partnerbilling/partnerbilling"
    }
  }
}

resource "partnerbilling_unbilled_usage_export" "mine" {
  currency_code  = "EUR"
  billing_period = "last"
}

output "status" {
  value = partnerbilling_unbilled_usage_export.mine.status
}
`)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, tf.path, args...)
		cmd.Dir, cmd.Env = work, env
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tf.name, strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	run("plan", "-input=false", "-no-color") // no init: dev_overrides
	if got := run("apply", "-input=false", "-auto-approve", "-no-color"); !strings.Contains(got, `status = "succeeded"`) {
		t.Fatalf("apply against make dev's fake:\n%s", got)
	}

	// Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
	if err := syscall.Kill(-script.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		stopped = true
	case <-time.After(20 * time.Second):
		t.Fatalf("make dev did not stop within 20 s of Ctrl-C:\n%s", out.String())
	}
	if _, err := os.Stat(devDir); !os.IsNotExist(err) {
		t.Errorf("make dev left %s behind (stat: %v)", devDir, err)
	}
	if !strings.Contains(out.String(), "dev: stopped the fake and removed "+devDir) {
		t.Errorf("make dev did not say it stopped:\n%s", out.String())
	}
}

// sourced reads the `export NAME='value'` lines of a file that make dev prints to source.
func sourced(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if !ok {
			continue
		}
		env = append(env, name+"="+strings.ReplaceAll(strings.Trim(value, "'"), `'\''`, `'`))
	}
	return env
}
