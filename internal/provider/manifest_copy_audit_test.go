package provider

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// declareManifest replaces the copy environment's manifest with blobs
// declared by size: the source answers them without Content-MD5.
func (e *copyEnv) declareManifest(sizes map[string]int64) []string {
	dir := fakegraph.BlobContainer + "/" + e.id
	names := make([]string, 0, len(sizes))
	for n, s := range sizes {
		e.src.Declare(dir, n, s)
		names = append(names, n)
	}
	e.man = fakegraph.NewManifest(e.id, e.src.URL()+"/"+dir, e.src.SAS(dir, time.Now().Add(time.Hour)), names...)
	e.srv.SetManifest(e.id, e.man.Body())
	return names
}

// TestManifestCopySourceWithoutMD5: a source that reports no Content-MD5 is
// copied synchronously without x-ms-source-content-md5 (and with
// x-ms-requires-sync and x-ms-source-if-match), and each blob's content_md5
// is null in state; every Storage request names the provider and Terraform
// in its User-Agent (SPEC §5: all calls).
func TestManifestCopySourceWithoutMD5(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	names := e.declareManifest(map[string]int64{"part-00000.json.gz": 4096})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: e.config(""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blobs").AtSliceIndex(0).AtMapKey("content_md5"), knownvalue.Null()),
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blobs").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact(names[0])),
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blobs").AtSliceIndex(0).AtMapKey("size"), knownvalue.Int64Exact(4096)),
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("total_bytes"), knownvalue.Int64Exact(4096)),
				statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("blob_count"), knownvalue.Int64Exact(1)),
			},
			Check: func(*terraform.State) error {
				copies := 0
				for _, r := range e.dst.Requests() {
					if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "terraform-provider-partnerbilling/test Terraform/") {
						return fmt.Errorf("destination request %s %s has User-Agent %q", r.Method, r.Path, ua)
					}
					if r.Method != http.MethodPut {
						continue
					}
					copies++
					if r.Header.Get("x-ms-requires-sync") != "true" || r.Header.Get("x-ms-source-if-match") == "" {
						return fmt.Errorf("copy request headers %v", r.Header)
					}
					if _, ok := r.Header["X-Ms-Source-Content-Md5"]; ok {
						return fmt.Errorf("x-ms-source-content-md5 sent for a source without Content-MD5: %v", r.Header)
					}
				}
				for _, r := range e.src.Requests() {
					if r.Method == http.MethodHead && !strings.HasPrefix(r.Header.Get("User-Agent"), "terraform-provider-partnerbilling/test Terraform/") {
						return fmt.Errorf("source request %s %s has User-Agent %q", r.Method, r.Path, r.Header.Get("User-Agent"))
					}
				}
				if copies != 1 {
					return fmt.Errorf("%d copy requests, want 1", copies)
				}
				return nil
			},
		}},
	})
}

// TestManifestCopyRefreshAndUpdateAreHEADsOnly: after the copy, refresh
// sends exactly one HEAD per recorded blob to the destination (a multiple
// of the blob count over the several refreshes of a test step) and nothing
// to Graph or the source; an in-place update of concurrency,
// retain_on_destroy and timeouts sends no request of its own.
func TestManifestCopyRefreshAndUpdateAreHEADsOnly(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	var graphBefore, srcBefore, dstBefore int
	mark := func() {
		graphBefore, srcBefore, dstBefore = len(e.srv.GraphRequests()), len(e.src.Requests()), len(e.dst.Requests())
	}
	onlyHEADs := func(*terraform.State) error {
		if g, s := len(e.srv.GraphRequests())-graphBefore, len(e.src.Requests())-srcBefore; g != 0 || s != 0 {
			return fmt.Errorf("%d Graph and %d source requests since the copy, want none", g, s)
		}
		reqs := e.dst.Requests()[dstBefore:]
		if len(reqs) == 0 || len(reqs)%len(e.files) != 0 {
			return fmt.Errorf("%d destination requests, want a positive multiple of %d (one HEAD per blob per refresh)", len(reqs), len(e.files))
		}
		perBlob := map[string]int{}
		for _, r := range reqs {
			if r.Method != http.MethodHead {
				return fmt.Errorf("destination request %s %s, want only HEADs", r.Method, r.Path)
			}
			perBlob[r.Path]++
		}
		n := -1
		for p, c := range perBlob {
			if n >= 0 && c != n {
				return fmt.Errorf("uneven HEADs per blob: %v (%s)", perBlob, p)
			}
			n = c
		}
		return nil
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: e.config(""), Check: func(*terraform.State) error { mark(); return nil }},
			{Config: e.config(""), PlanOnly: true, Check: onlyHEADs},
			{
				PreConfig: mark,
				Config:    e.config("  concurrency = 1\n  retain_on_destroy = false\n  timeouts { create = \"2h\" }"),
				Check:     onlyHEADs,
			},
		},
	})
}

