package fakegraph

import (
	"net/http"
	"strings"
	"time"
)

// ExportOperation is what an accepted export call answers and what the
// operation it creates then reports.
type ExportOperation struct {
	// NotListed is how many polls are answered 404 first (the service may not
	// list a just-created operation yet).
	NotListed int
	// Polls is how many polls (after NotListed) are answered "running" before
	// the operation finishes; 0 finishes at the first listed poll.
	Polls int
	// RetryAfter is the Retry-After header of the "running" answers; "" sends none.
	RetryAfter string
	// FailCode or FailMessage, when set, make the operation fail with them
	// instead of succeeding with a fresh two-blob manifest.
	FailCode, FailMessage string
	// AcceptRetryAfter is the Retry-After header of the 202; "" sends none.
	AcceptRetryAfter string
}

// DefaultExportOperation is what an export creates unless told otherwise:
// running twice (Retry-After ExportRetryAfter), then succeeded.
var DefaultExportOperation = ExportOperation{Polls: 2, RetryAfter: ExportRetryAfter}

// AcceptedExport is one export call that the fake accepted (202).
type AcceptedExport struct {
	Path        string // relative to BasePath, e.g. "usage/billed/export"
	OperationID string
	ManifestID  string // "" for an operation scripted to fail
	Body        []byte // the request body as received
	At          time.Time
	// Beta is true for the preview export under BetaBasePath (Path is then
	// relative to it); its operation and manifest are served there only.
	Beta bool
}

type exportScripts struct {
	queue    map[string][]ExportOperation // per path; "" for any path
	def      *ExportOperation
	accepted []AcceptedExport
}

// ScriptExportOperations sets what the operations created by the next
// accepted POSTs to path report, in order (path as for ScriptExport, or ""
// for any export endpoint; a queue for the path itself is used first). Once
// they are used up, new operations behave as SetExportDefault says.
func (s *Server) ScriptExportOperations(path string, ops ...ExportOperation) {
	p := ""
	if path != "" {
		p = exportPath(path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exportOps.queue == nil {
		s.exportOps.queue = map[string][]ExportOperation{}
	}
	s.exportOps.queue[p] = append(s.exportOps.queue[p], ops...)
}

// SetExportDefault sets what every export-created operation reports when no
// script says otherwise (initially DefaultExportOperation).
func (s *Server) SetExportDefault(op ExportOperation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exportOps.def = &op
}

// AcceptedExports is every export call answered 202 by the fake itself (not
// by a ScriptExport answer), in order.
func (s *Server) AcceptedExports() []AcceptedExport {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AcceptedExport, len(s.exportOps.accepted))
	for i, a := range s.exportOps.accepted {
		a.Body = append([]byte(nil), a.Body...)
		out[i] = a
	}
	return out
}

// ExportRequests is every POST received by an export endpoint (accepted,
// refused or dropped), in order.
func (s *Server) ExportRequests() []Request {
	return s.filter(func(r Request) bool {
		if r.Path == BetaBasePath+AggregatedUsagePath {
			return r.Method == http.MethodPost
		}
		rest, ok := strings.CutPrefix(r.Path, BasePath)
		_, export := exportBilled[rest]
		return ok && export && r.Method == http.MethodPost
	})
}

// exportPath reduces a path given to ScriptExport or ScriptExportOperations
// to its form relative to BasePath; an unknown path panics.
func exportPath(path string) string {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "/"), strings.TrimPrefix(BasePath, "/"))
	if b := strings.TrimPrefix(strings.TrimPrefix(path, "/"), strings.TrimPrefix(BetaBasePath, "/")); b == AggregatedUsagePath {
		return b
	}
	if _, ok := exportBilled[p]; !ok {
		panic("fakegraph: unknown export path " + path)
	}
	return p
}

// acceptExport registers the operation of a valid export call to path and
// returns the 202 to send: an absolute Location, no body (or the 400 of an
// invoice EnableFailingInvoices refuses).
func (s *Server) acceptExport(path string, body []byte) Response {
	return s.acceptExportIn(path, body, false)
}

// acceptExportIn is acceptExport in the v1.0 API or, with beta, in the beta
// one: the operation, its manifest and the Location are then under
// BetaBasePath only.
func (s *Server) acceptExportIn(path string, body []byte, beta bool) Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse, noData := s.failingInvoiceLocked(body)
	if refuse != nil {
		return *refuse
	}
	op := DefaultExportOperation
	if s.exportOps.def != nil {
		op = *s.exportOps.def
	}
	for _, key := range []string{path, ""} {
		if q := s.exportOps.queue[key]; len(q) > 0 {
			op, s.exportOps.queue[key] = q[0], q[1:]
			break
		}
	}
	if noData {
		op.FailCode, op.FailMessage = "5000", "No data available"
	}
	opID := newGUID()
	var rs []Response
	for range op.NotListed {
		rs = append(rs, ErrorResponse(http.StatusNotFound, "NotFound", "Operation '"+opID+"' was not found."))
	}
	running := OK(Running(opID))
	if op.RetryAfter != "" {
		running = OK(Running(opID), "Retry-After", op.RetryAfter)
	}
	for range op.Polls {
		rs = append(rs, running)
	}
	mID := ""
	manifestURL, operationURL := s.ManifestURL, s.OperationURL
	if beta {
		manifestURL, operationURL = s.BetaManifestURL, s.BetaOperationURL
	}
	if op.FailCode != "" || op.FailMessage != "" {
		rs = append(rs, OK(Failed(opID, op.FailCode, op.FailMessage)))
	} else {
		mID = newGUID()
		if beta {
			s.beta.setManifest(mID, OK(s.exportManifestLocked(mID, exportRows(path, body))))
		} else {
			s.manifests[mID] = s.exportManifestLocked(mID, exportRows(path, body))
		}
		rs = append(rs, OK(Succeeded(opID, manifestURL(mID))))
	}
	if beta {
		s.beta.setOperation(opID, rs...)
	} else {
		s.ops[opID] = &script{rs: rs}
	}
	s.exportOps.accepted = append(s.exportOps.accepted, AcceptedExport{
		Path: path, OperationID: opID, ManifestID: mID, Body: append([]byte(nil), body...), At: time.Now(), Beta: beta,
	})
	resp := Status(http.StatusAccepted, "", "Location", operationURL(opID))
	if op.AcceptRetryAfter != "" {
		resp.Header.Set("Retry-After", op.AcceptRetryAfter)
	}
	return resp
}
