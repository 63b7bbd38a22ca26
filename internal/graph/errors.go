package graph

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

// Sentinels that *Error matches with errors.Is, so callers can branch on the
// kind of failure without looking at status codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrThrottled    = errors.New("throttled")
	// ErrDeadline is matched by errors that end a retry or wait because the
	// caller's deadline would pass first.
	ErrDeadline = errors.New("deadline exceeded")
	// ErrAuthentication wraps a failure to acquire an access token.
	ErrAuthentication = errors.New("acquiring an access token")
)

// Error is an HTTP error answered by Microsoft Graph.
type Error struct {
	Method          string
	Path            string
	StatusCode      int
	Code            string // Graph error.code, e.g. "Authorization_RequestDenied"
	Message         string // Graph error.message
	RequestID       string // request-id header (or innerError.request-id)
	ClientRequestID string // client-request-id we sent
	RetryAfter      time.Duration
	hasRetryAfter   bool // RetryAfter came from a valid header (it may be 0)
}

// Error renders the error; every field the server sent is cleaned with
// safetext.Field (no terminal control sequences, at most 1,000 runes).
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" || e.Message != "" {
		fmt.Fprintf(&b, ": %s", safetext.Field(e.Code))
		if e.Message != "" {
			if e.Code != "" {
				b.WriteString(": ")
			}
			b.WriteString(safetext.Field(e.Message))
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id: %s", safetext.Field(e.RequestID))
		if e.ClientRequestID != "" {
			fmt.Fprintf(&b, ", client-request-id: %s", e.ClientRequestID)
		}
		b.WriteString(")")
	} else if e.ClientRequestID != "" {
		fmt.Fprintf(&b, " (client-request-id: %s)", e.ClientRequestID)
	}
	return b.String()
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

// DecodeError reports a response body that is not the JSON we expected
// (an HTML page from a proxy, truncated JSON, a body over the size cap).
// It never carries the body itself: a manifest body holds a SAS token.
type DecodeError struct {
	Method      string
	Path        string
	StatusCode  int
	ContentType string
	RequestID   string
	Err         error
}

func (e *DecodeError) Error() string {
	ct := safetext.Field(e.ContentType)
	if ct == "" {
		ct = "no content type"
	}
	s := fmt.Sprintf("%s %s: HTTP %d with an unreadable body (%s): %s", e.Method, e.Path, e.StatusCode, ct, safetext.Field(e.Err.Error()))
	if e.RequestID != "" {
		s += " (request-id: " + safetext.Field(e.RequestID) + ")"
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

// WaitTimeoutError reports that an operation did not finish before the wait's deadline.
type WaitTimeoutError struct {
	OperationID string
	Timeout     time.Duration
	LastStatus  string // last status seen, "" when none was seen
	Reason      string // why the wait ended early, when it did
	LastErr     error  // last retryable failure, if the last poll failed
	// NeverFound: no poll found the operation (404, and nothing but
	// failures otherwise): a wrong id or tenant, not a slow export.
	NeverFound bool
}

func (e *WaitTimeoutError) Error() string {
	s := fmt.Sprintf("operation %s did not finish within %s (last status seen: %s)", e.OperationID, e.Timeout, orNone(safetext.Field(e.LastStatus)))
	if e.NeverFound {
		s = fmt.Sprintf("operation %s was never found within %s: Microsoft Graph answered 404 Not Found to every poll", e.OperationID, e.Timeout)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.LastErr != nil {
		s += "; last error: " + e.LastErr.Error()
	}
	return s
}

// Is matches ErrDeadline.
func (e *WaitTimeoutError) Is(target error) bool { return target == ErrDeadline }

func (e *WaitTimeoutError) Unwrap() error { return e.LastErr }

// deadlineError ends a retry loop whose next attempt would come after the deadline.
type deadlineError struct {
	wait, remaining time.Duration
	fromService     bool          // wait is the service's Retry-After
	budget          time.Duration // the read budget, when that was the deadline
	last            error
}

func (e *deadlineError) Error() string {
	asked := "the next retry is due in " + formatWait(e.wait)
	if e.fromService {
		asked = "Microsoft Graph asked to wait " + formatWait(e.wait) + " (Retry-After) before retrying"
	}
	if e.budget > 0 {
		return fmt.Sprintf("%s, longer than the %s a read without wait_timeout may take: failing now instead of waiting; last error: %v",
			asked, e.budget, e.last)
	}
	return fmt.Sprintf("%s, which would pass the deadline (%s left); last error: %v", asked, e.remaining.Round(time.Millisecond), e.last)
}

// formatWait renders a wait as a duration and in seconds ("1h0m0s (3600 s)").
func formatWait(d time.Duration) string {
	return fmt.Sprintf("%s (%s s)", d.Round(time.Millisecond), strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', -1, 64))
}

// budgetError ends a request that had no deadline of its own when the read
// budget ran out (a hanging or repeatedly failing service).
type budgetError struct {
	budget time.Duration
	last   error
}

func (e *budgetError) Error() string {
	s := fmt.Sprintf("no answer from Microsoft Graph within %s, the budget of a read without wait_timeout", e.budget)
	if e.last != nil {
		s += "; last error: " + e.last.Error()
	}
	return s
}

func (e *budgetError) Is(target error) bool { return target == ErrDeadline }
func (e *budgetError) Unwrap() error        { return e.last }

func (e *deadlineError) Is(target error) bool { return target == ErrDeadline }
func (e *deadlineError) Unwrap() error        { return e.last }

// decodeErrorEnvelope reads Graph's error envelope
// {"error":{"code","message","innerError":{"request-id"}}}. Anything else
// (an HTML page, truncated JSON, a number for a code) yields what could be read.
func decodeErrorEnvelope(body []byte) (code, message, requestID string) {
	var env struct {
		Error struct {
			Code       json.RawMessage `json:"code"`
			Message    json.RawMessage `json:"message"`
			InnerError struct {
				RequestID json.RawMessage `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "", "", ""
	}
	code, _ = scalarString(env.Error.Code)
	message, _ = scalarString(env.Error.Message)
	requestID, _ = scalarString(env.Error.InnerError.RequestID)
	return code, message, requestID
}
