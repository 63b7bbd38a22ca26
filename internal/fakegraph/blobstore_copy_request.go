package fakegraph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// answerCopy answers the requests of the destination side (and GETs of
// declared blobs); ok is false for the requests the SAS side serves.
func (b *BlobStore) answerCopy(w http.ResponseWriter, r *http.Request) (status int, ok bool) {
	b.mu.Lock()
	b.cpInit()
	container := b.containerOf(r.URL.Path)
	declared := b.cp.objects[r.URL.Path]
	b.mu.Unlock()
	bearer := r.Header.Get("Authorization") != ""
	switch {
	case container == "" && !bearer && r.Method != http.MethodPut && r.Method != http.MethodDelete:
		if declared != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			return b.serveDeclared(w, r, declared), true
		}
		return 0, false // the SAS side
	case !bearer:
		return storageError(w, http.StatusUnauthorized, "NoAuthenticationInformation",
			"Server failed to authenticate the request. Please refer to the information in the www-authenticate header."), true
	}
	if msg := checkStorageToken(r.Header.Get("Authorization")); msg != "" {
		w.Header().Set("WWW-Authenticate", StorageChallenge)
		return storageError(w, http.StatusUnauthorized, "InvalidAuthenticationInfo", "Server failed to authenticate the request. "+msg), true
	}
	if container == "" {
		return storageError(w, http.StatusNotFound, "ContainerNotFound", "The specified container does not exist."), true
	}
	op := opOf(r)
	blobName := strings.TrimPrefix(r.URL.Path, container+"/")
	if f, hit := b.takeFault(op, blobName); hit && f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.WWWAuthenticate != "" {
			w.Header().Set("WWW-Authenticate", f.WWWAuthenticate)
		}
		return storageError(w, f.Status, f.Code, f.Message), true
	} else if hit {
		r = r.WithContext(context.WithValue(r.Context(), faultKey{}, f))
	}
	switch op {
	case "HEAD":
		return b.destProperties(w, r), true
	case "DELETE":
		return b.destDelete(w, r), true
	case "ABORT":
		return b.destAbort(w, r), true
	case "COPYSYNC", "COPYASYNC":
		return b.destCopy(w, r, op == "COPYSYNC"), true
	}
	return storageError(w, http.StatusBadRequest, "UnsupportedHttpVerb", "The fake supports HEAD, GET, DELETE and the copy operations here."), true
}

// containerOf is the container path a request path is in ("" if none).
func (b *BlobStore) containerOf(p string) string {
	for c := range b.cp.containers {
		if strings.HasPrefix(p, c+"/") && len(p) > len(c)+1 {
			return c
		}
	}
	return ""
}

func opOf(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodHead || r.Method == http.MethodGet:
		return "HEAD"
	case r.Method == http.MethodDelete:
		return "DELETE"
	case r.Method == http.MethodPut && q.Get("comp") == "copy" && strings.EqualFold(r.Header.Get("x-ms-copy-action"), "abort"):
		return "ABORT"
	case r.Method == http.MethodPut && r.Header.Get("x-ms-copy-source") != "" && strings.EqualFold(r.Header.Get("x-ms-requires-sync"), "true"):
		return "COPYSYNC"
	case r.Method == http.MethodPut && r.Header.Get("x-ms-copy-source") != "":
		return "COPYASYNC"
	}
	return r.Method
}

func (b *BlobStore) takeFault(op, blobName string) (StorageFault, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, f := range b.cp.faults {
		opMatch := f.Op == "" || f.Op == op || (f.Op == "COPY" && strings.HasPrefix(op, "COPY"))
		if !opMatch || (f.Blob != "" && f.Blob != blobName) {
			continue
		}
		if f.Times > 0 {
			b.cp.faults[i].Times--
			if b.cp.faults[i].Times == 0 {
				b.cp.faults = append(b.cp.faults[:i], b.cp.faults[i+1:]...)
			}
		}
		return f, true
	}
	return StorageFault{}, false
}

type faultKey struct{}

func faultOf(r *http.Request) StorageFault {
	f, _ := r.Context().Value(faultKey{}).(StorageFault)
	return f
}

// StorageChallenge is the WWW-Authenticate header of Azure Storage's 401.
const StorageChallenge = "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id=" + StorageResource

// checkStorageToken is "" when h is "Bearer <JWT>" whose payload has aud
// https://storage.azure.com (with or without '/') and an exp in the future
// (what Azurite's --oauth basic checks; the signature is not).
func checkStorageToken(h string) string {
	if _, ok := strings.CutPrefix(h, "Bearer "); !ok {
		return "The Authorization header is not a bearer token."
	}
	c, ok := tokenClaims(h)
	if !ok {
		return "The access token is not a JWT."
	}
	if strings.TrimSuffix(c.Aud, "/") != StorageResource {
		return fmt.Sprintf("Audience validation failed. Audience did not match (%q).", c.Aud)
	}
	if c.Exp == 0 || time.Now().Unix() >= c.Exp {
		return "Lifetime validation failed. The token is expired."
	}
	return ""
}

// StorageToken makes an access token for Azure Storage as the fake
// identity platform issues them (tests that hand azblob a credential of
// their own).
func StorageToken(tenant string, expiry time.Time) string {
	return newJWT(tenant, "00000000-0000-0000-0000-0000000000a1", StorageResource, time.Now(), expiry)
}
