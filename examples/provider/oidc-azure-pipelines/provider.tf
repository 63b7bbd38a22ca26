# Workload identity federation in Azure Pipelines, through an Azure Resource
# Manager service connection: no secret at all. The block stays empty:
# use_oidc, the tenant, the client and the service connection come from
# ARM_USE_OIDC, ARM_TENANT_ID, ARM_CLIENT_ID and
# ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID in the pipeline (a value set here
# would override them). Azure Pipelines sets SYSTEM_OIDCREQUESTURI in every
# job; the step must map SYSTEM_ACCESSTOKEN: $(System.AccessToken) into its
# env. The provider then asks the job's OIDC endpoint for a token of the
# service connection, a fresh one for every Microsoft Entra token request.
provider "partnerbilling" {}
