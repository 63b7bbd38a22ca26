// Command checkpipelines validates the CI pipeline examples under examples/ (GitHub Actions
// workflows and Azure Pipelines definitions, `*.yml`): scripts/check-examples.sh runs it, so a
// pipeline the docs show is checked as strictly as the Terraform beside it. For every file it
// checks that the YAML parses, that it has the shape of its kind (jobs with steps, or steps with a
// pool), that every schedule's cron is a valid five-field expression, that an OIDC sign-in
// (ARM_USE_OIDC) has what it needs (GitHub: `permissions: id-token: write`), that every `ARM_*` or
// `PARTNERBILLING_*` variable it sets is one the provider reads, and that every `TF_VAR_x` names a
// `variable "x"` declared in the .tf files of the same folder (when it has any).
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: checkpipelines PROVIDER_SOURCE_DIR FILE.yml...")
		os.Exit(2)
	}
	known, err := providerEnvNames(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkpipelines:", err)
		os.Exit(2)
	}
	failed := 0
	for _, file := range os.Args[2:] {
		kind, problems := check(file, known)
		if len(problems) == 0 {
			fmt.Printf("==> %s: a valid %s\n", file, kind)
			continue
		}
		failed++
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", file, p)
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "checkpipelines: %d of %d pipeline example(s) are not valid\n", failed, len(os.Args)-2)
		os.Exit(1)
	}
}

var envLiteral = regexp.MustCompile(`"((?:ARM|PARTNERBILLING|TFC)_[A-Z0-9_]+)"`)

// providerEnvNames collects every environment variable name the provider's own source mentions
// as a string literal: the names a pipeline may set.
func providerEnvNames(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f) //nolint:gosec // G703: the provider's own source, named by the examples check
		if err != nil {
			return nil, err
		}
		for _, m := range envLiteral.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	return names, nil
}

func check(file string, known map[string]bool) (string, []string) {
	b, err := os.ReadFile(file) //nolint:gosec // G703: an example the examples check names
	if err != nil {
		return "file", []string{err.Error()}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "file", []string{"not valid YAML: " + err.Error()}
	}
	var p problems
	kind := "GitHub Actions workflow"
	if _, ok := doc["jobs"]; ok && doc["on"] != nil {
		checkGitHub(doc, &p)
	} else {
		kind = "Azure Pipelines definition"
		checkAzurePipelines(doc, &p)
	}
	env := map[string]string{}
	collectEnv(doc, env)
	vars, err := declaredVariables(filepath.Dir(file))
	if err != nil {
		p.add("%v", err)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case strings.HasPrefix(k, "TF_VAR_"):
			if vars != nil && !vars[strings.TrimPrefix(k, "TF_VAR_")] {
				p.add("%s sets a variable that no .tf file in %s declares (variable %q)", k, filepath.Dir(file), strings.TrimPrefix(k, "TF_VAR_"))
			}
		case strings.HasPrefix(k, "ARM_") || strings.HasPrefix(k, "PARTNERBILLING_"):
			if !known[k] {
				p.add("%s is not an environment variable the provider reads", k)
			}
		}
	}
	if strings.EqualFold(env["ARM_USE_OIDC"], "true") && kind == "GitHub Actions workflow" {
		perms, _ := doc["permissions"].(map[string]any)
		if perms["id-token"] != "write" {
			p.add("ARM_USE_OIDC is set but the workflow lacks `permissions: id-token: write`")
		}
	}
	return kind, p
}

type problems []string

func (p *problems) add(format string, a ...any) { *p = append(*p, fmt.Sprintf(format, a...)) }

func checkGitHub(doc map[string]any, p *problems) {
	on, _ := doc["on"].(map[string]any)
	if sched, ok := on["schedule"]; ok {
		list, _ := sched.([]any)
		if len(list) == 0 {
			p.add("on.schedule is not a list of {cron: ...}")
		}
		for _, s := range list {
			m, _ := s.(map[string]any)
			checkCron(fmt.Sprint(m["cron"]), p)
		}
	}
	jobs, _ := doc["jobs"].(map[string]any)
	if len(jobs) == 0 {
		p.add("no jobs")
	}
	for name, j := range jobs {
		job, _ := j.(map[string]any)
		if job["runs-on"] == nil {
			p.add("job %s has no runs-on", name)
		}
		checkSteps("job "+name, job["steps"], []string{"uses", "run"}, p)
	}
}

func checkAzurePipelines(doc map[string]any, p *problems) {
	if sched, ok := doc["schedules"]; ok {
		list, _ := sched.([]any)
		if len(list) == 0 {
			p.add("schedules is not a list of {cron: ...}")
		}
		for _, s := range list {
			m, _ := s.(map[string]any)
			checkCron(fmt.Sprint(m["cron"]), p)
			if br, _ := m["branches"].(map[string]any); br == nil || br["include"] == nil {
				p.add("schedule %q names no branches.include (Azure Pipelines requires it)", m["cron"])
			}
		}
	}
	if doc["pool"] == nil {
		p.add("no pool")
	}
	checkSteps("the pipeline", doc["steps"], []string{"task", "script", "bash", "pwsh", "checkout"}, p)
}

// checkSteps requires a non-empty list of steps, each with exactly one of the keys that say what
// it does.
func checkSteps(where string, v any, kinds []string, p *problems) {
	steps, _ := v.([]any)
	if len(steps) == 0 {
		p.add("%s has no steps", where)
	}
	for i, s := range steps {
		step, _ := s.(map[string]any)
		n := 0
		for _, k := range kinds {
			if _, ok := step[k]; ok {
				n++
			}
		}
		if n != 1 {
			p.add("%s: step %d must have exactly one of %s", where, i+1, strings.Join(kinds, ", "))
		}
	}
}

var cronRanges = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}

// checkCron accepts the five-field POSIX cron both CI services take: `*`, numbers, ranges, lists
// and steps.
func checkCron(expr string, p *problems) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		p.add("cron %q does not have five fields", expr)
		return
	}
	for i, f := range fields {
		if err := cronField(f, cronRanges[i][0], cronRanges[i][1]); err != nil {
			p.add("cron %q, field %d: %v", expr, i+1, err)
		}
	}
}

func cronField(f string, lo, hi int) error {
	for _, part := range strings.Split(f, ",") {
		base, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return fmt.Errorf("bad step %q", step)
			}
		}
		if base == "*" {
			continue
		}
		a, b, isRange := strings.Cut(base, "-")
		for _, s := range []string{a, b} {
			if !isRange && s == b {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
			}
		}
	}
	return nil
}

// collectEnv gathers every `env:` and `variables:` mapping of the document, at any depth.
func collectEnv(v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if k == "env" || k == "variables" {
				if m, ok := child.(map[string]any); ok {
					for name, val := range m {
						out[name] = fmt.Sprint(val)
					}
				}
			}
			collectEnv(child, out)
		}
	case []any:
		for _, child := range t {
			collectEnv(child, out)
		}
	}
}

var variableBlock = regexp.MustCompile(`(?m)^\s*variable\s+"([^"]+)"`)

// declaredVariables lists the variables the .tf files of dir declare, or nil when it has no .tf
// file (a pipeline shown on its own).
func declaredVariables(dir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, nil
	}
	vars := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // G703: a .tf file beside the example
		if err != nil {
			return nil, err
		}
		for _, m := range variableBlock.FindAllSubmatch(b, -1) {
			vars[string(m[1])] = true
		}
	}
	return vars, nil
}
