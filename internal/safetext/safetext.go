// Package safetext makes text that came from a server (a Graph error
// message, an operation status, an identity platform's error description)
// safe to show in a terminal: no control characters, so no escape sequence
// can clear the screen, recolour it or retitle the window, and no field
// longer than MaxField runes. It imports nothing of this module.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// MaxField is the most runes of one server-provided field a message repeats.
const MaxField = 1000

// Field cleans one server-provided value: Strip, then cut at MaxField runes,
// ending in "…" where cut.
func Field(s string) string {
	s = Strip(s)
	if utf8.RuneCountInString(s) <= MaxField {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxField {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Strip removes control characters: C0 but newline and tab, DEL and C1.
// Invalid UTF-8 becomes U+FFFD (it could otherwise hide a C1 byte).
func Strip(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !control(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return cleanRunes(s[i:])
		}
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func cleanRunes(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || control(r) {
			return false
		}
	}
	return true
}

func control(r rune) bool {
	switch {
	case r == '\n', r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	}
	return false
}
