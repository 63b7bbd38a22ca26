package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Manifest is a partner-billing export manifest as read from Graph
// (GET manifests/{id}). Strings are kept as the service sent them; empty
// means "absent in the response".
type Manifest struct {
	ID              string
	SchemaVersion   string
	DataFormat      string // opaque: "compressedJSONLines", "compressedJSON", ...
	CreatedDateTime string // RFC 3339, see NormalizeTimestamp
	ETag            string
	PartnerTenantID string
	RootDirectory   string // the blob directory URL; never called by this client
	PartitionType   string
	BlobCount       *int64 // nil when absent or not a whole number
	Blobs           []Blob
	// SASToken is the query string (without "?") that grants read access
	// to the blobs. It never leaves this value unredacted except through
	// Reveal, BlobURL or SASExpiry.
	SASToken Secret
}

// Blob is one file of a manifest.
type Blob struct {
	Name           string
	PartitionValue string
}

// GetManifest reads a manifest once, with the same request retries, body
// cap and error rules as GetOperation. A body for another manifest id is an
// error, never data.
//
// It is every manifest reader's one read (SPEC §4.1): /v1.0 first and, only
// when that answers 404, /beta once, where a preview export's manifest may
// be; both 404 is ErrNotFound naming both paths.
func (c *Client) GetManifest(ctx context.Context, id string) (*Manifest, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid manifest id %q: only letters, digits and '-' are allowed", id)
	}
	m, err := c.getManifest(ctx, V1, id)
	if !errors.Is(err, ErrNotFound) {
		return m, err
	}
	c.log(ctx, "manifest not found in Graph v1.0; trying beta", map[string]any{"manifest_id": id})
	m, betaErr := c.getManifest(ctx, Beta, id)
	if errors.Is(betaErr, ErrNotFound) {
		return nil, fmt.Errorf("%w; %w", err, betaErr)
	}
	return m, betaErr
}

func (c *Client) getManifest(ctx context.Context, api API, id string) (*Manifest, error) {
	resp, err := c.do(ctx, http.MethodGet, api.billingPath()+"manifests/"+id, time.Time{})
	if err != nil {
		return nil, err
	}
	m, err := DecodeManifest(resp.body)
	if err != nil {
		return nil, resp.decodeError(err)
	}
	if m.ID != "" && !strings.EqualFold(m.ID, id) {
		return nil, resp.decodeError(fmt.Errorf("the response is for manifest %q, not the one requested (%q)", m.ID, id))
	}
	return m, nil
}

// wireManifest is the JSON shape; every field is kept raw and decoded by
// hand, so that a field in an unexpected shape costs that field only.
type wireManifest struct {
	ID              json.RawMessage `json:"id"`
	SchemaVersion   json.RawMessage `json:"schemaVersion"`
	DataFormat      json.RawMessage `json:"dataFormat"`
	CreatedDateTime json.RawMessage `json:"createdDateTime"`
	ETag            json.RawMessage `json:"eTag"`
	PartnerTenantID json.RawMessage `json:"partnerTenantId"`
	RootDirectory   json.RawMessage `json:"rootDirectory"`
	SASToken        json.RawMessage `json:"sasToken"`
	PartitionType   json.RawMessage `json:"partitionType"`
	BlobCount       json.RawMessage `json:"blobCount"`
	Blobs           json.RawMessage `json:"blobs"`
}

// DecodeManifest parses a manifest body. Informative fields in an odd shape
// are dropped (a number is read as its text, blobCount may be a number or a
// string); unknown fields are ignored. The blob list is what the manifest is
// for: a blobs value that is not a list of objects with readable names is an
// error. Errors never quote the body (it holds the SAS token).
func DecodeManifest(body []byte) (*Manifest, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		// Checked before json.Unmarshal, whose errors may quote a character
		// of the body.
		return nil, errors.New("decoding manifest: expected a JSON object")
	}
	var w wireManifest
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return nil, fmt.Errorf("decoding manifest: %w", err)
	}
	m := &Manifest{}
	m.ID, _ = scalarString(w.ID)
	m.SchemaVersion, _ = scalarString(w.SchemaVersion)
	m.DataFormat, _ = scalarString(w.DataFormat)
	m.CreatedDateTime, _ = timestampField(w.CreatedDateTime)
	m.ETag, _ = scalarString(w.ETag)
	m.PartnerTenantID, _ = scalarString(w.PartnerTenantID)
	m.RootDirectory, _ = scalarString(w.RootDirectory)
	m.PartitionType, _ = scalarString(w.PartitionType)
	m.BlobCount = wholeNumber(w.BlobCount)
	if sas, err := scalarString(w.SASToken); err == nil {
		m.SASToken = NewSecret(sas)
	}
	blobs, err := decodeBlobs(w.Blobs)
	if err != nil {
		return nil, err
	}
	m.Blobs = blobs
	return m, nil
}

