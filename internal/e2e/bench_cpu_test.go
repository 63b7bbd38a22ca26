//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestBenchCPU is the CPU half of `make bench` (issue 13): the CPU of a whole
// `terraform plan` process over N reads — terraform and every provider it
// starts and reaps, as wait4 reports it; the fake Graph runs in this test
// process and is left out — beside its wall time, for three providers in
// the same rounds:
//
//   - ours: N partnerbilling_operation reads (one GET each, one token);
//   - floor: N floor_noop reads of ../shared/bench-floor, a framework
//     provider that does nothing (built here from its folder);
//   - floor, our schema: the same with partnerbilling_operation's nine
//     attributes (./floorwide): what the schema alone costs;
//   - http: hashicorp/http doing the same N GETs with a bearer token, when
//     PARTNERBILLING_BENCH_HTTP_PROVIDER names its binary (the Go module
//     proxy does not serve its v3 releases, so it cannot be built here).
//
// Each environment is measured: "default" (no TF_LOG* variable at all) and
// "logging OFF" (TF_LOG_PROVIDER, TF_LOG_SDK, TF_LOG_SDK_FRAMEWORK and
// TF_LOG_SDK_PROTO set to OFF). Rounds interleave the providers so that a
// busy moment of the machine falls on all of them alike; the table gives
// medians and the ratios ours/floor and ours/http.
//
// PARTNERBILLING_BENCH_SIZES (default 200,1000) and PARTNERBILLING_BENCH_ROUNDS
// (default 3) change the shape; PARTNERBILLING_BENCH_FLOOR names another
// floor folder.
func TestBenchCPU(t *testing.T) {
	if os.Getenv("PARTNERBILLING_BENCH") == "" {
		t.Skip("set PARTNERBILLING_BENCH=1 to run the benchmark (make bench)")
	}
	sizes := benchInts(t, "PARTNERBILLING_BENCH_SIZES", []int{200, 1000})
	rounds := benchInts(t, "PARTNERBILLING_BENCH_ROUNDS", []int{3})[0]
	tf := terraformCLI(t)

	bins := t.TempDir()
	ours := filepath.Join(bins, "ours")
	buildProvider(t, repoRoot(), filepath.Join(ours, "terraform-provider-partnerbilling"))
	floorSrc := os.Getenv("PARTNERBILLING_BENCH_FLOOR")
	if floorSrc == "" {
		floorSrc = filepath.Join(repoRoot(), "..", "shared", "bench-floor")
	}
	floor := filepath.Join(bins, "floor")
	buildProvider(t, floorSrc, filepath.Join(floor, "terraform-provider-floor"))
	wide := filepath.Join(bins, "floorwide")
	buildProvider(t, filepath.Join(repoRoot(), "internal", "e2e", "floorwide"), filepath.Join(wide, "terraform-provider-floorwide"))
	httpDir := ""
	if p := os.Getenv("PARTNERBILLING_BENCH_HTTP_PROVIDER"); p != "" {
		httpDir = filepath.Dir(p)
		if filepath.Base(p) != "terraform-provider-http" {
			t.Fatalf("PARTNERBILLING_BENCH_HTTP_PROVIDER must name a file called terraform-provider-http (dev_overrides looks for that name), got %s", p)
		}
	}

	srv, err := fakegraph.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddClient(tenant, clientID, secret)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := srv.WriteCACert(ca); err != nil {
		t.Fatal(err)
	}
	overrides := fmt.Sprintf("%q = %q\n    %q = %q\n    %q = %q\n", "partnerbilling/partnerbilling", ours, "floor/floor", floor, "floorwide/floorwide", wide)
	if httpDir != "" {
		overrides += fmt.Sprintf("    %q = %q\n", "hashicorp/http", httpDir)
	}
	rc := filepath.Join(dir, "terraformrc")
	writeFile(t, rc, "provider_installation {\n  dev_overrides {\n    "+overrides+"  }\n  direct {}\n}\n")
	token := benchToken(t, srv)

	type kind struct {
		name   string
		binary string
		config func(n int) string
	}
	id := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	guidBody := "  id    = format(\"00000000-0000-4000-8000-%012d\", count.index)\n"
	kinds := []kind{
		{"ours", filepath.Join(ours, "terraform-provider-partnerbilling"),
			countConfig("partnerbilling", "partnerbilling/partnerbilling", "provider \"partnerbilling\" {}\n", "partnerbilling_operation", guidBody)},
		{"floor", filepath.Join(floor, "terraform-provider-floor"),
			countConfig("floor", "floor/floor", "", "floor_noop", "  id    = format(\"op-%d\", count.index)\n")},
		{"floor, our schema", filepath.Join(wide, "terraform-provider-floorwide"),
			countConfig("floorwide", "floorwide/floorwide", "", "floorwide_operation", guidBody)},
	}
	if httpDir != "" {
		kinds = append(kinds, kind{"http", filepath.Join(httpDir, "terraform-provider-http"),
			countConfig("http", "hashicorp/http", "", "http", fmt.Sprintf(
				"  url             = format(\"%s%%012d\", count.index)\n  request_headers = { Authorization = \"Bearer %s\", Accept = \"application/json\" }\n",
				srv.OperationURL("00000000-0000-4000-8000-"), token))})
	}
	envs := []struct {
		name  string
		extra []string
	}{
		{"default", nil},
		{"logging OFF", []string{"TF_LOG_PROVIDER=OFF", "TF_LOG_SDK=OFF", "TF_LOG_SDK_FRAMEWORK=OFF", "TF_LOG_SDK_PROTO=OFF"}},
	}
	baseEnv := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TF_CLI_CONFIG_FILE=" + rc, "TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1", "SSL_CERT_FILE=" + ca,
		"ARM_TENANT_ID=" + tenant, "ARM_CLIENT_ID=" + clientID, "ARM_CLIENT_SECRET=" + secret,
		"PARTNERBILLING_GRAPH_ENDPOINT=" + srv.URL(), "PARTNERBILLING_AUTHORITY_HOST=" + srv.URL(),
	}

	type sample struct{ cpu, wall, provider time.Duration }
	var table strings.Builder
	table.WriteString("\n| N | environment | provider | CPU per plan (median) | of which the provider's processes | wall (median) | CPU ours/this | GETs per plan |\n|---|---|---|---|---|---|---|---|\n")
	for _, n := range sizes {
		for i := range n {
			srv.ScriptOperation(id(i), fakegraph.OK(fakegraph.Succeeded(id(i), srv.ManifestURL(fmt.Sprintf("m-%d", i)))))
		}
		work := map[string]string{}
		for _, k := range kinds {
			w := filepath.Join(dir, fmt.Sprintf("%s-%d", strings.NewReplacer(",", "", " ", "-").Replace(k.name), n))
			if err := os.MkdirAll(w, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(w, "main.tf"), k.config(n))
			work[k.name] = w
		}
		for _, env := range envs {
			samples := map[string][]sample{}
			gets := map[string]int{}
			for r := 0; r <= rounds; r++ { // round 0 warms caches and is not counted
				for _, k := range kinds {
					srv.Reset()
					cmd := exec.CommandContext(t.Context(), tf.path, "plan", "-input=false", "-no-color", "-lock=false")
					cmd.Dir = work[k.name]
					cmd.Env = append(append([]string{}, baseEnv...), env.extra...)
					out, _ := os.Create(filepath.Join(dir, "out.txt"))
					cmd.Stdout, cmd.Stderr = out, out
					ctx, stopWatch := context.WithCancel(t.Context())
					watch := watchProvider(ctx, k.binary)
					start := time.Now()
					err := cmd.Run()
					wall := time.Since(start)
					stopWatch()
					_, provCPU := watch()
					_ = out.Close()
					if err != nil {
						b, _ := os.ReadFile(filepath.Join(dir, "out.txt"))
						t.Fatalf("%s plan (N=%d, %s): %v\n%s", k.name, n, env.name, err, b)
					}
					if r == 0 {
						continue
					}
					cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
					samples[k.name] = append(samples[k.name], sample{cpu, wall, provCPU})
					gets[k.name] = 0
					for _, req := range srv.GraphRequests() {
						if req.Method == http.MethodGet {
							gets[k.name]++
						}
					}
				}
			}
			med := map[string]sample{}
			for _, k := range kinds {
				s := samples[k.name]
				cpus := make([]time.Duration, len(s))
				walls := make([]time.Duration, len(s))
				provs := make([]time.Duration, len(s))
				for i := range s {
					cpus[i], walls[i], provs[i] = s[i].cpu, s[i].wall, s[i].provider
				}
				med[k.name] = sample{median(cpus), median(walls), median(provs)}
				t.Logf("N=%d %-11s %-17s CPU %v wall %v provider processes %v", n, env.name, k.name, cpus, walls, provs)
			}
			for _, k := range kinds {
				ratio := "—"
				if k.name != "ours" {
					ratio = fmt.Sprintf("%.2f", med["ours"].cpu.Seconds()/med[k.name].cpu.Seconds())
				}
				fmt.Fprintf(&table, "| %d | %s | %s | %.2f s | %.2f s | %.2f s | %s | %d |\n", n, env.name, k.name,
					med[k.name].cpu.Seconds(), med[k.name].provider.Seconds(), med[k.name].wall.Seconds(), ratio, gets[k.name])
			}
		}
	}
	if httpDir == "" {
		table.WriteString("\n(hashicorp/http not measured: set PARTNERBILLING_BENCH_HTTP_PROVIDER to its binary.)\n")
	}
	fmt.Println(table.String())
}

