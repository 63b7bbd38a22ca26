// Package download lands a manifest's blobs on disk, complete and verified:
// each blob streams to a temporary file beside its place and is renamed into
// place only once its gzip decoded to the end, its rows are counted, its
// SHA-256 is known and the blob service's Content-MD5 and Content-Length (when
// sent) agree. Blob GETs go through the Azure SDK's azblob client with the
// SAS URL, retried by the Graph client's policy and resumed with a Range
// request; an expired SAS re-reads the manifest once. Names are checked before
// anything is written, and every file operation goes through an os.Root of the
// directory, so nothing lands outside it, also not through a symlink.
//
// It knows nothing of Terraform. The SAS token arrives as a graph.Secret and
// is unwrapped only where a blob client is built; no error, log line or
// result holds it.
package download

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/workers"
)

// Defaults and bounds of Options.Concurrency.
const (
	DefaultConcurrency = 8
	MaxConcurrency     = 32
)

// Options adjust Download. Refresh is required (an expired SAS needs it);
// the rest have defaults.
type Options struct {
	// Decompress writes JSON Lines without the ".gz" instead of the gzip
	// bytes as served.
	Decompress bool
	// Concurrency is how many blobs download at once (0: DefaultConcurrency).
	Concurrency int
	// HTTPClient sends the blob requests; nil means a client with the system
	// roots. Redirects are never followed.
	HTTPClient *http.Client
	// UserAgent is the User-Agent of every blob request ("": azcore's).
	UserAgent string
	// Retry is the policy of one blob: retries of failed GETs, cut bodies
	// and corrupt content, in all (the Graph client's policy).
	Retry graph.RetryPolicy
	// Refresh reads the manifest again for a fresh SAS token. It is called
	// at most once per Download, when a blob service says the token expired.
	Refresh func(ctx context.Context) (*graph.Manifest, error)
	// OnFile is told of each file once it is in place (serialised; from the
	// worker that wrote it).
	OnFile func(File)
	// StallTimeout ends a blob request from which nothing arrived for that
	// long; it is retried (0: DefaultStallTimeout).
	StallTimeout time.Duration
	// Log receives one debug line per blob request; fields hold no URL and
	// no token.
	Log func(ctx context.Context, msg string, fields map[string]any)
	// Created is what PrepareDir created for this download when the caller
	// checked the directory first (nil: Download prepares it itself). A
	// failed Download removes each of those folders that is empty.
	Created *Created
}

// File is one blob written to disk.
type File struct {
	Name    string    // the blob's name in the manifest
	Local   string    // the file, relative to the directory, '/'-separated (LocalName)
	Path    string    // filepath.Join(directory, Local)
	Size    int64     // bytes written
	SHA256  string    // lower-case hex of the file as written
	Rows    int64     // JSON Lines rows: non-empty lines of the decompressed content
	ModTime time.Time // of the file once in place
}

// Result is what Download wrote, in the manifest's blob order.
type Result struct {
	Files     []File
	TotalRows int64
	// SASExpiredRetries counts the manifest re-reads for a fresh SAS token
	// (0 or 1): however many blobs were refused with the expired token, one
	// re-read serves them all.
	SASExpiredRetries int
	// Created is every folder the download created (the directory, its
	// missing parents, the blobs' sub-folders): Remove's to take away.
	Created Created
}

// Download writes every blob of m into dir (created when missing). It fails
// on the first blob that cannot be downloaded complete, after cancelling the
// others; a failed or interrupted Download leaves no temporary file and no
// empty folder it created, and the files it had already put in place stay
// (each complete and verified).
func Download(ctx context.Context, m *graph.Manifest, dir string, opts Options) (_ *Result, err error) {
	var created Created
	if opts.Created != nil {
		created = *opts.Created
	}
	defer func() {
		if err != nil {
			created.RemoveEmpty(dir)
		}
	}()
	if dir == "" {
		return nil, errors.New("the download directory is empty")
	}
	if opts.Refresh == nil {
		return nil, errors.New("download: Options.Refresh is required")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Concurrency < 1 || opts.Concurrency > MaxConcurrency {
		return nil, fmt.Errorf("concurrency must be between 1 and %d, got %d", MaxConcurrency, opts.Concurrency)
	}
	if opts.Retry.Clock == nil {
		opts.Retry = graph.DefaultRetryPolicy()
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultStallTimeout
	}
	if opts.Log == nil {
		opts.Log = func(context.Context, string, map[string]any) {}
	}
	names := make([]string, len(m.Blobs))
	for i, b := range m.Blobs {
		names[i] = b.Name
	}
	locals, err := localNames(names, opts.Decompress)
	if err != nil {
		return nil, err
	}
	if err := m.CheckRoot(); err != nil {
		return nil, err
	}
	if opts.Created == nil {
		if created, err = PrepareDir(dir); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the download directory: %w", err)
	}
	defer root.Close()
	created.addFolders(foldersToCreate(root, locals))

	d := &downloader{
		opts: opts, root: root, dir: dir,
		http:   blobHTTPClient(opts.HTTPClient),
		sas:    graph.NewSASRenewal(m, opts.Refresh, (*graph.Manifest).CheckRoot),
		finals: make(map[string]bool, len(locals)),
	}
	for _, l := range locals {
		d.finals[fileKey(l)] = true
	}
	res := &Result{Files: make([]File, len(m.Blobs))}
	var mu sync.Mutex // res.Files and OnFile
	err = workers.Each(ctx, len(m.Blobs), opts.Concurrency, func(ctx context.Context, i int) error {
		f, ferr := d.fetch(ctx, m.Blobs[i].Name, locals[i])
		if ferr != nil {
			return ferr
		}
		mu.Lock()
		defer mu.Unlock()
		res.Files[i] = f
		if opts.OnFile != nil {
			opts.OnFile(f)
		}
		return nil
	})
	if err != nil {
		// Nothing partial stays: no temporary file (each worker removed its
		// own), and no folder this call created and left empty (deferred).
		return nil, err
	}
	for _, f := range res.Files {
		res.TotalRows += f.Rows
	}
	res.SASExpiredRetries = d.sas.Retries()
	res.Created = created
	return res, nil
}

// downloader is one Download's shared state.
type downloader struct {
	opts Options
	root *os.Root
	dir  string
	http *http.Client      // blobclient.Options bounds its error bodies
	sas  *graph.SASRenewal // the manifest's SAS and its one re-read, shared with blobcopy
	// finals is the fileKey of every file of the download: no temporary
	// name is one of them.
	finals map[string]bool
}

// Path is where a file of dir lands.
func Path(dir, local string) string { return filepath.Join(dir, filepath.FromSlash(local)) }

// foldersToCreate lists the parent folders of locals that do not exist yet.
func foldersToCreate(root *os.Root, locals []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range locals {
		for d := path.Dir(l); d != "." && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			if _, err := root.Lstat(d); errors.Is(err, fs.ErrNotExist) {
				out = append(out, d)
			}
		}
	}
	return out
}

// removeEmpty removes the folders of list that are empty, deepest first.
func removeEmpty(root *os.Root, list []string) {
	sort.Slice(list, func(i, j int) bool { return strings.Count(list[i], "/") > strings.Count(list[j], "/") })
	for _, d := range list {
		if fi, err := root.Lstat(d); err == nil && fi.IsDir() {
			_ = root.Remove(d) // fails when not empty: kept
		}
	}
}
