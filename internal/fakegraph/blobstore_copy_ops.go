package fakegraph

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func (b *BlobStore) serveDeclared(w http.ResponseWriter, r *http.Request, o *object) int {
	if msg := b.authorize(r); msg != "" {
		return storageError(w, http.StatusForbidden, "AuthenticationFailed", "Server failed to authenticate the request. "+msg)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("ETag", o.etag)
	h.Set("Content-Length", strconv.FormatInt(o.size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.CopyN(w, zeros{}, o.size)
	}
	return http.StatusOK
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// settle moves a pending copy on when its time (and polls) are up. Under b.mu.
func (o *object) settle(now time.Time) {
	if o.copyStatus != "pending" {
		return
	}
	if o.pollsLeft > 0 {
		o.pollsLeft--
		return
	}
	if now.Before(o.copyDone) {
		return
	}
	if o.failAsync != "" {
		o.copyStatus, o.copyDesc = "failed", o.failAsync
		return
	}
	o.copyStatus = "success"
	o.data, o.size, o.md5 = o.src.data, o.src.size, o.src.md5
	o.etag = newETag()
}

func (b *BlobStore) destProperties(w http.ResponseWriter, r *http.Request) int {
	b.mu.Lock()
	o := b.cp.objects[r.URL.Path]
	var snap object
	if o != nil {
		o.settle(time.Now())
		snap = *o
	}
	b.mu.Unlock()
	if o == nil {
		return storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("ETag", snap.etag)
	h.Set("Last-Modified", snap.created.UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.FormatInt(snap.size, 10))
	if snap.md5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(snap.md5))
	}
	for k, v := range snap.meta {
		h.Set("x-ms-meta-"+k, v)
	}
	if snap.copyStatus != "" {
		h.Set("x-ms-copy-id", snap.copyID)
		h.Set("x-ms-copy-status", snap.copyStatus)
		h.Set("x-ms-copy-source", snap.copySource) // as Azure does: the URL the copy was sent, SAS and all
		total := snap.src.size
		done := total
		if snap.copyStatus == "pending" {
			done = 0
			if span := snap.copyDone.Sub(snap.created); span > 0 {
				done = min(total, int64(float64(total)*float64(time.Since(snap.created))/float64(span)))
			}
			if left := time.Until(snap.copyDone); left > 0 {
				h.Set("Retry-After", strconv.FormatFloat(left.Seconds(), 'f', 3, 64))
			}
		}
		h.Set("x-ms-copy-progress", fmt.Sprintf("%d/%d", done, total))
		if snap.copyDesc != "" {
			h.Set("x-ms-copy-status-description", snap.copyDesc)
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		if snap.data != nil {
			_, _ = w.Write(snap.data)
		} else {
			_, _ = io.CopyN(w, zeros{}, snap.size)
		}
	}
	return http.StatusOK
}

func (b *BlobStore) destDelete(w http.ResponseWriter, r *http.Request) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.cp.objects[r.URL.Path]
	if o == nil {
		return storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	if im := r.Header.Get("If-Match"); im != "" && im != "*" && im != o.etag {
		return storageError(w, http.StatusPreconditionFailed, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
	}
	delete(b.cp.objects, r.URL.Path)
	w.WriteHeader(http.StatusAccepted)
	return http.StatusAccepted
}

func (b *BlobStore) destAbort(w http.ResponseWriter, r *http.Request) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.cp.objects[r.URL.Path]
	if o == nil {
		return storageError(w, http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	o.settle(time.Now())
	if o.copyStatus != "pending" || o.copyID != r.URL.Query().Get("copyid") {
		return storageError(w, http.StatusConflict, "NoPendingCopyOperation", "There is currently no pending copy operation.")
	}
	o.copyStatus, o.copyDesc, o.size, o.data, o.md5 = "aborted", "aborted by the client", 0, []byte{}, nil
	o.etag = newETag()
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// source resolves a copy source URL to a blob of a store of this process,
// checking its SAS as that store would for a GET. msg is why not.
func source(raw string) (o *object, status int, code, msg string) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" {
		return nil, http.StatusBadRequest, "InvalidHeaderValue", "The value for x-ms-copy-source is not an https URL."
	}
	v, ok := stores.Load(u.Host)
	if !ok {
		return nil, http.StatusForbidden, "CannotVerifyCopySource", "The source host could not be reached."
	}
	src := v.(*BlobStore) //nolint:forcetypeassert // only *BlobStore is stored
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
	if m := src.authorize(req); m != "" {
		return nil, http.StatusForbidden, "CannotVerifyCopySource", "Server failed to authenticate the request. " + m
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	src.requests = append(src.requests, Request{Method: "COPYREAD", Path: u.Path, RawQuery: u.RawQuery, Header: http.Header{}, At: time.Now()})
	if d := src.cp.objects[u.Path]; d != nil && d.copyStatus == "" {
		return &object{data: d.data, size: d.size, md5: d.md5, etag: d.etag}, 0, "", ""
	}
	data, found := src.blobs[u.Path]
	if !found {
		return nil, http.StatusNotFound, "CannotVerifyCopySource", "The specified blob does not exist."
	}
	sum := md5.Sum(data)
	return &object{data: data, size: int64(len(data)), md5: sum[:], etag: fmt.Sprintf("\"0x%X\"", sum[:8])}, 0, "", ""
}

func (b *BlobStore) destCopy(w http.ResponseWriter, r *http.Request, sync bool) int {
	f := faultOf(r)
	srcURL := r.Header.Get("x-ms-copy-source")
	src, status, code, msg := source(srcURL)
	if src == nil {
		return storageError(w, status, code, msg)
	}
	if im := r.Header.Get("x-ms-source-if-match"); im != "" && im != src.etag {
		return storageError(w, http.StatusPreconditionFailed, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
	}
	if sync {
		if src.size > 256<<20 {
			return storageError(w, http.StatusConflict, "CannotVerifyCopySource", "The source request body is too large and exceeds the maximum permissible limit (256MB).")
		}
		if m := r.Header.Get("x-ms-source-content-md5"); m != "" && src.md5 != nil && m != base64.StdEncoding.EncodeToString(src.md5) {
			return storageError(w, http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
		}
	}
	meta := map[string]string{}
	for k, v := range r.Header {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-ms-meta-"); ok && len(v) > 0 {
			meta[name] = v[0]
		}
	}
	b.mu.Lock()
	latency := b.cp.latency
	b.cp.copies++
	b.mu.Unlock()
	if sync && latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			// A synchronous copy is whole or absent; the fake drops the one
			// whose client went away.
			return 0
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if existing := b.cp.objects[r.URL.Path]; existing != nil {
		if r.Header.Get("If-None-Match") == "*" {
			return storageError(w, http.StatusConflict, "BlobAlreadyExists", "The specified blob already exists.")
		}
		if existing.copyStatus == "pending" {
			return storageError(w, http.StatusConflict, "PendingCopyOperation", "There is currently a pending copy operation.")
		}
	}
	b.cp.nextCopyID++
	o := &object{
		meta: meta, created: time.Now(), copySource: srcURL,
		copyID: fmt.Sprintf("c0pyid%02d-%s", b.cp.nextCopyID, randHex(8)), src: src,
	}
	if f.Corrupt {
		cut := *src
		cut.size--
		if cut.data != nil {
			cut.data = cut.data[:len(cut.data)-1]
			sum := md5.Sum(cut.data)
			cut.md5 = sum[:]
		}
		o.src = &cut
	}
	if sync {
		o.copyStatus, o.data, o.size, o.md5, o.etag = "success", o.src.data, o.src.size, o.src.md5, newETag()
	} else {
		o.copyStatus, o.etag = "pending", newETag()
		o.copyDone, o.pollsLeft, o.failAsync = time.Now().Add(latency), b.cp.asyncPolls, f.AsyncFail
		if latency > 0 {
			w.Header().Set("Retry-After", strconv.FormatFloat(latency.Seconds(), 'f', 3, 64))
		}
	}
	b.cp.objects[r.URL.Path] = o
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.created.UTC().Format(http.TimeFormat))
	h.Set("x-ms-copy-id", o.copyID)
	h.Set("x-ms-copy-status", o.copyStatus)
	w.WriteHeader(http.StatusAccepted)
	return http.StatusAccepted
}
