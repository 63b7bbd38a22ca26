package download

import (
	"fmt"
	"slices"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// ManifestChangedError is a manifest read again for a fresh SAS token that
// is not the manifest the download started with: the export's data changed
// during the download, and mixing the two versions would be wrong. Files of
// the first version already in place stay (each complete and verified).
type ManifestChangedError struct {
	FirstETag, SecondETag string
	What                  string // "eTag", "rootDirectory" or "blob names"
}

func (e *ManifestChangedError) Error() string {
	return fmt.Sprintf("the manifest changed during the download (changed: %s): eTag %q when the download started, %q when it was read "+
		"again for a fresh SAS token", e.What, e.FirstETag, e.SecondETag)
}

// manifestChange says what differs between the manifest a download started
// with and the one read again ("" when they are the same version).
func manifestChange(first, second *graph.Manifest) error {
	what := ""
	switch {
	case first.ETag != second.ETag:
		what = "eTag"
	case first.RootDirectory != second.RootDirectory:
		what = "rootDirectory"
	case !slices.Equal(blobNames(first), blobNames(second)):
		what = "blob names"
	default:
		return nil
	}
	return &ManifestChangedError{FirstETag: first.ETag, SecondETag: second.ETag, What: what}
}

func blobNames(m *graph.Manifest) []string {
	out := make([]string, len(m.Blobs))
	for i, b := range m.Blobs {
		out[i] = b.Name
	}
	slices.Sort(out)
	return out
}
