package rooms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/graph"
	"zoomsignage/resolvers"
	"zoomsignage/rooms"
	"zoomsignage/server"
	"zoomsignage/zoom/zoomsim"
)

// statements counts the statements a pool sends.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}

func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

const jwtSecret = "rooms-test-hs256-secret-of-32-bytes!!"

// gateway serves the real GraphQL server (middleware, auth, limits,
// resolvers, the per-response room loaders and, as the app wires it, the
// rooms response cache with its LISTEN/NOTIFY data versions).
type gateway struct {
	url   string
	token string
	// versions are the cache's data versions (nil without the cache).
	versions *rooms.DataVersions
}

// cacheMode is how a test gateway serves rooms pages.
type cacheMode int

const (
	noCache        cacheMode = iota // every page built from Postgres
	cacheListening                  // as the app wires it: versions in memory, kept by LISTEN/NOTIFY
	cachePostgres                   // versions whose listener never runs: every version read from Postgres
)

func (e *env) gateway(tn tenant) *gateway { return e.newGateway(tn, cacheListening) }

// uncachedGateway is a gateway without the rooms response cache: what every
// request costs when the cache cannot answer.
func (e *env) uncachedGateway(tn tenant) *gateway { return e.newGateway(tn, noCache) }

func (e *env) newGateway(tn tenant, mode cacheMode) *gateway {
	e.t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	res := &resolvers.Resolver{DB: e.db, Keys: auth.NewAPIKeys(e.db, nil), Logger: logger,
		Connections: e.conns, Rooms: e.svc, Events: e.bus, Bus: e.bus}
	cfg := resolvers.Config(res)
	verifier, err := auth.NewJWTVerifier([]byte(jwtSecret), nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	schema := resolvers.WithRoomLoaders(graph.NewExecutableSchema(cfg), e.svc, e.conns)
	var versions *rooms.DataVersions
	var responses server.ResponseCache
	if mode != noCache {
		versions = rooms.NewDataVersions(e.db, logger)
		if mode == cacheListening {
			startListener(e.t, versions)
		}
		schema = resolvers.WithRoomsCache(schema, versions, resolvers.RoomsCacheSize)
		responses, _ = schema.(server.ResponseCache) // as app/rooms.go wires it
	}
	srv := server.New(server.DefaultConfig(), server.Deps{
		Schema:   schema,
		Auth:     &auth.Authenticator{JWT: verifier, Keys: res.Keys},
		Logger:   logger,
		Registry: prometheus.NewRegistry(),
		Cache:    responses,
	})
	hs := httptest.NewServer(srv.Handler())
	e.t.Cleanup(hs.Close)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "tenant": tn.id, "role": "admin", "email": "ada@example.com", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		e.t.Fatal(err)
	}
	return &gateway{url: hs.URL, token: tok, versions: versions}
}

// startListener runs v's listener for the rest of the test and waits until
// it serves versions from memory.
func startListener(t testing.TB, v *rooms.DataVersions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the data version listener is live", v.Live)
}

// waitUntil polls cond until it holds, failing the test after a generous
// deadline (a stuck condition, not a slow one: nothing is timed).
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// caughtUp waits until the gateway's in-memory version of the tenant is
// the one in Postgres: the notification of the last write has arrived.
func (g *gateway) caughtUp(t testing.TB, e *env, tenantID string) {
	t.Helper()
	want, err := e.svc.DataVersion(e.ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the listener has the tenant's version", func() bool {
		got, err := g.versions.DataVersion(e.ctx, tenantID)
		return err == nil && got >= want
	})
}

type gqlResult struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (g *gateway) post(t testing.TB, client *http.Client, query string, vars map[string]any) gqlResult {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) > 0 {
		t.Fatalf("graphql errors: %+v", out.Errors)
	}
	return out
}

const pageQuery = `query($first: Int){rooms(first: $first){totalCount pageInfo{hasNextPage endCursor}
  edges{cursor node{id zoomRoomId name type status online lastSeenAt health
    devices{id type model status} signage{state screenUrl layout muted lastPushedAt}
    connection{id label status}}}}}`

