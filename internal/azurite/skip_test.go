package azurite_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/azurite"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// recorder is a testing.TB whose Skip and Fatal record the message and end
// the goroutine, as the real ones do, without ending the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()          {}
func (r *recorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skipf(f string, args ...any) {
	r.skipped = fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (r *recorder) Cleanup(func()) { panic("Start registered a cleanup before skipping") }

func runStart(t *testing.T) *recorder {
	fg, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fg.Close()
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		azurite.Start(r, fg)
		t.Error("Start returned without an Azurite binary")
	}()
	<-done
	return r
}

// TestStartWithoutAzurite: without PARTNERBILLING_AZURITE, Start skips and
// says how to get Azurite; with PARTNERBILLING_REQUIRE_AZURITE=1 it fails.
func TestStartWithoutAzurite(t *testing.T) {
	for name, tc := range map[string]struct {
		bin, require string
		wantFail     bool
	}{
		"unset":             {bin: "", require: ""},
		"missing file":      {bin: t.TempDir() + "/azurite-blob", require: ""},
		"unset, required":   {bin: "", require: "1", wantFail: true},
		"missing, required": {bin: t.TempDir() + "/azurite-blob", require: "1", wantFail: true},
		"unset, require=0":  {bin: "", require: "0"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(azurite.EnvBinary, tc.bin)
			t.Setenv(azurite.EnvRequire, tc.require)
			r := runStart(t)
			msg := r.skipped
			if tc.wantFail {
				msg = r.failed
				if r.skipped != "" {
					t.Errorf("skipped (%q), want a failure", r.skipped)
				}
			} else if r.failed != "" {
				t.Errorf("failed (%q), want a skip", r.failed)
			}
			if !strings.Contains(msg, "make azurite") || !strings.Contains(msg, azurite.EnvBinary) {
				t.Errorf("message %q does not name `make azurite` and %s", msg, azurite.EnvBinary)
			}
		})
	}
}
