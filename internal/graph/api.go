package graph

// API is a version of the Graph API: V1 (the default) or Beta, where
// Microsoft's preview exports live (SPEC §4.1).
type API string

// The Graph API versions the provider calls.
const (
	V1   API = "v1.0"
	Beta API = "beta"
)

// billingPath is the partner-billing path of the API version.
func (a API) billingPath() string {
	if a == Beta {
		return betaBillingPath
	}
	return billingPath
}
