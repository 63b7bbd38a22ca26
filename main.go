// Command terraform-provider-partnerbilling is the Terraform provider for the
// Microsoft Graph partner-billing API.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/provider"
)

// version is set by goreleaser through ldflags.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	// Ctrl-C in a terminal reaches this plugin too. Terraform 1.11 sends no
	// StopProvider while `terraform apply` reads data sources, so the plugin
	// stops its own waits when it sees the interrupt (go-plugin otherwise
	// just ignores it).
	interrupted, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := providerserver.Serve(context.Background(), provider.New(version, provider.WithInterrupt(interrupted.Done())), providerserver.ServeOpts{
		Address:         "registry.terraform.io/partnerbilling/partnerbilling",
		Debug:           debug,
		ProtocolVersion: 6,
	})
	stop()
	if err != nil {
		log.Fatal(err.Error())
	}
}
