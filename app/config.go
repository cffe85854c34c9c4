// Package app assembles the gateway from its configuration: it opens
// Postgres, Redis and Vault, builds the domain services and the HTTP server,
// and runs them. cmd/gateway is a thin command line over it, and end-to-end
// tests build the very same gateway with New.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"zoomsignage/jobtime"
	"zoomsignage/vault"
)

// Config is everything the gateway reads from its environment. Each field
// names its variable in an `env` tag and its default in `envDefault`, and is
// parsed by github.com/caarlos0/env, so a variable exists exactly when a
// field reads it. README.md's variable table documents every one of them,
// and TestREADMEDocumentsEveryVariable fails when the two drift apart.
//
// No variable is required unconditionally: dev mode (`make run`) runs with
// none set. What production needs besides (Vault, a JWT key, the Marketplace
// secrets together) depends on other variables and is checked by Validate.
type Config struct {
	// Env is GATEWAY_ENV: "production" or "dev". Dev mirrors it (and
	// `serve -dev` sets Dev alone); the rest of the gateway reads Dev.
	Env  string `env:"GATEWAY_ENV" envDefault:"production"`
	Dev  bool   `env:"-"`
	Addr string `env:"GATEWAY_ADDR" envDefault:"127.0.0.1:8080"`

	DatabaseURL string `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:5432/zoomsignage?sslmode=disable"`
	RedisURL    string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0"`
	RedisPrefix string `env:"REDIS_KEY_PREFIX" envDefault:"zs:"`

	VaultAddr       string `env:"VAULT_ADDR"`
	VaultToken      string `env:"VAULT_TOKEN"`
	VaultTransitKey string `env:"VAULT_TRANSIT_KEY" envDefault:"zoomsignage"`
	VaultMount      string `env:"VAULT_TRANSIT_MOUNT" envDefault:"transit"`
	DevKeyringFile  string `env:"DEV_KEYRING_FILE" envDefault:".dev/keyring.json"`
	// How the gateway gets its Vault token: VAULT_TOKEN (renewed while it
	// can be), or an AppRole or Kubernetes login (repeated whenever the
	// token cannot be renewed or is refused).
	VaultAuthMethod   string `env:"VAULT_AUTH_METHOD" envDefault:"token"`
	VaultAuthMount    string `env:"VAULT_AUTH_MOUNT"` // empty: the method's name
	VaultRoleID       string `env:"VAULT_ROLE_ID"`
	VaultSecretID     string `env:"VAULT_SECRET_ID"`
	VaultSecretIDFile string `env:"VAULT_SECRET_ID_FILE"`
	VaultK8sRole      string `env:"VAULT_K8S_ROLE"`
	VaultK8sTokenFile string `env:"VAULT_K8S_TOKEN_FILE" envDefault:"/var/run/secrets/kubernetes.io/serviceaccount/token"`

	// ZoomAPIBaseURL and ZoomOAuthBaseURL stay empty when unset (dev mode
	// then runs the in-process simulator); ZoomAPI and ZoomOAuth return
	// Zoom's URLs for empty ones.
	ZoomAPIBaseURL     string `env:"ZOOM_API_BASE_URL"`
	ZoomOAuthBaseURL   string `env:"ZOOM_OAUTH_BASE_URL"`
	ZoomClientID       string `env:"ZOOM_CLIENT_ID"`
	ZoomClientSecret   string `env:"ZOOM_CLIENT_SECRET"`
	ZoomRedirectURL    string `env:"ZOOM_REDIRECT_URL"` // empty: PUBLIC_BASE_URL + /oauth/zoom/callback
	ZoomWebhookSecret  string `env:"ZOOM_WEBHOOK_SECRET_TOKEN"`
	ZoomSimulatorRooms int    `env:"DEV_ZOOMSIM_ROOMS" envDefault:"25"` // dev mode only

	// ZoomInstallReturnOrigins are origins besides PUBLIC_BASE_URL's that a
	// Marketplace install may return to (comma-separated, e.g.
	// https://app.example.com).
	ZoomInstallReturnOrigins []string `env:"ZOOM_INSTALL_RETURN_ORIGINS"`
	// DisconnectWait bounds how long disconnectZoom waits for the cleanup
	// before answering with the progress so far.
	DisconnectWait time.Duration `env:"ZOOM_DISCONNECT_WAIT" envDefault:"15s"`

	JWTHS256Secret string `env:"JWT_HS256_SECRET"`
	JWTJWKSURL     string `env:"JWT_JWKS_URL"`
	JWTJWKSFile    string `env:"JWT_JWKS_FILE"`
	// JWTIssuer and JWTAudience, when set, are required of every JWT's iss
	// and aud: without them a token the same identity provider issued for
	// another application would be accepted.
	JWTIssuer   string `env:"JWT_ISSUER"`
	JWTAudience string `env:"JWT_AUDIENCE"`

	PublicBaseURL  string `env:"PUBLIC_BASE_URL" envDefault:"http://127.0.0.1:8080"`
	SignageBaseURL string `env:"SIGNAGE_BASE_URL" envDefault:"http://127.0.0.1:8080/screens/"`

	// WebhooksAllowLoopback lets partner webhook endpoints be plain http on
	// a loopback address (a local receiver), in dev mode only: outside it
	// the value is ignored and endpoints must be https on public addresses.
	WebhooksAllowLoopback bool `env:"WEBHOOKS_ALLOW_LOOPBACK" envDefault:"false"`

	// SyncInterval is how often each connection's rooms are synced (each
	// connection jittered ±10%).
	SyncInterval time.Duration `env:"ROOMS_SYNC_INTERVAL" envDefault:"60s"`

	// Workers false makes the replica serve the API without working River
	// jobs: it still enqueues them, for the replicas that work them. Lets an
	// operator split API and job replicas, and lets tests pin the jobs to
	// one replica.
	Workers bool `env:"GATEWAY_WORKERS" envDefault:"true"`
	// JobRescueAfter is how long a River job may run before another replica
	// takes it over (its replica died); every attempt is bounded below it
	// (jobtime), so long jobs work in slices.
	JobRescueAfter time.Duration `env:"RIVER_RESCUE_AFTER" envDefault:"60s"`

	LogLevel        slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
	RequestTimeout  time.Duration `env:"GATEWAY_REQUEST_TIMEOUT" envDefault:"30s"`
	ComplexityLimit int           `env:"GATEWAY_COMPLEXITY_LIMIT" envDefault:"10000"`
	DepthLimit      int           `env:"GATEWAY_DEPTH_LIMIT" envDefault:"12"`
	TokenLimit      int           `env:"GATEWAY_TOKEN_LIMIT" envDefault:"10000"` // lexical tokens per document
	ErrorLimit      int           `env:"GATEWAY_ERROR_LIMIT" envDefault:"50"`    // errors per response
	// Introspection serves __schema and __type outside dev mode too, for
	// partners' codegen; dev mode always serves them.
	Introspection bool `env:"GATEWAY_INTROSPECTION" envDefault:"false"`
	// CORSOrigins are the exact browser origins allowed to call the API
	// from another origin and, when any is set, the only ones whose
	// websockets are accepted (comma-separated).
	CORSOrigins []string `env:"GATEWAY_CORS_ORIGINS"`
	// AuthFailureLimit is how many failed authentications one client
	// address may make per minute, across replicas, before it is refused
	// with 429 until the minute ends; 0 turns the throttle off.
	AuthFailureLimit int `env:"GATEWAY_AUTH_FAILURE_LIMIT" envDefault:"20"`
	// TrustedProxyHeader names the header whose last address is the
	// client's (e.g. X-Forwarded-For behind a load balancer that appends
	// it); empty uses the connection's peer address. Set it only when every
	// request comes through that proxy: the header is the client's to forge
	// otherwise.
	TrustedProxyHeader string `env:"GATEWAY_TRUSTED_PROXY_HEADER"`
	// OpsAddr, when set, is a second listen address serving /metrics,
	// /readyz and /healthz, which then leave the API port (they stay
	// there when it is empty).
	OpsAddr string `env:"GATEWAY_OPS_ADDR"`
}

