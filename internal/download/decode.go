package download

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
)

// errJunk is bytes after zero padding that ends the last gzip member.
var errJunk = errors.New("gzip: data after the zero bytes that follow the last member")

// decodeGzip decodes every gzip member of br into out through buf, as
// `gzip -d` does: members follow one another, and zero bytes after the
// last member are padding (ignored); anything else is an error. It is the
// one gzip decoder of the package: klauspost/compress, which decodes as
// compress/gzip does (a header, checksum or size error, or a stream cut
// short, are errors; gzip_test.go compares them) in about two thirds of the
// time.
func decodeGzip(br *bufio.Reader, out io.Writer, buf []byte) error {
	zr, err := gzip.NewReader(br) // br is a flate.Reader: gzip reads no byte past a member
	if err != nil {
		return err
	}
	for {
		zr.Multistream(false)
		// Streamed through buf to a file, never into memory: a large (or
		// hostile) expansion costs disk, not RSS.
		if _, err := io.CopyBuffer(out, zr, buf); err != nil {
			return err
		}
		next, err := br.Peek(1)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		case next[0] == 0:
			return onlyZeros(br, buf)
		}
		if err := zr.Reset(br); err != nil {
			return err
		}
	}
}

func onlyZeros(r io.Reader, buf []byte) error {
	for {
		n, err := r.Read(buf)
		if bytes.ContainsFunc(buf[:n], func(c rune) bool { return c != 0 }) {
			return errJunk
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// undecodable is what a decoding error of the blob means. A failure of the
// blob request, the file or the context is itself. Otherwise the rest of the
// blob is read: content that did not arrive whole, or not as its
// Content-MD5 says, is downloaded again (a restart); content that arrived
// complete is refused at once, since a second GET returns the same bytes.
func (r *blobReader) undecodable(err error, rest io.Reader, contentMD5 hash.Hash) error {
	var re *restartError
	if cerr := r.classify(err); !errors.As(cerr, &re) {
		return cerr
	}
	if _, derr := io.Copy(io.Discard, rest); derr != nil {
		if cerr := r.classify(derr); !errors.As(cerr, &re) {
			return cerr
		}
		return &restartError{fmt.Errorf("its content is not complete gzip: %w", err)}
	}
	if r.total >= 0 && r.offset != r.total {
		return &restartError{fmt.Errorf("%d bytes arrived, the blob service announced %d", r.offset, r.total)}
	}
	if r.md5 != nil && contentMD5 != nil && !bytes.Equal(contentMD5.Sum(nil), r.md5) {
		return &restartError{errors.New("its content does not match the Content-MD5 the blob service sent")}
	}
	checked := "Content-Length"
	if r.md5 != nil {
		checked += " and Content-MD5"
	}
	reason := fmt.Sprintf("its content is not complete gzip: %v", err)
	if r.offset == 0 {
		reason = "it is empty (0 bytes), not gzip"
	}
	return &BlobError{Name: r.name, Err: fmt.Errorf("%s; it arrived complete (%d bytes, as its %s say), so it is not downloaded again: "+
		"the blob service would send the same bytes", reason, r.offset, checked)}
}
