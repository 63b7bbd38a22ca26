// Package fakegraph is a fake Microsoft identity platform and Microsoft Graph
// partner billing API, served over TLS on loopback. Tests script its answers,
// and it records every request it receives.
//
// One Server plays every host: its URL is used as the provider's
// graph_endpoint and authority_host, as IDENTITY_ENDPOINT (managed identity),
// as ACTIONS_ID_TOKEN_REQUEST_URL (GitHub Actions OIDC) and as
// SYSTEM_OIDCREQUESTURI (Azure Pipelines OIDC). It serves
//
//   - GET  /{tenant}/v2.0/.well-known/openid-configuration
//   - GET  /common/discovery/instance
//   - POST /{tenant}/oauth2/v2.0/token (client credentials with a secret, a
//     certificate-signed client assertion, or a federated token)
//   - GET  /metadata/identity/oauth2/token (managed identity, IMDS style)
//   - GET  /msi/token (managed identity, App Service style)
//   - GET  /_apis/distributedtask/idtoken (GitHub Actions OIDC token requests)
//   - POST AzurePipelinesOIDCPath (Azure Pipelines OIDC token requests)
//   - GET  /v1.0/reports/partners/billing/operations/{id}
//   - GET  /v1.0/reports/partners/billing/manifests/{id}
//   - GET  /v1/invoices?size=&offset= (Partner Center, partnercenter.go)
//
// and, on a port of its own (StartBlobStore), the blobs of manifests, for
// holders of a valid SAS token.
//   - POST /v1.0/reports/partners/billing/{usage|reconciliation}/{billed|unbilled}/export
//   - POST /beta/reports/partners/billing/aggregatedUsage/billed/export, and
//     GET /beta/reports/partners/billing/{operations|manifests}/{id} (beta.go)
//
// WriteAzureCLI writes a fake `az` executable that hands out its tokens.
//
// The package uses only the standard library.
package fakegraph

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Response is one scripted answer.
type Response struct {
	Status int           // 0 means 200
	Header http.Header   // extra response headers, e.g. Retry-After; they replace the default ones (request-id, Content-Type)
	Body   string        // literal body, sent verbatim
	Delay  time.Duration // wait before answering; abort early if the request context ends
	Drop   bool          // hijack the connection and close it without writing any response
	// Stall sends the status, the headers and the first half of Body, then
	// stops sending (the connection stays open) until the client goes away:
	// a body that stops arriving.
	Stall bool
	// Cut sends the status, the headers (Content-Length the whole Body) and
	// the first half of Body, then closes the connection: a body cut off
	// by a reset.
	Cut bool
}

// Request is one recorded request.
type Request struct {
	Method, Path, RawQuery string // Path is decoded (url.URL.Path)
	Header                 http.Header
	Body                   []byte
	At                     time.Time
	// Resource is, for a token request (Entra token endpoint or managed
	// identity), the resource it asked for: the scope without "/.default",
	// or the resource parameter. "" for other requests.
	Resource string
}

// Option configures Start.
type Option func(*config)

type config struct {
	addr          string
	tokenLifetime time.Duration
	accessLog     func(method, path string, status int, elapsed time.Duration)
}

// WithAddr sets the listen address; default "127.0.0.1:0".
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithTokenLifetime sets the lifetime (expires_in) of issued tokens; default 1h.
// Graph answers 401 to an expired token.
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.tokenLifetime = d } }

