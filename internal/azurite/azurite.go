// Package azurite runs Azurite, Microsoft's Azure Storage emulator, for
// tests: a real blob service that validates real service SAS tokens, which
// fakegraph's BlobStore only imitates. It serves HTTPS with the fake Graph's
// leaf certificate, so a client that trusts fakegraph's CA trusts Azurite too.
//
// Azurite is a Node.js program. `make azurite` installs the pinned version
// into a cache folder outside the repository and `make test` hands its
// azurite-blob to the tests in PARTNERBILLING_AZURITE. Without it, Start
// skips the test — or fails it when PARTNERBILLING_REQUIRE_AZURITE=1 (CI).
//
// The package is used only by tests; it imports no Terraform and none of
// the provider's own packages but fakegraph.
package azurite

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	// EnvBinary names the azurite-blob executable (`make azurite` installs it).
	EnvBinary = "PARTNERBILLING_AZURITE"
	// EnvRequire, when "1", turns Start's skip into a failure (CI sets it).
	EnvRequire = "PARTNERBILLING_REQUIRE_AZURITE"

	// AccountName and AccountKey are Azurite's well-known development account.
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

	// startTimeout bounds the wait for Azurite to listen. It takes about a
	// second on an idle machine, but Node's start-up (450 modules) took over
	// 20 s on two cores while `go test ./...` compiled and four packages
	// started Azurite at once.
	startTimeout = 60 * time.Second
	// stopTimeout is how long Azurite may take to exit after SIGTERM before it is killed.
	stopTimeout = 5 * time.Second
	// requestTimeout bounds each Publish or PutRaw.
	requestTimeout = 30 * time.Second
)

// Server is a running azurite-blob process.
type Server struct {
	endpoint string // https://127.0.0.1:PORT/devstoreaccount1
	pid      int
	cred     *service.SharedKeyCredential
	client   *service.Client
}

// Start launches azurite-blob on 127.0.0.1 (a port the kernel picks) with
// HTTPS using srv's leaf certificate, in-memory persistence, no access log and
// no telemetry, in a process group of its own, and stops it (SIGTERM to the
// group, SIGKILL after 5 s) in t.Cleanup, which also waits for it to exit.
//
// It skips t, with a message naming `make azurite`, when PARTNERBILLING_AZURITE
// is unset or not an executable, or node is not on PATH; with
// PARTNERBILLING_REQUIRE_AZURITE=1 it fails t instead. It fails t, quoting
// Azurite's output, when Azurite exits or is not listening within startTimeout.
func Start(t testing.TB, srv *fakegraph.Server) *Server {
	t.Helper()
	return start(t, srv, options{})
}

func start(t testing.TB, srv *fakegraph.Server, o options) *Server {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	switch {
	case bin == "":
		unavailable(t, "%s is not set: run `make azurite` (needs npm) and set it to the azurite-blob it prints, or run `make test`", EnvBinary)
	case !isExecutable(bin):
		unavailable(t, "%s=%q is not an executable file: run `make azurite` (needs npm)", EnvBinary, bin)
	}
	if _, err := exec.LookPath("node"); err != nil {
		unavailable(t, "node is not on PATH (Azurite is a Node.js program; `make azurite` installs it with npm): %v", err)
	}

	dir := t.TempDir()
	certPath, keyPath := dir+"/cert.pem", dir+"/key.pem"
	if err := srv.WriteLeafPEM(certPath, keyPath); err != nil {
		t.Fatalf("azurite: %v", err)
	}
	work := dir + "/work"
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatalf("azurite: %v", err)
	}

	// --blobPort 0: Azurite listens on a port the kernel picks and prints the
	// address ("successfully listens on https://127.0.0.1:PORT"), so there is
	// no race for a free port. --skipApiVersionCheck: azblob v1.8.3 sends
	// x-ms-version 2026-12-06, newer than Azurite 3.37.0's 2026-06-06, which
	// Azurite would refuse with 400 InvalidHeaderValue.
	cmd := exec.Command(bin, append([]string{
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--cert", certPath, "--key", keyPath,
		"--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck",
	}, o.args()...)...)
	cmd.Dir = work                                         // in-memory, but anything Azurite writes anyway lands in the test's directory
	cmd.Env = withoutEnv(os.Environ(), "AZURITE_ACCOUNTS") // only the well-known account
	cmd.Env = append(cmd.Env, o.env(t, srv, dir)...)
	out := &watcher{ready: make(chan string, 1)}
	errOut := &tail{}
	cmd.Stdout, cmd.Stderr = out, errOut
	setProcessGroup(cmd)

	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("azurite: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		signalGroup(cmd, false)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			signalGroup(cmd, true)
			<-exited
		}
	}

	var addr string
	select {
	case addr = <-out.ready:
	case <-exited:
		t.Fatalf("azurite: exited before listening (%v)\nstdout:\n%s\nstderr:\n%s", waitErr, out, errOut)
	case <-time.After(startTimeout):
		stop()
		t.Fatalf("azurite: not listening after %s\nstdout:\n%s\nstderr:\n%s", startTimeout, out, errOut)
	}
	t.Cleanup(stop)
	t.Logf("azurite: %s listening on %s after %s", bin, addr, time.Since(begin).Round(time.Millisecond))

	s := &Server{endpoint: addr + "/" + AccountName, pid: cmd.Process.Pid}
	cred, err := service.NewSharedKeyCredential(AccountName, AccountKey)
	if err != nil {
		t.Fatalf("azurite: %v", err)
	}
	client, err := service.NewClientWithSharedKeyCredential(s.endpoint+"/", cred, &service.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: srv.HTTPClient(),
			Retry:     policy.RetryOptions{MaxRetries: -1}, // a local emulator either answers or is broken
		},
	})
	if err != nil {
		t.Fatalf("azurite: %v", err)
	}
	s.cred, s.client = cred, client
	return s
}

