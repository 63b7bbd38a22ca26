package fakegraph

import (
	"crypto/md5"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// These files (blobstore_copy*.go) are the blob store's other half: a partner's container that
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
	// WWWAuthenticate is the WWW-Authenticate header of the answer (a 401's
	// challenge, as Azure sends it; "" sends none).
	WWWAuthenticate string
	AsyncFail       string
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
