package download

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// State is what became of a file written earlier.
type State int

// The states Check reports.
const (
	Unchanged State = iota // there, with its recorded size and SHA-256
	Missing                // gone (or its directory is)
	Changed                // another size or content, or no longer a regular file
)

func (s State) String() string {
	switch s {
	case Unchanged:
		return "unchanged"
	case Missing:
		return "missing"
	default:
		return "changed"
	}
}

// Check reports whether f (Local, Size, SHA256; ModTime as recorded, zero
// if unknown) is still in dir as written. Size and modification time come
// first: the file is hashed only when its time is not the recorded one. It
// returns the file's current modification time, to record when the file is
// unchanged. It only reads, and only inside dir.
func Check(dir string, f File) (State, time.Time, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Missing, time.Time{}, nil
	}
	if err != nil {
		return Changed, time.Time{}, fmt.Errorf("opening %s: %w", dir, err)
	}
	defer root.Close()
	return check(root, f)
}

func check(root *os.Root, f File) (State, time.Time, error) {
	fi, err := root.Lstat(f.Local)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Missing, time.Time{}, nil
	case err != nil && isPathConflict(err):
		return Missing, time.Time{}, nil // a file where its folder was
	case err != nil:
		// It can no longer be reached inside the directory (a sub-folder
		// replaced by a symlink that leads outside, a folder that cannot be
		// read): changed, never an error that would block plan or destroy.
		return Changed, time.Time{}, nil //nolint:nilerr // see above
	case !fi.Mode().IsRegular() || fi.Size() != f.Size:
		return Changed, fi.ModTime(), nil
	case !f.ModTime.IsZero() && fi.ModTime().Equal(f.ModTime):
		return Unchanged, fi.ModTime(), nil
	}
	sum, err := hashFile(root, f.Local)
	if err != nil {
		return Changed, fi.ModTime(), nil //nolint:nilerr // unreadable counts as changed, as above
	}
	if sum != f.SHA256 {
		return Changed, fi.ModTime(), nil
	}
	return Unchanged, fi.ModTime(), nil
}

// isPathConflict is ENOTDIR: a parent of the file is no longer a folder.
func isPathConflict(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(strings.ToLower(pe.Err.Error()), "not a directory")
}

func hashFile(root *os.Root, local string) (string, error) {
	fh, err := root.Open(local)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", local, err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, fh, make([]byte, copyBufferSize)); err != nil {
		return "", fmt.Errorf("reading %s: %w", local, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Removal is what Remove did.
type Removal struct {
	Removed []string // Local names of the files deleted
	Kept    []string // Local names of the files kept because they changed
}

// Remove deletes the files of files that are still as written, keeps every
// changed one (and every file it did not write), then removes each folder
// of created that it left empty (never a folder that existed before the
// download). created nil (a download recorded before folders were) removes
// the empty folders of the files and dir itself, as earlier versions did.
// A file already gone is no error. Every file is hashed, whatever its time
// says: an edit that kept the size and the time must not be deleted.
func Remove(dir string, files []File, created *Created) (Removal, error) {
	var out Removal
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("opening %s: %w", dir, err)
	}
	folders := map[string]bool{}
	var errs []error
	for _, f := range files {
		f.ModTime = time.Time{}
		st, _, err := check(root, f)
		switch {
		case err != nil:
			errs = append(errs, err)
			out.Kept = append(out.Kept, f.Local)
		case st == Changed:
			out.Kept = append(out.Kept, f.Local)
		case st == Unchanged:
			if err := root.Remove(f.Local); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing %s: %w", f.Local, err))
				continue
			}
			out.Removed = append(out.Removed, f.Local)
		}
		for d := path.Dir(f.Local); d != "."; d = path.Dir(d) {
			folders[d] = true
		}
	}
	_ = root.Close()
	if created == nil {
		legacy := Created{Levels: 1}
		for d := range folders {
			legacy.Folders = append(legacy.Folders, d)
		}
		created = &legacy
	}
	created.RemoveEmpty(dir)
	return out, errors.Join(errs...)
}
