package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/fakegraph"
)

// Terraform-driven tests of the pipelines partners run: Azure Pipelines
// with a workload identity service connection, and HCP Terraform's dynamic
// credentials, configured only by the variables those systems set.

const (
	pipelineConnection  = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	pipelineAccessToken = "ado-system-access-token-must-never-leak"
	hcpSubject          = "organization:partner:project:Default Project:workspace:billing:run_phase:plan"
)

// pipelineEnv is the environment of the fake in every test of this file.
func pipelineEnv(t *testing.T, e *env) {
	t.Helper()
	t.Setenv("ARM_TENANT_ID", testTenant)
	t.Setenv("PARTNERBILLING_GRAPH_ENDPOINT", e.srv.URL())
	t.Setenv("PARTNERBILLING_AUTHORITY_HOST", e.srv.URL())
}

func TestProviderAzurePipelinesFromEnvironment(t *testing.T) {
	for _, name := range []string{"ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID", "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			e.srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID})
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			pipelineEnv(t, e)
			t.Setenv("SYSTEM_OIDCREQUESTURI", e.srv.EnableAzurePipelinesOIDC(fakegraph.AzurePipelines{
				AccessToken: pipelineAccessToken, ServiceConnectionID: pipelineConnection, TenantID: testTenant, ClientID: testClientID,
			}))
			t.Setenv("SYSTEM_ACCESSTOKEN", pipelineAccessToken)
			t.Setenv("ARM_CLIENT_ID", testClientID)
			t.Setenv("ARM_USE_OIDC", "true")
			t.Setenv(name, pipelineConnection)
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(`provider "partnerbilling" {}`)}})
			issued, sent := e.srv.AzurePipelinesOIDCTokens(), e.assertionsSent()
			if len(sent) == 0 || len(issued) != len(sent) {
				t.Fatalf("%d token requests, %d Azure Pipelines tokens: want one fresh token per token request", len(sent), len(issued))
			}
			for i := range sent {
				if sent[i] != issued[i] {
					t.Errorf("token request %d did not carry the Azure Pipelines token issued for it", i)
				}
			}
		})
	}
}

func TestProviderAzurePipelinesConfigErrors(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		want []string
	}{
		"System.AccessToken not mapped into the step": {
			env: map[string]string{"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": testClientID, "ARM_OIDC_AZURE_SERVICE_CONNECTION_ID": pipelineConnection},
			want: []string{"Error: Missing OIDC Request Token", "ado_pipeline_service_connection_id is set but oidc_request_token is not",
				"add `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` to the env of the pipeline step that runs Terraform",
				"Set the oidc_request_token argument in the provider block, or the ARM_OIDC_REQUEST_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN or SYSTEM_ACCESSTOKEN environment variables.",
				"Related: oidc_request_url", "ado_pipeline_service_connection_id (ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID, ARM_OIDC_AZURE_SERVICE_CONNECTION_ID or AZURESUBSCRIPTION_SERVICE_CONNECTION_ID)"},
		},
		"no service connection id": {
			env: map[string]string{"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": testClientID, "SYSTEM_ACCESSTOKEN": pipelineAccessToken},
			want: []string{"Error: Missing Azure Pipelines Service Connection ID", "oidc_request_url is an Azure Pipelines OIDC endpoint (SYSTEM_OIDCREQUESTURI)",
				"Set the ado_pipeline_service_connection_id argument in the provider block, or the ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID, ARM_OIDC_AZURE_SERVICE_CONNECTION_ID or AZURESUBSCRIPTION_SERVICE_CONNECTION_ID environment variables."},
		},
		"use_oidc not set": {
			env: map[string]string{"ARM_CLIENT_ID": testClientID, "SYSTEM_ACCESSTOKEN": pipelineAccessToken, "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID": pipelineConnection},
			want: []string{"Error: No Credentials Configured", "The provider found no way to authenticate",
				"oidc_request_url and ado_pipeline_service_connection_id are set but use_oidc is not true; set use_oidc = true (ARM_USE_OIDC=true) to authenticate with it."},
		},
		"a service connection name": {
			env:  map[string]string{"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": testClientID, "SYSTEM_ACCESSTOKEN": pipelineAccessToken, "ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID": "partner-billing"},
			want: []string{"Error: Invalid Azure Pipelines Service Connection ID", `"partner-billing" is not the id of a service connection`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			pipelineEnv(t, e)
			t.Setenv("SYSTEM_OIDCREQUESTURI", "https://dev.azure.com/partner/6f0d1f1c-8c49-4d6b-9f3c-2d3b4a5c6d7e/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{{
				Config: `provider "partnerbilling" {}` + docRead, ExpectError: wantError(tc.want...),
			}}})
			if n := len(e.srv.Requests()); n != 0 {
				t.Errorf("%d requests during a failed Configure", n)
			}
		})
	}
}

