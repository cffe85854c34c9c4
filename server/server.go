// Package server is the gateway's HTTP surface: /graphql (POST, GET and
// websocket), the routes other packages mount (/oauth/zoom/*,
// /webhooks/zoom), /healthz, /readyz and /metrics, with the middleware every
// request passes (request id, metrics and access log, body limit, timeout,
// authentication) and a graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/server/graphiql"
)

var errShuttingDown = errors.New("server: shutting down")

// Config holds the server's limits. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	Addr                 string
	Dev                  bool // introspection and GraphiQL
	MaxBodyBytes         int64
	RequestTimeout       time.Duration
	ReadyTimeout         time.Duration
	ShutdownTimeout      time.Duration
	WebsocketInitTimeout time.Duration
	// WebsocketPingInterval paces keep-alive pings; a graphql-transport-ws
	// client that leaves one unanswered until the next is dropped.
	WebsocketPingInterval time.Duration
	// WebsocketWriteTimeout cuts off a client that stops reading.
	WebsocketWriteTimeout time.Duration
	// WebsocketRecheckInterval paces the re-verification of the API key a
	// websocket was opened with; a revoked key closes the socket with 4403.
	// A JWT-authenticated socket is closed with 4403 at the token's exp.
	WebsocketRecheckInterval time.Duration
	// WebsocketMaxSubscriptions caps the live subscriptions of one
	// websocket; a subscribe over it is refused with an error message.
	WebsocketMaxSubscriptions int
	ComplexityLimit           int
	DepthLimit                int
	FieldLimit                int // selections after expanding fragments
	// TokenLimit bounds a document's lexical tokens; it is counted before
	// parsing, so no document costs more than a lexer pass over it.
	TokenLimit int
	// RepeatLimit bounds how often one response key (or one fragment
	// spread) appears in one selection set, inline fragments included;
	// AliasLimit bounds aliases per document and DirectiveLimit directives
	// per field, fragment or operation. All three are checked before
	// validation, whose overlap check is quadratic in repeats.
	RepeatLimit    int
	AliasLimit     int
	DirectiveLimit int
	// MutationLimit bounds the root fields of one mutation operation, so
	// aliases cannot multiply side effects (bulk mutations exist for bulk
	// work).
	MutationLimit int
	// ErrorLimit caps the errors of one response; the list ends with one
	// TOO_MANY_ERRORS error past it.
	ErrorLimit int
	// Introspection serves __schema and __type outside dev mode too.
	Introspection bool
	// CORSOrigins are the exact browser origins (scheme://host[:port])
	// allowed to call /graphql from another origin; with any set, a
	// websocket whose Origin is not listed is refused. Empty allows no
	// cross-origin HTTP call and every websocket origin.
	CORSOrigins []string
	// TrustedProxyHeader names the header (e.g. X-Forwarded-For) whose last
	// address is the client's, for counting failed authentications; empty
	// uses the connection's peer address.
	TrustedProxyHeader string
	// OpsAddr, when set, is a second listen address that alone serves
	// /metrics and /readyz (and /healthz), so they need not be exposed on
	// the public API port; empty serves them on Addr.
	OpsAddr string
}

// DefaultConfig is what the gateway runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Addr:                  "127.0.0.1:8080",
		MaxBodyBytes:          1 << 20,
		RequestTimeout:        30 * time.Second,
		ReadyTimeout:          2 * time.Second,
		ShutdownTimeout:       15 * time.Second,
		WebsocketInitTimeout:  10 * time.Second,
		WebsocketPingInterval: 15 * time.Second,
		WebsocketWriteTimeout: 10 * time.Second,
		// The API-key cache keeps a revocation unseen for up to 30 s:
		// with this, a revoked key loses its sockets within a minute.
		WebsocketRecheckInterval:  30 * time.Second,
		WebsocketMaxSubscriptions: 100,
		ComplexityLimit:           10_000,
		DepthLimit:                12,
		FieldLimit:                2000,
		TokenLimit:                10_000,
		RepeatLimit:               10,
		AliasLimit:                200,
		DirectiveLimit:            10,
		MutationLimit:             10,
		ErrorLimit:                50,
	}
}

