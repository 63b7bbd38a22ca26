package download

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NameError is a blob name that cannot become a file inside the directory:
// names come from the service, and a hostile one must never write anywhere
// else.
type NameError struct {
	Name   string // as the manifest sent it (quote it with %q: it may hold control characters)
	Reason string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("blob name %q is refused: %s", e.Name, e.Reason)
}

// LocalName is the file a blob is written to, relative to the download
// directory, with '/' as the separator: the blob's name, whose sub-folders
// are kept, without its ".gz" when decompress is set. A name with a ".."
// or "." segment, an empty segment, a leading '/', a backslash, a NUL or
// another control character, or that is not a local path on this system
// (a Windows drive or reserved name) is refused.
func LocalName(name string, decompress bool) (string, error) {
	refuse := func(reason string) (string, error) { return "", &NameError{Name: name, Reason: reason} }
	switch {
	case name == "":
		return refuse("it is empty")
	case !utf8.ValidString(name):
		return refuse("it is not valid UTF-8")
	case strings.HasPrefix(name, "/"):
		return refuse("it is an absolute path")
	case strings.Contains(name, `\`):
		return refuse("it contains a backslash")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			if r == 0 {
				return refuse("it contains a NUL character")
			}
			return refuse("it contains a control character")
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return refuse("it has an empty path segment (a doubled or trailing '/')")
		case ".", "..":
			return refuse(fmt.Sprintf("it has a %q path segment", seg))
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return refuse("it is not a local path on this system")
	}
	local := name
	if decompress {
		local = strings.TrimSuffix(name, ".gz")
		if base := path.Base(local); local == "" || base == "" || strings.HasSuffix(local, "/") {
			return refuse("without its .gz it names no file")
		}
	}
	return local, nil
}

// localNames maps every blob name to its file and refuses, before anything
// is written, names that are hostile, repeated, or that would collide (the
// same file twice, or a file where another blob needs a folder) on this
// file system or on a case-insensitive or Unicode-normalising one (macOS,
// Windows): there the second rename would overwrite the first.
func localNames(names []string, decompress bool) ([]string, error) {
	out := make([]string, len(names))
	files := make(map[string]string, len(names)) // fileKey(local) -> blob name
	dirs := map[string]string{}                  // fileKey of every parent folder -> a blob name needing it
	for i, n := range names {
		local, err := LocalName(n, decompress)
		if err != nil {
			return nil, err
		}
		key := fileKey(local)
		if other, dup := files[key]; dup {
			switch {
			case other == n:
				return nil, &NameError{Name: n, Reason: "the manifest lists it twice"}
			case localOf(other, decompress) == local:
				return nil, &NameError{Name: n, Reason: fmt.Sprintf("it would be written to the same file as blob %q", other)}
			}
			return nil, &NameError{Name: n, Reason: fmt.Sprintf("it would be the same file as blob %q on a case-insensitive or "+
				"Unicode-normalising file system (macOS, Windows), where one would overwrite the other", other)}
		}
		files[key] = n
		for d := path.Dir(local); d != "."; d = path.Dir(d) {
			dirs[fileKey(d)] = n
		}
		out[i] = local
	}
	for key, n := range files {
		if other, clash := dirs[key]; clash {
			return nil, &NameError{Name: n, Reason: fmt.Sprintf("blob %q needs a folder of that name", other)}
		}
	}
	return out, nil
}

func localOf(name string, decompress bool) string {
	l, _ := LocalName(name, decompress)
	return l
}

var fold = cases.Fold()

// fileKey is what a case-insensitive, normalising file system sees of a
// path: the canonical caseless form NFD(fold(NFD(s))), so that
// "Part-1.json.gz" and "part-1.json.gz", or the NFC and NFD forms of one
// name, have one key.
func fileKey(local string) string {
	return norm.NFD.String(fold.String(norm.NFD.String(local)))
}
