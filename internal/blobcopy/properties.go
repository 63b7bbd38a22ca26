package blobcopy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobclient"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// props is what a HEAD tells of a blob.
type props struct {
	size        int64
	md5         []byte
	etag        string
	meta        map[string]*string
	copyStatus  string
	copyID      string
	copyDesc    string
	copyProg    string
	retryHeader http.Header
}

func propsOf(resp blob.GetPropertiesResponse, raw *http.Response) *props {
	p := &props{md5: resp.ContentMD5, meta: resp.Metadata}
	if resp.ContentLength != nil {
		p.size = *resp.ContentLength
	}
	if resp.ETag != nil {
		p.etag = string(*resp.ETag)
	}
	if resp.CopyStatus != nil {
		p.copyStatus = string(*resp.CopyStatus)
	}
	if resp.CopyID != nil {
		p.copyID = *resp.CopyID
	}
	if resp.CopyStatusDescription != nil {
		p.copyDesc = *resp.CopyStatusDescription
	}
	if resp.CopyProgress != nil {
		p.copyProg = *resp.CopyProgress
	}
	if raw != nil {
		p.retryHeader = raw.Header
	}
	return p
}

// mismatch says how a copy differs from its source ("" when it does not).
func mismatch(src, got *props) string {
	if got.size != src.size {
		return fmt.Sprintf("its size is %d bytes, the source's %d", got.size, src.size)
	}
	if len(src.md5) > 0 && len(got.md5) > 0 && string(src.md5) != string(got.md5) {
		return fmt.Sprintf("its Content-MD5 is %s, the source's %s",
			base64.StdEncoding.EncodeToString(got.md5), base64.StdEncoding.EncodeToString(src.md5))
	}
	return ""
}

// ours decides about a destination blob that is already there: nil when
// this copy wrote it from the same source and it is complete (skip it),
// else an ExistsError.
func (r *run) ours(existing, src *props, out Blob) error {
	e := &ExistsError{Blob: out.Name, Dest: out.Dest, URL: out.URL}
	switch {
	case r.notOurs(existing, src) != "":
		e.Reason = r.notOurs(existing, src)
	case existing.copyStatus != "" && existing.copyStatus != string(blob.CopyStatusTypeSuccess):
		e.Reason = fmt.Sprintf("is an unfinished copy (copy status %s)", existing.copyStatus)
	case mismatch(src, existing) != "":
		e.Reason = "does not match its source: " + mismatch(src, existing)
	default:
		return nil
	}
	return e
}

// notOurs says why a destination blob's metadata does not name this copy
// of this source ("" when it does).
func (r *run) notOurs(existing, src *props) string {
	manifestID, sourceETag := metaValue(existing.meta, MetaManifestID), metaValue(existing.meta, MetaSourceETag)
	switch {
	case manifestID == "" && sourceETag == "":
		return "was not written by this provider (it has no partnerbilling_manifest_id metadata)"
	case !strings.EqualFold(manifestID, r.target.ManifestID):
		return fmt.Sprintf("was copied from another manifest (%s)", manifestID)
	case normETag(sourceETag) != normETag(src.etag):
		return "was copied from another version of the source blob (its partnerbilling_source_etag differs)"
	}
	return ""
}

