package download

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// errorKind is what a gzip decode ended with, in words both decoders share.
func errorKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "cut short"
	case errors.Is(err, io.EOF):
		return "empty"
	case strings.Contains(err.Error(), "gzip: invalid header"):
		return "bad header"
	case strings.Contains(err.Error(), "gzip: invalid checksum"):
		return "bad checksum"
	case strings.Contains(err.Error(), "flate: corrupt input"):
		return "corrupt deflate"
	}
	return "other: " + err.Error()
}

// stdDecode is how the package decoded before klauspost/compress.
func stdDecode(src []byte) ([]byte, error) {
	zr, err := stdgzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, zr)
	return out.Bytes(), err
}

// TestDecodeGzipMatchesCompressGzip feeds the package's decoder
// (klauspost/compress) and compress/gzip the same streams, well-formed and
// not: both must accept the same ones with the same content, and refuse the
// others for the same reason. Multi-member streams are decoded to the end
// by both; garbage after the last member is a bad header for both, and zero
// bytes after it are padding that the package ignores (as gzip -d does).
func TestDecodeGzipMatchesCompressGzip(t *testing.T) {
	t.Parallel()
	member := func(content string, level int) []byte {
		var b bytes.Buffer
		zw, _ := stdgzip.NewWriterLevel(&b, level)
		zw.Name, zw.Comment, zw.ModTime = "rows.json", "a comment", time.Unix(1700000000, 0)
		_, _ = zw.Write([]byte(content))
		_ = zw.Close()
		return b.Bytes()
	}
	rows := strings.Repeat(`{"CustomerId":"3b33e682","Subtotal":12.5}`+"\n", 5000)
	one := member(rows, 6)
	two := append(append([]byte{}, one...), member("{}\n{}\n", 1)...)
	flip := func(b []byte, at int) []byte {
		c := append([]byte{}, b...)
		c[at] ^= 0xff
		return c
	}
	cases := map[string][]byte{
		"one member":                       one,
		"two members":                      two,
		"stored member":                    member(rows, stdgzip.NoCompression),
		"empty member":                     member("", 6),
		"empty member then one":            append(member("", 6), one...),
		"empty input":                      {},
		"not gzip":                         []byte("{\"a\":1}\n"),
		"trailing zeros":                   append(append([]byte{}, one...), make([]byte, 512)...),
		"one trailing zero":                append(append([]byte{}, one...), 0),
		"trailing garbage":                 append(append([]byte{}, one...), "garbage"...),
		"truncated in the header":          one[:5],
		"truncated in the data":            one[:len(one)/2],
		"truncated in the trailer":         one[:len(one)-3],
		"second member truncated":          two[:len(two)-5],
		"flipped byte in the data":         flip(one, len(one)/2),
		"flipped byte in the CRC":          flip(one, len(one)-6),
		"flipped byte in the size":         flip(one, len(one)-1),
		"flipped byte in the magic":        flip(one, 0),
		"flipped byte in the second magic": flip(two, len(one)+1),
	}
	zeroPadded := map[string]bool{"trailing zeros": true, "one trailing zero": true}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, wantErr := stdDecode(in)
			if zeroPadded[name] {
				// Zero bytes after the last member are padding, as `gzip -d`
				// has it (SPEC §4.4); compress/gzip alone calls them a header.
				want, wantErr = stdDecode(one)
			}
			var got bytes.Buffer
			gotErr := decodeGzip(bufio.NewReader(bytes.NewReader(in)), &got, make([]byte, 4096))
			if errorKind(gotErr) != errorKind(wantErr) {
				t.Fatalf("klauspost: %v (%s); compress/gzip: %v (%s)", gotErr, errorKind(gotErr), wantErr, errorKind(wantErr))
			}
			if wantErr == nil && !bytes.Equal(got.Bytes(), want) {
				t.Errorf("decoded %d bytes, compress/gzip %d, or other bytes", got.Len(), len(want))
			}
		})
	}
}
