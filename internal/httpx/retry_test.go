package httpx_test

import (
	"strings"
	"testing"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

func TestReadCapped(t *testing.T) {
	for _, tc := range []struct {
		body     string
		limit    int64
		wantLen  int
		tooLarge bool
	}{
		{"", 4, 0, false},
		{"abcd", 4, 4, false},
		{"abcde", 4, 5, true},
		{strings.Repeat("x", 100), 4, 5, true},
	} {
		body, tooLarge, err := httpx.ReadCapped(strings.NewReader(tc.body), tc.limit)
		if err != nil || len(body) != tc.wantLen || tooLarge != tc.tooLarge {
			t.Errorf("ReadCapped(%d bytes, %d) = %d bytes, %v, %v; want %d, %v", len(tc.body), tc.limit, len(body), tooLarge, err, tc.wantLen, tc.tooLarge)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	for status, want := range map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true, 400: false, 401: false, 403: false, 404: false, 501: false} {
		if got := httpx.RetryableStatus(status); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}
