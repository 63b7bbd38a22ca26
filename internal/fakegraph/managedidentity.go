package fakegraph

import (
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// Paths of the fake managed-identity endpoints: the Azure VM Instance
// Metadata Service (IMDS, reached in production at
// http://169.254.169.254/metadata/identity/oauth2/token) and the App Service
// / Azure Functions identity endpoint (IDENTITY_ENDPOINT).
const (
	IMDSTokenPath       = "/metadata/identity/oauth2/token"
	AppServiceTokenPath = "/msi/token"
)

// systemAssigned is the key of the system-assigned identity.
const systemAssigned = "system-assigned"

// SystemAssignedClientID is the client id the endpoints report for the
// system-assigned identity.
const SystemAssignedClientID = "00000000-0000-0000-0000-00000000005a"

// AddManagedIdentity enables a managed identity on the fake host: the
// system-assigned one when clientID is "", otherwise the user-assigned
// identity with that client id. It gets tokens for every resource of
// Resources.
func (s *Server) AddManagedIdentity(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[miKey(clientID)] = true
}

func miKey(clientID string) string {
	if clientID == "" {
		return systemAssigned
	}
	return strings.ToLower(clientID)
}

// ManagedIdentityEndpoint is the App Service style endpoint, the value of
// IDENTITY_ENDPOINT (with IdentityHeader as IDENTITY_HEADER).
func (s *Server) ManagedIdentityEndpoint() string { return s.url + AppServiceTokenPath }

// IdentityHeader is the per-server secret the App Service endpoint requires
// in X-IDENTITY-HEADER.
func (s *Server) IdentityHeader() string { return s.identityHeader }

// ScriptManagedIdentity queues answers for the next requests to either
// managed-identity endpoint, before any validation. Calls append to the queue.
func (s *Server) ScriptManagedIdentity(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.miQueue = append(s.miQueue, rs...)
}

// ManagedIdentityRequests is the requests to the managed-identity endpoints.
func (s *Server) ManagedIdentityRequests() []Request {
	return s.filter(func(r Request) bool { return r.Path == IMDSTokenPath || r.Path == AppServiceTokenPath })
}

// miRequest is what both managed-identity endpoints check.
type miRequest struct {
	apiVersion string
	authorized func(r *http.Request) bool
	denied     Response // the answer when authorized fails
	notFound   func(id string) string
	answer     func(token, id, resource string, expires time.Time, lifetime time.Duration) string
}

var imds = miRequest{
	apiVersion: "2018-02-01",
	authorized: func(r *http.Request) bool { return r.Header.Get("Metadata") == "true" },
	denied:     Status(http.StatusBadRequest, `{"error":"invalid_request","error_description":"Required metadata header not specified"}`),
	notFound: func(string) string {
		return `{"error":"invalid_request","error_description":"Identity not found"}`
	},
	answer: func(token, id, resource string, expires time.Time, lifetime time.Duration) string {
		secs := int64(math.Ceil(lifetime.Seconds()))
		return fmt.Sprintf(`{"access_token":%s,"client_id":%s,"expires_in":"%d","expires_on":"%d","ext_expires_in":"%d","not_before":"%d","resource":%s,"token_type":"Bearer"}`,
			jsonString(token), jsonString(id), secs, expires.Unix(), secs, time.Now().Unix(), jsonString(resource))
	},
}

func (s *Server) appService() miRequest {
	return miRequest{
		apiVersion: "2019-08-01",
		authorized: func(r *http.Request) bool {
			return subtle.ConstantTimeCompare([]byte(r.Header.Get("X-IDENTITY-HEADER")), []byte(s.identityHeader)) == 1
		},
		denied: Status(http.StatusUnauthorized, `{"statusCode":401,"message":"Unauthorized: X-IDENTITY-HEADER is missing or invalid"}`),
		notFound: func(id string) string {
			return fmt.Sprintf(`{"statusCode":400,"message":%s,"correlationId":%s}`,
				jsonString("No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId "+id+"."), jsonString(newGUID()))
		},
		answer: func(token, id, resource string, expires time.Time, _ time.Duration) string {
			return fmt.Sprintf(`{"access_token":%s,"expires_on":"%d","resource":%s,"token_type":"Bearer","client_id":%s}`,
				jsonString(token), expires.Unix(), jsonString(resource), jsonString(id))
		},
	}
}

func (s *Server) serveManagedIdentity(w http.ResponseWriter, r *http.Request, m miRequest) int {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	s.mu.Lock()
	if len(s.miQueue) > 0 {
		resp := s.miQueue[0]
		s.miQueue = s.miQueue[1:]
		s.mu.Unlock()
		return s.send(w, r, resp, h)
	}
	s.mu.Unlock()

	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet:
		return s.send(w, r, Status(http.StatusMethodNotAllowed, `{"error":"invalid_request","error_description":"Only GET is supported"}`), h)
	case !m.authorized(r):
		return s.send(w, r, m.denied, h)
	case q.Get("api-version") != m.apiVersion:
		return s.send(w, r, Status(http.StatusBadRequest, fmt.Sprintf(
			`{"error":"invalid_request","error_description":%s}`, jsonString("fakegraph: api-version must be "+m.apiVersion))), h)
	case !knownResource(strings.TrimSuffix(q.Get("resource"), "/")):
		return s.send(w, r, Status(http.StatusBadRequest, fmt.Sprintf(
			`{"error":"invalid_resource","error_description":%s}`, jsonString("AADSTS500011: The resource principal named "+q.Get("resource")+" was not found in the tenant. fakegraph only serves "+strings.Join(Resources, ", ")+"."))), h)
	case q.Has("object_id") || q.Has("mi_res_id") || q.Has("msi_res_id") || q.Has("principal_id"):
		return s.send(w, r, Status(http.StatusBadRequest, `{"error":"invalid_request","error_description":"fakegraph selects user-assigned identities by client_id only"}`), h)
	}
	id := q.Get("client_id")
	key := miKey(id)
	s.mu.Lock()
	known := s.identities[key]
	s.mu.Unlock()
	if !known {
		return s.send(w, r, Status(http.StatusBadRequest, m.notFound(id)), h)
	}
	if id == "" {
		id = SystemAssignedClientID
	}
	resource := strings.TrimSuffix(q.Get("resource"), "/")
	tok, expires := s.issueToken(clientKey{tenant: managedIdentityTenant, client: key}, id, resource)
	return s.send(w, r, OK(m.answer(tok, id, resource, expires, s.cfg.tokenLifetime)), h)
}
