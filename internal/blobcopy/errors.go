package blobcopy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/blobclient"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// Side says which service answered: the export's storage (read with the
// manifest's SAS) or the partner's container (written with the token).
type Side string

// The two sides of a copy.
const (
	Source      Side = "source"
	Destination Side = "destination"
)

// StorageError is a refusal or failure of Azure Storage for one blob. It
// names the blob, never a URL with its SAS token.
type StorageError struct {
	Blob       string // the blob's name in the manifest
	Dest       string // the destination blob's name
	Side       Side
	Op         string // "reading the properties", "copying", "deleting", …
	StatusCode int    // 0 when no answer was received
	Code       string // x-ms-error-code (or the copy status), sanitised
	Message    string // the service's message (first line), sanitised
	RequestID  string // x-ms-request-id
	Err        error  // a transport failure, or more context
}

func (e *StorageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "blob %q: %s the %s", e.Blob, e.Op, e.Side)
	if e.Side == Destination && e.Dest != "" {
		fmt.Fprintf(&b, " %q", e.Dest)
	}
	b.WriteString(": ")
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
	} else if e.Code != "" {
		// An asynchronous copy that ended failed or aborted: its status and
		// x-ms-copy-status-description (no HTTP status of its own).
		b.WriteString(e.Code)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
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

func (e *StorageError) Unwrap() error { return e.Err }

// Permission reports a destination that refused the identity: it needs
// Storage Blob Data Contributor.
func (e *StorageError) Permission() bool {
	return e.Side == Destination && e.StatusCode == http.StatusForbidden &&
		(e.Code == "AuthorizationPermissionMismatch" || e.Code == "AuthorizationFailure" || e.Code == "")
}

// ContainerMissing reports a destination container that does not exist.
func (e *StorageError) ContainerMissing() bool {
	return e.Side == Destination && e.StatusCode == http.StatusNotFound && e.Code == "ContainerNotFound"
}

// ExistsError is a destination blob this copy did not write (or wrote from
// another source): the provider never overwrites it.
type ExistsError struct {
	Blob, Dest, URL string
	Reason          string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("blob %q: the destination %s already exists and %s", e.Blob, e.URL, e.Reason)
}

// VerifyError is a copied blob whose size or Content-MD5 is not the
// source's. The bad copy was deleted (Deleted) unless DeleteErr says why not.
type VerifyError struct {
	Blob, Dest string
	What       string
	Deleted    bool
	DeleteErr  error
}

func (e *VerifyError) Error() string {
	s := fmt.Sprintf("blob %q: the copy %q does not match its source: %s", e.Blob, e.Dest, e.What)
	switch {
	case e.Deleted:
		s += "; the bad copy was deleted"
	case e.DeleteErr != nil:
		s += "; the bad copy could not be deleted: " + e.DeleteErr.Error()
	}
	return s
}

// TokenError is a Storage token that could not be acquired: the
// credential's own error (it names the authentication method).
type TokenError struct{ Err error }

func (e *TokenError) Error() string {
	return "acquiring an access token for Azure Storage: " + e.Err.Error()
}
func (e *TokenError) Unwrap() error { return e.Err }

// tokenCredential tags the credential's failures as TokenError, so that a
// failed token is told from a failed request.
type tokenCredential struct{ azcore.TokenCredential }

func (c tokenCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	t, err := c.TokenCredential.GetToken(ctx, o)
	if err != nil && ctx.Err() == nil {
		err = &TokenError{err}
	}
	return t, err
}

// invalidate drops token from the credential's cache when it can (a
// service refused it with 401): the next GetToken acquires a new one.
func (c tokenCredential) invalidate(token string) {
	if inv, ok := c.TokenCredential.(interface{ Invalidate(token string) }); ok {
		inv.Invalidate(token)
	}
}

// dropRefusedToken is a per-retry policy after azblob's bearer policy: a
// 401 answer drops the token the request carried from the shared cache, so
// that the bearer policy's challenge retry, or retry's own one, sends a new
// token (SPEC §5: 401 once).
type dropRefusedToken struct{ cred tokenCredential }

func (p dropRefusedToken) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		if tok, ok := strings.CutPrefix(req.Raw().Header.Get("Authorization"), "Bearer "); ok {
			p.cred.invalidate(tok)
		}
	}
	return resp, err
}

// refusedTokenUnchallenged: a 401 to a request that carried a token, with no
// WWW-Authenticate challenge (with one, azblob's bearer policy has already
// retried once with a new token).
func refusedTokenUnchallenged(err error) bool {
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.RawResponse == nil {
		return false
	}
	if re.RawResponse.Header.Get("WWW-Authenticate") != "" {
		return false
	}
	return re.RawResponse.Request != nil && re.RawResponse.Request.Header.Get("Authorization") != ""
}

// responseError turns an azcore answer into a StorageError.
func responseError(blobName, dest string, side Side, op string, err error) *StorageError {
	se := &StorageError{Blob: blobName, Dest: dest, Side: side, Op: op}
	var te *TokenError
	if errors.As(err, &te) {
		se.Err = te
		return se
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		se.Err = errors.New(transportText(err))
		return se
	}
	f := blobclient.ErrorOf(re)
	se.StatusCode, se.Code, se.RequestID, se.Message = f.StatusCode, f.Code, f.RequestID, f.Message
	return se
}

// retryHeader is the Retry-After of an error answer.
func retryHeader(err error) http.Header {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.RawResponse != nil {
		return re.RawResponse.Header
	}
	return nil
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func codeOf(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		if re.RawResponse != nil {
			return re.RawResponse.Header.Get("x-ms-error-code")
		}
	}
	return ""
}

// transportText is a transport error without its URL (a source URL holds
// the SAS).
func transportText(err error) string { return safetext.RedactSAS(httpx.RedactURLError(err)) }
