package graph

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		want time.Duration
		ok   bool
	}{
		"":                                 {0, false},
		"3":                                {3 * time.Second, true},
		"2.128":                            {2128 * time.Millisecond, true},
		" 0.5 ":                            {500 * time.Millisecond, true},
		"0":                                {0, true},
		"-1":                               {0, false},
		"NaN":                              {0, false},
		"soon":                             {0, false},
		"1e9":                              {0, false},
		"inf":                              {0, false},
		"Inf":                              {0, false},
		"+Inf":                             {0, false},
		"0x1p4":                            {0, false},
		"0x10":                             {0, false},
		"1_000":                            {0, false},
		"+1":                               {0, false},
		"1.":                               {0, false},
		".5":                               {0, false},
		"1.2.3":                            {0, false},
		"1 000":                            {0, false},
		"١٢":                               {0, false}, // Arabic-Indic digits are not DIGIT
		"0.0000001":                        {100, true},
		"007":                              {7 * time.Second, true},
		"86400":                            {maxRetryAfter, true},
		"99999999999999999999999":          {maxRetryAfter, true},
		"Thursday, 26-Nov-26 12:00:07 GMT": {7 * time.Second, true}, // RFC 850, obsolete but allowed
		"Thu Nov 26 12:00:07 2026":         {7 * time.Second, true}, // asctime
		"Thu, 26 Nov 2026 12:00:07 GMT":    {7 * time.Second, true},
		"Thu, 26 Nov 2026 11:00:00 GMT":    {0, true}, // in the past: retry now
	}
	for in, tc := range tests {
		h := http.Header{}
		if in != "" {
			h.Set("Retry-After", in)
		}
		got, ok := parseRetryAfter(h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", in, got, ok, tc.want, tc.ok)
		}
	}
}

var retryAfterGrammar = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "2.128", "Thu, 26 Nov 2026 12:00:07 GMT", "-1", "1e400", "0x10", "Inf", "0x1p4", "1_000", "0.0000001", "+5", "5."} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(http.Header{"Retry-After": {s}}, now)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
		// The grammar of SPEC §5: digits with an optional .fraction, or an HTTP-date.
		if v := strings.TrimSpace(s); ok && !retryAfterGrammar.MatchString(v) {
			if _, err := http.ParseTime(v); err != nil {
				t.Fatalf("parseRetryAfter accepted %q, which is neither delta-seconds nor an HTTP-date", s)
			}
		}
	})
}

func TestDecodeErrorEnvelope(t *testing.T) {
	t.Parallel()
	tests := map[string][3]string{
		`{"error":{"code":"NotFound","message":"m","innerError":{"date":"x","request-id":"r","client-request-id":"c"}}}`: {"NotFound", "m", "r"},
		`{"error":{"code":5000,"message":"m"}}`:    {"5000", "m", ""},
		`<html>502</html>`:                         {"", "", ""},
		`{"error":"invalid_client"}`:               {"", "", ""},
		`{"error":{"code":{"x":1},"message":"m"}}`: {"", "m", ""},
	}
	for body, want := range tests {
		c, m, r := decodeErrorEnvelope([]byte(body))
		if got := [3]string{c, m, r}; got != want {
			t.Errorf("decodeErrorEnvelope(%s) = %q, want %q", body, got, want)
		}
	}
}

func FuzzDecodeErrorEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"error":{"code":"TooManyRequests","message":"m","innerError":{"request-id":"r"}}}`,
		`{"error":{"code":5000}}`, `<html>`, `{"error":null}`, `{"error":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, _ = decodeErrorEnvelope(body)
	})
}
