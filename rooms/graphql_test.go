package rooms_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"zoomsignage/graph"
	"zoomsignage/resolvers"
	"zoomsignage/rooms"
	"zoomsignage/server"
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
// rooms response cache) over the env's services.
type gateway struct {
	url   string
	token string
}

func (e *env) gateway(tn tenant) *gateway { return e.newGateway(tn, true) }

// uncachedGateway is a gateway without the rooms response cache: what every
// request costs when the cache cannot answer.
func (e *env) uncachedGateway(tn tenant) *gateway { return e.newGateway(tn, false) }

func (e *env) newGateway(tn tenant, cached bool) *gateway {
	e.t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	res := &resolvers.Resolver{DB: e.db, Keys: auth.NewAPIKeys(e.db, nil), Logger: logger,
		Connections: e.conns, Rooms: e.svc, Events: e.bus, Bus: e.bus}
	cfg := graph.Config{Resolvers: res}
	resolvers.SetComplexity(&cfg.Complexity)
	verifier, err := auth.NewJWTVerifier([]byte(jwtSecret), nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	schema := resolvers.WithRoomLoaders(graph.NewExecutableSchema(cfg), e.svc, e.conns)
	if cached {
		schema = resolvers.WithRoomsCache(schema, e.svc, resolvers.RoomsCacheSize)
	}
	srv := server.New(server.DefaultConfig(), server.Deps{
		Schema:   schema,
		Auth:     &auth.Authenticator{JWT: verifier, Keys: res.Keys},
		Logger:   logger,
		Registry: prometheus.NewRegistry(),
	})
	hs := httptest.NewServer(srv.Handler())
	e.t.Cleanup(hs.Close)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "tenant": tn.id, "role": "admin", "email": "ada@example.com", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		e.t.Fatal(err)
	}
	return &gateway{url: hs.URL, token: tok}
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

// The statements of a page do not depend on its size: a page of rooms with
// devices, signage, health and connection costs the same few statements
// for 10 rooms as for 100, without the response cache and on a cache miss
// (one more: the data version); a hit costs the version read alone.
func TestRoomsPageStatementsDoNotGrowWithThePage(t *testing.T) {
	e, tn, counter := pageWorld(t)
	t.Run("uncached", func(t *testing.T) { checkPageStatements(t, e.uncachedGateway(tn), counter, 4, nil) })
	t.Run("cache miss", func(t *testing.T) {
		checkPageStatements(t, e.gateway(tn), counter, 5, func() { touchRoom(t, e, tn.id) })
	})
	t.Run("cache hit", func(t *testing.T) { checkPageStatements(t, e.gateway(tn), counter, 1, nil) })
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
func checkPageStatements(t *testing.T, g *gateway, counter *statements, want int64, before func()) {
	client := &http.Client{}
	per := map[int]int64{}
	for _, n := range []int{10, 100} {
		g.post(t, client, pageQuery, map[string]any{"first": n}) // warm the key and plan caches
		if before != nil {
			before()
		}
		start := counter.n.Load()
		out := g.post(t, client, pageQuery, map[string]any{"first": n})
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