// WithAccessLog calls fn once per request, after it has been answered, with
// the request method, its path (never the query, headers or body) and the
// status sent; status is 0 when the connection was dropped or the client went
// away before the answer.
func WithAccessLog(fn func(method, path string, status int, elapsed time.Duration)) Option {
	return func(c *config) { c.accessLog = fn }
}

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	cfg     config
	url     string
	certs   *certs
	srv     *http.Server
	ln      net.Listener
	closing chan struct{}
	once    sync.Once
	active  sync.WaitGroup

	mu              sync.Mutex
	closed          bool
	requests        []Request
	clients         map[clientKey]*Client
	tenants         map[string]bool
	tokens          map[string]token
	issued          []string
	tokenQueue      []Response
	ops             map[string]*script
	manifests       map[string]string
	manifestScripts map[string]*script // ScriptManifest; wins over manifests
	blobs           *BlobStore         // UseBlobStore
	exports         map[string][]Response
	exportOps       exportScripts
	beta            betaState      // the preview API under /beta/ (beta.go)
	pc              *partnerCenter // partnercenter.go
	failingInvoices bool           // EnableFailingInvoices (rows.go)
	transports      []*http.Transport

	github         *githubOIDC
	githubQueue    []Response
	pipelines      *azurePipelinesOIDC
	pipelinesQueue []Response
	identityHeader string          // App Service's IDENTITY_HEADER secret
	identities     map[string]bool // enabled managed identities (miKey)
	miQueue        []Response
}

// Start starts a fake on 127.0.0.1 with a random port (see WithAddr).
func Start(opts ...Option) (*Server, error) {
	cfg := config{addr: "127.0.0.1:0", tokenLifetime: time.Hour}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := newCerts()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("fakegraph: listen: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		url:       "https://" + ln.Addr().String(),
		certs:     c,
		ln:        ln,
		closing:   make(chan struct{}),
		clients:   map[clientKey]*Client{},
		tenants:   map[string]bool{},
		tokens:    map[string]token{},
		ops:       map[string]*script{},
		manifests: map[string]string{},
		exports:   map[string][]Response{},

		identityHeader: randHex(16),
		identities:     map[string]bool{},
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{c.leaf},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // HTTP/1.1 only, so Drop can hijack
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() { _ = s.srv.Serve(tls.NewListener(ln, tlsCfg)) }()
	return s, nil
}

// Close stops the server, closes every connection and waits for the
// handlers to return. It may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true // no handler may Add to active from now on
		s.mu.Unlock()
		_ = s.srv.Close()
		close(s.closing)
		s.active.Wait()
		s.mu.Lock()
		ts := s.transports
		s.transports = nil
		s.mu.Unlock()
		for _, t := range ts {
			t.CloseIdleConnections()
		}
	})
}

// URL is "https://127.0.0.1:PORT", used as both graph_endpoint and authority_host.
func (s *Server) URL() string { return s.url }

// OperationURL is the absolute URL of operation id.
func (s *Server) OperationURL(id string) string { return s.url + BasePath + "operations/" + id }

// ManifestURL is the absolute URL of manifest id.
func (s *Server) ManifestURL(id string) string { return s.url + BasePath + "manifests/" + id }

// CACertPEM is the PEM of the CA (ECDSA P-256, generated at Start) that
// signed the server certificate.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.certs.caPEM...) }

// WriteCACert writes CACertPEM to path atomically (mode 0644).
func (s *Server) WriteCACert(path string) error {
	return WriteFileAtomic(path, s.certs.caPEM, 0o644)
}

// WriteLeafPEM writes the server's certificate chain (leaf, then CA) to
// certPath (mode 0644) and the leaf's private key (PKCS #8) to keyPath (mode
// 0600), both PEM-encoded, so that another local server (Azurite's --cert and
// --key) can serve the same certificate and be trusted wherever the fake is.
func (s *Server) WriteLeafPEM(certPath, keyPath string) error {
	chain, key, err := s.certs.leafPEM()
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(keyPath, key, 0o600); err != nil {
		return fmt.Errorf("fakegraph: write leaf key: %w", err)
	}
	if err := WriteFileAtomic(certPath, chain, 0o644); err != nil {
		return fmt.Errorf("fakegraph: write leaf certificate: %w", err)
	}
	return nil
}

// HTTPClient is a new client whose transport trusts only the fake's CA and
// ignores proxy settings.
func (s *Server) HTTPClient() *http.Client {
	t := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.certs.caPool, MinVersion: tls.VersionTLS12},
		Proxy:               nil,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     30 * time.Second,
	}
	s.mu.Lock()
	s.transports = append(s.transports, t)
	s.mu.Unlock()
	return &http.Client{Transport: t}
}

