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
	"strconv"
	"strings"
	"time"
)

// Config is everything the gateway reads from its environment. Every field
// is documented, with its variable and default, in README.md.
type Config struct {
	Dev  bool   // GATEWAY_ENV=dev or `serve -dev`
	Addr string // GATEWAY_ADDR

	DatabaseURL string // DATABASE_URL
	RedisURL    string // REDIS_URL
	RedisPrefix string // REDIS_KEY_PREFIX

	VaultAddr       string // VAULT_ADDR
	VaultToken      string // VAULT_TOKEN
	VaultTransitKey string // VAULT_TRANSIT_KEY
	VaultMount      string // VAULT_TRANSIT_MOUNT
	DevKeyringFile  string // DEV_KEYRING_FILE

	ZoomAPIBaseURL     string // ZOOM_API_BASE_URL
	ZoomOAuthBaseURL   string // ZOOM_OAUTH_BASE_URL
	ZoomClientID       string // ZOOM_CLIENT_ID
	ZoomClientSecret   string // ZOOM_CLIENT_SECRET
	ZoomRedirectURL    string // ZOOM_REDIRECT_URL
	ZoomWebhookSecret  string // ZOOM_WEBHOOK_SECRET_TOKEN
	ZoomSimulatorRooms int    // DEV_ZOOMSIM_ROOMS (dev mode only)

	// ZoomInstallReturnOrigins are origins besides PUBLIC_BASE_URL's that a
	// Marketplace install may return to (ZOOM_INSTALL_RETURN_ORIGINS,
	// comma-separated, e.g. https://app.example.com).
	ZoomInstallReturnOrigins []string
	// DisconnectWait bounds how long disconnectZoom waits for the cleanup
	// before answering with the progress so far (ZOOM_DISCONNECT_WAIT).
	DisconnectWait time.Duration

	JWTHS256Secret string // JWT_HS256_SECRET
	JWTJWKSURL     string // JWT_JWKS_URL
	JWTJWKSFile    string // JWT_JWKS_FILE
	JWTIssuer      string // JWT_ISSUER
	JWTAudience    string // JWT_AUDIENCE

	PublicBaseURL  string // PUBLIC_BASE_URL
	SignageBaseURL string // SIGNAGE_BASE_URL

	// SyncInterval is how often each connection's rooms are synced
	// (ROOMS_SYNC_INTERVAL, default 60s; each connection jittered ±10%).
	SyncInterval time.Duration

	// NoWorkers makes the replica serve the API without working River
	// jobs (GATEWAY_WORKERS=false; default true): it still enqueues them,
	// for the replicas that work them. Lets an operator split API and job
	// replicas, and lets tests pin the jobs to one replica.
	NoWorkers bool

	LogLevel        slog.Level    // LOG_LEVEL
	RequestTimeout  time.Duration // GATEWAY_REQUEST_TIMEOUT
	ComplexityLimit int           // GATEWAY_COMPLEXITY_LIMIT
	DepthLimit      int           // GATEWAY_DEPTH_LIMIT
	TokenLimit      int           // GATEWAY_TOKEN_LIMIT (lexical tokens per document)
	ErrorLimit      int           // GATEWAY_ERROR_LIMIT (errors per response)
	// Introspection serves __schema and __type outside dev mode too
	// (GATEWAY_INTROSPECTION=true), for partners' codegen; dev mode always
	// serves them.
	Introspection bool
	// CORSOrigins are the exact browser origins allowed to call the API
	// from another origin and, when any is set, the only ones whose
	// websockets are accepted (GATEWAY_CORS_ORIGINS, comma-separated).
	CORSOrigins []string
}

// Defaults.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultDatabaseURL   = "postgres://postgres@127.0.0.1:5432/zoomsignage?sslmode=disable"
	DefaultRedisURL      = "redis://127.0.0.1:6379/0"
	DefaultZoomAPI       = "https://api.zoom.us/v2"
	DefaultZoomOAuth     = "https://zoom.us"
	DefaultTransitKey    = "zoomsignage"
	DefaultTransitMount  = "transit"
	DefaultKeyringFile   = ".dev/keyring.json"
	DefaultPublicBaseURL = "http://127.0.0.1:8080"
	DefaultSignageURL    = "http://127.0.0.1:8080/screens/"
)

