package partnercenter

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// Sentinels that *Error matches with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrThrottled    = errors.New("throttled")
	// ErrDeadline is matched by errors that end a read because its deadline
	// (or the read budget) would pass first.
	ErrDeadline = errors.New("deadline exceeded")
	// ErrAuthentication wraps a failure to acquire an access token.
	ErrAuthentication = errors.New("acquiring an access token for Partner Center")
	// ErrListing is matched by a listing that cannot be completed: a next
	// link that leaves the endpoint, repeats, or a 101st page.
	ErrListing = errors.New("incomplete invoice listing")
)

// Error is an HTTP error answered by Partner Center.
type Error struct {
	Method      string
	Path        string // path and query under the endpoint
	StatusCode  int
	Code        string // the body's "code" (a number or a string), as text
	Description string // the body's "description"
	// RequestID and CorrelationID are the MS-RequestId and MS-CorrelationId
	// response headers, as the service sent them ("" when absent).
	RequestID, CorrelationID string
	// SentRequestID and SentCorrelationID are the ones this client sent.
	SentRequestID, SentCorrelationID string
	RetryAfter                       time.Duration
	hasRetryAfter                    bool
}

// Error renders the error; every field the server sent is cleaned with
// safetext.Field (no terminal control sequences, at most 1,000 runes).
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d %s", e.Method, safetext.Field(e.Path), e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" || e.Description != "" {
		b.WriteString(": ")
		b.WriteString(safetext.Field(e.Code))
		if e.Description != "" {
			if e.Code != "" {
				b.WriteString(": ")
			}
			b.WriteString(safetext.Field(e.Description))
		}
	}
	b.WriteString(" (" + ids(e.RequestID, e.SentRequestID, e.CorrelationID, e.SentCorrelationID) + ")")
	return b.String()
}

// ids names the MS-RequestId and MS-CorrelationId the service sent, or, when
// it sent none, the ones this client sent.
func ids(reqID, sentReqID, corrID, sentCorrID string) string {
	name := func(header, got, sent string) string {
		if got != "" {
			return header + ": " + safetext.Field(got)
		}
		if sent != "" {
			return header + " sent: " + sent
		}
		return header + ": none"
	}
	return name("MS-RequestId", reqID, sentReqID) + ", " + name("MS-CorrelationId", corrID, sentCorrID)
}

// Is lets errors.Is match the sentinel that fits the status code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// DecodeError reports a body that is not the JSON expected (an HTML page
// from a proxy, truncated JSON, a body over the size cap). It never carries
// the body itself.
type DecodeError struct {
	Path                     string
	StatusCode               int
	ContentType              string
	RequestID, CorrelationID string
	Err                      error
}

func (e *DecodeError) Error() string {
	ct := safetext.Field(e.ContentType)
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("GET %s: HTTP %d with an unreadable body (%s): %s (%s)", safetext.Field(e.Path), e.StatusCode, ct,
		safetext.Field(e.Err.Error()), ids(e.RequestID, "", e.CorrelationID, ""))
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ListingError ends a listing that cannot be completed; it names the link.
type ListingError struct {
	Link   string // the next link as the service sent it
	Reason string
}

func (e *ListingError) Error() string {
	return fmt.Sprintf("the invoice listing stopped at next link %q: %s; the read fails rather than return a partial list",
		safetext.Field(redactLink(e.Link)), e.Reason)
}

// Is matches ErrListing.
func (e *ListingError) Is(target error) bool { return target == ErrListing }

// deadlineError ends a retry loop whose next attempt would come after the deadline.
type deadlineError struct {
	wait, remaining time.Duration
	fromService     bool
	budget          time.Duration
	last            error
}

func (e *deadlineError) Error() string {
	asked := "the next retry is due in " + formatWait(e.wait)
	if e.fromService {
		asked = "Partner Center asked to wait " + formatWait(e.wait) + " (Retry-After) before retrying"
	}
	if e.budget > 0 {
		return fmt.Sprintf("%s, longer than the %s a read of the invoices may take: failing now instead of waiting; last error: %v",
			asked, e.budget, e.last)
	}
	return fmt.Sprintf("%s, which would pass the deadline (%s left); last error: %v", asked, e.remaining.Round(time.Millisecond), e.last)
}

func (e *deadlineError) Is(target error) bool { return target == ErrDeadline }
func (e *deadlineError) Unwrap() error        { return e.last }

func formatWait(d time.Duration) string {
	return fmt.Sprintf("%s (%s s)", d.Round(time.Millisecond), strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', -1, 64))
}

// budgetError ends a listing when the read budget ran out.
type budgetError struct {
	budget time.Duration
	last   error
}

func (e *budgetError) Error() string {
	s := fmt.Sprintf("no complete invoice listing from Partner Center within %s, the budget of a read", e.budget)
	if e.last != nil {
		s += "; last error: " + e.last.Error()
	}
	return s
}

func (e *budgetError) Is(target error) bool { return target == ErrDeadline }
func (e *budgetError) Unwrap() error        { return e.last }

// decodeError reads Partner Center's error body {"code", "description"};
// code may be a number (600039) or a string. Anything else yields what could
// be read.
func decodeError(body []byte) (code, description string) {
	var env struct {
		Code        json.RawMessage `json:"code"`
		Description json.RawMessage `json:"description"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", ""
	}
	return scalar(env.Code), scalar(env.Description)
}

// scalar renders a JSON string or number as text; anything else as "".
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
