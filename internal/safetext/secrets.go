package safetext

import "regexp"

var (
	queryRE = regexp.MustCompile(`\?[^\s"'<>]*`)
	sigRE   = regexp.MustCompile(`(?i)\bsig=[^&\s"'<>]*`)
)

// NoSecrets is Field for text that may echo a URL (a blob host's error
// code, request id or message, a rejected URL, a transport error): every
// query string becomes "?[redacted]" and every sig= value "[redacted]"
// before Field cleans it, so no SAS token survives into an error, a
// diagnostic or a log line.
func NoSecrets(s string) string { return Field(RedactSAS(s)) }

// RedactSAS is NoSecrets without Field: every query string becomes
// "?[redacted]" and every sig= value "[redacted]", nothing else changes.
func RedactSAS(s string) string {
	s = queryRE.ReplaceAllString(s, "?[redacted]")
	return sigRE.ReplaceAllString(s, "sig=[redacted]")
}
