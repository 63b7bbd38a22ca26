// Command fakegraph runs the fake Microsoft identity platform and Graph
// partner billing API (internal/fakegraph) with a pre-scripted demo scenario,
// until SIGINT or SIGTERM. It is used by `make demo` (scripts/demo.sh).
//
//	fakegraph -ca-file ca.pem -env-file fake.env
//
// Once it listens, it writes the CA certificate to -ca-file and then, atomically,
// a sourceable -env-file that points the provider at the fake:
// PARTNERBILLING_GRAPH_ENDPOINT, PARTNERBILLING_AUTHORITY_HOST,
// PARTNERBILLING_PARTNER_CENTER_ENDPOINT, ARM_TENANT_ID,
// ARM_CLIENT_ID, ARM_CLIENT_SECRET, SSL_CERT_FILE and CURL_CA_BUNDLE (curl
// reads its CA bundle from there, not from SSL_CERT_FILE).
//
// Scenario: operation 6fe687d7-1e0f-4bd6-9091-4672691f64bc answers "running"
// (Retry-After: 1) three times, then succeeds with manifest
// 8fe347d7-1e0f-4bd6-9091-4672691f32db, whose two blobs (4 and 3 invoice
// reconciliation rows, gzip JSON Lines) a fake blob store on a second port
// serves to holders of the manifest's SAS token; operation
// 0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90 has failed with code "5000",
// "No data available". The export endpoints (the four v1.0 ones and the
// preview aggregated-usage one at /beta) start real exports: each new
// operation answers "running" (Retry-After: 1) three times, then succeeds
// with a fresh manifest whose blobs are on the blob store too: 5 rows of the
// kind's own shape (usage rows for usage exports, reconciliation rows for
// reconciliation exports) for the invoice asked for, in the currency asked
// for. Partner Center's GET /v1/invoices lists fakegraph.DocInvoices:
// OneTime invoice G016907411 with an adjustment note amending it, Recurring
// invoice D02005YFHI, and an October OneTime invoice with its void note.
//
// To rehearse failures, export one of two invoice ids: G000000404 is
// refused with HTTP 400 (as Graph refuses an unknown invoice, or one older
// than September 2023: "Export Not Started"), and G000005000's operation
// fails with code "5000", "No data available" ("Export Failed").
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

const (
	demoTenantID    = "0e195b37-4574-4539-bc42-0e539b9684c0"
	demoClientID    = "de30c11e-0000-4000-8000-00000000fa4e"
	waitOperationID = fakegraph.DocOperationID
	failOperationID = "0d7c2b9e-5f1a-4c3e-9b8a-2f6e1d4c7a90"
	demoInvoice     = "G016907411"
)

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("fakegraph: ")
	if err := run(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	caFile := flag.String("ca-file", "", "write the CA certificate (PEM) to this file")
	envFile := flag.String("env-file", "", "write a sourceable shell file with the provider's environment to this file (needs -ca-file)")
	flag.Parse()
	if *envFile != "" && *caFile == "" {
		return errors.New("-env-file needs -ca-file (SSL_CERT_FILE points at it)")
	}

	s, err := fakegraph.Start(fakegraph.WithAddr(*addr), fakegraph.WithAccessLog(
		func(method, path string, status int, elapsed time.Duration) {
			st := fmt.Sprint(status)
			if status == 0 {
				st = "aborted"
			}
			log.Printf("%s %s %s %s", method, path, st, elapsed.Round(time.Microsecond))
		}))
	if err != nil {
		return err
	}
	defer s.Close()

	secret := "demo-" + randHex(16)
	s.AddClient(demoTenantID, demoClientID, secret)
	running := fakegraph.OK(fakegraph.Running(waitOperationID), "Retry-After", "1")
	s.ScriptOperation(waitOperationID, running, running, running,
		fakegraph.OK(fakegraph.Succeeded(waitOperationID, s.ManifestURL(fakegraph.DocManifestID))))
	store, err := s.StartBlobStore()
	if err != nil {
		return err
	}
	defer store.Close()
	s.UseBlobStore(store)
	s.PublishManifest(store, fakegraph.DocManifestID,
		fakegraph.BlobFile{Name: "part-00000-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", Content: fakegraph.ReconciliationRows(demoInvoice, 0, 4)},
		fakegraph.BlobFile{Name: "part-00001-b016029b-a7a7-4c46-9b5e-c925ac317ac6.c000.json.gz", Content: fakegraph.ReconciliationRows(demoInvoice, 4, 3)})
	s.ScriptOperation(failOperationID, fakegraph.OK(fakegraph.Failed(failOperationID, "5000", "No data available")))
	s.SetExportDefault(fakegraph.ExportOperation{Polls: 3, RetryAfter: "1"})
	s.SetInvoices(fakegraph.DocInvoices...)
	s.EnableFailingInvoices() // fakegraph.InvoiceRefused, fakegraph.InvoiceNoData

	if *caFile != "" {
		if err := s.WriteCACert(*caFile); err != nil {
			return fmt.Errorf("writing CA: %w", err)
		}
	}
	if *envFile != "" {
		ca, err := filepath.Abs(*caFile)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, kv := range [][2]string{
			{"PARTNERBILLING_GRAPH_ENDPOINT", s.URL()},
			{"PARTNERBILLING_AUTHORITY_HOST", s.URL()},
			{"PARTNERBILLING_PARTNER_CENTER_ENDPOINT", s.URL()},
			{"ARM_TENANT_ID", demoTenantID},
			{"ARM_CLIENT_ID", demoClientID},
			{"ARM_CLIENT_SECRET", secret},
			{"SSL_CERT_FILE", ca},
			{"CURL_CA_BUNDLE", ca},
		} {
			fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
		}
		if err := fakegraph.WriteFileAtomic(*envFile, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("writing env file: %w", err)
		}
		defer os.Remove(*envFile) // the URL in it dies with this process
	}
	log.Printf("listening on %s (tenant %s, client %s); blob store on %s", s.URL(), demoTenantID, demoClientID, store.URL())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Print("shutting down")
	return nil
}

// shellQuote single-quotes v for POSIX shells.
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
