package download

import (
	"io"
	"net/http"
)

// maxErrorBody is the most of a blob service's error answer that is read
// (SPEC §4.4: like Graph answers, an error body is read up to 64 KiB).
const maxErrorBody = 64 << 10

// boundedTransport is the azblob pipeline's transport: it cuts the body of
// every answer that is not a blob (any status from 300 up) to maxErrorBody
// before the SDK sees it. azcore reads an error body whole, in its
// body-download policy and in NewResponseError, which run after every
// policy a client can add, so the bound has to sit below them.
type boundedTransport struct{ h *http.Client }

func (t boundedTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.h.Do(req) //nolint:gosec // G704: the request is azblob's, to the manifest's checked https rootDirectory
	if err != nil || resp.StatusCode < http.StatusMultipleChoices || resp.Body == nil {
		return resp, err
	}
	resp.Body = &cappedBody{Reader: io.LimitReader(resp.Body, maxErrorBody), c: resp.Body}
	return resp, nil
}

// cappedBody reads at most maxErrorBody bytes; Close closes the connection's
// body without reading the rest.
type cappedBody struct {
	io.Reader
	c io.Closer
}

func (b *cappedBody) Close() error { return b.c.Close() }
