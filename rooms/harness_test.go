package rooms_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/events"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/rooms"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
	"zoomsignage/vault/vaulttest"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

// env is one test's world: a fresh database, Redis prefix and Vault key, the
// Zoom simulator over HTTP (traffic checked against Zoom's OpenAPI files),
// the real connections service and event bus, and the rooms service under
// test. River is an insert-only client: tests run jobs' work directly.
type env struct {
	t      testing.TB
	ctx    context.Context
	db     *pgxpool.Pool
	sim    *zoomsim.Sim
	simURL string
	zoom   *zoom.Client
	conns  *connections.Service
	bus    *events.Bus
	svc    *rooms.Service
	river  *river.Client[pgx.Tx]
}

type envOptions struct {
	// zoomLimits makes the simulator enforce the plan's rate limits;
	// ourLimits keeps the client's shared limiter at its real share.
	// Tests lift both unless they are about them, to run at full speed.
	zoomLimits, ourLimits bool
	// noSpec skips the OpenAPI validation of traffic (benchmarks).
	noSpec bool
	logger *slog.Logger
	// syncInterval overrides the default (60 s).
	syncInterval time.Duration
	// tracer sees every statement of the pool all services use.
	tracer pgx.QueryTracer
	// wrap, when set, wraps the Zoom client's HTTP transport (tests that
	// hold a call to interleave work deterministically).
	wrap func(http.RoundTripper) http.RoundTripper
	// eventsRedis, when set, carries the event bus instead of the shared
	// Redis (tests that stop it; Zoom's limiter and cache stay on the
	// shared one).
	eventsRedis *redistest.Server
	// roomsRedis, when set, is the rooms service's own Redis (the restart
	// throttle) instead of the shared one.
	roomsRedis *redis.Client
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, relayDB := tracedDB(ctx, t, o.tracer)
	rdb, prefix := redistest.New(t)
	sim := zoomsim.New(zoomsim.Options{DisableRateLimits: !o.zoomLimits})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	httpClient := &http.Client{Timeout: 30 * time.Second}
	if !o.noSpec {
		v, err := zoomspec.NewValidator(srv.URL + "/v2")
		if err != nil {
			t.Fatal(err)
		}
		httpClient.Transport = v.Transport(t, nil)
	}
	if o.wrap != nil {
		base := httpClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		httpClient.Transport = o.wrap(base)
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	zopts := zoom.Options{
		APIBaseURL: srv.URL + "/v2", OAuthBaseURL: srv.URL, HTTPClient: httpClient,
		Redis: rdb, KeyPrefix: prefix, Logger: logger,
		RetryBaseDelay: 20 * time.Millisecond, RetryMaxDelay: 200 * time.Millisecond,
	}
	if !o.ourLimits {
		zopts.RateLimits = map[zoom.Plan]map[zoom.RateLabel]float64{
			zoom.PlanPro: {zoom.Light: 100_000, zoom.Medium: 100_000, zoom.Heavy: 100_000},
		}
	}
	zc, err := zoom.New(zopts)
	if err != nil {
		t.Fatal(err)
	}
	outbox := events.NewOutbox(relayDB)
	busRedis := rdb
	if o.eventsRedis != nil {
		busRedis = o.eventsRedis.Client()
	}
	bus, err := events.NewBus(events.BusOptions{Redis: busRedis, Prefix: prefix, PublishTimeout: 500 * time.Millisecond, Logger: logger, Buffer: 100_000, Replay: outbox})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	runRelay(t, outbox.Relay(events.ConsumerSubscriptions, events.PublishTo(bus), events.RelayOptions{Logger: logger}))
	rc, err := river.NewClient(riverpgxv5.New(db), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	conns := connections.New(connections.Deps{DB: db, River: rc, Redis: rdb, Sealer: vaulttest.New(t), Zoom: zc, Outbox: outbox,
		Logger: logger, KeyPrefix: prefix, PublicBaseURL: "http://127.0.0.1", Signage: rooms.NewSignageRemover(db),
		DisconnectWait: time.Millisecond}) // no workers here: tests run the cleanup themselves
	roomsRedis := rdb
	if o.roomsRedis != nil {
		roomsRedis = o.roomsRedis
	}
	svc, err := rooms.New(rooms.Config{DB: db, Zoom: zc, Connections: rooms.FromConnections(conns), River: rc, Outbox: outbox,
		Redis: roomsRedis, KeyPrefix: prefix,
		Logger: logger, SignageBaseURL: "https://screens.example.com/s", SyncInterval: o.syncInterval})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, db: db, sim: sim, simURL: srv.URL, zoom: zc, conns: conns, bus: bus, svc: svc, river: rc}
}

// runRelay runs the outbox relay until the test ends.
func runRelay(t testing.TB, r *events.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// tracedDB is a fresh database; with a tracer, through a pool of its own
// that reports every statement. The second pool is untraced: the outbox
// relay's background statements are nobody's request.
func tracedDB(ctx context.Context, t testing.TB, tracer pgx.QueryTracer) (*pgxpool.Pool, *pgxpool.Pool) {
	t.Helper()
	if tracer == nil {
		db := storetest.New(t)
		return db, db
	}
	plain, url := storetest.NewWithURL(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = tracer
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, plain
}

// tenant is one customer with a connected Zoom account of n rooms.
type tenant struct {
	id, connID string
	seed       zoomsim.Seeded
	actor      rooms.Actor
}

// connect creates a tenant with licenses and connects a seeded Zoom account
// of n rooms through the connections service, as an admin would.
func (e *env) connect(name string, n, licenses int) tenant {
	e.t.Helper()
	tn, err := tenants.Create(e.ctx, e.db, name, licenses)
	if err != nil {
		e.t.Fatal(err)
	}
	seed, err := e.sim.Seed(e.ctx, zoomsim.SeedOptions{Rooms: n})
	if err != nil {
		e.t.Fatal(err)
	}
	p := &auth.Principal{TenantID: tn.ID, Actor: "user:admin-" + name, Scopes: auth.AllScopes, Kind: auth.KindUser}
	c, err := e.conns.ConnectServerApp(e.ctx, p, connections.ServerAppInput{
		AccountID: seed.AccountID, ClientID: seed.Server.ClientID, ClientSecret: seed.Server.ClientSecret, Label: name,
	})
	if err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	return tenant{id: tn.ID, connID: c.ID, seed: seed, actor: rooms.Actor{TenantID: tn.ID, Name: p.Actor}}
}

// sync runs one sync and fails the test if it fails.
func (e *env) sync(tn tenant) rooms.SyncRun {
	e.t.Helper()
	run, err := e.svc.Sync(e.ctx, tn.id, tn.connID, "manual")
	if err != nil {
		e.t.Fatalf("sync: %v", err)
	}
	if run.State != rooms.SyncSucceeded {
		e.t.Fatalf("sync state %s: %s", run.State, run.Error)
	}
	e.settle()
	return run
}

// settle waits until the outbox relay has published every committed event,
// so a subscription opened next sees only what happens after it (events
// reach subscribers after their commit, not before the call returns).
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for scalar[int](e.t, e.db, `SELECT count(*) FROM event_outbox_pending WHERE consumer = 'subscriptions'`) > 0 {
		if time.Now().After(deadline) {
			e.t.Fatal("the outbox relay did not publish the pending events")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rooms lists every room of the tenant, by Zoom id.
func (e *env) rooms(tn tenant) map[string]rooms.Room {
	e.t.Helper()
	page, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, rooms.MaxPageSize, "", false)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]rooms.Room{}
	for _, r := range page.Rooms {
		out[r.ZoomRoomID] = r
	}
	return out
}

// room returns the stored room of a Zoom room id.
func (e *env) room(tn tenant, zoomRoomID string) rooms.Room {
	e.t.Helper()
	r, ok := e.rooms(tn)[zoomRoomID]
	if !ok {
		e.t.Fatalf("room %s not in the inventory", zoomRoomID)
	}
	return r
}

// subscribe collects the tenant's events of kinds.
func (e *env) subscribe(tn tenant, kinds ...events.Kind) <-chan *events.Event {
	e.t.Helper()
	want := map[events.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	s, err := events.Subscribe(e.ctx, e.bus, tn.id, func(ev *events.Event) (*events.Event, bool) {
		return ev, want[ev.Kind]
	}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.C()
}

// until collects events until stop says the last one ends the collection.
func until(t testing.TB, c <-chan *events.Event, stop func(*events.Event) bool) []*events.Event {
	t.Helper()
	var out []*events.Event
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-c:
			out = append(out, ev)
			if stop(ev) {
				return out
			}
		case <-timeout:
			t.Fatalf("the awaited event did not come; got %d events", len(out))
			return nil
		}
	}
}

// syncDone stops at the end of a sync.
func syncDone(ev *events.Event) bool {
	return ev.Kind == events.SyncProgress && ev.Sync != nil && ev.Sync.State != rooms.SyncRunning
}

func count(evs []*events.Event, kind events.Kind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func code(err error) apierror.Code {
	if err == nil {
		return ""
	}
	return apierror.CodeOf(err)
}

func scalar[T any](t testing.TB, db *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}
