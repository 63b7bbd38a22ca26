package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStrip(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain":                                "plain",
		"line\nbreak\tand tab":                 "line\nbreak\tand tab",
		"\x1b[2Jcleared":                       "[2Jcleared",
		"\x1b[31mred\x1b[0m":                   "[31mred[0m",
		"\x1b]0;owned\x07title":                "]0;ownedtitle",
		"cr\rreturn":                           "crreturn",
		"del\x7f":                              "del",
		"c1\u009b31m csi":                      "c131m csi",
		"nul\x00byte":                          "nulbyte",
		"bad utf8 \xff\x9b":                    "bad utf8 \ufffd\ufffd",
		"ünïcödé and emoji 🙂":                  "ünïcödé and emoji 🙂",
		"bidi \u202e is not a control (C0/C1)": "bidi \u202e is not a control (C0/C1)",
	}
	for in, want := range tests {
		if got := Strip(in); got != want {
			t.Errorf("Strip(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestField(t *testing.T) {
	t.Parallel()
	if got := Field(strings.Repeat("a", MaxField)); got != strings.Repeat("a", MaxField) {
		t.Errorf("a field of exactly %d runes was changed", MaxField)
	}
	long := strings.Repeat("é", 4<<20/2)
	got := Field(long)
	if n := utf8.RuneCountInString(got); n != MaxField+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("Field of a 4 MiB value: %d runes, suffix %q; want %d runes ending in …", n, got[len(got)-3:], MaxField+1)
	}
	if got := Field("\x1b[2J" + strings.Repeat("b", 2000)); strings.ContainsRune(got, 0x1b) || utf8.RuneCountInString(got) != MaxField+1 {
		t.Errorf("Field must strip before it cuts: %q…", got[:20])
	}
}

func FuzzField(f *testing.F) {
	for _, s := range []string{"", "ok", "\x1b[2J", "\u009b", "\xff", strings.Repeat("x", 1500)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Field(s)
		for _, r := range got {
			if control(r) {
				t.Fatalf("Field(%q) kept control character %U", s, r)
			}
		}
		if n := utf8.RuneCountInString(got); n > MaxField+1 {
			t.Fatalf("Field(%q) has %d runes", s, n)
		}
		if Strip(got) != got {
			t.Fatalf("Field(%q) is not stable under Strip", s)
		}
	})
}