// TestManifestCopySourceRefusedAtTheCopy: the destination service answers
// a copy with 403 CannotVerifyCopySource, or with AuthenticationFailed (the
// source refused the SAS): the manifest is read again exactly once, and
// the copy completes with sas_expired_retries = 1. (The fake refuses the
// first copy request whatever its SAS, so the blobs go one at a time: a
// second blob refused after the re-read would rightly fail.)
func TestManifestCopySourceRefusedAtTheCopy(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"CannotVerifyCopySource", "AuthenticationFailed"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			e := newCopyEnv(t)
			e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPY", Status: http.StatusForbidden, Code: code,
				Message: "Server failed to authenticate the request.", Times: 1})
			checks := e.blobChecks(e.id + "/")
			checks[5] = statecheck.ExpectKnownValue(copyAddr, tfjsonpath.New("sas_expired_retries"), knownvalue.Int64Exact(1))
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps:                    []resource.TestStep{{Config: e.config("  concurrency = 1"), ConfigStateChecks: checks[:6], Check: e.counts(2, 2)}},
			})
		})
	}
}

// TestManifestCopyAsynchronousFailure: a blob above 256 MiB is copied with
// Copy Blob; the service ends it "failed": the error names the copy status
// and x-ms-copy-status-description, and the failed copy is deleted.
func TestManifestCopyAsynchronousFailure(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	names := e.declareManifest(map[string]int64{"big/part-00000.json.gz": 300 << 20})
	e.dst.ScriptStorage(fakegraph.StorageFault{Op: "COPYASYNC", AsyncFail: "500 InternalError: the source could not be read to the end"})
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      e.config(""),
			ExpectError: wantError("Blob Copy Failed", names[0], "copy failed", "500 InternalError: the source could not be read to the end"),
		}},
	})
	if left := e.dst.DestNames(copyContainer); len(left) != 0 {
		t.Errorf("left in the container: %q", left)
	}
}

// storageTokenRequests is how many token requests asked for Azure Storage.
func (e *copyEnv) storageTokenRequests() int {
	n := 0
	for _, r := range e.srv.TokenRequests() {
		if r.Resource == fakegraph.StorageResource {
			n++
		}
	}
	return n
}

// TestManifestCopyStorage401 (SPEC §5, 401 once): Azure Storage refuses the
// Storage token once (401 InvalidAuthenticationInfo, with Azure's bearer
// challenge or without one): the provider drops it, gets a new one and
// retries once; the copy completes. A 401 that persists fails after that
// one retry, naming status, code and request id.
func TestManifestCopyStorage401(t *testing.T) {
	t.Parallel()
	for name, challenge := range map[string]string{"challenge": fakegraph.StorageChallenge, "no challenge": ""} {
		t.Run(name+", once", func(t *testing.T) {
			t.Parallel()
			e := newCopyEnv(t)
			e.dst.ScriptStorage(fakegraph.StorageFault{Op: "HEAD", Status: http.StatusUnauthorized, Code: "InvalidAuthenticationInfo",
				Message: "Server failed to authenticate the request.", WWWAuthenticate: challenge, Times: 1})
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps: []resource.TestStep{{
					Config: e.config("  concurrency = 1"),
					Check: func(*terraform.State) error {
						if n := e.storageTokenRequests(); n != 2 {
							return fmt.Errorf("%d Storage token requests, want 2 (the refused token replaced once)", n)
						}
						return nil
					},
				}},
			})
		})
		t.Run(name+", always", func(t *testing.T) {
			t.Parallel()
			e := newCopyEnv(t)
			e.dst.ScriptStorage(fakegraph.StorageFault{Op: "HEAD", Status: http.StatusUnauthorized, Code: "InvalidAuthenticationInfo",
				Message: "Server failed to authenticate the request.", WWWAuthenticate: challenge})
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps: []resource.TestStep{{
					Config:      e.config("  concurrency = 1"),
					ExpectError: wantError("401 InvalidAuthenticationInfo", "x-ms-request-id"),
				}},
			})
			heads := 0
			for _, r := range e.dst.Requests() {
				if r.Method == http.MethodHead {
					heads++
				}
			}
			if heads != 2 || e.storageTokenRequests() != 2 {
				t.Errorf("%d HEADs and %d Storage token requests, want 2 and 2 (one retry with a new token)", heads, e.storageTokenRequests())
			}
		})
	}
}

// TestManifestCopyExpiredAgain: the manifest read again for a fresh SAS
// carries an expired one too: the apply fails after exactly one re-read,
// and the error names the source's answer (status, x-ms-error-code,
// x-ms-request-id), as every Storage error does.
func TestManifestCopyExpiredAgain(t *testing.T) {
	t.Parallel()
	e := newCopyEnv(t)
	expired := e.man
	expired.SASToken = e.src.SAS(fakegraph.BlobContainer+"/"+e.id, time.Now().Add(-time.Minute))
	e.srv.ScriptManifest(e.id, fakegraph.OK(expired.Body()), fakegraph.OK(expired.Body()))
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config:      e.config("  concurrency = 1"),
			ExpectError: wantError("Blob Copy Failed", "HTTP 403 AuthenticationFailed", "x-ms-request-id", "read again", "also after one re-read"),
		}},
	})
	if n := e.manifestGets(); n != 2 {
		t.Errorf("%d manifest GETs, want 2 (one re-read)", n)
	}
}
