package safetext

import (
	"strings"
	"testing"
)

func TestNoSecrets(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain code": "plain code",
		"https://a.blob/c/d?sv=1&sig=abc%2B&se=2":        "https://a.blob/c/d?[redacted]",
		"AuthFailed sig=abc%3D&sp=rl":                    "AuthFailed sig=[redacted]&sp=rl",
		"SIG=abc":                                        "sig=[redacted]",
		"rid\x1b[2J ?sv=x":                               "rid[2J ?[redacted]",
		`<Message>GET /c/b.json.gz?sig=x&sv=1</Message>`: `<Message>GET /c/b.json.gz?[redacted]</Message>`,
	}
	for in, want := range tests {
		if got := NoSecrets(in); got != want {
			t.Errorf("NoSecrets(%q) = %q, want %q", in, got, want)
		}
	}
	if got := NoSecrets(strings.Repeat("a", 2*MaxField)); len(got) > MaxField+3 {
		t.Errorf("NoSecrets does not cut at MaxField: %d bytes", len(got))
	}
}

// TestRedactSAS: the query and sig= go, nothing else is touched (no Strip,
// no cut: the copy's progress fields and transport errors keep their text).
func TestRedactSAS(t *testing.T) {
	t.Parallel()
	in := "GET https://a.blob/c/d?sv=1&sig=abc: reset \x07 " + strings.Repeat("x", MaxField+5) + " sig=def"
	want := "GET https://a.blob/c/d?[redacted] reset \x07 " + strings.Repeat("x", MaxField+5) + " sig=[redacted]"
	if got := RedactSAS(in); got != want {
		t.Errorf("RedactSAS = %q", got)
	}
}