// Requests is every request received, in order (a deep copy).
func (s *Server) Requests() []Request {
	return s.filter(func(Request) bool { return true })
}

// GraphRequests is the requests under /v1.0/.
func (s *Server) GraphRequests() []Request {
	return s.filter(func(r Request) bool { return strings.HasPrefix(r.Path, "/v1.0/") })
}

// TokenRequests is the POST requests to a token endpoint.
func (s *Server) TokenRequests() []Request {
	return s.filter(func(r Request) bool { return r.Method == http.MethodPost && isTokenPath(r.Path) })
}

// Reset forgets the recorded requests (scripts, clients and tokens stay).
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

func (s *Server) filter(keep func(Request) bool) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if keep(r) {
			r.Header = r.Header.Clone()
			r.Body = append([]byte(nil), r.Body...)
			out = append(out, r)
		}
	}
	return out
}

// maxBody caps the request bodies read and recorded.
const maxBody = 4 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Add and Wait must not race (sync.WaitGroup): a request that arrives
	// while Close runs is dropped instead of counted.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	start := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		At:       start,
		Resource: requestedResource(r.Method, r.URL.Path, r.URL.RawQuery, body),
	})
	s.mu.Unlock()

	status := 0
	if log := s.cfg.accessLog; log != nil {
		defer func() { log(r.Method, r.URL.Path, status, time.Since(start)) }()
	}

	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1.0/"):
		status = s.serveGraph(w, r, body)
	case strings.HasPrefix(p, "/beta/"):
		status = s.serveBeta(w, r, body)
	case strings.HasPrefix(p, "/v1/"):
		status = s.servePartnerCenter(w, r)
	case p == "/common/discovery/instance":
		status = s.serveInstanceDiscovery(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration"):
		status = s.serveOpenIDConfig(w, r)
	case isTokenPath(p):
		status = s.serveToken(w, r, body)
	case p == IMDSTokenPath:
		status = s.serveManagedIdentity(w, r, imds)
	case p == AppServiceTokenPath:
		status = s.serveManagedIdentity(w, r, s.appService())
	case p == GitHubOIDCPath:
		status = s.serveGitHubOIDC(w, r)
	case p == AzurePipelinesOIDCPath:
		status = s.serveAzurePipelinesOIDC(w, r)
	default:
		status = s.send(w, r, Status(http.StatusNotFound, "404 page not found\n", "Content-Type", "text/plain; charset=utf-8"), nil)
	}
}

// send writes resp after its delay, with the default headers base (which
// resp.Header overrides key by key), and returns the status sent. When the
// client goes away or the server closes during the delay, or for Drop, it
// closes the connection without an answer (panicking with
// http.ErrAbortHandler when it cannot hijack).
func (s *Server) send(w http.ResponseWriter, r *http.Request, resp Response, base http.Header) int {
	if resp.Delay > 0 {
		t := time.NewTimer(resp.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			panic(http.ErrAbortHandler) // no implicit 200; close the connection
		case <-s.closing:
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	if resp.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return 0
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	h := w.Header()
	for k, v := range base {
		h[k] = append([]string(nil), v...)
	}
	for k, v := range resp.Header {
		h.Del(k)
		for _, x := range v {
			h.Add(k, x)
		}
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	if resp.Cut {
		h.Set("Content-Length", fmt.Sprint(len(resp.Body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, resp.Body[:len(resp.Body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	if resp.Stall {
		h.Set("Content-Length", fmt.Sprint(len(resp.Body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, resp.Body[:len(resp.Body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp.Body)
	return status
}

// script is a sequence of answers whose last one repeats forever.
type script struct {
	rs   []Response
	next int
}

func (sc *script) take() Response {
	r := sc.rs[sc.next]
	if sc.next < len(sc.rs)-1 {
		sc.next++
	}
	return r
}

// newGUID is a random (version 4) GUID in lower case.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteFileAtomic writes data to a temporary file next to path and renames
// it into place, so a reader polling for path never sees a partial file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp, perm)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
