package provider

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/action"
	actionschema "github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	ephschema "github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rsschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/graph"
)

// TestDocsErrorTablesNameRealSummaries reads every "summary | meaning" table of docs/ and README
// and requires each summary it names to be one the code can produce: a Title Case string literal
// of the provider's own Go source (its diagnostics, auth's configuration errors), or the summary
// of one of the schema validators, found by running each validator on values it must refuse. A
// table that names a summary nobody can see ("Invalid Invoice ID" while the validator said
// "Invalid Attribute Value Match") fails here.
func TestDocsErrorTablesNameRealSummaries(t *testing.T) {
	known := sourceSummaries(t)
	for s := range validatorSummaries(t) {
		known[s] = true
	}
	// The summaries graphDiagnostic composes from the kind of object read.
	for _, kind := range []string{"operation", "manifest", "export"} {
		for _, err := range []error{graph.ErrNotFound, &graph.WaitTimeoutError{}} {
			var diags diag.Diagnostics
			graphDiagnostic(&diags, err, kind, "x", "1m", path.Root("id"))
			for _, d := range diags {
				known[d.Summary()] = true
			}
		}
	}
	root := filepath.Join("..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*", "*.md"))
	files = append(files, filepath.Join(root, "docs", "index.md"), filepath.Join(root, "README.md"))
	named := 0
	for _, f := range files {
		for _, row := range summaryRows(t, f) {
			for _, s := range row.summaries {
				named++
				if !known[s] {
					t.Errorf("%s:%d names the summary %q, which no diagnostic of the provider has", f, row.line, s)
				}
			}
		}
	}
	if named < 20 {
		t.Errorf("only %d summaries found in the docs' error tables: has the table format changed?", named)
	}
}

type summaryRow struct {
	line      int
	summaries []string
}

// summaryRows finds the tables whose first header cell is "summary" and returns the first cell
// of each row, split at " / " and without a trailing "(warning)".
func summaryRows(t *testing.T, file string) []summaryRow {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows []summaryRow
	in := false
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		first := strings.TrimSpace(cells[0])
		if strings.EqualFold(first, "summary") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(first, "---") || first == "" {
			continue
		}
		var ss []string
		for _, s := range strings.Split(first, " / ") {
			s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "(warning)"))
			ss = append(ss, strings.Trim(s, "*`\""))
		}
		rows = append(rows, summaryRow{line: i + 1, summaries: ss})
	}
	return rows
}

var titleCase = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*( (?:[A-Z][A-Za-z0-9]*|ID|In|On|Of|To|By|For|A|An|The|Not|During|Without|With|Before|From|And|Or))+$`)

// sourceSummaries collects the Title Case string literals of the non-test Go files under
// internal/: every fixed diagnostic summary the provider can show.
func sourceSummaries(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join("..", ""), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && titleCase.MatchString(s) {
					out[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// validatorSummaries runs every string and number validator of every schema of the provider on
// values it must refuse and collects the summaries of the errors they give.
func validatorSummaries(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	p := New("test")()
	out := map[string]bool{}
	bad := []string{"", "not valid/../?x=1", "usd", "-5m", "Weekly", strings.Repeat("x", 600)}
	runString := func(vs []validator.String) {
		for _, v := range vs {
			for _, val := range bad {
				var resp validator.StringResponse
				v.ValidateString(ctx, validator.StringRequest{Path: path.Root("x"), ConfigValue: types.StringValue(val)}, &resp)
				for _, d := range resp.Diagnostics.Errors() {
					out[d.Summary()] = true
				}
			}
		}
	}
	runInt := func(vs []validator.Int64) {
		for _, v := range vs {
			for _, val := range []int64{-1, 0, 1 << 20} {
				var resp validator.Int64Response
				v.ValidateInt64(ctx, validator.Int64Request{Path: path.Root("x"), ConfigValue: types.Int64Value(val)}, &resp)
				for _, d := range resp.Diagnostics.Errors() {
					out[d.Summary()] = true
				}
			}
		}
	}
	walk := func(attrs map[string]any) {
		for _, a := range attrs {
			if v, ok := a.(interface{ StringValidators() []validator.String }); ok {
				runString(v.StringValidators())
			}
			if v, ok := a.(interface{ Int64Validators() []validator.Int64 }); ok {
				runInt(v.Int64Validators())
			}
		}
	}
	for _, r := range p.Resources(ctx) {
		var resp resource.SchemaResponse
		r().Schema(ctx, resource.SchemaRequest{}, &resp)
		walk(anyMap(resp.Schema.Attributes))
		for _, b := range resp.Schema.Blocks {
			if nb, ok := b.(rsschema.SingleNestedBlock); ok {
				walk(anyMap(nb.Attributes))
			}
		}
	}
	for _, d := range p.DataSources(ctx) {
		var resp datasource.SchemaResponse
		d().Schema(ctx, datasource.SchemaRequest{}, &resp)
		walk(anyMap[dsschema.Attribute](resp.Schema.Attributes))
	}
	if pe, ok := p.(interface {
		EphemeralResources(context.Context) []func() ephemeral.EphemeralResource
	}); ok {
		for _, e := range pe.EphemeralResources(ctx) {
			var resp ephemeral.SchemaResponse
			e().Schema(ctx, ephemeral.SchemaRequest{}, &resp)
			walk(anyMap[ephschema.Attribute](resp.Schema.Attributes))
		}
	}
	if pa, ok := p.(interface {
		Actions(context.Context) []func() action.Action
	}); ok {
		for _, a := range pa.Actions(ctx) {
			var resp action.SchemaResponse
			a().Schema(ctx, action.SchemaRequest{}, &resp)
			walk(anyMap[actionschema.Attribute](resp.Schema.Attributes))
		}
	}
	if len(out) == 0 {
		t.Fatal("no validator refused anything: the walk over the schemas is broken")
	}
	names := make([]string, 0, len(out))
	for s := range out {
		names = append(names, s)
	}
	sort.Strings(names)
	t.Logf("validator summaries: %s", strings.Join(names, "; "))
	return out
}

func anyMap[A any](m map[string]A) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
