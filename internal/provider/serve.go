package provider

import (
	"context"
	"os"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// Address is the provider's source address in the registry.
const Address = "registry.terraform.io/partnerbilling/partnerbilling"

// loggerLevels are the variables from which terraform-plugin-go,
// terraform-plugin-framework and terraform-plugin-log take the level of
// each logger this plugin has (the SDK root, its protocol subsystem, the
// framework subsystem and the provider's own root). Unset, each logs at
// TRACE.
var loggerLevels = []string{
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_PARTNERBILLING",
}

// levelOrder ranks the levels terraform-plugin-log and Terraform know.
var levelOrder = map[string]int{"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "OFF": 5}

// shownLevel is the level from which Terraform (and OpenTofu, whose
// internal/logging is the same) shows a plugin's log lines: TF_LOG_PROVIDER,
// else TF_LOG; neither means none ("OFF"); JSON and any unknown value mean
// TRACE; TF_TEMP_LOG_PATH (a TRACE file sink of theirs) means TRACE too. Every line a plugin writes to stderr goes through that filter: it
// is how Terraform reads plugin logs.
func shownLevel(getenv func(string) string) string {
	if getenv("TF_TEMP_LOG_PATH") != "" {
		// A file that receives every line at TRACE, whatever TF_LOG says
		// (Terraform's and OpenTofu's internal/logging). Only Terraform 1.11
		// to 1.13 pass a plugin's lines on to it that way: from Terraform 1.14
		// (go-plugin 1.7), and under OpenTofu 1.11, the file gets only what
		// TF_LOG_PROVIDER, else TF_LOG, shows. The plugin cannot tell which CLI
		// runs it before the first lines are written, so it keeps logging
		// everything: the lines the older CLIs write, at the cost of lines the
		// newer ones drop.
		return "TRACE"
	}
	v := strings.ToUpper(getenv("TF_LOG_PROVIDER"))
	if v == "" {
		v = strings.ToUpper(getenv("TF_LOG"))
	}
	if v == "" {
		return "OFF"
	}
	if _, ok := levelOrder[v]; !ok {
		return "TRACE"
	}
	return v
}

// logSetup is what quietLogging decided.
type logSetup struct {
	// pluginLoggerOff: go-plugin's own start-up lines would be dropped too.
	pluginLoggerOff bool
	// debugLines: the provider's own DEBUG lines can be shown, so their
	// fields are worth computing.
	debugLines bool
	// frameworkLines: the framework's DEBUG or TRACE lines can be shown.
	frameworkLines bool
}

// quietLogging makes the plugin write no log line that Terraform would
// drop unread (issue 13). Unset, every logger logs at TRACE: each RPC then
// writes JSON lines to stderr that Terraform reads, decodes and drops when
// nobody asked for logs, about a third of the CPU of a plan. So each
// logger whose variable is unset gets the level Terraform shows
// (shownLevel): with no logging variable at all, every logger is OFF and
// the plugin writes nothing; with TF_LOG=TRACE nothing changes; and in
// every case Terraform's log holds exactly the lines it held before. A
// variable the user set is kept as it is. The libraries read these
// variables on every RPC, so setting them before serving is their
// supported switch. A plugin started with -debug writes to a terminal, not
// to Terraform: it keeps every line.
func quietLogging(getenv func(string) string, setenv func(string, string) error, debugMode bool) (logSetup, error) {
	if debugMode {
		return logSetup{debugLines: true, frameworkLines: true}, nil
	}
	shown := shownLevel(getenv)
	own := strings.ToUpper(getenv("TF_LOG_PROVIDER_PARTNERBILLING"))
	if shown != "TRACE" {
		for _, v := range loggerLevels {
			if getenv(v) == "" {
				if err := setenv(v, shown); err != nil {
					return logSetup{}, err
				}
			}
		}
	}
	framework := strings.ToUpper(getenv("TF_LOG_SDK_FRAMEWORK"))
	if own == "" {
		own = shown
	}
	if framework == "" {
		framework = shown
	}
	return logSetup{
		pluginLoggerOff: shown == "OFF",
		debugLines:      atMostDebug(own),
		frameworkLines:  atMostDebug(framework),
	}, nil
}

// atMostDebug reports whether a logger at level logs DEBUG lines (an
// unknown level logs everything).
func atMostDebug(level string) bool {
	rank, known := levelOrder[level]
	return !known || rank <= levelOrder["DEBUG"]
}

// Serve serves the provider to Terraform (or OpenTofu) until it is stopped.
// interrupt, when it ends, cancels every read and wait in progress (main
// ties it to the process's own SIGINT). debugMode starts the plugin for a
// debugger, as providerserver's Debug does.
func Serve(version string, interrupt context.Context, debugMode bool) error {
	var opts []tf6server.ServeOpt
	if debugMode {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	logs, err := quietLogging(os.Getenv, os.Setenv, debugMode)
	if err != nil {
		return err
	}
	if logs.pluginLoggerOff {
		// go-plugin's own start-up lines ("plugin address", mTLS) too.
		opts = append(opts, tf6server.WithGoPluginLogger(hclog.NewNullLogger()))
	}
	tuneGC(os.Getenv)
	providerOpts := []Option{WithInterrupt(interrupt)}
	if !logs.debugLines {
		providerOpts = append(providerOpts, withoutDebugLines())
	}
	p := newProvider(version, providerOpts...)
	if logs.debugLines || logs.frameworkLines {
		// Somebody may read the framework's lines of each read: all of it.
		return tf6server.Serve(Address, providerserver.NewProtocol6(p), opts...)
	}
	return tf6server.Serve(Address, func() tfprotov6.ProviderServer { return newFastServer(p) }, opts...)
}

// tuneGC lets the heap grow to five times its live size between
// collections instead of twice (GOGC=400 instead of 100), unless the user
// set GOGC or GOMEMLIMIT. The plugin's live heap is a few MiB, and each
// read allocates tens of KiB in the framework: at the default, collection
// was a quarter of the plugin's CPU in a plan of a thousand reads. The
// cost is a few MiB more of peak memory (make bench measures it).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" && getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
	}
}
