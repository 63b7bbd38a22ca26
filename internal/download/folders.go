package download

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Created is the folders a download created, so that they can be removed
// again when empty (a failed Create, a Delete) and a folder that existed
// before never is. It is recorded in the resource's private state.
type Created struct {
	// Levels is how many folders it created at and above the directory:
	// 0 none, 1 the directory itself, 2 the directory and its parent, ...
	Levels int `json:"levels"`
	// Folders are the sub-folders of blob names it created inside the
	// directory ('/'-separated, relative to it), sorted.
	Folders []string `json:"folders,omitempty"`
}

// DirError is a download directory that cannot be created or written.
type DirError struct {
	Dir string
	Err error // the OS reason
}

func (e *DirError) Error() string {
	return fmt.Sprintf("the directory %s cannot be written: %v", e.Dir, e.Err)
}

func (e *DirError) Unwrap() error { return e.Err }

// PrepareDir creates dir when missing (with its missing parents) and checks
// that a file can be created and removed in it (a probe file). It returns
// the folders it created; when the check fails, it removes those again and
// returns a *DirError with the OS reason.
func PrepareDir(dir string) (Created, error) {
	if dir == "" {
		return Created{}, &DirError{Dir: dir, Err: errors.New("the directory is empty")}
	}
	var c Created
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		// Any error counts as missing: MkdirAll then says why it fails,
		// and a folder that was not there cannot have existed before.
		if _, err := os.Lstat(p); err == nil {
			break
		}
		c.Levels++
		if filepath.Dir(p) == p {
			break
		}
	}
	fail := func(err error) (Created, error) {
		c.RemoveEmpty(dir)
		return Created{}, &DirError{Dir: dir, Err: err}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fail(err)
	}
	name := probe.Name()
	cerr := probe.Close()
	if err := os.Remove(name); err != nil {
		return fail(err)
	}
	if cerr != nil {
		return fail(cerr)
	}
	return c, nil
}

// RemoveEmpty removes each folder of c under dir that is empty, deepest
// first: the sub-folders, then dir and the parents it created. A folder
// that holds anything is kept; so is anything that is no longer a folder.
func (c *Created) RemoveEmpty(dir string) {
	if len(c.Folders) > 0 {
		if root, err := os.OpenRoot(dir); err == nil {
			removeEmpty(root, slices.Clone(c.Folders))
			_ = root.Close()
		}
	}
	p := filepath.Clean(dir)
	for range c.Levels {
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			_ = os.Remove(p) // fails when not empty: kept
		}
		if filepath.Dir(p) == p {
			break
		}
		p = filepath.Dir(p)
	}
}

// addFolders records sub-folders created inside the directory.
func (c *Created) addFolders(list []string) {
	for _, f := range list {
		if !slices.Contains(c.Folders, f) {
			c.Folders = append(c.Folders, f)
		}
	}
	slices.SortFunc(c.Folders, strings.Compare)
}
