package zoom_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"zoomsignage/internal/testutil/clocktest"
	"zoomsignage/internal/testutil/logtest"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

// clock is the fake clock shared by the simulator and the client.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New() }

// envOptions shape a test world.
type envOptions struct {
	sim  zoomsim.Options
	seed zoomsim.SeedOptions
	// lenient collects contract violations instead of failing on them;
	// for tests that inject responses Zoom's contract cannot describe
	// (HTML 502 pages, malformed JSON). Requests must still conform.
	lenient bool
	// html502 makes the next n API responses an HTML 502 page from a
	// "proxy" in front of the simulator.
	html502 int
	// noRedis builds clients without Redis (no cache, no limiter).
	noRedis bool
	// noKeepAlive gives every request a fresh connection, so net/http's
	// own silent retry of a request on a reused, dead connection cannot
	// hide a reset from the client's retry logic.
	noKeepAlive bool
}

// env is a simulator behind a real HTTP server (its clock fake), a real
// Redis, an in-memory token store (the client's contract; the Postgres one
// is the connections domain's and is tested there), and client factories
// whose traffic is checked against Zoom's OpenAPI documents.
type env struct {
	t      testing.TB
	clock  *clock
	sim    *zoomsim.Sim
	srv    *httptest.Server
	seed   zoomsim.Seeded
	spec   *zoomspec.Transport
	store  *memStore
	rdb    *redis.Client
	prefix string
	tenant string
	logs   *syncBuffer
	opts   envOptions

	html502 atomic.Int64

	mu     sync.Mutex
	sleeps []time.Duration
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), opts: opts, logs: &syncBuffer{}}
	if opts.sim.Now == nil {
		opts.sim.Now = e.clock.Now
	}
	e.sim = zoomsim.New(opts.sim)
	e.html502.Store(int64(opts.html502))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > 3 && r.URL.Path[:4] == "/v2/" && e.html502.Add(-1) >= 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
			return
		}
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { e.sim.Close(); e.srv.Close() })
	ctx := context.Background()
	var err error
	if e.seed, err = e.sim.Seed(ctx, opts.seed); err != nil {
		t.Fatal(err)
	}
	v, err := zoomspec.NewValidator(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var tb zoomspec.TB = t
	if opts.lenient {
		tb = nil
	}
	var next http.RoundTripper
	if opts.noKeepAlive {
		next = &http.Transport{DisableKeepAlives: true}
	}
	e.spec = v.Transport(tb, next)
	t.Cleanup(func() {
		if e.spec.Checked() == 0 && !t.Failed() {
			t.Error("no Zoom API traffic was validated against the OpenAPI documents")
		}
		for _, viol := range e.spec.Violations() {
			if viol.Status == 0 {
				t.Errorf("request broke Zoom's contract: %s", viol)
			}
		}
	})
	e.store = newMemStore()
	e.rdb, e.prefix = redistest.New(t)
	e.tenant = "tenant-" + e.prefix
	return e
}

// sleep is the clients' injected Sleep: it records the wait and moves the
// shared fake clock instead of sleeping, so Retry-After is honoured exactly
// and observably.
func (e *env) sleep(ctx context.Context, d time.Duration) error {
	e.mu.Lock()
	e.sleeps = append(e.sleeps, d)
	e.mu.Unlock()
	e.clock.Advance(d)
	return ctx.Err()
}

func (e *env) recordedSleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

