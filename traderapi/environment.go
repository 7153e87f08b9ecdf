package traderapi

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Names of the exchange's environments.
const (
	Dev01   = "dev01"
	Preprod = "preprod"
	Prod    = "prod"
)

// Environment names where the exchange is reached: the private-link base URL
// that is dialled and the REST host sent as the Host header.
type Environment struct {
	// Name is the environment's name ("dev01", "preprod", "prod", or any
	// name for a custom environment). Sessions are stored per name.
	Name string
	// BaseURL is the scheme and host dialled, e.g.
	// "https://traderapi.us-east-1.privatelink.preprod.polymarketexchange.com".
	BaseURL string
	// Host is the Host header sent on every request, e.g.
	// "rest.preprod.polymarketexchange.com". Empty means the BaseURL's host.
	Host string
}

// EnvironmentNames returns the names of the preset environments.
func EnvironmentNames() []string { return []string{Dev01, Preprod, Prod} }

// LookupEnvironment returns the preset environment with the given name.
func LookupEnvironment(name string) (Environment, error) {
	if !slices.Contains(EnvironmentNames(), name) {
		return Environment{}, fmt.Errorf("traderapi: unknown environment %q: use one of %s, or give a base URL and host",
			name, strings.Join(EnvironmentNames(), ", "))
	}
	return Environment{
		Name:    name,
		BaseURL: "https://traderapi.us-east-1.privatelink." + name + ".polymarketexchange.com",
		Host:    "rest." + name + ".polymarketexchange.com",
	}, nil
}

// validate checks that the environment can be dialled.
func (e Environment) validate() error {
	if e.Name == "" {
		return fmt.Errorf("traderapi: environment has no name")
	}
	u, err := url.Parse(e.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("traderapi: base URL %q is not an http(s) URL with a host (example: https://traderapi.example.com)", e.BaseURL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("traderapi: base URL %q must be a scheme and host only, without path, query or user info", e.BaseURL)
	}
	if err := RequireHTTPS(u); err != nil {
		return fmt.Errorf("traderapi: base URL %q: %w", e.BaseURL, err)
	}
	if strings.ContainsAny(e.Host, "/ \t\r\n") {
		return fmt.Errorf("traderapi: host %q is not a host name", e.Host)
	}
	return nil
}
