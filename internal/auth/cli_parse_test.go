package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestCLIExpiry(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	tests := map[string]struct {
		out  string
		want time.Time
	}{
		"expires_on wins":           {`{"expiresOn":"2026-11-26 15:04:05.000000","expires_on":1795000000}`, time.Unix(1795000000, 0)},
		"expires_on as a string":    {`{"expires_on":"1795000000"}`, time.Unix(1795000000, 0)},
		"local time with fraction":  {`{"expiresOn":"2026-11-26 15:04:05.123456"}`, time.Date(2026, 11, 26, 15, 4, 5, 123456000, berlin)},
		"local time without one":    {`{"expiresOn":"2026-11-26 15:04:05"}`, time.Date(2026, 11, 26, 15, 4, 5, 0, berlin)},
		"expires_on null":           {`{"expiresOn":"2026-11-26 15:04:05.000000","expires_on":null}`, time.Date(2026, 11, 26, 15, 4, 5, 0, berlin)},
		"ISO separator, older az's": {`{"expiresOn":"2026-11-26T15:04:05.000000"}`, time.Date(2026, 11, 26, 15, 4, 5, 0, berlin)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var tok cliToken
			if err := json.Unmarshal([]byte(tc.out), &tok); err != nil {
				t.Fatal(err)
			}
			got, err := cliExpiry(tok, berlin)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("cliExpiry = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ in, want string }{
		"jwt":              {"token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_x here", "token [redacted token] here"},
		"two-part jwt":     {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0", "[redacted token]"},
		"lines collapsed":  {"ERROR: a\n\tb", "ERROR: a b"},
		"plain text":       {"Please run 'az login' to setup account.", "Please run 'az login' to setup account."},
		"long":             {strings.Repeat("x", 1500), strings.Repeat("x", 1000) + "…"},
		"1,000 runes kept": {strings.Repeat("é", 1000), strings.Repeat("é", 1000)},
		"runes, not bytes": {strings.Repeat("é", 1001), strings.Repeat("é", 1000) + "…"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := redact(tc.in); got != tc.want {
				t.Errorf("redact = %q, want %q", got, tc.want)
			}
		})
	}
}
