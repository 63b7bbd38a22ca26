package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Operation statuses as Graph spells them (longRunningOperationStatus).
const (
	StatusNotStarted = "notStarted"
	StatusRunning    = "running"
	StatusSucceeded  = "succeeded"
	StatusFailed     = "failed"
)

// State is what the provider makes of an operation: finished or not, and how.
type State int

// The states an operation can be in.
const (
	StateRunning State = iota
	StateSucceeded
	StateFailed
)

func (s State) String() string {
	switch s {
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	}
	return "running"
}

// Operation is a partner-billing long-running operation as read from Graph.
// Empty strings mean "absent in the response".
type Operation struct {
	ODataType          string
	ID                 string
	Status             string // verbatim
	CreatedDateTime    string // RFC 3339, see NormalizeTimestamp
	LastActionDateTime string // RFC 3339, see NormalizeTimestamp
	ResourceLocation   string // manifest URL as reported (succeeded only)
	ManifestID         string // manifest id (succeeded only)
	Error              *OperationError
}

// OperationError is the error object of a failed operation.
type OperationError struct {
	Code    string
	Message string
	Target  string
}

// State decides whether the operation has finished: the @odata.type first,
// then the status (including the documented-but-wrong "completed"). When
// the two disagree, failure wins: a success type with status "failed" (or a
// failure type with a success status) is failed, because a false success
// would feed partial data downstream, while a false failure only stops the run.
func (o *Operation) State() State {
	byType, byStatus := StateRunning, StateRunning
	t := strings.ToLower(o.ODataType)
	switch {
	case strings.HasSuffix(t, ".exportsuccessoperation"), t == "exportsuccessoperation", t == "#exportsuccessoperation":
		byType = StateSucceeded
	case strings.HasSuffix(t, ".failedoperation"), t == "failedoperation", t == "#failedoperation":
		byType = StateFailed
	}
	switch strings.ToLower(o.Status) {
	case "succeeded", "completed":
		byStatus = StateSucceeded
	case "failed":
		byStatus = StateFailed
	}
	switch {
	case byType == StateFailed || byStatus == StateFailed:
		return StateFailed
	case byType != StateRunning:
		return byType
	}
	return byStatus
}

// ValidID reports whether id may be used as an operation or manifest id:
// 1 to 128 ASCII letters, digits and '-' only, so it can never change the
// request path. (A loop, not a regular expression: it runs twice per read.)
func ValidID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return true
}

// wireOperation is the JSON shape; fields that Graph has been seen to send in
// more than one shape are kept raw and decoded by hand.
type wireOperation struct {
	ODataType          string          `json:"@odata.type"`
	ID                 json.RawMessage `json:"id"`
	Status             json.RawMessage `json:"status"`
	CreatedDateTime    json.RawMessage `json:"createdDateTime"`
	LastActionDateTime json.RawMessage `json:"lastActionDateTime"`
	ResourceLink       json.RawMessage `json:"resourceLocation@odata.navigationLink"`
	ResourceLocation   json.RawMessage `json:"resourceLocation"`
	Error              json.RawMessage `json:"error"`
}

// DecodeOperation parses an operation body. It accepts both manifest shapes
// (a navigation link, or an inline resourceLocation object or string), every
// timestamp form seen from the service, and error codes as strings or numbers.
func DecodeOperation(body []byte) (*Operation, error) {
	var w wireOperation
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decoding operation: %w", err)
	}
	op := &Operation{ODataType: w.ODataType}
	var err error
	// The status decides whether a wait goes on: it must be readable. The
	// other fields are informative, and an odd shape in one of them must
	// not turn a failed export into an unreadable response.
	if op.Status, err = scalarString(w.Status); err != nil {
		return nil, fmt.Errorf("decoding operation status: %w", err)
	}
	op.ID, _ = scalarString(w.ID)
	op.CreatedDateTime, _ = timestampField(w.CreatedDateTime)
	op.LastActionDateTime, _ = timestampField(w.LastActionDateTime)
	if err := decodeResourceLocation(op, w.ResourceLink, w.ResourceLocation); err != nil {
		return nil, err
	}
	op.Error = decodeOperationError(w.Error)
	return op, nil
}

