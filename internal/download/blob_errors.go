package download

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobclient"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// BlobError is a blob that could not be downloaded complete. It names the
// blob, never its URL or the SAS token.
type BlobError struct {
	Name       string
	StatusCode int    // the blob service's HTTP status; 0 when none was received
	Code       string // x-ms-error-code, sanitised
	Message    string // the service's message (first line), sanitised
	RequestID  string // x-ms-request-id
	Err        error  // what went wrong otherwise (a cut body, corrupt gzip, a file error)
}

func (e *BlobError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "blob %q: ", e.Name)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		if e.RequestID != "" {
			b.WriteString(" (x-ms-request-id " + e.RequestID + ")")
		}
		if e.Err != nil {
			b.WriteString("; ")
		}
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *BlobError) Unwrap() error { return e.Err }

// restartError is content that arrived whole but is wrong (corrupt gzip, an
// MD5 mismatch, a blob that changed under a resume): the blob is downloaded
// again from its first byte, within the same retry budget.
type restartError struct{ cause error }

func (e *restartError) Error() string { return e.cause.Error() }

func (e *restartError) Unwrap() error { return e.cause }

// fileError is a failure of the local file system: never retried.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }

func (e *fileError) Unwrap() error { return e.err }

// fileWriter tags its errors as the file's, so that a full disk is not
// taken for a broken download.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &fileError{err}
	}
	return n, err
}

// classify turns what stopped the copy into a BlobError, a file error, or
// a restart (content that is not whole gzip).
func (r *blobReader) classify(err error) error {
	var be *BlobError
	var fe *fileError
	switch {
	case errors.As(err, &be), errors.As(err, &fe):
		return err
	case r.ctx.Err() != nil:
		return httpx.ContextError(r.ctx)
	}
	// Everything else came from decoding: a gzip header, checksum or
	// deflate error, or the content ending inside the gzip stream.
	return &restartError{fmt.Errorf("its content is not complete gzip: %w", err)}
}

// responseError is the blob service's error answer as a BlobError (blobclient.ErrorOf: sanitised,
// its body bounded by the transport).
func responseError(name string, re *azcore.ResponseError) *BlobError {
	se := blobclient.ErrorOf(re)
	return &BlobError{Name: name, StatusCode: se.StatusCode, Code: se.Code, RequestID: se.RequestID, Message: se.Message}
}

// sasExpired: a 403 that says the SAS no longer holds (AuthenticationFailed,
// which Azure answers to an expired or mis-signed token, or a message about
// expiry or the signature), or a token whose se= has passed.
func sasExpired(be *BlobError, m *graph.Manifest) bool {
	msg := strings.ToLower(be.Message)
	if be.Code == "AuthenticationFailed" || strings.Contains(msg, "expir") || strings.Contains(msg, "signature") {
		return true
	}
	return graph.SASPassed(m.SASToken, time.Now())
}

// transportText is a transport error without its URL (it holds the SAS).
func transportText(err error) string { return safetext.NoSecrets(httpx.RedactURLError(err)) }