// Deps are what the server serves and checks.
type Deps struct {
	Schema   graphql.ExecutableSchema
	Auth     *auth.Authenticator
	Checks   []Check // probed by /readyz
	Logger   *slog.Logger
	Registry *prometheus.Registry // served at /metrics; the server registers its own collectors in it
	Cache    ResponseCache        // optional: whole responses served without running gqlgen
	// Idempotency, when set, wraps /graphql after authentication so
	// retried mutations under an Idempotency-Key replay their first
	// response (package idempotency).
	Idempotency func(http.Handler) http.Handler
	// AuthThrottle, when set, refuses clients with too many failed
	// authentications (429) and counts each failure.
	AuthThrottle AuthThrottle
}

// Server is the gateway's HTTP server.
type Server struct {
	cfg     Config
	deps    Deps
	mux     *http.ServeMux
	ops     *http.ServeMux // OpsAddr's routes; mux itself when OpsAddr is empty
	ws      *wsTracker
	streams streamSet // open server-sent event streams
	metrics *metrics
	gql     http.Handler
	cors    corsOrigins
}

// New builds a server. Mount extra routes with Handle before Serve.
func New(cfg Config, deps Deps) *Server {
	def := DefaultConfig()
	cfg.MaxBodyBytes = cmpOr(cfg.MaxBodyBytes, def.MaxBodyBytes)
	cfg.RequestTimeout = cmpOr(cfg.RequestTimeout, def.RequestTimeout)
	cfg.ReadyTimeout = cmpOr(cfg.ReadyTimeout, def.ReadyTimeout)
	cfg.ShutdownTimeout = cmpOr(cfg.ShutdownTimeout, def.ShutdownTimeout)
	cfg.WebsocketInitTimeout = cmpOr(cfg.WebsocketInitTimeout, def.WebsocketInitTimeout)
	cfg.WebsocketPingInterval = cmpOr(cfg.WebsocketPingInterval, def.WebsocketPingInterval)
	cfg.WebsocketWriteTimeout = cmpOr(cfg.WebsocketWriteTimeout, def.WebsocketWriteTimeout)
	cfg.WebsocketRecheckInterval = cmpOr(cfg.WebsocketRecheckInterval, def.WebsocketRecheckInterval)
	cfg.WebsocketMaxSubscriptions = cmpOr(cfg.WebsocketMaxSubscriptions, def.WebsocketMaxSubscriptions)
	cfg.ComplexityLimit = cmpOr(cfg.ComplexityLimit, def.ComplexityLimit)
	cfg.DepthLimit = cmpOr(cfg.DepthLimit, def.DepthLimit)
	cfg.FieldLimit = cmpOr(cfg.FieldLimit, def.FieldLimit)
	cfg.TokenLimit = cmpOr(cfg.TokenLimit, def.TokenLimit)
	cfg.RepeatLimit = cmpOr(cfg.RepeatLimit, def.RepeatLimit)
	cfg.AliasLimit = cmpOr(cfg.AliasLimit, def.AliasLimit)
	cfg.DirectiveLimit = cmpOr(cfg.DirectiveLimit, def.DirectiveLimit)
	cfg.MutationLimit = cmpOr(cfg.MutationLimit, def.MutationLimit)
	cfg.ErrorLimit = cmpOr(cfg.ErrorLimit, def.ErrorLimit)
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux(), ops: http.NewServeMux(), ws: newWSTracker(cfg), metrics: newMetrics(deps.Registry), cors: corsOrigins(cfg.CORSOrigins)}
	if cfg.OpsAddr == "" {
		s.ops = s.mux
	}
	s.gql = detachWebsockets(s.newGraphQLHandler(deps.Schema))
	s.routes()
	return s
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (s *Server) routes() {
	graphqlChain := s.withCORS(s.withTimeout(s.limitBody(s.authenticate(s.idempotent(s.cachedResponses(withCookies(s.gql)))))))
	s.Handle("/graphql", "graphql", graphqlChain)
	s.Handle("GET /healthz", "healthz", http.HandlerFunc(healthz))
	s.handleOps("GET /readyz", "readyz", http.HandlerFunc(s.readyz))
	s.handleOps("GET /metrics", "metrics", promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))
	if s.ops != s.mux {
		s.handleOps("GET /healthz", "healthz", http.HandlerFunc(healthz))
	}
	if s.cfg.Dev {
		s.mountGraphiQL()
	}
}

