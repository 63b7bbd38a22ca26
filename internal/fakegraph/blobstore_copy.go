package fakegraph

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the blob store's other half: a partner's container that
// the provider writes into with a bearer token (SPEC §4.8). It serves Get
// Blob Properties (with metadata and the copy properties), Copy Blob From
// URL (x-ms-requires-sync), Copy Blob (pending, then success or failure),
// Abort Copy and Delete Blob (If-Match), each to a request whose bearer
// token is a JWT for the audience https://storage.azure.com that has not
// expired (Azurite's --oauth basic checks the same, not the signature). A
// copy reads its source from any blob store of this process, checking that
// store's SAS as a GET would: a server-side copy, no byte through the
// client. Blobs may be declared with a size and no content (1 GiB each for
// the benchmark). It counts the response bytes it served.

// stores is every running blob store of the process by host, so that a
// copy can read its source from another one.
var stores sync.Map // host -> *BlobStore

func registerStore(b *BlobStore) {
	if u, err := url.Parse(b.url); err == nil {
		stores.Store(u.Host, b)
	}
}

func unregisterStore(b *BlobStore) {
	if u, err := url.Parse(b.url); err == nil {
		stores.CompareAndDelete(u.Host, b)
	}
}

// copyState is the destination side of a BlobStore (under BlobStore.mu).
type copyState struct {
	containers map[string]bool    // "/{account}/{container}" or "/{container}"
	objects    map[string]*object // destination blobs and declared sources, by decoded path
	faults     []StorageFault
	latency    time.Duration // per copy
	asyncPolls int           // HEADs a pending copy answers before it is done (besides latency)
	served     atomic.Int64  // response body bytes
	copies     int           // copy requests accepted
	nextCopyID int
}

// object is a blob of the destination side, or a declared source.
type object struct {
	data    []byte // nil for a declared blob (served as zeros)
	size    int64
	md5     []byte // nil: none
	etag    string
	meta    map[string]string
	created time.Time

	copyID, copyStatus, copyDesc, copySource string
	copyDone                                 time.Time // a pending copy succeeds at this time…
	pollsLeft                                int       // …and after this many HEADs
	failAsync                                string    // a pending copy ends failed with this description
	src                                      *object   // what a pending copy will hold
}

// StorageFault is one scripted answer of the destination side.
type StorageFault struct {
	// Op selects the requests: "HEAD", "DELETE", "COPY" (either copy),
	// "COPYSYNC", "COPYASYNC", "ABORT"; "" matches all.
	Op string
	// Blob is the destination blob name (after the container); "" matches all.
	Blob string
	// Status and Code (and Message) answer instead of the service; with
	// Status 0 and AsyncFail set, a Copy Blob starts and then fails with
	// that description.
	Status        int
	Code, Message string
	RetryAfter    string
	AsyncFail     string
	// Corrupt makes a copy succeed with one byte less than its source (a
	// copy the verification must catch).
	Corrupt bool
	// Times is how many requests it answers (0: all).
	Times int
}

// ScriptStorage adds destination faults; the first that matches a request
// answers it.
func (b *BlobStore) ScriptStorage(f ...StorageFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cp.faults = append(b.cp.faults, f...)
}

// SetCopyLatency makes each copy take d: Copy Blob From URL answers after
// d, a Copy Blob is pending for d (and says so in Retry-After).
func (b *BlobStore) SetCopyLatency(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cp.latency = d
}

// SetAsyncPolls makes a Copy Blob answer n HEADs as pending before it
// succeeds (default 0: latency alone decides).
func (b *BlobStore) SetAsyncPolls(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cp.asyncPolls = n
}

// CreateContainer creates a destination container; name is "account/container"
// (the emulator's path form) or "container". It returns the container URL.
func (b *BlobStore) CreateContainer(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cpInit()
	b.cp.containers["/"+strings.Trim(name, "/")] = true
	return b.url + "/" + strings.Trim(name, "/")
}

// Declare stores a source blob of size bytes under directory dir without
// content (a GET serves zeros), no Content-MD5: the benchmark's 1 GiB blobs.
func (b *BlobStore) Declare(dir, name string, size int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cpInit()
	b.cp.objects["/"+strings.Trim(dir, "/")+"/"+name] = &object{size: size, etag: newETag(), created: time.Now()}
}

// DestBlob is a destination blob as a test sees it.
type DestBlob struct {
	Size       int64
	ContentMD5 []byte
	ETag       string
	Metadata   map[string]string
	CopyStatus string
	CopySource string // the source URL as the copy request sent it
}

// Dest returns the destination blob at container/name ("account/container").
func (b *BlobStore) Dest(container, name string) (DestBlob, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.cp.objects["/"+strings.Trim(container, "/")+"/"+name]
	if o == nil {
		return DestBlob{}, false
	}
	meta := map[string]string{}
	for k, v := range o.meta {
		meta[k] = v
	}
	return DestBlob{Size: o.size, ContentMD5: o.md5, ETag: o.etag, Metadata: meta, CopyStatus: o.copyStatus, CopySource: o.copySource}, true
}

// DestNames lists the destination blobs under container, sorted.
func (b *BlobStore) DestNames(container string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	pre := "/" + strings.Trim(container, "/") + "/"
	var out []string
	for p := range b.cp.objects {
		if strings.HasPrefix(p, pre) {
			out = append(out, strings.TrimPrefix(p, pre))
		}
	}
	sort.Strings(out)
	return out
}

// PutDest writes a destination blob directly (a blob somebody else wrote,
// or one to tamper with), with metadata meta.
func (b *BlobStore) PutDest(container, name string, data []byte, meta map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cpInit()
	sum := md5.Sum(data)
	b.cp.objects["/"+strings.Trim(container, "/")+"/"+name] = &object{
		data: append([]byte(nil), data...), size: int64(len(data)), md5: sum[:], etag: newETag(), meta: meta, created: time.Now(),
	}
}

// DeleteDest removes a destination blob directly.
func (b *BlobStore) DeleteDest(container, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.cp.objects, "/"+strings.Trim(container, "/")+"/"+name)
}

// BytesServed is how many response body bytes the store has sent.
func (b *BlobStore) BytesServed() int64 { return b.cp.served.Load() }

// Copies is how many copy requests the store received (past the source checks).
func (b *BlobStore) Copies() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cp.copies
}

func (b *BlobStore) cpInit() {
	if b.cp.containers == nil {
		b.cp.containers = map[string]bool{}
		b.cp.objects = map[string]*object{}
	}
}

func newETag() string { return fmt.Sprintf("\"0x8D%s\"", strings.ToUpper(randHex(6))) }

// countingWriter counts the body bytes of a response.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// counting wraps w so that its body bytes count in BytesServed (a HEAD's
// are not sent); Hijack (the truncating faults) still reaches the connection.
func (b *BlobStore) counting(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	n := &b.cp.served
	if r.Method == http.MethodHead {
		n = &atomic.Int64{}
	}
	if hj, ok := w.(http.Hijacker); ok {
		return countingHijacker{countingWriter{w, n}, hj}
	}
	return countingWriter{w, n}
}

type countingHijacker struct {
	countingWriter
	http.Hijacker
}

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
		w.Header().Set("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id="+StorageResource)
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
