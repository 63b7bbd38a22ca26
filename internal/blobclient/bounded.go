package blobclient

import (
	"io"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// MaxErrorBody is the most of a blob service's error answer that is read
// (SPEC §4.4: like Graph answers, an error body is read up to 64 KiB).
const MaxErrorBody = 64 << 10

// boundedTransport is the azblob pipeline's transport: it cuts the body of
// every answer that is not a blob (any status from 300 up) to MaxErrorBody
// before the SDK sees it. azcore reads an error body whole, in its
// body-download policy and in NewResponseError, which run after every
// policy a client can add, so the bound has to sit below them.
type boundedTransport struct{ h policy.Transporter }

func (t boundedTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.h.Do(req)
	if err != nil || resp.StatusCode < http.StatusMultipleChoices || resp.Body == nil {
		return resp, err
	}
	resp.Body = &cappedBody{Reader: io.LimitReader(resp.Body, MaxErrorBody), c: resp.Body}
	return resp, nil
}

// cappedBody reads at most MaxErrorBody bytes; Close closes the connection's
// body without reading the rest.
type cappedBody struct {
	io.Reader
	c io.Closer
}

func (b *cappedBody) Close() error { return b.c.Close() }
