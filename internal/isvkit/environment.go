package isvkit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pmx-login/pmx-login/traderapi"
)

// TokenPath is the token endpoint's path on the auth domain.
const TokenPath = "/oauth/token"

// Environment names where a partner authenticates: the Auth0 domain that
// issues tokens and the API domain that accepts them (the ISV authentication guide).
type Environment struct {
	// Name is "dev01", "preprod" or "prod".
	Name string
	// AuthDomain is the Auth0 tenant's host, e.g. "pmx-preprod.us.auth0.com".
	AuthDomain string
	// APIDomain is the API's host, e.g. "api.preprod.polymarketexchange.com".
	APIDomain string
}

// TokenURL returns the token endpoint, https://{AuthDomain}/oauth/token: the
// URL a client assertion's aud must name.
func (e Environment) TokenURL() string { return "https://" + e.AuthDomain + TokenPath }

// Audience returns the API audience, https://{APIDomain}: the audience of the
// access tokens and the API's base URL.
func (e Environment) Audience() string { return "https://" + e.APIDomain }

// environments is the table of the ISV authentication guide: the
// trader API's environments ([traderapi.EnvironmentNames]), each with its
// Auth0 tenant and API domain.
func environments() []Environment {
	return []Environment{
		{Name: "dev01", AuthDomain: "pmx-dev01.us.auth0.com", APIDomain: "api.dev01.polymarketexchange.com"},
		{Name: "preprod", AuthDomain: "pmx-preprod.us.auth0.com", APIDomain: "api.preprod.polymarketexchange.com"},
		{Name: "prod", AuthDomain: "pmx-prod.us.auth0.com", APIDomain: "api.prod.polymarketexchange.com"},
	}
}

// LookupEnvironment returns the environment with the given name.
func LookupEnvironment(name string) (Environment, error) {
	envs := environments()
	if i := slices.IndexFunc(envs, func(e Environment) bool { return e.Name == name }); i >= 0 {
		return envs[i], nil
	}
	return Environment{}, fmt.Errorf("isv: unknown environment %q: use one of %s, or set AuthURL and Audience",
		name, strings.Join(traderapi.EnvironmentNames(), ", "))
}
