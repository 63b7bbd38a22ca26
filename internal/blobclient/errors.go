package blobclient

import (
	"encoding/xml"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/safetext"
)

// ServiceError is what a blob service's error answer says: the status, the x-ms-error-code
// (else the XML body's Code), the x-ms-request-id and the first line of the XML Message, each
// through the one sanitiser (no query string, no sig= value: a proxy may echo the request).
type ServiceError struct {
	StatusCode int
	Code       string
	RequestID  string
	Message    string
}

// ErrorOf reads re. Its body is the at most MaxErrorBody bytes the transport let through.
func ErrorOf(re *azcore.ResponseError) ServiceError {
	se := ServiceError{StatusCode: re.StatusCode, Code: safetext.NoSecrets(re.ErrorCode)}
	if re.RawResponse == nil {
		return se
	}
	if se.Code == "" {
		se.Code = safetext.NoSecrets(re.RawResponse.Header.Get("x-ms-error-code"))
	}
	se.RequestID = safetext.NoSecrets(re.RawResponse.Header.Get("x-ms-request-id"))
	body, err := runtime.Payload(re.RawResponse)
	if err != nil || len(body) == 0 {
		return se
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		if se.Code == "" {
			se.Code = safetext.NoSecrets(x.Code)
		}
		msg, _, _ := strings.Cut(strings.TrimSpace(x.Message), "\n")
		se.Message = safetext.NoSecrets(msg)
	}
	return se
}
