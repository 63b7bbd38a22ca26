package download

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
	"regexp"
)

// A temporary file is "." + random hex + ".tmp" beside its final file: at
// most tempMax bytes, and never longer than the final name when that has at
// least tempMin bytes, so that any legal name (up to 255 bytes) can be
// downloaded.
const (
	tempMin = len(".0.tmp")            // 6
	tempMax = len(".0123456789ab.tmp") // 17
)

var tempRE = regexp.MustCompile(`^\.[0-9a-f]{1,12}\.tmp$`)

// IsTemporary says whether the last segment of name is a temporary file of
// a download (what an interrupted or failed download never leaves behind).
func IsTemporary(name string) bool { return tempRE.MatchString(path.Base(name)) }

func tempName(local string) (string, error) {
	dir, base := path.Split(local)
	n := min(max(len(base), tempMin), tempMax) - len("..tmp")
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return dir + "." + hex.EncodeToString(b)[:n] + ".tmp", nil
}

// createTemp creates a new temporary file for local, never one that exists
// and never one that is the final name of a blob of this download.
func (d *downloader) createTemp(local string) (string, *os.File, error) {
	for attempt := 0; ; attempt++ {
		tmp, err := tempName(local)
		if err != nil {
			return "", nil, err
		}
		if d.finals[fileKey(tmp)] && attempt < 50 {
			continue
		}
		f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && attempt < 50 {
			continue
		}
		return tmp, f, err
	}
}
