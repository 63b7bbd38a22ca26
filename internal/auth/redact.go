package auth

import (
	"regexp"
	"strings"
)

// jwtLike matches compact JWTs (access tokens, ID tokens, assertions):
// base64url JSON header "eyJ…", then one or two dot-separated segments.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// maxQuoted caps how much of another program's message an error repeats.
const maxQuoted = 400

// redact prepares text from another program or service (az's stderr, an
// endpoint's error message) for an error message: anything shaped like a
// token is removed, and the text is cut to one short line.
func redact(s string) string {
	s = jwtLike.ReplaceAllString(s, "[redacted token]")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxQuoted {
		s = s[:maxQuoted] + "…"
	}
	return s
}
