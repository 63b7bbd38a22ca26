package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
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
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" || e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
		if e.Message != "" {
			if e.Code != "" {
				b.WriteString(": ")
			}
			b.WriteString(e.Message)
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id: %s", e.RequestID)
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
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	s := fmt.Sprintf("%s %s: HTTP %d with an unreadable body (%s): %v", e.Method, e.Path, e.StatusCode, ct, e.Err)
	if e.RequestID != "" {
		s += " (request-id: " + e.RequestID + ")"
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
}

func (e *WaitTimeoutError) Error() string {
	s := fmt.Sprintf("operation %s did not finish within %s (last status seen: %s)", e.OperationID, e.Timeout, orNone(e.LastStatus))
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
	last            error
}

func (e *deadlineError) Error() string {
	return fmt.Sprintf("next retry in %s would pass the deadline (%s left); last error: %v",
		e.wait.Round(time.Millisecond), e.remaining.Round(time.Millisecond), e.last)
}

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