// TestProviderHCPTerraformFromEnvironment runs with the variables of an HCP
// Terraform run whose workspace has TFC_AZURE_PROVIDER_AUTH=true.
func TestProviderHCPTerraformFromEnvironment(t *testing.T) {
	tests := map[string]func(t *testing.T, token string) string{
		// What HCP Terraform sets for the azurerm and azuread providers.
		"the ARM_* variables HCP Terraform sets": func(t *testing.T, token string) string {
			t.Setenv("TFC_AZURE_PROVIDER_AUTH", "true")
			t.Setenv("TFC_AZURE_RUN_CLIENT_ID", testClientID)
			t.Setenv("ARM_CLIENT_ID", testClientID)
			t.Setenv("ARM_USE_OIDC", "true")
			t.Setenv("ARM_OIDC_TOKEN", token)
			return `provider "partnerbilling" {}`
		},
		// HCP Terraform's own names alone: the workspace variables and a
		// workload identity token (TFC_WORKLOAD_IDENTITY_AUDIENCE set to
		// api://AzureADTokenExchange).
		"HCP Terraform's own names only": func(t *testing.T, token string) string {
			t.Setenv("TFC_AZURE_PROVIDER_AUTH", "true")
			t.Setenv("TFC_AZURE_RUN_CLIENT_ID", testClientID)
			t.Setenv("TFC_WORKLOAD_IDENTITY_TOKEN", token)
			return `provider "partnerbilling" {}`
		},
		// Several configurations: HCP Terraform writes the client id and the
		// token to files and passes their paths in var.tfc_azure_dynamic_credentials.
		// Its generic workload identity token, meant for another system here,
		// must give way to the file.
		"the files of an aliased configuration": func(t *testing.T, token string) string {
			dir := t.TempDir()
			tokenFile, clientIDFile := filepath.Join(dir, "azure_PARTNER_token"), filepath.Join(dir, "azure_PARTNER_client_id")
			for p, v := range map[string]string{tokenFile: token, clientIDFile: testClientID + "\n"} {
				if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("TFC_AZURE_PROVIDER_AUTH_PARTNER", "true")
			t.Setenv("TFC_WORKLOAD_IDENTITY_TOKEN", fakegraph.NewFederatedToken("https://app.terraform.io", hcpSubject, "vault.workload.identity"))
			return fmt.Sprintf(`provider "partnerbilling" {
  use_oidc             = true
  client_id            = trimspace(file(%q))
  oidc_token_file_path = %q
}`, clientIDFile, tokenFile)
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			e := newEnv(t)
			token := fakegraph.NewFederatedToken("https://app.terraform.io", hcpSubject, fakegraph.AzureADTokenExchange)
			e.srv.RegisterClient(fakegraph.Client{TenantID: testTenant, ClientID: testClientID, FederatedTokens: []string{token}})
			e.srv.ScriptOperation(docID, fakegraph.OK(fakegraph.DocSucceeded))
			pipelineEnv(t, e)
			resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []resource.TestStep{readSucceeds(setup(t, token))}})
			sent := e.assertionsSent()
			if len(sent) == 0 {
				t.Fatal("no token request")
			}
			for _, a := range sent {
				if a != token {
					t.Error("a token request did not carry the HCP Terraform token")
				}
			}
		})
	}
}