// newClient builds a client instance (a "replica") with its own registry.
func (e *env) newClient(mod func(*zoom.Options)) (*zoom.Client, *prometheus.Registry) {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	opts := zoom.Options{
		APIBaseURL:     e.srv.URL + "/v2",
		OAuthBaseURL:   e.srv.URL,
		HTTPClient:     &http.Client{Transport: e.spec},
		Redis:          e.rdb,
		KeyPrefix:      e.prefix,
		Registerer:     reg,
		Logger:         slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:            e.clock.Now,
		Sleep:          e.sleep,
		RetryBaseDelay: 10 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
	}
	if e.opts.noRedis {
		opts.Redis = nil
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := zoom.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, reg
}

// insertConnection stores a connection of kind for the seeded account.
func (e *env) insertConnection(kind zoom.ConnectionKind, clientID string) zoom.ConnectionRef {
	return e.store.insert(e.tenant, kind, e.seed.AccountID, clientID)
}

// serverApp stores the seeded Server-to-Server app's secret in a new
// connection row and returns the row.
func (e *env) serverApp() zoom.ConnectionRef {
	e.t.Helper()
	ref := e.insertConnection(zoom.KindServerApp, e.seed.Server.ClientID)
	if err := e.store.saveClientSecret(ref, e.seed.Server.ClientSecret); err != nil {
		e.t.Fatal(err)
	}
	return ref
}

const redirectURI = "https://gateway.example/oauth/zoom/callback"

func (e *env) marketplaceApp() zoom.AppCredentials {
	return zoom.AppCredentials{ClientID: e.seed.Marketplace.ClientID, ClientSecret: e.seed.Marketplace.ClientSecret}
}

// marketplace installs the seeded Marketplace app as the account admin
// (authorize with PKCE, exchange the code through c) and stores the grant.
func (e *env) marketplace(c *zoom.Client) (zoom.ConnectionRef, *zoom.OAuthToken) {
	e.t.Helper()
	ctx := context.Background()
	pk := zoom.NewPKCE()
	u, err := url.Parse(c.AuthorizeURL(e.seed.Marketplace.ClientID, redirectURI, "st4te", pk.Challenge))
	if err != nil {
		e.t.Fatal(err)
	}
	q := u.Query()
	redirect, err := e.sim.Authorize(ctx, zoomsim.AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
		UserID: e.seed.Admin.ID,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	ru, err := url.Parse(redirect)
	if err != nil {
		e.t.Fatal(err)
	}
	if ru.Query().Get("state") != "st4te" || ru.Query().Get("code") == "" {
		e.t.Fatalf("authorize redirect %q has no code or wrong state", redirect)
	}
	tok, err := c.ExchangeCode(ctx, e.marketplaceApp(), ru.Query().Get("code"), redirectURI, pk.Verifier)
	if err != nil {
		e.t.Fatalf("ExchangeCode: %v", err)
	}
	ref := e.insertConnection(zoom.KindMarketplace, e.seed.Marketplace.ClientID)
	if err := e.store.saveGrant(ref, *tok); err != nil {
		e.t.Fatal(err)
	}
	return ref, tok
}

// account is the zoom.Account of a stored connection for client c.
func (e *env) account(c *zoom.Client, ref zoom.ConnectionRef, kind zoom.ConnectionKind) zoom.Account {
	var src zoom.TokenSource
	if kind == zoom.KindServerApp {
		src = c.ServerAppTokenSource(e.store, ref)
	} else {
		src = c.MarketplaceTokenSource(e.store, ref, e.marketplaceApp())
	}
	return zoom.Account{ConnectionID: ref.ID, TenantID: ref.TenantID, ZoomAccountID: e.seed.AccountID, Plan: zoom.PlanPro, Tokens: src}
}

// calls returns the simulator's count of a route for the seeded account,
// including calls refused before authentication (code 124), which the
// simulator counts under no account.
func (e *env) calls(route string) int {
	return e.sim.Calls(e.seed.AccountID)[route] + e.sim.Calls("")[route]
}

// tokenCalls returns the simulator's /oauth/token calls of a grant type.
func (e *env) tokenCalls(grant string) int { return e.sim.TokenCalls()[grant] }

// addFault installs a simulator fault.
func (e *env) addFault(f zoomsim.Fault) {
	e.t.Helper()
	if _, err := e.sim.AddFault(context.Background(), f); err != nil {
		e.t.Fatal(err)
	}
}

// syncBuffer is the shared goroutine-safe log sink.
type syncBuffer = logtest.Buffer

// counterValue reads a counter of reg by name and labels.
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metric
				}
			}
			if m.GetCounter() != nil {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}
