package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/events"
	"zoomsignage/graph"
	"zoomsignage/resolvers"
	"zoomsignage/rooms"
	"zoomsignage/screens"
	"zoomsignage/server"
	"zoomsignage/store"
	"zoomsignage/vault"
	"zoomsignage/webhooks"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// App is an assembled gateway.
type App struct {
	Config Config
	Logger *slog.Logger
	DB     *pgxpool.Pool
	Redis  *redis.Client
	Sealer vault.Sealer
	Keys   *auth.APIKeys
	Zoom   *zoom.Client
	River  *river.Client[pgx.Tx]
	Events events.Publisher
	Bus    *events.Bus // the Publisher's concrete bus, for subscriptions
	// Outbox is where the domains record events, in the transactions that
	// cause them; its relay publishes them to Bus.
	Outbox *events.Outbox
	Server *server.Server

	// DevZoom is the in-process simulator's demo account (dev mode without
	// ZOOM_API_BASE_URL only).
	DevZoom *zoomsim.Seeded

	// The domain services, built by wireConnections, wireRooms and wireEvents.
	Connections *connections.Service
	Rooms       *rooms.Service
	Screens     *screens.Service
	Webhooks    *webhooks.Service

	closers []func()
}

// New connects to every dependency and builds the gateway. In dev mode it
// creates the database if missing, migrates it, and stands in for Vault,
// Redis and Zoom when they are not configured. Close releases everything.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Logger: logger}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.DB, err = openDatabase(ctx, cfg, logger); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.DB.Close)
	if cfg.Dev {
		if err := store.Migrate(ctx, a.DB); err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
	}
	if a.Redis, err = a.openRedis(ctx); err != nil {
		return nil, err
	}
	if a.Sealer, err = openSealer(ctx, cfg, logger); err != nil {
		return nil, err
	}
	if t, ok := a.Sealer.(*vault.Transit); ok {
		a.closers = append(a.closers, t.Close)
	}
	authenticator, err := a.newAuthenticator(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Dev && cfg.ZoomAPIBaseURL == "" {
		if a.DevZoom, err = a.startDevSimulator(ctx); err != nil {
			return nil, err
		}
	}
	w := &wiring{registry: prometheus.NewRegistry(), workers: river.NewWorkers()}
	w.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.Zoom, err = a.newZoomClient(w.registry); err != nil {
		return nil, err
	}
	// River first, as the services that enqueue take it at construction;
	// each wire function then adds its workers to the client's bundle and
	// its periodic jobs, before anything starts.
	if err := a.newRiver(w); err != nil {
		return nil, err
	}
	for _, wire := range []func(context.Context, *wiring) error{a.wireMaintenance, a.wireIdempotency, a.wireEvents, a.wireConnections, a.wireRooms, a.wireScreens, a.wireWebhooks} {
		if err := wire(ctx, w); err != nil {
			return nil, err
		}
	}
	a.addPeriodic(w)
	a.Server = a.newServer(authenticator, w)
	return a, nil
}

// Close releases the app's connections, newest first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Run serves (and works River jobs) until ctx ends, then shuts down
// gracefully: HTTP first, so in-flight requests can still enqueue, then jobs.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("app.Run: %w", err)
	}
	return a.RunListener(ctx, ln)
}

// RunListener is Run on a listener the caller opened (tests use port 0).
func (a *App) RunListener(ctx context.Context, ln net.Listener) error {
	if err := a.startRiver(ctx); err != nil {
		ln.Close()
		return err
	}
	defer a.stopRiver(ctx)
	// Screens' event streams would hold the HTTP drain to its timeout.
	stop := context.AfterFunc(ctx, a.Screens.CloseStreams)
	defer stop()
	return a.Server.ServeListener(ctx, ln)
}