func decodeResourceLocation(op *Operation, link, inline json.RawMessage) error {
	linkStr, err := scalarString(link)
	if err != nil {
		return fmt.Errorf("decoding resourceLocation@odata.navigationLink: %w", err)
	}
	if linkStr != "" {
		op.ResourceLocation = linkStr
		op.ManifestID = idFromURL(linkStr)
		return nil
	}
	inline = bytes.TrimSpace(inline)
	if len(inline) == 0 || string(inline) == "null" {
		return nil
	}
	if inline[0] == '"' {
		s, err := scalarString(inline)
		if err != nil {
			return fmt.Errorf("decoding resourceLocation: %w", err)
		}
		op.ResourceLocation = s
		op.ManifestID = idFromURL(s)
		return nil
	}
	var obj struct {
		ID      json.RawMessage `json:"id"`
		ODataID json.RawMessage `json:"@odata.id"`
	}
	if err := json.Unmarshal(inline, &obj); err != nil {
		return fmt.Errorf("decoding resourceLocation: %w", err)
	}
	id, err := scalarString(obj.ID)
	if err != nil {
		return fmt.Errorf("decoding resourceLocation.id: %w", err)
	}
	if odataID, err := scalarString(obj.ODataID); err == nil && odataID != "" {
		op.ResourceLocation = odataID
		if id == "" {
			id = idFromURL(odataID)
		}
	}
	if ValidID(id) {
		op.ManifestID = id
	}
	return nil
}

// decodeOperationError reads the error of a failed operation: an object
// {code, message, target}, or a bare string taken as the message.
func decodeOperationError(raw json.RawMessage) *OperationError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		if msg, err := scalarString(raw); err == nil && msg != "" {
			return &OperationError{Message: msg}
		}
		return nil
	}
	var w struct {
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
		Target  json.RawMessage `json:"target"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil
	}
	var e OperationError
	e.Code, _ = scalarString(w.Code)
	e.Message, _ = scalarString(w.Message)
	e.Target, _ = scalarString(w.Target)
	return &e
}

// scalarString reads a JSON string, number or boolean as text; null or absent is "".
func scalarString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		return "", errors.New("expected a string, got an object or array")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b), nil
	}
	return "", fmt.Errorf("unexpected JSON value %.20q", raw)
}

func timestampField(raw json.RawMessage) (string, error) {
	s, err := scalarString(raw)
	if err != nil || s == "" {
		return s, err
	}
	return NormalizeTimestamp(s), nil
}

// timestampRe matches the date-time forms Graph sends: optional fraction,
// optional offset (absent means UTC).
var timestampRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$`)

// NormalizeTimestamp turns a Graph timestamp into RFC 3339: a missing offset
// means UTC and becomes "Z"; the fraction digits the service sent are kept.
// Text that is not a valid date-time is returned unchanged, so nothing the
// service said is lost.
func NormalizeTimestamp(s string) string {
	m := timestampRe.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	zone := m[4]
	switch zone {
	case "", "z", "Z":
		zone = "Z"
	}
	out := m[1] + "T" + m[2] + m[3] + zone
	if _, err := time.Parse(time.RFC3339Nano, out); err != nil {
		return s
	}
	return out
}

// idFromURL reduces a manifest or operation link to its id (the last path segment,
// or the key of manifests('id')), and only if it is a safe id: the link's host
// is never called.
func idFromURL(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	// The escaped path: an encoded "/" inside a segment makes it no id.
	p := strings.TrimRight(u.EscapedPath(), "/")
	seg := p[strings.LastIndex(p, "/")+1:]
	// OData key syntax: manifests('id') or manifests(id).
	if open := strings.IndexByte(seg, '('); open >= 0 && strings.HasSuffix(seg, ")") {
		seg = strings.Trim(seg[open+1:len(seg)-1], "'")
	}
	if !ValidID(seg) {
		return ""
	}
	return seg
}

// GetOperation reads an operation once (with request retries).
func (c *Client) GetOperation(ctx context.Context, id string) (*Operation, error) {
	return c.GetOperationIn(ctx, V1, id)
}

// GetOperationIn reads an operation of API version api once: a preview
// export's operation is read where it was started, at /beta.
func (c *Client) GetOperationIn(ctx context.Context, api API, id string) (*Operation, error) {
	op, _, err := c.getOperation(ctx, api, id, time.Time{})
	return op, err
}

func (c *Client) getOperation(ctx context.Context, api API, id string, deadline time.Time) (*Operation, http.Header, error) {
	if !ValidID(id) {
		return nil, nil, fmt.Errorf("invalid operation id %q: only letters, digits and '-' are allowed", id)
	}
	resp, err := c.do(ctx, http.MethodGet, api.billingPath()+"operations/"+id, deadline)
	if err != nil {
		return nil, nil, err
	}
	op, err := DecodeOperation(resp.body)
	if err != nil {
		return nil, nil, resp.decodeError(err)
	}
	// A caching proxy or a mixed-up answer must never pass for this
	// operation's data. GUIDs compare case-insensitively.
	if op.ID != "" && !strings.EqualFold(op.ID, id) {
		return nil, nil, resp.decodeError(fmt.Errorf("the body describes operation %q, not the requested %s", op.ID, id))
	}
	return op, resp.header, nil
}
