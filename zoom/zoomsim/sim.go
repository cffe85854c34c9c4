package zoomsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"time"
)

// Options configure a Sim. The zero value is usable.
type Options struct {
	// Now is the simulator's clock; time.Now when nil. Inject a fake clock
	// to expire codes (5 min), page tokens (15 min), access tokens and
	// daily rate limits without sleeping.
	Now func() time.Time
	// AccessTokenTTL is the lifetime of access tokens; 1 hour when zero.
	AccessTokenTTL time.Duration
	// CodeTTL is the lifetime of authorization codes; 5 minutes when zero.
	CodeTTL time.Duration
	// PageTokenTTL is the lifetime of next_page_token values; 15 minutes
	// when zero.
	PageTokenTTL time.Duration
	// APIURL is the api_url returned with tokens; when empty it is the
	// scheme and host the token request reached.
	APIURL string
	// OmitRateLimitHeaders leaves the X-RateLimit-* and Retry-After
	// headers out of 429 responses (Zoom treats them as optional).
	OmitRateLimitHeaders bool
	// DisableRateLimits turns rate limiting off for every account.
	DisableRateLimits bool
	// WebhookURL and WebhookSecret are the default event notification
	// endpoint and secret token of apps that set none.
	WebhookURL    string
	WebhookSecret string
	// HTTPClient sends webhooks; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
}

// Sim is an in-memory Zoom. It serves the OAuth endpoints at its root, the
// REST API under /v2 and the control API under /_sim/. It is safe for
// concurrent use. Create it with New.
type Sim struct {
	opts    Options
	mux     *http.ServeMux
	pageKey [32]byte // HMAC key of page tokens
	// bufs recycles the buffers list pages are built in.
	bufs sync.Pool

	mu       sync.RWMutex
	accounts map[string]*account
	apps     map[string]*App // by client id
	users    map[string]*User
	rooms    map[string]*room // by id
	tokens   tokenStore

	limiter  limiter
	faults   faultSet
	stats    stats
	webhooks webhookLog

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns an empty simulator. Use Seed (or the Create* methods) to
// populate it.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 5 * time.Minute
	}
	if opts.PageTokenTTL <= 0 {
		opts.PageTokenTTL = 15 * time.Minute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Sim{
		opts:     opts,
		accounts: map[string]*account{},
		apps:     map[string]*App{},
		users:    map[string]*User{},
		rooms:    map[string]*room{},
		tokens:   newTokenStore(),
		closed:   make(chan struct{}),
	}
	rand.Read(s.pageKey[:])
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.limiter.init()
	s.stats.init()
	s.mux = http.NewServeMux()
	s.routeOAuth()
	s.routeAPI()
	s.routeControl()
	return s
}

// ServeHTTP serves the OAuth, REST and control endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Handler returns the simulator as an http.Handler.
func (s *Sim) Handler() http.Handler { return s }

// Close releases requests held by "hang" faults. The simulator keeps
// serving other requests; Close exists so that servers can shut down.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// now reads the simulator's clock.
func (s *Sim) now() time.Time { return s.opts.Now() }

// ctxDone is a helper for control methods that take a context but do not
// block: it reports a cancelled context as an error.
func ctxDone(ctx context.Context) error { return ctx.Err() }
