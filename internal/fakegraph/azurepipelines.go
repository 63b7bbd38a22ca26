package fakegraph

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// AzurePipelinesOIDCPath is the path of the fake Azure Pipelines OIDC token
// endpoint, shaped like the job's System.OidcRequestUri
// (https://dev.azure.com/{org}/{project}/_apis/distributedtask/hubs/build/plans/{plan}/jobs/{job}/oidctoken).
const AzurePipelinesOIDCPath = "/fakegraph-org/6f0d1f1c-8c49-4d6b-9f3c-2d3b4a5c6d7e/_apis/distributedtask/hubs/build/plans/" +
	"0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f/jobs/12f1170f-54f2-53f3-20dd-22fc7dff55f9/oidctoken"

// AzurePipelinesAPIVersion is the api-version the endpoint accepts.
const AzurePipelinesAPIVersion = "7.1"

// AzurePipelinesIssuer is the issuer of the tokens the fake endpoint hands
// out: Azure DevOps' token service for the organization.
const AzurePipelinesIssuer = "https://vstoken.dev.azure.com/2a9d6a1e-3b4c-4d5e-8f6a-7b8c9d0e1f2a"

// AzurePipelines configures the fake Azure Pipelines OIDC endpoint.
type AzurePipelines struct {
	// AccessToken is the job's System.AccessToken, the bearer the
	// endpoint requires.
	AccessToken string
	// ServiceConnectionID is the id (GUID) of the one Azure Resource
	// Manager service connection the pipeline may use.
	ServiceConnectionID string
	// Subject is the sub claim of the issued tokens; default
	// "sc://fakegraph-org/billing/" + ServiceConnectionID.
	Subject string
	// TenantID and ClientID name the app registration whose federated
	// credential trusts the service connection: every token the endpoint
	// issues is added to that app's FederatedTokens (the app must be
	// registered first). Empty: tokens are issued but trusted by no app.
	TenantID, ClientID string
}

type azurePipelinesOIDC struct {
	AzurePipelines
	issued []string
}

// EnableAzurePipelinesOIDC turns on the fake Azure Pipelines OIDC endpoint
// and returns its URL, the value Azure Pipelines puts in
// SYSTEM_OIDCREQUESTURI. It serves the service's request shape: POST with
// "Authorization: Bearer {System.AccessToken}" and the query
// api-version=7.1&serviceConnectionId={id}, answered by {"oidcToken": JWT}
// with a fresh token (issuer AzurePipelinesIssuer, audience
// api://AzureADTokenExchange, valid one hour) for every request. A
// rejected access token is answered 401 when the request carries
// X-TFS-FedAuthRedirect: Suppress, and otherwise, as Azure DevOps does, with
// a 302 to a sign-in page.
func (s *Server) EnableAzurePipelinesOIDC(p AzurePipelines) string {
	if p.Subject == "" {
		p.Subject = "sc://fakegraph-org/billing/" + p.ServiceConnectionID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pipelines = &azurePipelinesOIDC{AzurePipelines: p}
	return s.url + AzurePipelinesOIDCPath
}

// ScriptAzurePipelinesOIDC queues answers for the next requests to the
// Azure Pipelines OIDC endpoint, before any validation. Calls append to the
// queue.
func (s *Server) ScriptAzurePipelinesOIDC(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pipelinesQueue = append(s.pipelinesQueue, rs...)
}

// AzurePipelinesOIDCRequests is the requests to the Azure Pipelines OIDC
// endpoint.
func (s *Server) AzurePipelinesOIDCRequests() []Request {
	return s.filter(func(r Request) bool { return r.Path == AzurePipelinesOIDCPath })
}

// AzurePipelinesOIDCTokens is the tokens the endpoint issued, in order.
func (s *Server) AzurePipelinesOIDCTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pipelines == nil {
		return nil
	}
	return slices.Clone(s.pipelines.issued)
}

// vssError is the error body shape of Azure DevOps REST APIs.
func vssError(message, typeKey string) string {
	return fmt.Sprintf(`{"$id":"1","innerException":null,"message":%s,"typeName":%s,"typeKey":%s,"errorCode":0,"eventId":3000}`,
		jsonString(message), jsonString("Microsoft.TeamFoundation.DistributedTask.WebApi."+typeKey+", Microsoft.TeamFoundation.DistributedTask.WebApi"), jsonString(typeKey))
}

func (s *Server) serveAzurePipelinesOIDC(w http.ResponseWriter, r *http.Request) int {
	h := http.Header{
		"Content-Type": {"application/json; charset=utf-8"},
		"X-Vss-E2eid":  {newGUID()},
		"X-Msedge-Ref": {"Ref A: " + strings.ToUpper(randHex(16)) + " Ref B: FAKEGRAPH01 Ref C: 2025-01-01T00:00:00Z"},
	}
	s.mu.Lock()
	p := s.pipelines
	if len(s.pipelinesQueue) > 0 {
		resp := s.pipelinesQueue[0]
		s.pipelinesQueue = s.pipelinesQueue[1:]
		s.mu.Unlock()
		return s.send(w, r, resp, h)
	}
	s.mu.Unlock()
	if p == nil {
		return s.send(w, r, Status(http.StatusNotFound, vssError("fakegraph: Azure Pipelines OIDC is not enabled", "VssResourceNotFoundException")), h)
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(p.AccessToken)) != 1 {
		if !strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") {
			return s.send(w, r, Status(http.StatusFound, "", "Location", s.url+"/_signin?realm=dev.azure.com&reply_to="+AzurePipelinesOIDCPath,
				"Content-Type", "text/html; charset=utf-8"), h)
		}
		return s.send(w, r, Status(http.StatusUnauthorized, "", "WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/fakegraph`), h)
	}
	if r.Method != http.MethodPost {
		return s.send(w, r, Status(http.StatusMethodNotAllowed, vssError("The requested resource does not support http method '"+r.Method+"'.", "VssHttpMethodNotSupportedException")), h)
	}
	q := r.URL.Query()
	switch v := q.Get("api-version"); {
	case v == "":
		return s.send(w, r, Status(http.StatusBadRequest, vssError(`No api-version was supplied for the "POST" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`, "VssVersionNotSpecifiedException")), h)
	case v != AzurePipelinesAPIVersion:
		return s.send(w, r, Status(http.StatusBadRequest, vssError("The requested REST API version of "+v+" is not supported by fakegraph, which serves "+AzurePipelinesAPIVersion+".", "VssVersionNotSupportedException")), h)
	}
	id := q.Get("serviceConnectionId")
	if id == "" || !strings.EqualFold(id, p.ServiceConnectionID) {
		return s.send(w, r, Status(http.StatusNotFound, vssError("No service connection found with identifier "+id+".", "ServiceEndpointNotFoundException")), h)
	}
	oidc := NewFederatedToken(AzurePipelinesIssuer, p.Subject, AzureADTokenExchange)
	s.mu.Lock()
	p.issued = append(p.issued, oidc)
	if c := s.clients[keyOf(p.TenantID, p.ClientID)]; c != nil {
		// Copy on write: token requests in flight keep reading the old app.
		trusted := *c
		trusted.FederatedTokens = append(slices.Clone(c.FederatedTokens), oidc)
		s.clients[keyOf(p.TenantID, p.ClientID)] = &trusted
	}
	s.mu.Unlock()
	return s.send(w, r, OK(fmt.Sprintf(`{"oidcToken":%s}`, jsonString(oidc))), h)
}