// Defaults that code outside the tags needs.
const (
	DefaultZoomAPI   = "https://api.zoom.us/v2"
	DefaultZoomOAuth = "https://zoom.us"
)

// Variables returns the name of every environment variable Config reads,
// in field order.
func Variables() []string {
	params, err := env.GetFieldParams(&Config{})
	if err != nil {
		panic(fmt.Sprintf("app.Variables: %v", err)) // a malformed tag; the tests catch it
	}
	var out []string
	for _, p := range params {
		if !p.Ignored && p.Key != "" {
			out = append(out, p.Key)
		}
	}
	return out
}

// FromEnv reads the configuration from environment variables (getenv is
// os.Getenv outside tests). Values are trimmed; an empty value counts as
// unset, so its default applies.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	environment := map[string]string{}
	for _, key := range Variables() {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			environment[key] = v
		}
	}
	var cfg Config
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environment}); err != nil {
		return Config{}, fmt.Errorf("app.FromEnv: %w", namedParseErrors(err))
	}
	if err := cfg.normalize(); err != nil {
		return Config{}, fmt.Errorf("app.FromEnv: %w", err)
	}
	return cfg, nil
}

// normalize checks what the tags cannot say (GATEWAY_ENV's two values,
// positive durations, non-negative numbers) and tidies lists and URLs.
func (c *Config) normalize() error {
	var errs []error
	switch c.Env {
	case "dev":
		c.Dev = true
	case "production":
	default:
		errs = append(errs, errors.New("GATEWAY_ENV must be dev or production"))
	}
	for key, d := range map[string]time.Duration{
		"ZOOM_DISCONNECT_WAIT": c.DisconnectWait, "ROOMS_SYNC_INTERVAL": c.SyncInterval,
		"GATEWAY_REQUEST_TIMEOUT": c.RequestTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration such as 30s", key))
		}
	}
	if c.JobRescueAfter < jobtime.MinRescueAfter {
		errs = append(errs, fmt.Errorf("RIVER_RESCUE_AFTER must be at least %s", jobtime.MinRescueAfter))
	}
	for key, n := range map[string]int{
		"DEV_ZOOMSIM_ROOMS": c.ZoomSimulatorRooms, "GATEWAY_COMPLEXITY_LIMIT": c.ComplexityLimit,
		"GATEWAY_DEPTH_LIMIT": c.DepthLimit, "GATEWAY_TOKEN_LIMIT": c.TokenLimit, "GATEWAY_ERROR_LIMIT": c.ErrorLimit,
	} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s must be a non-negative integer", key))
		}
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	c.ZoomInstallReturnOrigins = cleanList(c.ZoomInstallReturnOrigins)
	c.CORSOrigins = cleanList(c.CORSOrigins)
	return errors.Join(errs...)
}