func (a *App) newAuthenticator(ctx context.Context) (*auth.Authenticator, error) {
	a.Keys = auth.NewAPIKeys(a.DB, nil)
	authn := &auth.Authenticator{Keys: a.Keys}
	var jwks *auth.JWKS
	var err error
	switch {
	case a.Config.JWTJWKSFile != "":
		jwks, err = auth.LoadJWKSFile(a.Config.JWTJWKSFile)
	case a.Config.JWTJWKSURL != "":
		jwks, err = auth.NewJWKSURL(ctx, a.Config.JWTJWKSURL, auth.JWKSOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	if a.Config.JWTHS256Secret != "" || jwks != nil {
		v, err := auth.NewJWTVerifier([]byte(a.Config.JWTHS256Secret), jwks, nil)
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		authn.JWT = v.WithPolicy(auth.JWTClaimsPolicy{Issuer: a.Config.JWTIssuer, Audience: a.Config.JWTAudience})
	}
	return authn, nil
}

func (a *App) newServer(authn *auth.Authenticator, w *wiring) *server.Server {
	resolver := &resolvers.Resolver{
		DB: a.DB, Keys: a.Keys, Logger: a.Logger,
		Connections: a.Connections, Rooms: a.Rooms, Webhooks: a.Webhooks, Screens: a.Screens, Events: a.Events, Bus: a.Bus,
	}
	schemaCfg := resolvers.Config(resolver)
	cfg := server.DefaultConfig()
	cfg.Addr = a.Config.Addr
	cfg.Dev = a.Config.Dev
	cfg.RequestTimeout = a.Config.RequestTimeout
	cfg.ComplexityLimit = a.Config.ComplexityLimit
	cfg.DepthLimit = a.Config.DepthLimit
	cfg.TokenLimit = a.Config.TokenLimit
	cfg.ErrorLimit = a.Config.ErrorLimit
	cfg.Introspection = a.Config.Introspection
	cfg.CORSOrigins = a.Config.CORSOrigins
	cfg.TrustedProxyHeader = a.Config.TrustedProxyHeader
	cfg.OpsAddr = a.Config.OpsAddr
	var throttle server.AuthThrottle
	if a.Config.AuthFailureLimit > 0 {
		throttle = auth.NewFailureThrottle(a.Redis, a.Config.RedisPrefix, a.Config.AuthFailureLimit, time.Minute)
	}
	var schema graphql.ExecutableSchema = graph.NewExecutableSchema(schemaCfg)
	for _, wrap := range w.schema {
		schema = wrap(schema)
	}
	srv := server.New(cfg, server.Deps{
		Schema:       schema,
		Auth:         authn,
		Logger:       a.Logger,
		Registry:     w.registry,
		Cache:        w.responseCache,
		Idempotency:  w.idempotency,
		AuthThrottle: throttle,
		Checks: []server.Check{
			{Name: "postgres", Ping: a.DB.Ping},
			{Name: "redis", Ping: func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() }},
			{Name: "vault", Ping: a.pingVault},
		},
	})
	for _, r := range w.routes {
		srv.Handle(r.pattern, r.name, r.handler)
	}
	return srv
}

// pingVault is the sealer's Ping for /readyz, telling a token Vault refused
// (server.ErrRefused) from a Vault that cannot be reached.
func (a *App) pingVault(ctx context.Context) error {
	err := a.Sealer.Ping(ctx)
	if errors.Is(err, vault.ErrRefused) {
		return fmt.Errorf("%w: %w", server.ErrRefused, err)
	}
	return err
}

// openSealer picks Vault transit when VAULT_ADDR is set, and the local
// keyring only in dev mode (vault.NewDevKeyring refuses anything else).
func openSealer(ctx context.Context, cfg Config, logger *slog.Logger) (vault.Sealer, error) {
	if cfg.VaultAddr != "" {
		t, err := vault.NewTransit(ctx, cfg.transitConfig(logger))
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		return t, nil
	}
	k, err := vault.NewDevKeyring(cfg.Dev, cfg.DevKeyringFile)
	if err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	logger.Warn("sealing credentials with the local dev keyring; never use it in production", "file", cfg.DevKeyringFile)
	return k, nil
}

// openRedis connects to REDIS_URL; in dev mode an unreachable Redis is
// replaced by an in-process miniredis so `make run` needs nothing running.
func (a *App) openRedis(ctx context.Context) (*redis.Client, error) {
	opts, err := redis.ParseURL(a.Config.RedisURL)
	if err != nil {
		return nil, errors.New("app.New: REDIS_URL is not a valid redis:// URL")
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		if !a.Config.Dev {
			return nil, fmt.Errorf("app.New: redis: %w", err)
		}
		return a.startMiniredis()
	}
	a.closers = append(a.closers, func() { client.Close() })
	return client, nil
}

// openDatabase connects to DATABASE_URL, creating the database first in dev
// mode when it does not exist yet.
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := store.Open(ctx, cfg.DatabaseURL)
	if err == nil || !cfg.Dev {
		if err != nil {
			return nil, fmt.Errorf("app.New: %w", err)
		}
		return pool, nil
	}
	if cerr := store.CreateDatabase(ctx, cfg.DatabaseURL); cerr != nil {
		return nil, fmt.Errorf("app.New: %w (and creating it failed: %v)", err, cerr)
	}
	logger.Info("created the dev database")
	pool, err = store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("app.New: %w", err)
	}
	return pool, nil
}

// httpServe serves h on a fresh loopback listener until ctx ends (used for
// the in-process dev simulator).
func httpServe(ctx context.Context, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}