// FromEnv reads the configuration from environment variables (getenv is
// os.Getenv outside tests).
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	num := func(key string, def int) int {
		v := getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s must be a non-negative integer", key))
		}
		return n
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration such as 30s", key))
		}
		return d
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, errors.New("LOG_LEVEL must be debug, info, warn or error"))
	}
	workers, err := strconv.ParseBool(str("GATEWAY_WORKERS", "true"))
	if err != nil {
		errs = append(errs, errors.New("GATEWAY_WORKERS must be true or false"))
	}
	introspection, err := strconv.ParseBool(str("GATEWAY_INTROSPECTION", "false"))
	if err != nil {
		errs = append(errs, errors.New("GATEWAY_INTROSPECTION must be true or false"))
	}
	env := str("GATEWAY_ENV", "production")
	if env != "dev" && env != "production" {
		errs = append(errs, errors.New("GATEWAY_ENV must be dev or production"))
	}
	cfg := Config{
		Dev:                      env == "dev",
		Addr:                     str("GATEWAY_ADDR", DefaultAddr),
		DatabaseURL:              str("DATABASE_URL", DefaultDatabaseURL),
		RedisURL:                 str("REDIS_URL", DefaultRedisURL),
		RedisPrefix:              str("REDIS_KEY_PREFIX", "zs:"),
		VaultAddr:                str("VAULT_ADDR", ""),
		VaultToken:               str("VAULT_TOKEN", ""),
		VaultTransitKey:          str("VAULT_TRANSIT_KEY", DefaultTransitKey),
		VaultMount:               str("VAULT_TRANSIT_MOUNT", DefaultTransitMount),
		DevKeyringFile:           str("DEV_KEYRING_FILE", DefaultKeyringFile),
		ZoomAPIBaseURL:           str("ZOOM_API_BASE_URL", ""),
		ZoomOAuthBaseURL:         str("ZOOM_OAUTH_BASE_URL", ""),
		ZoomClientID:             str("ZOOM_CLIENT_ID", ""),
		ZoomClientSecret:         str("ZOOM_CLIENT_SECRET", ""),
		ZoomRedirectURL:          str("ZOOM_REDIRECT_URL", ""),
		ZoomWebhookSecret:        str("ZOOM_WEBHOOK_SECRET_TOKEN", ""),
		ZoomSimulatorRooms:       num("DEV_ZOOMSIM_ROOMS", 25),
		ZoomInstallReturnOrigins: splitList(str("ZOOM_INSTALL_RETURN_ORIGINS", "")),
		DisconnectWait:           dur("ZOOM_DISCONNECT_WAIT", 15*time.Second),
		JWTHS256Secret:           str("JWT_HS256_SECRET", ""),
		JWTJWKSURL:               str("JWT_JWKS_URL", ""),
		JWTJWKSFile:              str("JWT_JWKS_FILE", ""),
		PublicBaseURL:            strings.TrimRight(str("PUBLIC_BASE_URL", DefaultPublicBaseURL), "/"),
		SignageBaseURL:           str("SIGNAGE_BASE_URL", DefaultSignageURL),
		SyncInterval:             dur("ROOMS_SYNC_INTERVAL", 60*time.Second),
		NoWorkers:                !workers,
		LogLevel:                 level,
		RequestTimeout:           dur("GATEWAY_REQUEST_TIMEOUT", 30*time.Second),
		ComplexityLimit:          num("GATEWAY_COMPLEXITY_LIMIT", 10_000),
		DepthLimit:               num("GATEWAY_DEPTH_LIMIT", 12),
		TokenLimit:               num("GATEWAY_TOKEN_LIMIT", 10_000),
		ErrorLimit:               num("GATEWAY_ERROR_LIMIT", 50),
		Introspection:            introspection,
		CORSOrigins:              splitList(str("GATEWAY_CORS_ORIGINS", "")),
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("app.FromEnv: %w", err)
	}
	return cfg, nil
}

// Validate checks what production needs. Dev mode fills gaps with local
// stand-ins (the keyring, the in-process simulator) instead.
func (c Config) Validate() error {
	if c.Dev {
		return nil
	}
	var errs []error
	if c.VaultAddr == "" || c.VaultToken == "" {
		errs = append(errs, errors.New("VAULT_ADDR and VAULT_TOKEN are required outside dev mode (credentials are sealed with Vault transit)"))
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

// ZoomAPI returns the Zoom REST base URL, defaulting to Zoom's.
func (c Config) ZoomAPI() string { return orDefault(c.ZoomAPIBaseURL, DefaultZoomAPI) }

// ZoomOAuth returns the Zoom OAuth base URL, defaulting to Zoom's.
func (c Config) ZoomOAuth() string { return orDefault(c.ZoomOAuthBaseURL, DefaultZoomOAuth) }

// splitList splits a comma-separated variable, dropping empty items and
// trailing slashes (origins).
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
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
