package fakegraph

import (
	"fmt"
	"net/http"
	"strings"
)

// BetaBasePath is the path prefix of the partner billing API's beta
// (preview) version.
const BetaBasePath = "/beta/reports/partners/billing/"

// AggregatedUsagePath is the preview export of billed aggregated usage,
// relative to BetaBasePath; its body is {"invoiceId"} alone.
const AggregatedUsagePath = "aggregatedUsage/billed/export"

// betaState is what the beta API serves: its own operations and manifests
// (an id known to v1.0 is not known here, and the reverse), so that tests
// see which version a client asked. Guarded by Server.mu.
type betaState struct {
	ops       map[string]*script
	manifests map[string]*script
}

func (b *betaState) setOperation(id string, rs ...Response) {
	if b.ops == nil {
		b.ops = map[string]*script{}
	}
	if len(rs) == 0 {
		delete(b.ops, id)
		return
	}
	b.ops[id] = &script{rs: append([]Response(nil), rs...)}
}

func (b *betaState) setManifest(id string, rs ...Response) {
	if b.manifests == nil {
		b.manifests = map[string]*script{}
	}
	if len(rs) == 0 {
		delete(b.manifests, id)
		return
	}
	b.manifests[id] = &script{rs: append([]Response(nil), rs...)}
}

// BetaOperationURL is the absolute beta URL of operation id.
func (s *Server) BetaOperationURL(id string) string { return s.url + BetaBasePath + "operations/" + id }

// BetaManifestURL is the absolute beta URL of manifest id.
func (s *Server) BetaManifestURL(id string) string { return s.url + BetaBasePath + "manifests/" + id }

// ScriptBetaOperation sets the answers of GET /beta/.../operations/{id}, in
// order; the last one repeats forever. With no answers, the operation is
// forgotten (404).
func (s *Server) ScriptBetaOperation(id string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beta.setOperation(id, rs...)
}

// ScriptBetaManifest sets the answers of GET /beta/.../manifests/{id}, in
// order; the last one repeats forever. With no answers, the manifest is
// forgotten (404).
func (s *Server) ScriptBetaManifest(id string, rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beta.setManifest(id, rs...)
}

// BetaRequests is the requests under /beta/.
func (s *Server) BetaRequests() []Request {
	return s.filter(func(r Request) bool { return strings.HasPrefix(r.Path, "/beta/") })
}

// serveBeta answers the beta API: the preview export (scripted with
// ScriptExport(AggregatedUsagePath, ...) and ScriptExportOperations, like the
// others), its operations and its manifests.
func (s *Server) serveBeta(w http.ResponseWriter, r *http.Request, body []byte) int {
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
	if msg := s.checkBearer(r.Header.Get("Authorization"), GraphResource); msg != "" {
		return fail(http.StatusUnauthorized, "InvalidAuthenticationToken", msg, "WWW-Authenticate", wwwAuthenticate)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, BetaBasePath)
	if !ok {
		return fail(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.TrimPrefix(r.URL.Path, "/beta/")+"'.")
	}
	for _, kind := range []struct {
		prefix, what string
		table        func() map[string]*script
	}{
		{"operations/", "Operation", func() map[string]*script { return s.beta.ops }},
		{"manifests/", "Manifest", func() map[string]*script { return s.beta.manifests }},
	} {
		id, ok := strings.CutPrefix(rest, kind.prefix)
		if !ok || id == "" || strings.Contains(id, "/") {
			continue
		}
		if r.Method != http.MethodGet {
			return fail(http.StatusMethodNotAllowed, "BadRequest",
				fmt.Sprintf("Specified HTTP method '%s' is not allowed for the request uri.", r.Method), "Allow", http.MethodGet)
		}
		s.mu.Lock()
		sc := kind.table()[id]
		var resp Response
		if sc != nil {
			resp = sc.take()
		}
		s.mu.Unlock()
		if sc == nil {
			return fail(http.StatusNotFound, "NotFound", fmt.Sprintf("%s '%s' was not found.", kind.what, id))
		}
		return answer(resp)
	}
	if rest != AggregatedUsagePath {
		seg, _, _ := strings.Cut(rest, "/")
		return fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "BadRequest",
			fmt.Sprintf("Specified HTTP method '%s' is not allowed for the request uri.", r.Method), "Allow", http.MethodPost)
	}
	s.mu.Lock()
	if q := s.exports[AggregatedUsagePath]; len(q) > 0 {
		resp := q[0]
		s.exports[AggregatedUsagePath] = q[1:]
		s.mu.Unlock()
		return answer(resp)
	}
	s.mu.Unlock()
	// The preview takes the invoice alone: attributeSet is refused.
	if status, msg := validateBody(r.Header.Get("Content-Type"), body, map[string]func(string) string{"invoiceId": nonEmpty}); status != 0 {
		code := "BadRequest"
		if status == http.StatusUnsupportedMediaType {
			code = "UnsupportedMediaType"
		}
		return fail(status, code, msg)
	}
	return answer(s.acceptExportIn(AggregatedUsagePath, body, true))
}
