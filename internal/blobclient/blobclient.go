// Package blobclient holds what every blob request of the provider shares, the download's GETs
// (internal/download) and the copy's Storage calls (internal/blobcopy) alike: the azblob client
// options (our transport with error bodies bounded to MaxErrorBody, azcore's retries off so that
// one policy, ours, governs every request, the provider's User-Agent) and the reading of the
// service's error answers (ErrorOf).
package blobclient

import (
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// Options are the client options for h, whose error bodies are cut to MaxErrorBody. With a
// userAgent, every request sends it as its
// User-Agent (SPEC §5: the provider's and Terraform's versions) instead of azcore's telemetry
// value; without one (tests, tools), azcore's value with the application id "partnerbilling".
// azcore's log policy stays as it is: it prints a request's URL with every query value but
// api-version redacted, and headers outside its allow-list (x-ms-copy-source among them) as
// REDACTED.
func Options(h policy.Transporter, userAgent string) *blob.ClientOptions {
	o := &blob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: boundedTransport{h},
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{ApplicationID: "partnerbilling"},
	}}
	if userAgent != "" {
		o.Telemetry = policy.TelemetryOptions{Disabled: true}
		o.PerCallPolicies = []policy.Policy{userAgentPolicy(userAgent)}
	}
	return o
}

// userAgentPolicy sets the User-Agent header of every request.
type userAgentPolicy string

func (ua userAgentPolicy) Do(req *policy.Request) (*http.Response, error) {
	req.Raw().Header.Set("User-Agent", string(ua))
	return req.Next()
}
