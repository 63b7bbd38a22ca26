package blobcopy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Container is a destination blob container, parsed from its URL.
type Container struct {
	// URL is "https://host[:port]/[account/]container", no trailing '/'.
	URL string
	// Host is the URL's host (with its port): the one host the Storage
	// token is sent to.
	Host string
	// Account is the storage account of the emulator's path form
	// (/{account}/{container}); empty for the account-host form.
	Account string
	// Name is the container's name.
	Name string
}

// containerNameRE is Azure's container name rule: lower-case letters,
// digits and '-', starting and ending with a letter or digit, no "--"; its
// length (3 to 63) is checked apart (validContainerName).
var containerNameRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

func validContainerName(s string) bool {
	return len(s) >= 3 && len(s) <= 63 && containerNameRE.MatchString(s)
}

// accountNameRE is the emulator's account segment (devstoreaccount1).
var accountNameRE = regexp.MustCompile(`^[a-z0-9]{3,24}$`)

// ParseContainerURL checks a container_url: https, a host, no userinfo, no
// query (a SAS is refused: the provider signs in with its own credential),
// no fragment, and one path segment (the container) or, when the host is an
// IP address or localhost (the emulator's form), two (/{account}/{container}).
// One trailing '/' is accepted. Errors say what is wrong, never echo a query.
func ParseContainerURL(raw string) (*Container, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("it is not a URL")
	}
	if u.RawQuery != "" || u.ForceQuery {
		if q, _ := url.ParseQuery(u.RawQuery); q.Has("sig") || q.Has("sv") || q.Has("se") {
			return nil, errors.New("it carries a SAS token (a query string): the provider signs in to Azure Storage with its own credential, " +
				"so give the container URL without '?…' and grant the identity Storage Blob Data Contributor on the container")
		}
		return nil, errors.New("it has a query string ('?…'): give the container URL alone; the provider signs in to Azure Storage " +
			"with its own credential, so no SAS or other query is used")
	}
	switch {
	case u.Scheme != "https":
		return nil, errors.New("it must start with https://")
	case u.User != nil:
		return nil, errors.New("it must not carry a user name or password (user@host)")
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("it has no host")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("it must not have a fragment ('#…')")
	case u.RawPath != "" && u.RawPath != u.Path:
		return nil, errors.New("its path must not hold escaped characters")
	}
	p := strings.TrimPrefix(u.Path, "/")
	p = strings.TrimSuffix(p, "/")
	segs := strings.Split(p, "/")
	if p == "" {
		segs = nil
	}
	c := &Container{Host: u.Host}
	emulator := isEmulatorHost(u.Hostname())
	switch {
	case len(segs) == 1:
		c.Name = segs[0]
	case len(segs) == 2 && emulator:
		c.Account, c.Name = segs[0], segs[1]
		if !accountNameRE.MatchString(c.Account) {
			return nil, fmt.Errorf("its first path segment %q is not a storage account name (3 to 24 lower-case letters and digits)", c.Account)
		}
	case len(segs) == 2:
		return nil, errors.New("its path must be the container name alone (https://{account}.blob.core.windows.net/{container}); " +
			"the /{account}/{container} form is only for an emulator at an IP address or localhost")
	case emulator:
		return nil, errors.New("its path must be /{container}, or /{account}/{container} for an emulator")
	default:
		return nil, errors.New("its path must be the container name alone (https://{account}.blob.core.windows.net/{container})")
	}
	if !validContainerName(c.Name) {
		return nil, fmt.Errorf("%q is not a container name: 3 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit", c.Name)
	}
	c.URL = "https://" + u.Host + "/" + strings.Join(segs, "/")
	return c, nil
}

func isEmulatorHost(h string) bool {
	return strings.EqualFold(h, "localhost") || net.ParseIP(h) != nil
}

// BlobURL is the URL of blob name in the container, each '/'-separated
// segment escaped as url.PathEscape does. It carries no query.
func (c *Container) BlobURL(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.URL + "/" + strings.Join(segs, "/")
}

// MaxPrefix is the longest prefix accepted.
const MaxPrefix = 512

// maxBlobName is Azure's limit on a blob name, in characters.
const maxBlobName = 1024

// CheckPrefix checks a prefix: no leading '/', no "." or ".." segment, no
// backslash or control character, at most MaxPrefix characters. Empty is
// allowed (the blobs land at the container's root).
func CheckPrefix(p string) error {
	if n := len([]rune(p)); n > MaxPrefix {
		return fmt.Errorf("it is %d characters long; at most %d are allowed", n, MaxPrefix)
	}
	if strings.HasPrefix(p, "/") {
		return errors.New("it must not start with '/'")
	}
	if strings.Contains(p, `\`) {
		return errors.New(`it must not contain a backslash ('\'); use '/' between folders`)
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return errors.New("it must not contain control characters")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return errors.New("it must not contain a '.' or '..' segment")
		}
	}
	return nil
}

// DefaultPrefix is the prefix of a copy without one: "{manifest_id}/".
func DefaultPrefix(manifestID string) string { return manifestID + "/" }

// NameError is a manifest blob name that cannot be a destination blob
// name under the prefix: nothing was copied.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("blob name %q %s", e.Name, e.Reason) }

// checkNames refuses, before any request, a blob name that could land
// outside the prefix or is not a usable blob name (empty, a '.' or '..'
// segment — the service resolves them in the URL path —, a leading '/', a
// backslash or a control character), and a name listed twice.
func checkNames(blobs []string, prefix string) error {
	seen := make(map[string]bool, len(blobs))
	for _, n := range blobs {
		reason := ""
		switch {
		case n == "":
			reason = "is empty"
		case strings.HasPrefix(n, "/"):
			reason = "starts with '/'"
		case strings.Contains(n, `\`):
			reason = "contains a backslash"
		case strings.IndexFunc(n, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0:
			reason = "contains a control character"
		case seen[n]:
			reason = "is listed twice"
		case len([]rune(prefix+n)) > maxBlobName:
			reason = fmt.Sprintf("would make a destination name of %d characters; Azure allows %d", len([]rune(prefix+n)), maxBlobName)
		}
		for _, seg := range strings.Split(n, "/") {
			if reason == "" && (seg == "." || seg == "..") {
				reason = "contains a '.' or '..' segment, which could land outside the prefix"
			}
		}
		if reason != "" {
			return &NameError{Name: n, Reason: reason}
		}
		seen[n] = true
	}
	return nil
}
