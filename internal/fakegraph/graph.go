package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// The four export endpoints, relative to BasePath, and whether they take an
// invoice (billed) or a currency and period (unbilled).
var exportBilled = map[string]bool{
	"usage/billed/export":            true,
	"usage/unbilled/export":          false,
	"reconciliation/billed/export":   true,
	"reconciliation/unbilled/export": false,
}

// ExportRetryAfter is the Retry-After header of the "running" answers of an
// operation created by an export call, so tests that wait on it stay fast.
const ExportRetryAfter = "0.1"

// ScriptOperation sets the answers of GET operations/{id}, in order; the last
// one repeats forever. It replaces any earlier script (or export-created
// operation) of that id; with no answers, the operation is forgotten (404).
func (s *Server) ScriptOperation(id string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(rs) == 0 {
		delete(s.ops, id)
		return
	}
	s.ops[id] = &script{rs: append([]Response(nil), rs...)}
}

// SetManifest makes GET manifests/{id} answer 200 with body.
func (s *Server) SetManifest(id, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifests[id] = body
}

// ScriptExport queues answers for the next POSTs to an export endpoint,
// before any validation; once they are used up, the endpoint behaves
// normally again. Calls append to the queue. path is one of
// "usage/billed/export", "usage/unbilled/export",
// "reconciliation/billed/export", "reconciliation/unbilled/export",
// optionally with a leading "/" or the whole BasePath; anything else panics.
func (s *Server) ScriptExport(path string, rs ...Response) {
	p := exportPath(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exports[p] = append(s.exports[p], rs...)
}

const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, body []byte) int {
	reqID := newGUID()
	crid := r.Header.Get("client-request-id")
	answer := func(resp Response) int {
		h := http.Header{}
		h.Set("request-id", reqID)
		if crid != "" {
			h.Set("client-request-id", crid)
		}
		if resp.Body != "" {
			h.Set("Content-Type", "application/json")
		}
		return s.send(w, r, resp, h)
	}
	fail := func(status int, code, msg string, headerKV ...string) int {
		c := crid
		if c == "" {
			c = reqID
		}
		return answer(Status(status, graphError(code, msg, reqID, c), headerKV...))
	}
	notAllowed := func(allow string) int {
		return fail(http.StatusMethodNotAllowed, "BadRequest",
			fmt.Sprintf("Specified HTTP method '%s' is not allowed for the request uri.", r.Method), "Allow", allow)
	}

	if msg := s.checkBearer(r.Header.Get("Authorization"), GraphResource); msg != "" {
		return fail(http.StatusUnauthorized, "InvalidAuthenticationToken", msg, "WWW-Authenticate", wwwAuthenticate)
	}

	rest, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		return fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", firstSegmentAfterVersion(r.URL.Path)))
	}
	if id, ok := strings.CutPrefix(rest, "operations/"); ok && id != "" && !strings.Contains(id, "/") {
		if r.Method != http.MethodGet {
			return notAllowed(http.MethodGet)
		}
		s.mu.Lock()
		sc := s.ops[id]
		var resp Response
		if sc != nil {
			resp = sc.take()
		}
		s.mu.Unlock()
		if sc == nil {
			return fail(http.StatusNotFound, "NotFound", fmt.Sprintf("Operation '%s' was not found.", id))
		}
		return answer(resp)
	}
	if id, ok := strings.CutPrefix(rest, "manifests/"); ok && id != "" && !strings.Contains(id, "/") {
		if r.Method != http.MethodGet {
			return notAllowed(http.MethodGet)
		}
		s.mu.Lock()
		resp, found := s.manifestAnswer(id)
		s.mu.Unlock()
		if !found {
			return fail(http.StatusNotFound, "NotFound", fmt.Sprintf("Manifest '%s' was not found.", id))
		}
		return answer(resp)
	}
	if billed, ok := exportBilled[rest]; ok {
		if r.Method != http.MethodPost {
			return notAllowed(http.MethodPost)
		}
		s.mu.Lock()
		q := s.exports[rest]
		if len(q) > 0 {
			resp := q[0]
			s.exports[rest] = q[1:]
			s.mu.Unlock()
			return answer(resp)
		}
		s.mu.Unlock()
		if status, msg := validateExport(billed, r.Header.Get("Content-Type"), body); status != 0 {
			code := "BadRequest"
			if status == http.StatusUnsupportedMediaType {
				code = "UnsupportedMediaType"
			}
			return fail(status, code, msg)
		}
		return answer(s.acceptExport(rest, body))
	}
	seg, _, _ := strings.Cut(rest, "/")
	return fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

func firstSegmentAfterVersion(p string) string {
	seg := strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/")
	for _, s := range seg {
		if s != "" && s != "reports" && s != "partners" && s != "billing" {
			return s
		}
	}
	return seg[len(seg)-1]
}

var currencyRE = regexp.MustCompile(`^[A-Za-z]{3}$`)

// validateExport checks an export request body; it returns 0 when valid, or
// the status and Graph error message to answer.
func validateExport(billed bool, contentType string, body []byte) (int, string) {
	if mt, _, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type '%s' is not supported; use application/json.", contentType)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return http.StatusBadRequest, "Empty Payload. JSON content expected."
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return http.StatusBadRequest, "Invalid JSON. The request body must be a JSON object."
	}
	allowed := map[string]func(string) string{
		"attributeSet": oneOf("full", "basic"),
	}
	if billed {
		allowed["invoiceId"] = nonEmpty
	} else {
		allowed["currencyCode"] = func(v string) string {
			if !currencyRE.MatchString(v) {
				return "must be an ISO 4217 currency code such as USD"
			}
			return ""
		}
		allowed["billingPeriod"] = oneOf("current", "last")
	}
	for k := range fields {
		if _, ok := allowed[k]; !ok {
			return http.StatusBadRequest, fmt.Sprintf("The parameter '%s' in the request payload is not a valid parameter for the operation.", k)
		}
	}
	names := make([]string, 0, len(allowed))
	for k := range allowed {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		raw, ok := fields[k]
		if !ok {
			return http.StatusBadRequest, fmt.Sprintf("The required parameter '%s' is missing.", k)
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return http.StatusBadRequest, fmt.Sprintf("Invalid value for parameter '%s': a string is expected.", k)
		}
		if msg := allowed[k](v); msg != "" {
			return http.StatusBadRequest, fmt.Sprintf("Invalid value '%s' for parameter '%s': %s.", v, k, msg)
		}
	}
	return 0, ""
}

func nonEmpty(v string) string {
	if strings.TrimSpace(v) == "" {
		return "must not be empty"
	}
	return ""
}

func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		for _, x := range vals {
			if v == x {
				return ""
			}
		}
		return "must be one of " + strings.Join(vals, ", ")
	}
}