// namedParseErrors rewrites the library's parse errors, which name the Go
// field, to name the environment variable an operator set.
func namedParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	t := reflect.TypeFor[Config]()
	out := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
				out = append(out, fmt.Errorf("%s: %w", key, pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Validate checks what production needs. Dev mode fills gaps with local
// stand-ins (the keyring, the in-process simulator) instead.
func (c Config) Validate() error {
	if c.Dev {
		return nil
	}
	var errs []error
	if c.VaultAddr == "" {
		errs = append(errs, errors.New("VAULT_ADDR is required outside dev mode (credentials are sealed with Vault transit)"))
	}
	if err := c.vaultAuth().Check(c.VaultToken); err != nil {
		errs = append(errs, err)
	}
	if c.JWTHS256Secret == "" && c.JWTJWKSURL == "" && c.JWTJWKSFile == "" {
		errs = append(errs, errors.New("one of JWT_HS256_SECRET, JWT_JWKS_URL or JWT_JWKS_FILE is required outside dev mode"))
	}
	// A Marketplace app without its webhook secret would never hear that a
	// customer uninstalled it, so its data would never be cleaned up.
	if c.ZoomClientID != "" && (c.ZoomClientSecret == "" || c.ZoomWebhookSecret == "") {
		errs = append(errs, errors.New("ZOOM_CLIENT_ID needs ZOOM_CLIENT_SECRET and ZOOM_WEBHOOK_SECRET_TOKEN"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("app: configuration: %w", err)
	}
	return nil
}

func (c Config) vaultAuth() vault.AuthConfig {
	return vault.AuthConfig{
		Method: c.VaultAuthMethod, Mount: c.VaultAuthMount,
		RoleID: c.VaultRoleID, SecretID: c.VaultSecretID, SecretIDFile: c.VaultSecretIDFile,
		K8sRole: c.VaultK8sRole, K8sTokenFile: c.VaultK8sTokenFile,
	}
}

// transitConfig is the Vault transit configuration (VAULT_ADDR set).
func (c Config) transitConfig(logger *slog.Logger) vault.TransitConfig {
	return vault.TransitConfig{
		Address: c.VaultAddr, Token: c.VaultToken, Mount: c.VaultMount, Key: c.VaultTransitKey,
		Auth: c.vaultAuth(), Logger: logger,
	}
}

// TransitConfig is the Vault transit configuration for operator commands
// (rewrap) that seal outside the gateway.
func (c Config) TransitConfig(logger *slog.Logger) vault.TransitConfig {
	return c.transitConfig(logger)
}

// ZoomAPI returns the Zoom REST base URL, defaulting to Zoom's.
func (c Config) ZoomAPI() string { return orDefault(c.ZoomAPIBaseURL, DefaultZoomAPI) }

// ZoomOAuth returns the Zoom OAuth base URL, defaulting to Zoom's.
func (c Config) ZoomOAuth() string { return orDefault(c.ZoomOAuthBaseURL, DefaultZoomOAuth) }

// cleanList trims the items of a comma-separated variable, dropping empty
// ones and trailing slashes (origins).
func cleanList(items []string) []string {
	var out []string
	for _, item := range items {
		if item = strings.TrimRight(strings.TrimSpace(item), "/"); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
