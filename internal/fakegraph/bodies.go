package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Identifiers used by Microsoft's documented examples.
const (
	// DocOperationID is the operation id of the three documented GET operation examples.
	DocOperationID = "6fe687d7-1e0f-4bd6-9091-4672691f64bc"
	// DocManifestID is the manifest id DocSucceeded points at.
	DocManifestID = "8fe347d7-1e0f-4bd6-9091-4672691f32db"
)

// GraphScope is the client-credentials scope of Microsoft Graph. The token
// endpoint accepts it, PartnerCenterScope and StorageScope (besides the
// OIDC scopes openid, profile and offline_access that MSAL adds), one per
// request.
const GraphScope = "https://graph.microsoft.com/.default"

// BasePath is the path prefix of the partner billing API.
const BasePath = "/v1.0/reports/partners/billing/"

// DocSucceeded, DocFailed and DocRunning are Microsoft's documented example
// bodies of GET /reports/partners/billing/operations/{id}, verbatim.
const (
	DocSucceeded = `{
  "@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation",
  "id": "6fe687d7-1e0f-4bd6-9091-4672691f64bc",
  "status": "succeeded",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
  "resourceLocation@odata.navigationLink": "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7-1e0f-4bd6-9091-4672691f32db"
}`

	DocFailed = `{
  "@odata.type": "#microsoft.graph.partners.billing.failedOperation",
  "id": "6fe687d7-1e0f-4bd6-9091-4672691f64bc",
  "status": "failed",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
  "error": {
    "message": "No data available",
    "code": "5000"
  }
}`

	DocRunning = `{
  "@odata.type": "#microsoft.graph.partners.billing.runningOperation",
  "id": "6fe687d7-1e0f-4bd6-9091-4672691f64bc",
  "status": "running",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z"
}`
)

// Running is a runningOperation body shaped like DocRunning
// (Running(DocOperationID) == DocRunning).
func Running(id string) string {
	return fmt.Sprintf(`{
  "@odata.type": "#microsoft.graph.partners.billing.runningOperation",
  "id": %s,
  "status": "running",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z"
}`, jsonString(id))
}

// Succeeded is an exportSuccessOperation body shaped like DocSucceeded, whose
// "resourceLocation@odata.navigationLink" is manifestURL.
func Succeeded(id, manifestURL string) string {
	return succeeded(id, `"resourceLocation@odata.navigationLink": `+jsonString(manifestURL))
}

// SucceededInline is an exportSuccessOperation whose resourceLocation is the
// manifest object itself, sasToken included (Microsoft's sample and its Go
// SDK read this form).
func SucceededInline(id, manifest string) string {
	return succeeded(id, `"resourceLocation": `+manifest)
}

func succeeded(id, location string) string {
	return fmt.Sprintf(`{
  "@odata.type": "#microsoft.graph.partners.billing.exportSuccessOperation",
  "id": %s,
  "status": "succeeded",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
  %s
}`, jsonString(id), location)
}

// Failed is a failedOperation body shaped like DocFailed.
func Failed(id, code, message string) string {
	return fmt.Sprintf(`{
  "@odata.type": "#microsoft.graph.partners.billing.failedOperation",
  "id": %s,
  "status": "failed",
  "createdDateTime": "2023-03-09T08:12:53",
  "lastActionDateTime": "2023-03-09T08:37:48.5046691Z",
  "error": {
    "message": %s,
    "code": %s
  }
}`, jsonString(id), jsonString(message), jsonString(code))
}

// GraphError is a Microsoft Graph error envelope with fresh request ids. Use
// ErrorResponse when the body's request-id must match the response header.
func GraphError(code, message string) string {
	return graphError(code, message, newGUID(), newGUID())
}

func graphError(code, message, requestID, clientRequestID string) string {
	return fmt.Sprintf(`{
  "error": {
    "code": %s,
    "message": %s,
    "innerError": {
      "date": %s,
      "request-id": %s,
      "client-request-id": %s
    }
  }
}`, jsonString(code), jsonString(message), jsonString(time.Now().UTC().Format("2006-01-02T15:04:05")),
		jsonString(requestID), jsonString(clientRequestID))
}

// OK is a 200 answer with body and extra headers given as key, value pairs.
func OK(body string, headerKV ...string) Response {
	return Status(http.StatusOK, body, headerKV...)
}

// Status is an answer with the given status, body and extra headers given as
// key, value pairs (e.g. "Retry-After", "2.5"). An odd number of headerKV panics.
func Status(status int, body string, headerKV ...string) Response {
	if len(headerKV)%2 != 0 {
		panic("fakegraph: headerKV needs key, value pairs")
	}
	r := Response{Status: status, Body: body}
	if len(headerKV) > 0 {
		r.Header = http.Header{}
		for i := 0; i < len(headerKV); i += 2 {
			r.Header.Add(headerKV[i], headerKV[i+1])
		}
	}
	return r
}

// ErrorResponse is a Graph error answer whose body innerError "request-id"
// equals its "request-id" response header.
func ErrorResponse(status int, code, message string, headerKV ...string) Response {
	id := newGUID()
	r := Status(status, graphError(code, message, id, newGUID()), headerKV...)
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("request-id", id)
	return r
}

// ManifestBody is a complete manifest object (SPEC §6), shaped like
// Microsoft's documented example, with one blob per name (partitionValue
// "default").
func ManifestBody(id, rootDirectory, sasToken string, blobNames ...string) string {
	blobs := make([]string, len(blobNames))
	for i, n := range blobNames {
		blobs[i] = fmt.Sprintf(`
    {
      "name": %s,
      "partitionValue": "default"
    }`, jsonString(n))
	}
	list := "[]"
	if len(blobs) > 0 {
		list = "[" + strings.Join(blobs, ",") + "\n  ]"
	}
	return fmt.Sprintf(`{
  "id": %s,
  "schemaVersion": "1",
  "dataFormat": "compressedJSON",
  "createdDateTime": "2023-03-09T06:34:34.87Z",
  "eTag": "WYjLro78HdMg6vUWR",
  "partnerTenantId": "0e195b37-4574-4539-bc42-0e539b9684c0",
  "rootDirectory": %s,
  "sasToken": %s,
  "partitionType": "default",
  "blobCount": %d,
  "blobs": %s
}`, jsonString(id), jsonString(rootDirectory), jsonString(sasToken), len(blobNames), list)
}

// FakeSASToken returns a distinctive fake SAS query string (without "?"),
// handy to check that it never reaches logs or state.
func FakeSASToken() string {
	return "skoid=" + newGUID() + "&skv=2021-08-06&sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=d&sp=rl&sdd=7&sig=fakegraph" + randHex(16)
}

// jsonString renders s as a JSON string literal.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // marshalling a string cannot fail
	}
	return string(b)
}
