// Package zoom is the gateway's client for Zoom's REST API and OAuth
// endpoints.
//
// A Client is built once per process (New) and shared: it owns the HTTP
// client, the Redis response cache, the Redis rate limiter shared by every
// replica, the retry policy and the metrics. Calls are made for one Zoom
// account at a time through an AccountClient (Client.For), which carries the
// account's plan (for the rate limit) and its TokenSource.
//
// Token sources:
//   - ServerAppTokenSource: Server-to-Server OAuth (account_credentials), one
//     token per Zoom account shared by every replica through the sealed
//     connection row.
//   - MarketplaceTokenSource: Marketplace installs, refreshed with rotation
//     under a lock the TokenStore holds (connections.TokenStore keeps it in
//     Postgres, sealed with Vault; this package imports neither).
//   - StaticServerAppCredentials: Server-to-Server credentials not stored
//     anywhere yet (the connect flow's validation call).
//
// Decrypted access tokens live only in process memory; the token store holds
// Vault ciphertexts and Redis holds no token at all.
package zoom

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// Default endpoints of Zoom.
const (
	DefaultAPIBaseURL   = "https://api.zoom.us/v2"
	DefaultOAuthBaseURL = "https://zoom.us"
)

// Plan is a Zoom account plan; it selects the account's rate limits.
type Plan string

// Plans (zoom-api.md, "Rate limits").
const (
	PlanFree     Plan = "free"
	PlanPro      Plan = "pro"
	PlanBusiness Plan = "business"
)

// RateLabel is Zoom's rate-limit label of an operation.
type RateLabel string

// Rate labels of the documents.
const (
	Light  RateLabel = "Light"
	Medium RateLabel = "Medium"
	Heavy  RateLabel = "Heavy"
)

