// Command terraform-provider-partnerbilling is the Terraform provider for the
// Microsoft Graph partner-billing API.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"

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
	stopProfile := startCPUProfile(os.Getenv("PARTNERBILLING_CPU_PROFILE"))
	err := provider.Serve(version, interrupted, debug)
	stopProfile()
	stop()
	if err != nil {
		log.Fatal(err.Error())
	}
}

// startCPUProfile writes a CPU profile of this plugin process to path until
// the returned function is called (Terraform shuts the plugin down
// gracefully at the end of a run, so Serve returns). For `make profile`;
// with the variable unset it does nothing. A run starts several plugin
// processes (schema, then the walk): "%p" in path becomes the process id,
// so that each writes its own file.
func startCPUProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path) //nolint:gosec // a path the developer chose
	if err != nil {
		log.Printf("PARTNERBILLING_CPU_PROFILE: %v", err)
		return func() {}
	}
	// 500 Hz instead of pprof's 100: a plan's provider spends about a
	// second of CPU, too few samples at 100 Hz. (pprof then warns once on
	// stderr that the rate was already set; the profile has the rate asked.)
	runtime.SetCPUProfileRate(500)
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("PARTNERBILLING_CPU_PROFILE: %v", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
