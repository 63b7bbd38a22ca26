package fakegraph

import (
	"fmt"
	"strings"
	"time"
)

// Manifest describes a manifest object (SPEC §6) for Body to render as
// literal JSON. Fields are sent verbatim; NewManifest fills them the way
// Microsoft's documented example does.
type Manifest struct {
	ID              string
	SchemaVersion   string
	DataFormat      string
	CreatedDateTime string
	ETag            string
	PartnerTenantID string
	RootDirectory   string
	SASToken        string
	PartitionType   string
	Blobs           []ManifestBlob
	// BlobCountAsString sends "blobCount": "2" instead of 2.
	BlobCountAsString bool
}

// ManifestBlob is one entry of a manifest's blobs. Body sends sizeInBytes
// and itemCount too, as Microsoft's sample does (the CSDL has neither).
type ManifestBlob struct {
	Name           string
	PartitionValue string
	SizeInBytes    int64
	ItemCount      int64
}

// NewManifest is a manifest shaped like the documented example, with one
// blob per name (partitionValue "default").
func NewManifest(id, rootDirectory, sasToken string, blobNames ...string) Manifest {
	m := Manifest{
		ID:              id,
		SchemaVersion:   "2",
		DataFormat:      "compressedJSONLines",
		CreatedDateTime: "2023-03-09T06:34:34.87Z",
		ETag:            "WYjLro78HdMg6vUWR",
		PartnerTenantID: "0e195b37-4574-4539-bc42-0e539b9684c0",
		RootDirectory:   rootDirectory,
		SASToken:        sasToken,
		PartitionType:   "Default",
	}
	for _, n := range blobNames {
		m.Blobs = append(m.Blobs, ManifestBlob{Name: n, PartitionValue: "default"})
	}
	return m
}

// Body renders m as the JSON object Graph sends.
func (m Manifest) Body() string {
	blobs := make([]string, len(m.Blobs))
	for i, b := range m.Blobs {
		blobs[i] = fmt.Sprintf(`
    {
      "name": %s,
      "partitionValue": %s,
      "sizeInBytes": %d,
      "itemCount": %d
    }`, jsonString(b.Name), jsonString(b.PartitionValue), b.SizeInBytes, b.ItemCount)
	}
	list := "[]"
	if len(blobs) > 0 {
		list = "[" + strings.Join(blobs, ",") + "\n  ]"
	}
	count := fmt.Sprint(len(m.Blobs))
	if m.BlobCountAsString {
		count = jsonString(count)
	}
	return fmt.Sprintf(`{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/partners/billing/manifests/$entity",
  "id": %s,
  "schemaVersion": %s,
  "dataFormat": %s,
  "createdDateTime": %s,
  "eTag": %s,
  "partnerTenantId": %s,
  "rootDirectory": %s,
  "sasToken": %s,
  "partitionType": %s,
  "blobCount": %s,
  "blobs": %s
}`, jsonString(m.ID), jsonString(m.SchemaVersion), jsonString(m.DataFormat), jsonString(m.CreatedDateTime),
		jsonString(m.ETag), jsonString(m.PartnerTenantID), jsonString(m.RootDirectory), jsonString(m.SASToken),
		jsonString(m.PartitionType), count, list)
}

// ScriptManifest sets the answers of GET manifests/{id}, in order; the last
// one repeats forever. A script wins over SetManifest; with no answers, the
// script of id is dropped.
func (s *Server) ScriptManifest(id string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rs) == 0 {
		delete(s.manifestScripts, id)
		return
	}
	if s.manifestScripts == nil {
		s.manifestScripts = map[string]*script{}
	}
	s.manifestScripts[id] = &script{rs: append([]Response(nil), rs...)}
}

// manifestAnswer is the next answer to GET manifests/{id}; found is false
// when the manifest is unknown (404). Call with s.mu held.
func (s *Server) manifestAnswer(id string) (resp Response, found bool) {
	if sc := s.manifestScripts[id]; sc != nil {
		return sc.take(), true
	}
	body, found := s.manifests[id]
	return OK(body), found
}

// UseBlobStore makes the manifests of operations started through the export
// endpoints point at b, which then serves their blobs (a few rows each, of
// the export kind's own shape: see exportRows) to holders of the manifest's
// SAS token. Without it those
// manifests point at a path of the fake that serves nothing.
func (s *Server) UseBlobStore(b *BlobStore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blobs = b
}

// PublishManifest stores files in b under a directory of their own, issues
// a SAS token for it valid for an hour, and makes GET manifests/{id} answer
// with a manifest of those blobs. It returns the manifest, whose SASToken
// and RootDirectory tests can compare with what they see.
func (s *Server) PublishManifest(b *BlobStore, id string, files ...BlobFile) Manifest {
	m := b.Publish(id, time.Now().Add(time.Hour), files...)
	s.SetManifest(id, m.Body())
	return m
}

// exportManifest is the manifest body of an operation started through an
// export endpoint: two blobs (3 and 2 rows from rows: the export kind's
// own, for the invoice it asked for) in the blob store when there is one.
// The caller holds s.mu.
func (s *Server) exportManifestLocked(id string, rows func(first, n int) []byte) string {
	names := []string{"part-00000-" + id + ".c000.json.gz", "part-00001-" + id + ".c000.json.gz"}
	b := s.blobs
	if b == nil {
		return ManifestBody(id, s.url+"/fakestorage/"+id, FakeSASToken(), names...)
	}
	return b.Publish(id, time.Now().Add(time.Hour),
		BlobFile{Name: names[0], Content: rows(0, 3)},
		BlobFile{Name: names[1], Content: rows(3, 2)},
	).Body()
}