// Options configure a Client. Only the zero values documented as defaults
// are optional; Redis is required for caching and rate limiting.
type Options struct {
	// APIBaseURL is the REST base including /v2; DefaultAPIBaseURL when empty.
	APIBaseURL string
	// OAuthBaseURL is where /oauth/token and /oauth/revoke live;
	// DefaultOAuthBaseURL when empty.
	OAuthBaseURL string
	// HTTPClient sends every request; a client with a 30 s timeout when nil.
	// Tests put zoomspec's validating transport here.
	HTTPClient *http.Client
	// Redis holds the response cache, the cache locks, the shared rate
	// limiter and the webhook replay keys. Without it the client neither
	// caches nor rate-limits (only in-process collapsing of GETs remains).
	Redis *redis.Client
	// KeyPrefix starts every Redis key the client writes (keys are
	// KeyPrefix + "zoom:…"); tests use redistest's prefix.
	KeyPrefix string
	// RateShare is the share of the account plan's limit this gateway
	// allows itself across all replicas; 0.5 when zero.
	RateShare float64
	// LocalRateFraction is the part of RateShare one replica allows itself
	// while Redis is unreachable (DefaultLocalRateFraction when zero): the
	// in-process fallback limiter's rate.
	LocalRateFraction float64
	// RateLimits overrides the plan table (requests per second by plan and
	// label); nil uses DefaultRateLimits.
	RateLimits map[Plan]map[RateLabel]float64
	// CacheTTLs are the per-resource lifetimes of cached GET responses.
	CacheTTLs CacheTTLs
	// CacheLockTTL bounds how long replicas wait for another replica's
	// identical GET before calling Zoom themselves; 2 s when zero.
	CacheLockTTL time.Duration
	// MaxRetries is how many times an idempotent call is retried after a
	// 429, 5xx or connection error; 3 when zero, none when negative.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with
	// full jitter used when Zoom gives no Retry-After; 250 ms and 10 s when
	// zero.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// AttemptTimeout bounds one HTTP attempt inside the caller's deadline,
	// so a hung connection still leaves time for a retry; 20 s when zero.
	AttemptTimeout time.Duration
	// TokenRefreshMargin is how long before expiry a token is replaced (and
	// dropped from memory); 5 minutes when zero.
	TokenRefreshMargin time.Duration
	// Registerer receives the client's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger gets warnings about retries and token problems; it never
	// receives a token or secret. slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock for token expiry and Retry-After dates; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done between retries (backoff and
	// Retry-After); a timer when nil. Tests inject it to observe those
	// waits without sleeping. Waits for a limiter slot always use a real
	// timer: they pace real traffic.
	Sleep func(ctx context.Context, d time.Duration) error
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to Zoom for any number of accounts. It is safe for concurrent
// use; create one per process with New.
type Client struct {
	apiBase, oauthBase string
	http               *http.Client
	rdb                *redis.Client
	prefix             string
	limiter            *redis_rate.Limiter
	local              *localLimiters // while limiter's Redis is down
	redisDown          atomic.Bool
	redisProbeAt       atomic.Int64 // unix nanos: when to try an unreachable Redis again
	share              float64
	limits             map[Plan]map[RateLabel]float64
	ttls               CacheTTLs
	lockTTL            time.Duration
	maxRetries         int
	baseDelay          time.Duration
	maxDelay           time.Duration
	attemptTimeout     time.Duration
	margin             time.Duration
	metrics            *metrics
	log                *slog.Logger
	now                func() time.Time
	sleep              func(ctx context.Context, d time.Duration) error
	userAgent          string

	flight singleflight.Group

	mu      sync.Mutex
	sources map[string]TokenSource // memoized stored token sources by connection id
}

// New builds a Client. It fails only when the metrics cannot be registered.
func New(opts Options) (*Client, error) {
	c := &Client{
		apiBase:        strings.TrimRight(opts.APIBaseURL, "/"),
		oauthBase:      strings.TrimRight(opts.OAuthBaseURL, "/"),
		http:           opts.HTTPClient,
		rdb:            opts.Redis,
		prefix:         opts.KeyPrefix,
		share:          opts.RateShare,
		limits:         opts.RateLimits,
		ttls:           opts.CacheTTLs.withDefaults(),
		lockTTL:        opts.CacheLockTTL,
		maxRetries:     opts.MaxRetries,
		baseDelay:      opts.RetryBaseDelay,
		maxDelay:       opts.RetryMaxDelay,
		attemptTimeout: opts.AttemptTimeout,
		margin:         opts.TokenRefreshMargin,
		log:            opts.Logger,
		now:            opts.Now,
		sleep:          opts.Sleep,
		userAgent:      opts.UserAgent,
		sources:        map[string]TokenSource{},
		local:          newLocalLimiters(opts.LocalRateFraction),
	}
	if c.apiBase == "" {
		c.apiBase = DefaultAPIBaseURL
	}
	if c.oauthBase == "" {
		c.oauthBase = DefaultOAuthBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.share <= 0 {
		c.share = 0.5
	}
	if c.limits == nil {
		c.limits = DefaultRateLimits()
	}
	if c.lockTTL <= 0 {
		c.lockTTL = 2 * time.Second
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = 3
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.baseDelay <= 0 {
		c.baseDelay = 250 * time.Millisecond
	}
	if c.maxDelay <= 0 {
		c.maxDelay = 10 * time.Second
	}
	if c.attemptTimeout <= 0 {
		c.attemptTimeout = 20 * time.Second
	}
	if c.margin <= 0 {
		c.margin = 5 * time.Minute
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.userAgent == "" {
		c.userAgent = "zoomsignage-gateway"
	}
	if c.rdb != nil {
		c.limiter = redis_rate.NewLimiter(c.rdb)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("zoom.New: %w", err)
	}
	c.metrics = m
	return c, nil
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Account identifies the Zoom account a call is made for and how to
// authenticate it.
type Account struct {
	// ConnectionID and TenantID identify the gateway's connection row (for
	// logs; the token source holds its own reference).
	ConnectionID, TenantID string
	// ZoomAccountID keys the cache and the rate limiter: every connection
	// and replica using one Zoom account shares its budget.
	ZoomAccountID string
	// Plan selects the rate limits; PlanPro when empty.
	Plan Plan
	// Tokens gives access tokens for the account.
	Tokens TokenSource
	// NoCache sends every GET to Zoom and caches nothing. The connect flow
	// sets it when validating credentials the user just typed: a cached
	// answer would "validate" any secret for an account already connected.
	NoCache bool
}

// AccountClient makes calls for one Zoom account. It is cheap: make one per
// call site with Client.For.
type AccountClient struct {
	c   *Client
	acc Account
}

// For returns the calls for acc.
func (c *Client) For(acc Account) *AccountClient {
	if acc.Plan == "" {
		acc.Plan = PlanPro
	}
	return &AccountClient{c: c, acc: acc}
}

// Account returns the account the calls are made for.
func (a *AccountClient) Account() Account { return a.acc }

func (a *AccountClient) check(op string) error {
	if a.acc.ZoomAccountID == "" || a.acc.Tokens == nil {
		return fmt.Errorf("zoom.%s: account has no Zoom account id or token source", op)
	}
	return nil
}

// key joins parts under the client's Redis key prefix.
func (c *Client) key(parts ...string) string {
	return c.prefix + "zoom:" + strings.Join(parts, ":")
}
