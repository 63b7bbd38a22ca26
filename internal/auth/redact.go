package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// jwtLike matches compact JWTs (access tokens, ID tokens, assertions):
// base64url JSON header "eyJ…", then one or two dot-separated segments.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

// maxQuoted caps each field of another program's message that an error
// repeats, in runes (SPEC §2, §5): long enough for an AADSTS description
// with the Trace ID, Correlation ID and Timestamp Microsoft support asks for.
const maxQuoted = 1000

// maxMessage caps a whole token error built from several quoted fields.
const maxMessage = 4 * maxQuoted

// redact prepares one field of text from another program or service (az's
// stderr, an endpoint's error message) for an error message: anything
// shaped like a token is removed, control characters too (no terminal
// escape sequences), and the text is cut to one line of maxQuoted runes.
func redact(s string) string { return cut(clean(s), maxQuoted) }

// clean removes tokens and control characters and joins lines.
func clean(s string) string {
	s = jwtLike.ReplaceAllString(safetext.Strip(s), "[redacted token]")
	return strings.Join(strings.Fields(s), " ")
}

// cut shortens s to n runes, ending in "…" where cut.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// describeTokenError renders a failed token acquisition without anything
// the identity platform sent back verbatim: MSAL quotes a response body it
// could not decode ("raw message was: {...access_token...}"), and an error
// body is reduced to Microsoft Entra's error fields.
func describeTokenError(err error) string {
	msg := err.Error()
	if se := (*statusError)(nil); errors.As(err, &se) && strings.Contains(msg, se.msg) {
		// A token endpoint's answer, built from quoted parts that were each
		// redacted already around advice that must not be cut off: only
		// the text around it is redacted and cut.
		const mark = "\uE000endpoint answer\uE000" // private use: survives redact
		return strings.Replace(cut(clean(strings.Replace(msg, se.msg, mark, 1)), maxMessage), mark, se.msg, 1)
	}
	if i := strings.Index(msg, "raw message was:"); i >= 0 {
		msg = strings.TrimSpace(msg[:i]) + " (response body withheld)"
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		// Each field of the answer is cut on its own.
		return cut(clean(describeCallErr(ce, msg)), maxMessage)
	}
	return redact(msg)
}

func describeCallErr(ce msalerrors.CallErr, msg string) string {
	endpoint := ""
	if ce.Req != nil && ce.Req.URL != nil {
		endpoint = ce.Req.Method + " " + ce.Req.URL.Scheme + "://" + ce.Req.URL.Host + ce.Req.URL.Path + ": "
	}
	// Microsoft Entra answers {"error","error_description",...}; managed
	// identity endpoints answer {"statusCode","message","correlationId"}.
	var aad struct {
		Error         string `json:"error"`
		Description   string `json:"error_description"`
		Message       string `json:"message"`
		CorrelationID string `json:"correlation_id"`
		TraceID       string `json:"trace_id"`
	}
	body := ""
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		body = msg[i+1:]
	}
	if json.Unmarshal([]byte(body), &aad) != nil {
		aad.Error, aad.Description, aad.Message = "", "", ""
	}
	out := fmt.Sprintf("%sHTTP %d", endpoint, ce.Resp.StatusCode)
	switch {
	case aad.Error != "" || aad.Description != "":
		out += ": " + redact(aad.Error) + ": " + redact(aad.Description)
	case aad.Message != "":
		out += ": " + redact(aad.Message)
	default:
		out += " (response body withheld)"
	}
	if aad.CorrelationID != "" || aad.TraceID != "" {
		out += fmt.Sprintf(" (correlation_id: %s, trace_id: %s)", redact(aad.CorrelationID), redact(aad.TraceID))
	}
	return out
}