// BlobEndpoint is "https://127.0.0.1:PORT/devstoreaccount1" (Azurite's
// path-style account URL).
func (s *Server) BlobEndpoint() string { return s.endpoint }

// PID is the azurite-blob process id (also its process group id on Unix), for
// tests that check it is gone after cleanup.
func (s *Server) PID() int { return s.pid }

// Publish creates container (if needed) and uploads each file, gzip-compressed,
// as blob "{prefix}/{name}" with its Content-MD5 stored on the blob. It returns
// a manifest (fakegraph.NewManifest with ID prefix) whose RootDirectory is
// "{BlobEndpoint}/{container}/{prefix}", whose SASToken is a service SAS for
// the container (read permission, HTTPS, expiring at expiry; the query string
// without "?"), and whose Blobs have partitionValue "default", the stored size
// and the number of lines. An empty prefix puts the blobs at the container's
// root. Register it with srv.SetManifest(m.ID, m.Body()) where a test needs it.
func (s *Server) Publish(t testing.TB, containerName, prefix string, expiry time.Time, files ...fakegraph.BlobFile) fakegraph.Manifest {
	t.Helper()
	prefix = strings.Trim(prefix, "/")
	root := s.endpoint + "/" + containerName
	if prefix != "" {
		root += "/" + prefix
	}
	m := fakegraph.NewManifest(prefix, root, s.SAS(t, containerName, expiry))
	for _, f := range files {
		gz := fakegraph.Gzip(f.Content)
		name := f.Name
		if prefix != "" {
			name = prefix + "/" + name
		}
		s.PutRaw(t, containerName, name, gz)
		m.Blobs = append(m.Blobs, fakegraph.ManifestBlob{
			Name: f.Name, PartitionValue: "default", SizeInBytes: int64(len(gz)), ItemCount: lines(f.Content),
		})
	}
	return m
}

// PutRaw stores data verbatim (no compression: a corrupt gzip, say) as blob
// name of container, creating the container if needed, with Content-MD5 stored.
func (s *Server) PutRaw(t testing.TB, containerName, name string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	c := s.client.NewContainerClient(containerName)
	if _, err := c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("azurite: create container %q: %v", containerName, err)
	}
	sum := md5.Sum(data)
	_, err := c.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentMD5: sum[:]},
	})
	if err != nil {
		t.Fatalf("azurite: upload %q to container %q: %v", name, containerName, err)
	}
}

// SAS is a service SAS for container (read permission, HTTPS only, valid from
// an hour before expiry or five minutes ago, whichever is earlier, until
// expiry), as a query string without "?". The container need not exist yet.
func (s *Server) SAS(t testing.TB, containerName string, expiry time.Time) string {
	t.Helper()
	start := time.Now().Add(-5 * time.Minute)
	if e := expiry.Add(-time.Hour); e.Before(start) {
		start = e
	}
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPS,
		StartTime:     start.UTC(),
		ExpiryTime:    expiry.UTC(),
		Permissions:   (&sas.ContainerPermissions{Read: true}).String(),
		ContainerName: containerName,
	}.SignWithSharedKey(s.cred)
	if err != nil {
		t.Fatalf("azurite: sign SAS for container %q: %v", containerName, err)
	}
	return qp.Encode()
}

// BlobURL is "{root}/{name}?{sasToken}" with each '/'-separated segment of
// name escaped by url.PathEscape, as SPEC §4.3 builds a blob's url.
func BlobURL(root, name, sasToken string) string {
	segs := strings.Split(name, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return root + "/" + strings.Join(segs, "/") + "?" + sasToken
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := "azurite: " + fmt.Sprintf(format, args...)
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(msg + " (" + EnvRequire + "=1 requires Azurite)")
	}
	t.Skip(msg)
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// lines counts JSON Lines rows: newline-terminated lines, plus a last line
// without its newline.
func lines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte("\n")))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// outputLimit caps how much of Azurite's output is kept for error messages.
const outputLimit = 64 << 10

// tail keeps the last outputLimit bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - outputLimit; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// listenMarker precedes the address in the line Azurite prints once it is
// listening: "Azurite Blob service successfully listens on https://127.0.0.1:PORT".
const listenMarker = "successfully listens on "

// watcher is Azurite's stdout: it keeps a tail and sends the listening
// address on ready once.
type watcher struct {
	tail
	ready chan string
	once  sync.Once
}

func (w *watcher) Write(p []byte) (int, error) {
	n, err := w.tail.Write(p)
	s := w.String()
	if i := strings.Index(s, listenMarker); i >= 0 {
		rest := s[i+len(listenMarker):]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			addr := strings.TrimSpace(rest[:j])
			w.once.Do(func() { w.ready <- addr })
		}
	}
	return n, err
}
