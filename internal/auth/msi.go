package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"

	"github.com/partnerbilling/terraform-provider-partnerbilling/internal/httpx"
)

// The v1 resources of the scopes, which managed identity and the Azure CLI
// ask for.
const (
	GraphResource         = "https://graph.microsoft.com"
	PartnerCenterResource = "https://api.partnercenter.microsoft.com"
	StorageResource       = "https://storage.azure.com"
)

// msiAcquirer gets tokens from the managed identity endpoint MSAL finds
// from the environment: App Service / Functions (IDENTITY_ENDPOINT and
// IDENTITY_HEADER), Azure Arc, Service Fabric, Cloud Shell, Azure ML, and
// otherwise the VM's Instance Metadata Service (IMDS).
type msiAcquirer struct {
	client managedidentity.Client

	mu     sync.Mutex
	bypass map[string]bool // scopes whose next acquire must not be answered from MSAL's cache
}

func newManagedIdentityAcquirer(cfg Config) (acquirer, error) {
	id := managedidentity.SystemAssigned()
	if cfg.ClientID != "" {
		id = managedidentity.UserAssignedClientID(cfg.ClientID)
	}
	// Credential retries transient failures with an injectable sleep; MSAL's
	// own retries would multiply them and sleep for real.
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = msiHTTPClient()
	}
	// The identity endpoint's secret header (X-IDENTITY-HEADER, Azure ML's
	// secret) would follow a redirect to any host: a redirect is an error.
	httpClient = httpx.NoRedirects(httpClient)
	opts := []managedidentity.ClientOption{managedidentity.WithRetryPolicyDisabled(), managedidentity.WithHTTPClient(httpClient)}
	c, err := managedidentity.New(id, opts...)
	if err != nil {
		arg := ArgUseMSI
		if cfg.ClientID != "" {
			arg = ArgClientID
		}
		return nil, configErr(arg, "Invalid Managed Identity Configuration", "managed identity cannot be used here: %w", err)
	}
	return &msiAcquirer{client: c, bypass: map[string]bool{}}, nil
}

// msiHTTPClient talks to the managed identity endpoint, which is always on
// the machine itself (IMDS's link-local 169.254.169.254, or a localhost
// port): never through a proxy, and with a short connect timeout, because
// off Azure nothing answers at 169.254.169.254 and the system's TCP
// timeout is minutes.
func msiHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone() //nolint:forcetypeassert // the standard library's documented type
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// acquire asks for a token of the scope's resource: managed identity
// endpoints take the v1 resource, not a scope.
func (a *msiAcquirer) acquire(ctx context.Context, scope string) (string, time.Time, error) {
	var opts []managedidentity.AcquireTokenOption
	a.mu.Lock()
	if a.bypass[scope] {
		// MSAL keeps managed identity tokens in a process-wide cache that
		// cannot be cleared, and skips it only when claims are requested.
		// A claims challenge for a token issued from now on is what an API
		// that rejected a token would ask for.
		opts = append(opts, managedidentity.WithClaims(fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%s"}}}`,
			strconv.FormatInt(time.Now().Unix(), 10))))
	}
	a.mu.Unlock()
	res, err := a.client.AcquireToken(ctx, resourceOf(scope), opts...)
	var ne net.Error
	if errors.As(err, &ne) {
		return "", time.Time{}, fmt.Errorf("no managed identity endpoint answered (use_msi works on Azure VMs, App Service, Functions, Container Apps, AKS and Arc machines that have a managed identity): %w", err)
	}
	if err != nil {
		return "", time.Time{}, err
	}
	a.mu.Lock()
	delete(a.bypass, scope)
	a.mu.Unlock()
	return res.AccessToken, res.ExpiresOn, nil
}

func (a *msiAcquirer) reset(scope string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bypass[scope] = true
}
