package blobcopy_test

import (
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobcopy"
)

// TestCopyRefusesARootDirectoryWithAQuery: a rootDirectory that is not a
// plain https directory URL is refused before any request, and the error
// quotes it without its query (a sig= there is a SAS), as the download does.
func TestCopyRefusesARootDirectoryWithAQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := manifestOf(t, e.manifest)
	m.RootDirectory += "?sv=2023-11-03&sig=SeCrEtSiGnAtUrE"
	_, err := blobcopy.Copy(t.Context(), m, e.target(), e.opts(t))
	if err == nil || !strings.Contains(err.Error(), "is not an https blob directory URL") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "SeCrEt") {
		t.Errorf("the rejected rootDirectory is quoted with its SAS: %v", err)
	}
	if n := e.refreshes.Load(); n != 0 {
		t.Errorf("%d manifest re-reads", n)
	}
}
