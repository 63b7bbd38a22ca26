package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/testclock"
)

const (
	testTenant   = "00000000-0000-0000-0000-0000000000aa"
	testClientID = "00000000-0000-0000-0000-0000000000bb"
	testSecret   = "s3cr3t-value-that-must-never-leak"
)

// env is one test's fake Graph and the provider wired to it.
type env struct {
	srv   *fakegraph.Server
	clock *testclock.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatalf("starting fakegraph: %v", err)
	}
	t.Cleanup(srv.Close)
	srv.AddClient(testTenant, testClientID, testSecret)
	return &env{srv: srv, clock: testclock.New()}
}

// factories runs the provider in-process with an HTTP client that trusts
// the fake's CA and a virtual clock, so waits cost no real time. It serves
// through fastServer, as a plugin does when no log is asked for (the
// framework's own path is held to the same answers by
// TestFastServerMatchesFramework, and runs in the e2e tests at TF_LOG=TRACE).
func (e *env) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"partnerbilling": fastFactory(newProvider("test",
			WithHTTPClient(e.srv.HTTPClient()),
			WithGraphOptions(graph.WithClock(e.clock)),
			WithAuthSleep(e.clock.Sleep),
		)),
	}
}

// fastFactory serves p as Serve does by default.
func fastFactory(p *partnerBillingProvider) func() (tfprotov6.ProviderServer, error) {
	return func() (tfprotov6.ProviderServer, error) { return newFastServer(p), nil }
}

// providerBlock configures the provider explicitly against the fake.
func (e *env) providerBlock() string {
	return fmt.Sprintf(`
provider "partnerbilling" {
  tenant_id      = %q
  client_id      = %q
  client_secret  = %q
  graph_endpoint = %q
  authority_host = %q
}
`, testTenant, testClientID, testSecret, e.srv.URL(), e.srv.URL())
}

func (e *env) operationGets(id string) int {
	n := 0
	for _, r := range e.srv.GraphRequests() {
		if r.Method == http.MethodGet && r.Path == fakegraph.BasePath+"operations/"+id {
			n++
		}
	}
	return n
}

// betaOperationGets counts the GETs of operation id at /beta.
func (e *env) betaOperationGets(id string) int {
	n := 0
	for _, r := range e.srv.BetaRequests() {
		if r.Method == http.MethodGet && r.Path == fakegraph.BetaBasePath+"operations/"+id {
			n++
		}
	}
	return n
}

// graphRequestsWithout checks that nothing was sent to Graph.
func (e *env) assertNoGraphRequests(t *testing.T) {
	t.Helper()
	if reqs := e.srv.GraphRequests(); len(reqs) != 0 {
		var paths []string
		for _, r := range reqs {
			paths = append(paths, r.Method+" "+r.Path)
		}
		t.Errorf("expected no Graph requests, got %s", strings.Join(paths, ", "))
	}
}

// wantError matches Terraform's word-wrapped diagnostic output: the parts
// must appear in order, and a space in a part matches any run of white space.
func wantError(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, `.*`))
}
