package provider

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// TestFakeRehearsesExportFailures (issue 25 item 16): the fake as
// cmd/fakegraph runs it fails the exports of two invoice ids on request, so
// a user can rehearse the failures the docs describe, through the CLI.
func TestFakeRehearsesExportFailures(t *testing.T) {
	t.Parallel()
	for invoice, want := range map[string][]string{
		fakegraph.InvoiceRefused: {"Export Not Started", "refused the export's arguments", "HTTP 400", "G000000404"},
		fakegraph.InvoiceNoData:  {"Export Failed", `error code "5000"`, `message "No data available"`, "tainted"},
	} {
		t.Run(invoice, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.EnableFailingInvoices()
			e.run(t, resource.TestStep{
				Config:      e.exportConfig("billed_usage_export", fmt.Sprintf("invoice_id = %q", invoice)),
				ExpectError: wantError(want...),
			})
			if n := e.posts(); n != 1 {
				t.Errorf("%d POSTs, want 1", n)
			}
		})
	}
}

// TestFakeRowsFollowTheExport: an export's files, downloaded through the
// CLI, hold that kind's rows for the invoice the configuration asked for.
func TestFakeRowsFollowTheExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store, err := e.srv.StartBlobStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	e.srv.UseBlobStore(store)
	dir := t.TempDir()
	e.run(t, resource.TestStep{
		Config: e.exportConfig("billed_usage_export", `invoice_id = "G000000042"`) + fmt.Sprintf(`
resource "partnerbilling_manifest_files" "usage" {
  manifest_id = partnerbilling_billed_usage_export.test.manifest_id
  directory   = %q
}
`, dir),
		Check: func(s *terraform.State) error {
			attrs := s.RootModule().Resources["partnerbilling_manifest_files.usage"].Primary.Attributes
			if attrs["total_rows"] != "5" || attrs["files.#"] != "2" {
				return fmt.Errorf("total_rows %s, %s files; want 5 rows in 2 files", attrs["total_rows"], attrs["files.#"])
			}
			for i := range 2 {
				f, err := os.Open(filepath.Clean(attrs[fmt.Sprintf("files.%d.path", i)]))
				if err != nil {
					return err
				}
				zr, err := gzip.NewReader(f)
				if err != nil {
					_ = f.Close()
					return err
				}
				b, err := io.ReadAll(zr)
				_ = f.Close()
				if err != nil {
					return err
				}
				for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
					var row map[string]any
					if err := json.Unmarshal(line, &row); err != nil {
						return err
					}
					if row["InvoiceNumber"] != "G000000042" || row["MeterCategory"] == nil {
						return fmt.Errorf("row %s: want a usage row of invoice G000000042", line)
					}
				}
			}
			return nil
		},
	})
}