// pageWorld is a tenant with 100 synced rooms, their devices read, and
// signage on 10 of them, whose statements are counted.
func pageWorld(t testing.TB) (*env, tenant, *statements) {
	counter := &statements{}
	e := newEnv(t, envOptions{tracer: counter, noSpec: true})
	tn := e.connect("acme", 100, 10)
	e.sync(tn)
	// A Pro account's device budget is 120 calls per run, two per room
	// whose type is not known yet (then one): never-read rooms go first,
	// so two runs read all 100 rooms.
	for _, want := range []int{60, 80} {
		if n, err := e.svc.RefreshDevices(e.ctx, tn.id, tn.connID); err != nil || n != want {
			t.Fatalf("devices of %d rooms read, want %d: %v", n, want, err)
		}
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM rooms WHERE devices_refreshed_at IS NULL OR type = ''`); n != 0 {
		t.Fatalf("%d rooms without devices or type after two runs", n)
	}
	page, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, 10, "", false)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(page.Rooms))
	for i, r := range page.Rooms {
		ids[i] = r.ID
	}
	if _, err := e.svc.Activate(e.ctx, tn.actor, ids, rooms.Settings{}); err != nil {
		t.Fatal(err)
	}
	return e, tn, counter
}

// alertsPageQuery is pageQuery with the rooms' alerts too.
const alertsPageQuery = `query($first: Int){rooms(first: $first){totalCount pageInfo{hasNextPage endCursor}
  edges{cursor node{id zoomRoomId name type status online lastSeenAt health
    devices{id type model status} signage{state screenUrl layout muted lastPushedAt}
    alerts{component alertType state triggeredAt} connection{id label status}}}}}`

// The statements of a page do not depend on its size: a page of rooms with
// devices, signage, health, connection (and alerts) costs the same few
// statements for 10 rooms as for 100. Uncached: 3 (the page, the rooms'
// devices, alerts and signage in one, the connections). With the cache as
// the app wires it the data version comes from memory: a miss costs the
// same 3, a hit none. With versions read from Postgres (the listener
// down), one more each: 4 and 1.
func TestRoomsPageStatementsDoNotGrowWithThePage(t *testing.T) {
	e, tn, counter := pageWorld(t)
	listening, fromPG := e.gateway(tn), e.newGateway(tn, cachePostgres)
	change := func(g *gateway) func() {
		return func() {
			touchRoom(t, e, tn.id)
			if g.versions.Live() {
				g.caughtUp(t, e, tn.id)
			}
		}
	}
	for _, q := range []struct{ name, query string }{{"page", pageQuery}, {"page with alerts", alertsPageQuery}} {
		t.Run(q.name, func(t *testing.T) {
			t.Run("uncached", func(t *testing.T) { checkPageStatements(t, e.uncachedGateway(tn), q.query, counter, 3, nil) })
			t.Run("cache miss", func(t *testing.T) { checkPageStatements(t, listening, q.query, counter, 3, change(listening)) })
			t.Run("cache hit", func(t *testing.T) { checkPageStatements(t, listening, q.query, counter, 0, nil) })
			t.Run("cache miss, versions from Postgres", func(t *testing.T) {
				checkPageStatements(t, fromPG, q.query, counter, 4, change(fromPG))
			})
			t.Run("cache hit, versions from Postgres", func(t *testing.T) { checkPageStatements(t, fromPG, q.query, counter, 1, nil) })
		})
	}
}

// touchRoom changes one room of the tenant, as a sync would.
func touchRoom(t testing.TB, e *env, tenantID string) {
	t.Helper()
	if _, err := e.db.Exec(e.ctx, `UPDATE rooms SET last_seen_at = now() WHERE id = (SELECT id FROM rooms WHERE tenant_id = $1 ORDER BY name, id LIMIT 1)`, tenantID); err != nil {
		t.Fatal(err)
	}
}

// checkPageStatements checks pages of 10 and 100 rooms cost want statements
// each; before runs ahead of each counted request (after a warm-up one).
func checkPageStatements(t *testing.T, g *gateway, query string, counter *statements, want int64, before func()) {
	client := &http.Client{}
	per := map[int]int64{}
	for _, n := range []int{10, 100} {
		g.post(t, client, query, map[string]any{"first": n}) // warm the key and plan caches
		if before != nil {
			before()
		}
		start := counter.n.Load()
		out := g.post(t, client, query, map[string]any{"first": n})
		per[n] = counter.n.Load() - start
		var data struct {
			Rooms struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						Devices    []struct{ ID string }
						Signage    *struct{ State string }
						Connection struct{ ID string }
					}
				}
			}
		}
		if err := json.Unmarshal(out.Data, &data); err != nil {
			t.Fatal(err)
		}
		if len(data.Rooms.Edges) != n || data.Rooms.TotalCount != 100 {
			t.Fatalf("page of %d: %d edges, total %d", n, len(data.Rooms.Edges), data.Rooms.TotalCount)
		}
		withSignage := 0
		for _, e := range data.Rooms.Edges {
			if len(e.Node.Devices) == 0 || e.Node.Connection.ID == "" {
				t.Fatalf("a room lacks devices or its connection: %+v", e.Node)
			}
			if e.Node.Signage != nil {
				withSignage++
			}
		}
		if withSignage != 10 {
			t.Fatalf("%d rooms with signage on the page, want 10", withSignage)
		}
	}
	t.Logf("statements per request: %v", per)
	if per[10] != want || per[100] != want {
		t.Fatalf("statements per request: %d for 10 rooms, %d for 100; want %d", per[10], per[100], want)
	}
}

const connectionsQuery = `{zoomConnections{id lastSync{state roomsSeen} lastSuccessfulSyncAt roomCount activeSignageCount activatedRoomCount}}`

// TestConnectionSummaryStatementsDoNotGrowWithConnections: the summary
// fields of zoomConnections (five resolvers per connection) cost the same
// statements for four connections as for one: one loader per response,
// two statements for every connection and field (issue 16 item 6). They
// were two per field per connection.
func TestConnectionSummaryStatementsDoNotGrowWithConnections(t *testing.T) {
	counter := &statements{}
	e := newEnv(t, envOptions{tracer: counter, noSpec: true})
	tn := e.connect("acme", 2, 2)
	e.sync(tn)
	g := e.uncachedGateway(tn)
	client := &http.Client{}
	cost := func() (int64, int) {
		g.post(t, client, connectionsQuery, nil) // warm the key and plan caches
		start := counter.n.Load()
		out := g.post(t, client, connectionsQuery, nil)
		var data struct {
			ZoomConnections []struct {
				RoomCount int
				LastSync  *struct{ State string }
			}
		}
		if err := json.Unmarshal(out.Data, &data); err != nil {
			t.Fatal(err)
		}
		return counter.n.Load() - start, len(data.ZoomConnections)
	}
	one, n := cost()
	if n != 1 {
		t.Fatalf("%d connections", n)
	}
	p := &auth.Principal{TenantID: tn.id, Actor: tn.actor.Name, Scopes: auth.AllScopes, Kind: auth.KindUser}
	for i := range 3 {
		seed, err := e.sim.Seed(e.ctx, zoomsim.SeedOptions{Rooms: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.conns.ConnectServerApp(e.ctx, p, connections.ServerAppInput{
			AccountID: seed.AccountID, ClientID: seed.Server.ClientID, ClientSecret: seed.Server.ClientSecret, Label: fmt.Sprint("more ", i),
		}); err != nil {
			t.Fatal(err)
		}
	}
	four, n := cost()
	if n != 4 || four != one {
		t.Errorf("zoomConnections cost %d statements for 1 connection and %d for %d", one, four, n)
	}
	t.Logf("zoomConnections with every summary field: %d statements for 1 connection, %d for 4", one, four)
}