// metaValue reads a metadata key case-insensitively (azblob returns
// "Partnerbilling_manifest_id").
func metaValue(meta map[string]*string, key string) string {
	for k, v := range meta {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}

// normETag is an ETag without its quotes (metadata holds it bare).
func normETag(s string) string { return strings.Trim(strings.TrimSpace(s), `"`) }

func (r *run) metadata(sourceETag string) map[string]*string {
	id, et := r.target.ManifestID, normETag(sourceETag)
	return map[string]*string{MetaManifestID: &id, MetaSourceETag: &et}
}

// sourceURL is the source blob's URL with the current SAS: the one place
// the token is unwrapped. gen is the SAS generation it was built with.
func (r *run) sourceURL(name string) (u string, gen int) {
	m, gen := r.sas.Current()
	return m.BlobURL(name).Reveal(), gen
}

// sourceExpired: a 403 that says the source's SAS no longer holds:
// AuthenticationFailed (Azure), AuthorizationFailure (Azurite, for every
// SAS problem), CannotVerifyCopySource (a copy whose source refused the
// SAS), or a token whose se= has passed.
func sourceExpired(err error, m *graph.Manifest) bool {
	if statusOf(err) != http.StatusForbidden {
		return false
	}
	switch codeOf(err) {
	case "AuthenticationFailed", "AuthorizationFailure", "CannotVerifyCopySource":
		return true
	}
	return graph.SASPassed(m.SASToken, time.Now())
}

// copySourceRefused: a copy request refused because the service could not
// read the source with its SAS (403 CannotVerifyCopySource, or
// AuthenticationFailed, which the destination's bearer token never gets).
// Other 403s of a copy are the destination refusing the identity.
func copySourceRefused(err error) bool {
	if statusOf(err) != http.StatusForbidden {
		return false
	}
	c := codeOf(err)
	return c == "CannotVerifyCopySource" || c == "AuthenticationFailed"
}

// sourceProperties reads the source's size, Content-MD5 and ETag with the
// SAS (no credential, so no Authorization header reaches the source host),
// renewing an expired SAS once.
func (r *run) sourceProperties(ctx context.Context, name string) (*props, error) {
	for {
		u, gen := r.sourceURL(name)
		c, err := blob.NewClientWithNoCredential(u, r.clientOptions())
		if err != nil {
			return nil, &StorageError{Blob: name, Side: Source, Op: "building the client of", Err: errors.New(safetext.RedactSAS(err.Error()))}
		}
		var p *props
		err = r.retry(ctx, name, "HEAD source", func(ctx context.Context) error {
			var raw *http.Response
			resp, err := c.GetProperties(policy.WithCaptureResponse(ctx, &raw), nil)
			if err == nil {
				p = propsOf(resp, raw)
				r.opts.Debug(ctx, "storage request", map[string]any{"op": "HEAD source", "blob": name, "status": 200, "request_id": deref(resp.RequestID)})
			}
			return err
		})
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return nil, httpx.ContextError(ctx)
		}
		m, _ := r.sas.Current()
		if sourceExpired(err, m) {
			if rerr := r.renew(ctx, gen, responseError(name, "", Source, "reading the properties of", err)); rerr != nil {
				return nil, rerr
			}
			continue
		}
		return nil, responseError(name, "", Source, "reading the properties of", err)
	}
}

// renew reads the manifest again for a fresh SAS after the source refused
// the one of generation gen (refused: the source's answer, kept whole in
// the error when the renewal fails, so that it names the status, the
// x-ms-error-code and the x-ms-request-id).
func (r *run) renew(ctx context.Context, gen int, refused *StorageError) error {
	if _, _, err := r.sas.Renew(ctx, gen); err != nil {
		if ctx.Err() != nil {
			return httpx.ContextError(ctx)
		}
		var mc *graph.ManifestChangedError
		if errors.As(err, &mc) {
			return err
		}
		refused.Side, refused.Err = Source, err
		return refused
	}
	r.opts.Info(ctx, "the source refused the manifest's SAS token as expired; read the manifest again for a fresh one", map[string]any{"blob": refused.Blob})
	return nil
}

// destClient is the destination blob's client with the Storage token.
func (r *run) destClient(dest string) (*blob.Client, error) {
	return newDestClient(r.target.Container, dest, r.opts, r.http)
}

func newDestClient(c *Container, dest string, opts Options, h *http.Client) (*blob.Client, error) {
	o := clientOptions(h, opts.UserAgent)
	if tc, ok := opts.Credential.(tokenCredential); ok {
		o.PerRetryPolicies = append(o.PerRetryPolicies, dropRefusedToken{tc})
	}
	return blob.NewClient(c.BlobURL(dest), opts.Credential, o)
}

func (r *run) clientOptions() *blob.ClientOptions { return clientOptions(r.http, r.opts.UserAgent) }

// clientOptions are the provider's blob client options (internal/blobclient); with them
// azcore's log shows x-ms-copy-source as REDACTED (TestNoSASInAzcoreLog).
func clientOptions(h *http.Client, userAgent string) *blob.ClientOptions {
	return blobclient.Options(h, userAgent)
}

// destProperties reads a destination blob's properties with the token; nil
// when it does not exist.
func (r *run) destProperties(ctx context.Context, c *blob.Client, name, dest string) (*props, error) {
	return headDest(ctx, c, name, dest, r.opts)
}

func headDest(ctx context.Context, c *blob.Client, name, dest string, opts Options) (*props, error) {
	var p *props
	err := retry(ctx, opts, name, "HEAD destination", func(ctx context.Context) error {
		var raw *http.Response
		resp, err := c.GetProperties(policy.WithCaptureResponse(ctx, &raw), nil)
		if err == nil {
			p = propsOf(resp, raw)
			opts.Debug(ctx, "storage request", map[string]any{"op": "HEAD destination", "blob": dest, "status": 200, "request_id": deref(resp.RequestID)})
		}
		return err
	})
	if err == nil {
		return p, nil
	}
	if ctx.Err() != nil {
		return nil, httpx.ContextError(ctx)
	}
	if statusOf(err) == http.StatusNotFound && codeOf(err) != "ContainerNotFound" {
		return nil, nil
	}
	return nil, responseError(name, dest, Destination, "reading the properties of", err)
}
