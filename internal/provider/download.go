package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/download"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// downloadRequest is one landing of a manifest's files: the
// partnerbilling_manifest_files resource and the export actions both come
// through downloadManifest.
type downloadRequest struct {
	manifestID  string
	directory   string
	decompress  bool
	concurrency int
	// onFile is told of each file once it is in place (progress).
	onFile func(download.File)
	// Where errors about the inputs point: the caller's arguments.
	manifestAttr, directoryAttr, timeoutAttr path.Path
	timeout                                  time.Duration
}

// downloaded is what a download landed, with the manifest's etag.
type downloaded struct {
	*download.Result
	etag string
}

// downloadManifest reads the manifest (one GET: a fresh SAS, no ephemeral
// value needed) and downloads every blob into the directory. The SAS token
// never leaves the graph and download packages: not in a value, a
// diagnostic or a log line.
func (d *providerData) downloadManifest(ctx context.Context, req downloadRequest, diags *diag.Diagnostics) *downloaded {
	ctx = tflog.SetField(ctx, "manifest_id", req.manifestID)
	// The directory first: one that cannot be written is the user's to fix
	// on directory, before any request.
	created, err := download.PrepareDir(req.directory)
	if err != nil {
		addDownloadError(diags, err, req)
		return nil
	}
	m, err := d.client.GetManifest(ctx, req.manifestID)
	if err != nil {
		created.RemoveEmpty(req.directory)
		addGraphErrorAt(diags, withCause(ctx, err), "manifest", req.manifestID, "", req.manifestAttr)
		return nil
	}
	tflog.Info(ctx, "downloading the manifest's blobs", map[string]any{
		"blobs": len(m.Blobs), "directory": req.directory, "decompress": req.decompress, "concurrency": req.concurrency,
	})
	opts := download.Options{
		Decompress:  req.decompress,
		Concurrency: req.concurrency,
		HTTPClient:  d.blobHTTP,
		UserAgent:   d.userAgent,
		Retry:       d.client.RetryPolicy(),
		Refresh: func(ctx context.Context) (*graph.Manifest, error) {
			tflog.Info(ctx, "the blob service refused the SAS token as expired; reading the manifest again for a fresh one")
			return d.client.GetManifest(ctx, req.manifestID)
		},
		OnFile:  req.onFile,
		Created: &created,
	}
	if d.debugLines {
		opts.Log = func(ctx context.Context, msg string, fields map[string]any) { tflog.Debug(ctx, msg, fields) }
	}
	res, err := download.Download(ctx, m, req.directory, opts)
	if err != nil {
		addDownloadError(diags, withCause(ctx, err), req)
		return nil
	}
	return &downloaded{Result: res, etag: m.ETag}
}

// addDownloadError is the diagnostic of a failed download, through the one
// sanitiser.
func addDownloadError(into *diag.Diagnostics, err error, req downloadRequest) {
	diags := &diag.Diagnostics{}
	defer func() { into.Append(cleanDiagnostics(*diags)...) }()
	const nothingPartial = "No temporary or partial file is left in the directory; files already complete stay, and a new download (the next apply, or invoking the action again) fetches every file again."
	var ne *download.NameError
	var be *download.BlobError
	var de *download.DirError
	var mc *graph.ManifestChangedError
	switch {
	case errors.As(err, &de):
		diags.AddAttributeError(req.directoryAttr, "Directory Not Writable",
			fmt.Sprintf("The folder %q cannot be used to download manifest %s: %s. Nothing was downloaded and the manifest was not read.\n\n"+
				"Choose a directory this process may create and write files in (check its permissions, a read-only mount, "+
				"or a file where a folder of the path should be).", req.directory, req.manifestID, safetext.Field(capitalize(de.Err.Error()))))
	case errors.As(err, &mc):
		diags.AddAttributeError(req.manifestAttr, "Manifest Changed During Download",
			fmt.Sprintf("Manifest %s changed while its blobs were downloading into %q: it had eTag %q when the download started and %q "+
				"when it was read again for a fresh SAS token (changed: %s). The download stopped instead of mixing two versions of the "+
				"export's data. %s\n\nRun the apply again to download the current version.",
				req.manifestID, req.directory, safetext.Field(mc.FirstETag), safetext.Field(mc.SecondETag), mc.What, nothingPartial))
	case errors.As(err, &ne):
		diags.AddAttributeError(req.manifestAttr, "Unsafe Blob Name",
			fmt.Sprintf("Manifest %s lists a blob whose name cannot be a file inside %q: %s. Nothing was downloaded or written.\n\n"+
				"Blob names come from the service; this one would write outside the directory or is not a usable file name. "+
				"Report the manifest id to Microsoft support.", req.manifestID, req.directory, safetext.Field(ne.Error())))
	case errors.Is(err, context.Canceled):
		diags.AddError("Download Interrupted",
			fmt.Sprintf("Downloading manifest %s into %q was interrupted. %s\n\n%s", req.manifestID, req.directory, nothingPartial, capitalize(err.Error())))
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddAttributeError(req.timeoutAttr, "Download Did Not Finish In Time",
			fmt.Sprintf("Downloading manifest %s into %q did not finish within %s. %s Raise the timeout for exports of this size.\n\n%s",
				req.manifestID, req.directory, req.timeout, nothingPartial, capitalize(err.Error())))
	case errors.As(err, &be):
		hint := ""
		switch be.StatusCode {
		case http.StatusForbidden:
			hint = "\n\nThe blob service refused the manifest's SAS token (after one re-read of the manifest for a fresh one if it had expired). " +
				"Read the manifest again later, or start a new export."
		case http.StatusNotFound:
			hint = "\n\nThe blob is not (or no longer) in the export's storage: exports are kept for a limited time. Start a new export."
		}
		diags.AddAttributeError(req.manifestAttr, "Blob Download Failed",
			fmt.Sprintf("Blob %q of manifest %s could not be downloaded complete into %q. %s\n\n%s%s",
				be.Name, req.manifestID, req.directory, nothingPartial, capitalize(safetext.Field(err.Error())), hint))
	default:
		diags.AddAttributeError(req.directoryAttr, "Download Failed",
			fmt.Sprintf("Manifest %s could not be downloaded into %q. %s\n\n%s", req.manifestID, req.directory, nothingPartial,
				capitalize(safetext.Field(err.Error()))))
	}
}

// fileList names files for a message: "a, b and 3 more".
func fileList(names []string) string {
	const show = 5
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}
