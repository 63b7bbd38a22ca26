package download

import (
	"bufio"
	"bytes"
	"crypto/md5" //nolint:gosec // Content-MD5 is the blob service's integrity header, not a security measure
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// The work of one blob runs on two goroutines joined by a bounded buffer:
// the reader (the worker's own goroutine) takes the bytes off the network,
// hashes them (MD5 only when the service sent a Content-MD5 to compare it
// with) and, when the gzip is kept, writes the file and its SHA-256; the
// decoder decodes the gzip to the end and counts the rows (and, when the
// file is the decompressed JSON Lines, writes and hashes it). Between them
// at most pipeChunks chunks of pipeChunkSize wait: a blob holds a bounded
// amount of memory whatever its size, and a slow decoder slows the reads
// (TCP's window does the rest) instead of growing a queue.
const (
	pipeChunkSize = 256 << 10
	pipeChunks    = 4
	// decodeReadSize is the decoder's read buffer: klauspost/compress
	// decodes fastest from a *bufio.Reader.
	decodeReadSize = 64 << 10
)

// chunkPool recycles the chunks across blobs (and downloads): B-shaped
// manifests of hundreds of small blobs would otherwise allocate a megabyte
// per blob for the garbage collector.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, pipeChunkSize); return &b }}

type chunk struct {
	buf *[]byte
	n   int
}

// chunkPipe is the bounded buffer: full carries chunks from the reader to
// the decoder; stop closes when the decoder ends (done or failed), so that
// the reader stops too. err is what ended the reads (io.EOF when the blob
// arrived whole), set before full is closed.
type chunkPipe struct {
	full chan chunk
	stop chan struct{}
	err  error

	cur  chunk // the decoder's current chunk
	rest []byte
}

// Read is the decoder's side: the chunks in order, then err.
func (p *chunkPipe) Read(b []byte) (int, error) {
	for len(p.rest) == 0 {
		if p.cur.buf != nil {
			chunkPool.Put(p.cur.buf)
			p.cur.buf = nil
		}
		c, ok := <-p.full
		if !ok {
			return 0, p.err
		}
		p.cur, p.rest = c, (*c.buf)[:c.n]
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

// streamed is what stream learned of a blob.
type streamed struct {
	size   int64  // bytes written to the file
	sha256 string // of the file
	rows   int64
}

// stream reads the blob through r (from its first byte) and writes the file
// through w: the gzip as served, or its decoded content when the download
// decompresses. It returns once the gzip decoded to the end, the length and
// the Content-MD5 (when sent) agree, and w has every byte; errors are
// classified as write's are.
func (d *downloader) stream(r *blobReader, w io.Writer) (streamed, error) {
	sum, size, rows := sha256.New(), &countWriter{}, &rowCounter{}
	var rawOut, decodedOut io.Writer
	if d.opts.Decompress {
		decodedOut = io.MultiWriter(w, sum, size, rows)
	} else {
		rawOut = io.MultiWriter(w, sum, size)
		decodedOut = rows
	}
	p := &chunkPipe{full: make(chan chunk, pipeChunks), stop: make(chan struct{})}
	decoded := make(chan error, 1)
	go func() {
		defer close(p.stop)
		decoded <- decodeGzip(p, decodedOut)
	}()

	var contentMD5 hash.Hash
	started := false
	var readErr error
reads:
	for {
		buf := chunkPool.Get().(*[]byte) //nolint:forcetypeassert // the pool's only type
		n, err := readFull(r, *buf)
		if n > 0 && !started {
			// The first bytes came with the first answer's headers: MD5 is
			// computed only when there is a Content-MD5 to compare it with.
			started = true
			if r.md5 != nil {
				contentMD5 = md5.New() //nolint:gosec // see the import
			}
		}
		if n > 0 {
			b := (*buf)[:n]
			if contentMD5 != nil {
				_, _ = contentMD5.Write(b)
			}
			if rawOut != nil {
				if _, werr := rawOut.Write(b); werr != nil {
					chunkPool.Put(buf)
					readErr = werr
					break
				}
			}
			select {
			case p.full <- chunk{buf: buf, n: n}:
			case <-p.stop: // the decoder ended before the reads: its error says why
				chunkPool.Put(buf)
				break reads
			}
		} else {
			chunkPool.Put(buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
	}
	p.err = io.EOF
	if readErr != nil {
		p.err = readErr
	}
	close(p.full)
	decodeErr := <-decoded
	for c := range p.full { // what the decoder left when it failed
		chunkPool.Put(c.buf)
	}
	switch {
	case readErr != nil:
		return streamed{}, r.classify(readErr)
	case decodeErr != nil:
		return streamed{}, r.classify(decodeErr)
	case r.total >= 0 && r.offset != r.total:
		return streamed{}, &restartError{fmt.Errorf("%d bytes arrived, the blob service announced %d", r.offset, r.total)}
	// A Content-MD5 that appeared only on a resumed (range) answer cannot be
	// checked: Azure sends it on the first answer too when the blob has one.
	case r.md5 != nil && contentMD5 != nil && !bytes.Equal(contentMD5.Sum(nil), r.md5):
		return streamed{}, &restartError{errors.New("its content does not match the Content-MD5 the blob service sent")}
	}
	return streamed{size: size.n, sha256: hex.EncodeToString(sum.Sum(nil)), rows: rows.total()}, nil
}

// readFull fills b from r unless r ends or fails first.
func readFull(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// decodeGzip decodes every gzip member of src to the end into out. It is
// the one gzip decoder of the package: klauspost/compress, which decodes as
// compress/gzip does (multi-member streams; a header, checksum or size
// error, trailing bytes that are not a member, or a stream cut short are
// errors; gzip_test.go compares them) in about two thirds of the time.
func decodeGzip(src io.Reader, out io.Writer) error {
	zr, err := gzip.NewReader(bufio.NewReaderSize(src, decodeReadSize))
	if err != nil {
		return err
	}
	// Streamed to out, never into memory: a large (or hostile) expansion
	// costs disk, not RSS.
	_, err = io.Copy(out, zr)
	return err
}