// countConfig is a configuration of count data sources of dataType, from
// the provider at source (local name local), each with body's arguments,
// after preamble.
func countConfig(local, source, preamble, dataType, body string) func(n int) string {
	return func(n int) string {
		return fmt.Sprintf("terraform {\n  required_providers {\n    %s = { source = %q }\n  }\n}\n%sdata %q \"op\" {\n  count = %d\n%s}\n",
			local, source, preamble, dataType, n, body)
	}
}

func benchInts(t *testing.T, env string, def []int) []int {
	s := os.Getenv(env)
	if s == "" {
		return def
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("%s: %q is not a positive number", env, f)
		}
		out = append(out, n)
	}
	return out
}

// buildProvider builds the Go module in src with the release flags.
func buildProvider(t *testing.T, src, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", src, err, b)
	}
}

// benchToken gets a Graph token from the fake, as a pipeline would hand one
// to hashicorp/http.
func benchToken(t *testing.T, srv *fakegraph.Server) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {fakegraph.GraphScope},
	}
	before := len(srv.IssuedTokens())
	res, err := srv.HTTPClient().PostForm(srv.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	issued := srv.IssuedTokens()
	if res.StatusCode != http.StatusOK || len(issued) != before+1 {
		t.Fatalf("token request: HTTP %d, %d tokens issued", res.StatusCode, len(issued)-before)
	}
	return issued[len(issued)-1]
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestProfilePlan is `make profile`: one `terraform plan` of
// PARTNERBILLING_PROFILE_N (default 1000) reads with the provider writing a
// CPU profile (PARTNERBILLING_CPU_PROFILE) per plugin process into
// PARTNERBILLING_PROFILE_DIR, in the default environment unless
// PARTNERBILLING_PROFILE_ENV adds variables (comma-separated K=V).
func TestProfilePlan(t *testing.T) {
	dir := os.Getenv("PARTNERBILLING_PROFILE_DIR")
	if dir == "" {
		t.Skip("set PARTNERBILLING_PROFILE_DIR to profile a plan (make profile)")
	}
	n := benchInts(t, "PARTNERBILLING_PROFILE_N", []int{1000})[0]
	cfg, ids := operationsConfig(n)
	w := newWorkspace(t, cfg)
	for i, id := range ids {
		w.srv.ScriptOperation(id, fakegraph.OK(fakegraph.Succeeded(id, w.srv.ManifestURL(fmt.Sprintf("m-%d", i)))))
	}
	var extra []string
	if e := os.Getenv("PARTNERBILLING_PROFILE_ENV"); e != "" {
		extra = strings.Split(e, ",")
	}
	if cmd, out := w.command(t.Context(), extra, "validate", "-no-color"); cmd.Run() != nil {
		t.Fatalf("validate:\n%s", out)
	}
	extra = append(extra, "PARTNERBILLING_CPU_PROFILE="+filepath.Join(dir, "cpu-%p.pprof"))
	cmd, out := w.command(t.Context(), extra, "plan", "-input=false", "-no-color", "-lock=false")
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	t.Logf("plan of %d reads: wall %v, CPU (terraform + provider) %v", n, time.Since(start).Round(time.Millisecond),
		cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
}
