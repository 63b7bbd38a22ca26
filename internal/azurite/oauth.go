package azurite

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// options are what StartOAuth adds to Start's Azurite.
type options struct {
	oauth bool
}

// StartOAuth is Start with `--oauth basic`: Azurite then also accepts bearer
// tokens, checking their issuer (https://sts.windows.net/{tenant}/), audience
// (https://storage.azure.com), nbf, exp and iat but not their signature, so
// the JWT-shaped tokens of fakegraph's identity platform pass. Its copy
// operations check the source over HTTPS from Node (Copy Blob answers 500
// without it), so Node is told to trust the fake's CA through
// NODE_EXTRA_CA_CERTS (Azurite issue #2579).
func StartOAuth(t testing.TB, srv *fakegraph.Server) *Server {
	t.Helper()
	return start(t, srv, options{oauth: true})
}

func (o options) args() []string {
	if !o.oauth {
		return nil
	}
	return []string{"--oauth", "basic"}
}

func (o options) env(t testing.TB, srv *fakegraph.Server, dir string) []string {
	t.Helper()
	if !o.oauth {
		return nil
	}
	ca := dir + "/ca.pem"
	if err := srv.WriteCACert(ca); err != nil {
		t.Fatalf("azurite: %v", err)
	}
	return []string{"NODE_EXTRA_CA_CERTS=" + ca}
}

// CreateContainer creates container (if needed) and returns its URL,
// "{BlobEndpoint}/{container}".
func (s *Server) CreateContainer(t testing.TB, containerName string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := s.client.NewContainerClient(containerName).Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("azurite: create container %q: %v", containerName, err)
	}
	return s.endpoint + "/" + containerName
}

// BlobProperties is what Azurite reports of a blob (read with the account key).
type BlobProperties struct {
	Size       int64
	ContentMD5 []byte
	ETag       string
	Metadata   map[string]string // keys lower-cased
	CopyStatus string
}

// Properties reads blob name of container; ok is false when it does not exist.
func (s *Server) Properties(t testing.TB, containerName, name string) (p BlobProperties, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := s.client.NewContainerClient(containerName).NewBlobClient(name).GetProperties(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) || (err != nil && strings.Contains(err.Error(), "404")) {
		return p, false
	}
	if err != nil {
		t.Fatalf("azurite: properties of %q in %q: %v", name, containerName, err)
	}
	p.Metadata = map[string]string{}
	for k, v := range resp.Metadata {
		if v != nil {
			p.Metadata[strings.ToLower(k)] = *v
		}
	}
	if resp.ContentLength != nil {
		p.Size = *resp.ContentLength
	}
	if resp.ETag != nil {
		p.ETag = string(*resp.ETag)
	}
	if resp.CopyStatus != nil {
		p.CopyStatus = string(*resp.CopyStatus)
	}
	p.ContentMD5 = resp.ContentMD5
	return p, true
}

// List names the blobs of container, in Azurite's order.
func (s *Server) List(t testing.TB, containerName string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	var out []string
	pager := s.client.NewContainerClient(containerName).NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("azurite: list %q: %v", containerName, err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name != nil {
				out = append(out, *b.Name)
			}
		}
	}
	return out
}

// Delete removes blob name of container (with the account key).
func (s *Server) Delete(t testing.TB, containerName, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := s.client.NewContainerClient(containerName).NewBlobClient(name).Delete(ctx, nil); err != nil {
		t.Fatalf("azurite: delete %q of %q: %v", name, containerName, err)
	}
}
