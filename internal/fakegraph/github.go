package fakegraph

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// GitHubOIDCPath is the path of the fake GitHub Actions ID-token endpoint.
const GitHubOIDCPath = "/_apis/distributedtask/idtoken"

// GitHubOIDCIssuer is the issuer of the tokens that endpoint hands out.
const GitHubOIDCIssuer = "https://token.actions.githubusercontent.com"

type githubOIDC struct {
	requestToken string
	idToken      string
	subject      string
}

// EnableGitHubOIDC turns on the fake GitHub Actions ID-token endpoint and
// returns its URL, the value GitHub puts in ACTIONS_ID_TOKEN_REQUEST_URL
// (it already carries a query, as GitHub's does). A GET with
// "Authorization: Bearer requestToken" and audience=api://AzureADTokenExchange
// answers {"value": idToken}. As on GitHub, any other audience (or none)
// still gets a token, but one issued for that audience, which no federated
// credential accepts.
func (s *Server) EnableGitHubOIDC(requestToken, idToken, subject string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.github = &githubOIDC{requestToken: requestToken, idToken: idToken, subject: subject}
	return s.url + GitHubOIDCPath + "?api-version=2.0"
}

// ScriptGitHubOIDC queues answers for the next requests to the GitHub
// ID-token endpoint, before any validation. Calls append to the queue.
func (s *Server) ScriptGitHubOIDC(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.githubQueue = append(s.githubQueue, rs...)
}

// GitHubOIDCRequests is the requests to the GitHub ID-token endpoint.
func (s *Server) GitHubOIDCRequests() []Request {
	return s.filter(func(r Request) bool { return r.Path == GitHubOIDCPath })
}

func (s *Server) serveGitHubOIDC(w http.ResponseWriter, r *http.Request) int {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	s.mu.Lock()
	gh := s.github
	if len(s.githubQueue) > 0 {
		resp := s.githubQueue[0]
		s.githubQueue = s.githubQueue[1:]
		s.mu.Unlock()
		return s.send(w, r, resp, h)
	}
	s.mu.Unlock()
	switch {
	case gh == nil:
		return s.send(w, r, Status(http.StatusNotFound, `{"message":"fakegraph: GitHub OIDC is not enabled"}`), h)
	case r.Method != http.MethodGet:
		return s.send(w, r, Status(http.StatusMethodNotAllowed, `{"message":"Method Not Allowed"}`), h)
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(tok), []byte(gh.requestToken)) != 1 {
		return s.send(w, r, Status(http.StatusUnauthorized, `{"message":"Bad credentials: the request token is missing or invalid"}`), h)
	}
	aud := r.URL.Query().Get("audience")
	idToken := gh.idToken
	if aud != AzureADTokenExchange {
		if aud == "" {
			aud = "https://github.com/fakegraph" // GitHub's default: the repository owner's URL
		}
		idToken = NewFederatedToken(GitHubOIDCIssuer, gh.subject, aud)
	}
	return s.send(w, r, OK(fmt.Sprintf(`{"count":1,"value":%s}`, jsonString(idToken))), h)
}