// mountGraphiQL serves the embedded GraphiQL at / and its assets under
// graphiql.AssetsRoot. The embedded files are fixed at build time, so a
// failure here is a broken build, not a runtime condition.
func (s *Server) mountGraphiQL() {
	ui, err := graphiql.New("zoomsignage", "/graphql")
	if err != nil {
		panic(fmt.Sprintf("server: embedded GraphiQL: %v", err))
	}
	s.Handle("GET /{$}", "graphiql", ui.Page())
	s.Handle("GET "+graphiql.AssetsRoot, "graphiql_assets", ui.Assets())
}

// idempotent applies the Idempotency middleware when one is configured.
func (s *Server) idempotent(next http.Handler) http.Handler {
	if s.deps.Idempotency == nil {
		return next
	}
	withKeys := s.deps.Idempotency(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A stored response is replayed as it was written: an event
		// stream's would reach a JSON client as event-stream text.
		if isEventStream(r) && r.Header.Get("Idempotency-Key") != "" {
			writeError(w, http.StatusBadRequest, apierror.BadUserInput,
				"Idempotency-Key goes with JSON requests, not event streams: send the mutation as a plain POST")
			return
		}
		withKeys.ServeHTTP(w, r)
	})
}

// Handle mounts h at pattern (net/http ServeMux syntax) with request ids,
// metrics under route, and the access log. Routes that need a caller
// authenticate themselves.
func (s *Server) Handle(pattern, route string, h http.Handler) {
	s.mux.Handle(pattern, withRequestID(s.instrument(route, h)))
}

// handleOps mounts an operations route: on the ops listener when OpsAddr is
// set, on the API's otherwise.
func (s *Server) handleOps(pattern, route string, h http.Handler) {
	s.ops.Handle(pattern, withRequestID(s.instrument(route, h)))
}

// OpsHandler returns the operations routes' handler (the root handler when
// OpsAddr is empty), for httptest.
func (s *Server) OpsHandler() http.Handler { return s.ops }

// Handler returns the server's root handler, for httptest.
func (s *Server) Handler() http.Handler { return s.mux }

// OpenWebsockets reports how many websocket connections are open.
func (s *Server) OpenWebsockets() int { return s.ws.Open() }

// Serve listens on cfg.Addr until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server.Serve: %w", err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends. Shutdown stops accepting, lets
// in-flight requests finish (up to ShutdownTimeout), and closes websockets
// with 1001 so their clients reconnect elsewhere.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.deps.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	s.deps.Logger.Info("gateway listening", "addr", ln.Addr().String(), "dev", s.cfg.Dev)
	ops, err := s.serveOps(errc)
	if err != nil {
		_ = srv.Close()
		return err
	}

	select {
	case err := <-errc:
		return fmt.Errorf("server.Serve: %w", err)
	case <-ctx.Done():
	}
	s.deps.Logger.Info("shutting down", "open_websockets", s.ws.Open())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	s.ws.CloseAll("server shutting down")
	s.streams.closeAll()
	if ops != nil {
		_ = ops.Shutdown(shutdownCtx)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("server.Serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server.Serve: %w", err)
	}
	return nil
}

// serveOps starts the operations listener when OpsAddr is set; its serve
// error goes to errc.
func (s *Server) serveOps(errc chan<- error) (*http.Server, error) {
	if s.cfg.OpsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.OpsAddr)
	if err != nil {
		return nil, fmt.Errorf("server.Serve: ops listener: %w", err)
	}
	srv := &http.Server{Handler: s.ops, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	s.deps.Logger.Info("operations endpoints listening", "addr", ln.Addr().String())
	return srv, nil
}
