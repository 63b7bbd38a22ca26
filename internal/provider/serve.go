package provider

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
)

// Address is the provider's source address in the registry.
const Address = "registry.terraform.io/partnerbilling/partnerbilling"

// logRequests are the variables by which a user asks for logs: Terraform's
// own (TF_LOG, TF_LOG_PROVIDER) and those that terraform-plugin-go,
// terraform-plugin-framework and terraform-plugin-log read in the plugin.
var logRequests = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_PARTNERBILLING",
	"TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_SDK_PROTO",
}

// loggerLevels are the variables from which the plugin libraries take the
// level of each logger this plugin has (the SDK root, its protocol
// subsystem, the framework subsystem and the provider's own root): unset,
// each logs at TRACE.
var loggerLevels = []string{
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_PARTNERBILLING",
}

// logsRequested reports whether any of logRequests is set to a value. An
// empty value asks for nothing: Terraform treats TF_LOG="" as unset too.
func logsRequested(getenv func(string) string) bool {
	for _, v := range logRequests {
		if getenv(v) != "" {
			return true
		}
	}
	return false
}

// silenceUnrequestedLogs turns every logger of the plugin off when nobody
// asked for logs, and reports whether it did. Without it, every RPC writes
// TRACE lines as JSON to stderr that Terraform reads, decodes and then
// drops because its own TF_LOG is unset: about a third of the CPU of a
// plan (issue 13). The libraries read the levels from the environment on
// every RPC, so setting them here, before serving, is their supported
// switch; with any variable of logRequests set, nothing changes.
func silenceUnrequestedLogs(getenv func(string) string, setenv func(string, string) error) (bool, error) {
	if logsRequested(getenv) {
		return false, nil
	}
	for _, v := range loggerLevels {
		if err := setenv(v, "OFF"); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Serve serves the provider to Terraform (or OpenTofu) until it is stopped.
// interrupt, when it ends, cancels every read and wait in progress (main
// ties it to the process's own SIGINT). debug starts the plugin for a
// debugger, as providerserver's Debug does.
func Serve(version string, interrupt context.Context, debug bool) error {
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	quiet, err := silenceUnrequestedLogs(os.Getenv, os.Setenv)
	if err != nil {
		return err
	}
	if quiet {
		// go-plugin's own start-up lines ("plugin address", mTLS) too.
		opts = append(opts, tf6server.WithGoPluginLogger(hclog.NewNullLogger()))
	}
	p := New(version, WithInterrupt(interrupt))
	return tf6server.Serve(Address, providerserver.NewProtocol6(p()), opts...)
}