func decodeBlobs(raw json.RawMessage) ([]Blob, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []Blob{}, nil
	}
	if raw[0] != '[' {
		return nil, errors.New("decoding manifest blobs: expected a list")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("decoding manifest blobs: %w", err)
	}
	blobs := make([]Blob, 0, len(items))
	for i, item := range items {
		item = bytes.TrimSpace(item)
		if len(item) == 0 || item[0] != '{' {
			return nil, fmt.Errorf("decoding manifest blob %d: expected an object", i)
		}
		var wb struct {
			Name           json.RawMessage `json:"name"`
			PartitionValue json.RawMessage `json:"partitionValue"`
		}
		if err := json.Unmarshal(item, &wb); err != nil {
			return nil, fmt.Errorf("decoding manifest blob %d: %w", i, err)
		}
		var b Blob
		var err error
		if b.Name, err = scalarString(wb.Name); err != nil {
			return nil, fmt.Errorf("decoding manifest blob %d name: expected a string", i)
		}
		b.PartitionValue, _ = scalarString(wb.PartitionValue)
		blobs = append(blobs, b)
	}
	return blobs, nil
}

// wholeNumber reads a JSON number or a string holding one ("2", "2.0") as an
// integer; anything else (absent, null, "many", 2.5, out of range) is nil.
func wholeNumber(raw json.RawMessage) *int64 {
	s, err := scalarString(raw)
	s = strings.TrimSpace(s)
	if err != nil || s == "" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return &n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil
	}
	n := int64(f)
	return &n
}

// BlobURL is the download URL of the blob called name:
// {RootDirectory}/{name}?{SASToken}, where each '/'-separated segment of name
// is escaped as url.PathEscape does (a space becomes %20) and the SAS token
// is appended verbatim (it is already a query string). A trailing '/' of the
// root directory and a leading '?' of the token are dropped, so that neither
// is doubled; without a token there is no '?'. The URL carries the token, so
// it is a Secret too.
func (m *Manifest) BlobURL(name string) Secret {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.TrimSuffix(m.RootDirectory, "/") + "/" + strings.Join(segs, "/")
	if sas := strings.TrimPrefix(m.SASToken.value, "?"); sas != "" {
		u += "?" + sas
	}
	return Secret{value: u}
}

// sasDateRe and sasMinuteRe are the shorter ISO 8601 forms Azure Storage
// accepts for a signed expiry besides a full date-time.
var (
	sasDateRe   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	sasMinuteRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2})([Zz]|[+-]\d{2}:\d{2})?$`)
)

// SASExpiry reads the signed expiry (se=) of a SAS token, percent-decoded, as
// RFC 3339 ("2023-12-13T12%3A37%3A17Z" gives "2023-12-13T12:37:17Z"; a date
// without an offset is UTC; the fraction digits sent are kept; the shorter
// forms Azure accepts, YYYY-MM-DD and YYYY-MM-DDThh:mm, are completed with
// zeros). ok is false when the token has no se= or its value is not a date.
func SASExpiry(sas Secret) (expiry string, ok bool) {
	for _, part := range strings.Split(strings.TrimPrefix(sas.value, "?"), "&") {
		key, val, found := strings.Cut(part, "=")
		if !found || key != "se" {
			continue
		}
		v, err := url.QueryUnescape(val)
		if err != nil {
			return "", false
		}
		return parseSASTime(strings.TrimSpace(v))
	}
	return "", false
}

func parseSASTime(v string) (string, bool) {
	switch {
	case sasDateRe.MatchString(v):
		v += "T00:00:00Z"
	default:
		if m := sasMinuteRe.FindStringSubmatch(v); m != nil {
			v = m[1] + ":00" + m[2]
		}
	}
	out := NormalizeTimestamp(v)
	if _, err := time.Parse(time.RFC3339Nano, out); err != nil {
		return "", false
	}
	return out, true
}
