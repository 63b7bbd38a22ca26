// Command terraform-provider-partnerbilling is the Terraform provider for the
// Microsoft Graph partner-billing API.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/provider"
)

// version is set by goreleaser through ldflags.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/partnerbilling/partnerbilling",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
