package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/app"
	"zoomsignage/auth"
	"zoomsignage/events"
	"zoomsignage/syncjob"
	"zoomsignage/tenants"
	"zoomsignage/zoom/zoomsim"
)

// subWait only turns a hang into a failure.
const subWait = 15 * time.Second

// subClient is a graphql-transport-ws client for end-to-end tests.
type subClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// subMessage is a protocol message.
type subMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialSubscriptions opens an acknowledged graphql-transport-ws connection
// to baseURL (http://host:port) with credential.
func dialSubscriptions(t *testing.T, baseURL, credential string) *subClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(subWait))
	c := &subClient{t: t, conn: conn}
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + credential}})
	if m := c.read(); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

func (c *subClient) send(msg any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(msg); err != nil {
		c.t.Fatal(err)
	}
}

func (c *subClient) subscribe(id, query string, vars map[string]any) {
	c.t.Helper()
	c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
}

// read returns the next message, answering keep-alive pings.
func (c *subClient) read() subMessage {
	c.t.Helper()
	for {
		var m subMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		if m.Type == "ping" {
			c.send(map[string]any{"type": "pong"})
			continue
		}
		return m
	}
}

// errorCode returns the extensions.code of a refused subscription: like the
// reference server, a resolver's refusal is a "next" with errors (then
// "complete"), while an invalid document is an "error" message.
func (m subMessage) errorCode() string {
	var errs []struct {
		Extensions map[string]any `json:"extensions"`
	}
	switch m.Type {
	case "error":
		if json.Unmarshal(m.Payload, &errs) != nil {
			return ""
		}
	case "next":
		var result struct {
			Errors []struct {
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if json.Unmarshal(m.Payload, &result) != nil {
			return ""
		}
		errs = result.Errors
	}
	if len(errs) == 0 {
		return ""
	}
	code, _ := errs[0].Extensions["code"].(string)
	return code
}

// waitSubscribers waits until bus has n streams of tenant (the protocol has
// no "subscription started" message).
func waitSubscribers(t *testing.T, bus *events.Bus, tenant string, n int) {
	t.Helper()
	for deadline := time.Now().Add(subWait); bus.Subscribers(tenant) != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams of tenant %s, want %d", bus.Subscribers(tenant), tenant, n)
		}
	}
}

// insertConnection stores a minimal Server-to-Server connection row.
func insertConnection(t *testing.T, g *gateway, tenant, account, label string) string {
	t.Helper()
	var id string
	err := g.app.DB.QueryRow(context.Background(),
		`INSERT INTO zoom_connections (tenant_id, kind, zoom_account_id, client_id, label, admin_name, admin_email)
		 VALUES ($1, 'SERVER_APP', $2, 'client-'||$2, $3, 'Ada Admin', 'ada@example.com') RETURNING id`,
		tenant, account, label).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func roomStatus(tenant, connection, room, prev, status string) events.Event {
	return events.Event{
		Kind: events.RoomStatusChanged, TenantID: tenant, ConnectionID: connection, PreviousStatus: prev,
		Room: &events.RoomSnapshot{ID: room, ConnectionID: connection, ZoomRoomID: "z-" + room, Name: "Room " + room, Type: "ZoomRoom", Status: status, Online: status != "OFFLINE", Health: "OK"},
	}
}

const roomStatusQuery = `subscription($c: ID) { roomStatusChanged(connectionId: $c) { previousStatus status at room { id zoomRoomId name status online health } } }`

func TestSubscriptionsRefuseWhatTheCallerMayNotSee(t *testing.T) {
	g := newGateway(t, nil)
	a, b := g.tenant("A", 1), g.tenant("B", 1)
	connA := insertConnection(t, g, a, "acct-a", "A")
	connB := insertConnection(t, g, b, "acct-b", "B")
	roomsRead := g.apiKey(a, auth.ScopeRoomsRead)
	connectionsRead := g.apiKey(a, auth.ScopeConnectionsRead)

	tests := []struct {
		name, credential, query string
		vars                    map[string]any
		code                    string
	}{
		{"another tenant's connection", roomsRead, roomStatusQuery, map[string]any{"c": connB}, "NOT_FOUND"},
		{"a malformed connection id", roomsRead, roomStatusQuery, map[string]any{"c": "not-a-uuid"}, "NOT_FOUND"},
		{"an unknown connection id", roomsRead, roomStatusQuery, map[string]any{"c": "00000000-0000-4000-8000-000000000000"}, "NOT_FOUND"},
		{"room events without rooms:read", connectionsRead, roomStatusQuery, nil, "FORBIDDEN"},
		{"health events without rooms:read", connectionsRead, `subscription { roomHealthChanged { health } }`, nil, "FORBIDDEN"},
		{"signage events without rooms:read", connectionsRead, `subscription { signageStateChanged { at } }`, nil, "FORBIDDEN"},
		{"screen events without rooms:read", connectionsRead, `subscription { screenChanged { at } }`, nil, "FORBIDDEN"},
		{"screen events of another tenant's connection", roomsRead, `subscription($c: ID) { screenChanged(connectionId: $c) { at } }`, map[string]any{"c": connB}, "NOT_FOUND"},
		{"sync progress without connections:read", roomsRead, `subscription($c: ID!) { syncProgress(connectionId: $c) { id } }`, map[string]any{"c": connA}, "FORBIDDEN"},
		{"sync progress of another tenant's connection", connectionsRead, `subscription($c: ID!) { syncProgress(connectionId: $c) { id } }`, map[string]any{"c": connB}, "NOT_FOUND"},
		{"connection status without connections:read", roomsRead, `subscription { connectionStatusChanged { id } }`, nil, "FORBIDDEN"},
		{"an invalid document", roomsRead, `subscription { roomStatusChanged { nope } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialSubscriptions(t, g.url, tt.credential)
			c.subscribe("1", tt.query, tt.vars)
			if m := c.read(); m.errorCode() != tt.code {
				t.Fatalf("got %s %s, want error %s", m.Type, m.Payload, tt.code)
			}
			if m := c.read(); m.Type != "complete" || m.ID != "1" {
				t.Fatalf("got %s %s, want complete", m.Type, m.Payload)
			}
			if n := g.app.Bus.Subscribers(a); n != 0 {
				t.Fatalf("a refused subscription left %d streams", n)
			}
		})
	}
}

func TestSubscriptionsStreamTheTenantsEventsFilteredByConnection(t *testing.T) {
	g := newGateway(t, nil)
	ctx := context.Background()
	a, b := g.tenant("A", 1), g.tenant("B", 1)
	conn1 := insertConnection(t, g, a, "acct-1", "Head office")
	conn2 := insertConnection(t, g, a, "acct-2", "Branch")
	viewer := userJWT(t, a, "viewer", time.Hour)

	c := dialSubscriptions(t, g.url, viewer)
	c.subscribe("all", roomStatusQuery, nil)
	c.subscribe("one", roomStatusQuery, map[string]any{"c": conn1})
	c.subscribe("conn", `subscription { connectionStatusChanged { id kind zoomAccountId label status statusReason connectedBy { name email } } }`, nil)
	c.subscribe("sync", `subscription($c: ID!) { syncProgress(connectionId: $c) { id connectionId trigger state roomsSeen error } }`, map[string]any{"c": conn1})
	c.subscribe("health", `subscription { roomHealthChanged { health alerts { component issue state } room { id } } }`, nil)
	c.subscribe("signage", `subscription { signageStateChanged { signage { state screenUrl layout muted displayPeriod { startAfterMeetingMinutes } } room { id } } }`, nil)
	waitSubscribers(t, g.app.Bus, a, 6)

	now := time.Now()
	err := g.app.Bus.Publish(ctx,
		roomStatus(a, conn2, "r2", "AVAILABLE", "IN_MEETING"),
		roomStatus(b, conn1, "other-tenant", "AVAILABLE", "OFFLINE"),
		roomStatus(a, conn1, "r1", "", "AVAILABLE"),
		events.Event{Kind: events.ConnectionStatusChanged, TenantID: a, ConnectionID: conn2,
			Connection: &events.ConnectionSnapshot{ID: conn2, Status: "REAUTH_REQUIRED", StatusReason: "the grant was revoked"}},
		events.Event{Kind: events.SyncProgress, TenantID: a, ConnectionID: conn2, Sync: &events.SyncSnapshot{ID: "s2", Trigger: "manual", State: "RUNNING", StartedAt: now}},
		events.Event{Kind: events.SyncProgress, TenantID: a, ConnectionID: conn1, Sync: &events.SyncSnapshot{ID: "s1", Trigger: "manual", State: "FAILED", StartedAt: now, Error: "Zoom is unavailable"}},
		events.Event{Kind: events.RoomHealthChanged, TenantID: a, ConnectionID: conn1, Room: roomStatus(a, conn1, "r1", "", "AVAILABLE").Room,
			Alerts: []events.AlertSnapshot{{Component: "CAMERA", AlertType: "DISCONNECTED", Issue: "Camera disconnected", State: "TRIGGERED", TriggeredAt: now}}},
		events.Event{Kind: events.SignageStateChanged, TenantID: a, ConnectionID: conn1, Room: roomStatus(a, conn1, "r1", "", "AVAILABLE").Room,
			Signage: &events.SignageSnapshot{State: "ACTIVE", ScreenURL: "https://screens.example/r1", Layout: "STANDARD", StartAfterMeetingMinutes: 5, ActivatedAt: now, ActivatedBy: "user:1"}},
	)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string][]string{
		"all":     {`"id":"r2"`, `"id":"r1"`},
		"one":     {`"id":"r1"`},
		"conn":    {`"kind":"SERVER_APP","zoomAccountId":"acct-2","label":"Branch","status":"REAUTH_REQUIRED","statusReason":"the grant was revoked","connectedBy":{"name":"Ada Admin"`},
		"sync":    {`"id":"s1","connectionId":"` + conn1 + `","trigger":"manual","state":"FAILED","roomsSeen":0,"error":"Zoom is unavailable"`},
		"health":  {`"health":"OK","alerts":[{"component":"CAMERA","issue":"Camera disconnected","state":"TRIGGERED"}],"room":{"id":"r1"}`},
		"signage": {`"signage":{"state":"ACTIVE","screenUrl":"https://screens.example/r1","layout":"STANDARD","muted":false,"displayPeriod":{"startAfterMeetingMinutes":5}},"room":{"id":"r1"}`},
	}
	remaining := 0
	for _, w := range want {
		remaining += len(w)
	}
	for remaining > 0 {
		m := c.read()
		if m.Type != "next" {
			t.Fatalf("got %s %s", m.Type, m.Payload)
		}
		if strings.Contains(string(m.Payload), "other-tenant") || strings.Contains(string(m.Payload), `"errors"`) {
			t.Fatalf("%s: %s", m.ID, m.Payload)
		}
		if len(want[m.ID]) == 0 {
			t.Fatalf("unexpected event on %s: %s", m.ID, m.Payload)
		}
		if !strings.Contains(string(m.Payload), want[m.ID][0]) {
			t.Fatalf("%s: got %s, want it to contain %s", m.ID, m.Payload, want[m.ID][0])
		}
		want[m.ID] = want[m.ID][1:]
		remaining--
	}
}

func TestSubscriptionAcrossGatewaysSharingRedis(t *testing.T) {
	cfg := testConfig(t)
	replicaA := newGateway(t, &cfg)
	replicaB := newGateway(t, &cfg)
	tenant := replicaA.tenant("A", 1)
	conn := insertConnection(t, replicaA, tenant, "acct-1", "HQ")
	c := dialSubscriptions(t, replicaB.url, userJWT(t, tenant, "viewer", time.Hour))
	c.subscribe("1", roomStatusQuery, map[string]any{"c": conn})
	waitSubscribers(t, replicaB.app.Bus, tenant, 1)
	if err := replicaA.app.Bus.Publish(context.Background(), roomStatus(tenant, conn, "r1", "AVAILABLE", "OFFLINE")); err != nil {
		t.Fatal(err)
	}
	if m := c.read(); m.Type != "next" || !strings.Contains(string(m.Payload), `"status":"OFFLINE"`) {
		t.Fatalf("got %s %s", m.Type, m.Payload)
	}
}

// closeCodeOf reads until the server closes c.
func closeCodeOf(t *testing.T, c *subClient) int {
	t.Helper()
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("no close frame: %v", err)
		}
	}
}

func TestRevokedAPIKeyCannotOpenSubscriptions(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("A", 1)
	id, key, err := g.app.Keys.Create(context.Background(), g.app.DB, tenant, "ws", []auth.Scope{auth.ScopeRoomsRead}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.app.Keys.Revoke(context.Background(), g.app.DB, tenant, id.ID); err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(g.url, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(subWait))
	c := &subClient{t: t, conn: conn}
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + key}})
	if code := closeCodeOf(t, c); code != 4403 {
		t.Fatalf("closed with %d, want 4403", code)
	}
}

// repoRoot is the module root (tests run in app/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildGateway compiles cmd/gateway for tests that run real processes.
func buildGateway(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gateway")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the gateway: %v\n%s", err, out)
	}
	return bin
}

// gatewayProcess is a gateway running as its own process.
type gatewayProcess struct {
	url    string
	opsURL string // where /readyz and /metrics are: url unless GATEWAY_OPS_ADDR is given
	logs   *syncBuffer
}

// startGatewayProcess runs bin serve with cfg's services in production
// mode on a free loopback port, with extraEnv (KEY=value) added, and waits
// until /readyz answers 200.
func startGatewayProcess(t *testing.T, bin string, cfg app.Config, extraEnv ...string) *gatewayProcess {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"GATEWAY_ENV=production", "GATEWAY_ADDR="+addr, "LOG_LEVEL=info",
		"DATABASE_URL="+cfg.DatabaseURL, "REDIS_URL="+cfg.RedisURL, "REDIS_KEY_PREFIX="+cfg.RedisPrefix,
		"VAULT_ADDR="+cfg.VaultAddr, "VAULT_TOKEN="+cfg.VaultToken, "VAULT_TRANSIT_KEY="+cfg.VaultTransitKey,
		"JWT_HS256_SECRET="+cfg.JWTHS256Secret,
		"ZOOM_API_BASE_URL="+cfg.ZoomAPIBaseURL, "ZOOM_OAUTH_BASE_URL="+cfg.ZoomOAuthBaseURL,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	p := &gatewayProcess{url: "http://" + addr, opsURL: "http://" + addr, logs: &syncBuffer{}}
	for _, kv := range extraEnv {
		if ops, ok := strings.CutPrefix(kv, "GATEWAY_OPS_ADDR="); ok {
			p.opsURL = "http://" + ops
		}
	}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gateway %s logs:\n%s", addr, p.logs.String())
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("gateway exited at start:\n%s", p.logs.String())
		default:
		}
		if resp, err := http.Get(p.opsURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready:\n%s", p.logs.String())
		}
	}
}

// gauge reads one unlabelled metric from the process's /metrics.
func (p *gatewayProcess) gauge(t *testing.T, name string) float64 {
	t.Helper()
	_, body := get(t, p.url+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// waitStreams waits until the process holds n event streams.
func (p *gatewayProcess) waitStreams(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(subWait); p.gauge(t, "gateway_event_subscribers") != float64(n); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("replica holds %v streams, want %d", p.gauge(t, "gateway_event_subscribers"), n)
		}
	}
}

// post sends a GraphQL request to the process.
func (p *gatewayProcess) post(t *testing.T, credential, query string, vars map[string]any) gqlResponse {
	t.Helper()
	g := &gateway{t: t, url: p.url}
	return g.post(credential, query, vars)
}

// nextRoomStatus reads c's messages until a roomStatusChanged of the Zoom
// room zoomRoomID arrives, and returns it. Other rooms' events (a sync
// may see more than one change) are skipped; an error fails the test.
func nextRoomStatus(t *testing.T, c *subClient, zoomRoomID string) string {
	t.Helper()
	for {
		m := c.read()
		payload := string(m.Payload)
		if m.Type != "next" || strings.Contains(payload, `"errors"`) {
			t.Fatalf("got %s %s, want a room status event", m.Type, payload)
		}
		if strings.Contains(payload, `"zoomRoomId":"`+zoomRoomID+`"`) {
			return payload
		}
	}
}

// TestTwoGatewayProcessesShareEvents runs two real gateway processes on one
// database, Redis and Vault, and one Zoom simulator. Replica A works the
// River jobs; replica B serves the API only (GATEWAY_WORKERS=false), so
// every sync runs on A. A subscriber on B must receive the room status
// change that A's sync finds after the room's status flips in Zoom, and
// the connection status change of a disconnect handled by A.
func TestTwoGatewayProcessesShareEvents(t *testing.T) {
	bin := buildGateway(t)
	ctx := context.Background()
	sim := zoomsim.New(zoomsim.Options{})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); simSrv.Close() })
	seed, err := sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 3}) // Available, InMeeting, Offline
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.ZoomAPIBaseURL, cfg.ZoomOAuthBaseURL = simSrv.URL+"/v2", simSrv.URL
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	tn, err := tenants.Create(ctx, pool, "Acme", 5)
	if err != nil {
		t.Fatal(err)
	}
	admin := userJWT(t, tn.ID, "admin", time.Hour)
	count := func(sql string, args ...any) int {
		var n int
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	replicaA := startGatewayProcess(t, bin, cfg)
	replicaB := startGatewayProcess(t, bin, cfg, "GATEWAY_WORKERS=false")

	// B only enqueues the connect's first sync; A works it.
	r := replicaB.post(t, admin, connectS2S, s2sInput(seed.AccountID, seed.Server))
	if r.code() != "" {
		t.Fatalf("connect on replica B: %s", r.Raw)
	}
	connID := r.Data["connectZoomServerApp"].(map[string]any)["id"].(string)
	waitFor(t, "the first sync, on replica A", func() bool {
		return count(`SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'SUCCEEDED'`, connID) > 0
	})

	sub := dialSubscriptions(t, replicaB.url, admin)
	sub.subscribe("rooms", roomStatusQuery, map[string]any{"c": connID})
	sub.subscribe("conn", `subscription { connectionStatusChanged { id kind zoomAccountId label status } }`, nil)
	replicaB.waitStreams(t, 2)
	if n := replicaA.gauge(t, "gateway_event_subscribers"); n != 0 {
		t.Fatalf("replica A holds %v streams; the subscriber is on B", n)
	}

	target := seed.RoomIDs[0]
	if err := sim.SetRoomStatus(ctx, target, zoomsim.StatusOffline); err != nil {
		t.Fatal(err)
	}
	// "Sync now" joins a sync still being finished (its River job's
	// completion is recorded in batches) instead of starting another, so
	// wait until the first sync's job is done.
	waitFor(t, "the first sync's job to finish", func() bool {
		return count(`SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'connection_id' = $2
			AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')`, syncjob.Kind, connID) == 0
	})
	if r := replicaA.post(t, admin, `mutation($id: ID!){syncZoomConnection(id: $id){ id }}`, map[string]any{"id": connID}); r.code() != "" {
		t.Fatalf("sync now on replica A: %s", r.Raw)
	}
	got := nextRoomStatus(t, sub, target)
	if !strings.Contains(got, `"previousStatus":"AVAILABLE","status":"OFFLINE"`) || !strings.Contains(got, `"online":false`) {
		t.Fatalf("subscriber on B got %s, want AVAILABLE → OFFLINE", got)
	}

	if r := replicaA.post(t, admin, `mutation($id: ID!){disconnectZoom(id: $id){ connectionId }}`, map[string]any{"id": connID}); r.code() != "" {
		t.Fatalf("disconnect on replica A: %s", r.Raw)
	}
	want := fmt.Sprintf(`{"id":%q,"kind":"SERVER_APP","zoomAccountId":%q,"label":"HQ","status":"DISCONNECTING"}`, connID, seed.AccountID)
	for {
		m := sub.read()
		if m.ID == "rooms" {
			continue
		}
		if m.Type != "next" || m.ID != "conn" || !strings.Contains(string(m.Payload), want) {
			t.Fatalf("subscriber on B got %s %s %s, want %s", m.ID, m.Type, m.Payload, want)
		}
		break
	}
}

// flipAndSync changes a room's status in the simulator and runs "Sync now"
// on connID until the gateway has stored the new status. It first waits for
// the previous sync to finish, its River job included: "Sync now" returns a
// running sync rather than starting another, and a new sync job is dropped
// as a duplicate while the last one's completion is still being recorded.
func (w *zoomWorld) flipAndSync(t *testing.T, cred, connID, zoomRoomID string, to zoomsim.RoomStatus, stored string) {
	t.Helper()
	if err := w.sim.SetRoomStatus(context.Background(), zoomRoomID, to); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no sync running", func() bool {
		return w.count(t, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'RUNNING'`, connID) == 0 &&
			w.count(t, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'connection_id' = $2
				AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')`, syncjob.Kind, connID) == 0
	})
	if r := w.post(cred, `mutation($id: ID!){syncZoomConnection(id: $id){ id }}`, map[string]any{"id": connID}); r.code() != "" {
		t.Fatalf("sync now: %s", r.Raw)
	}
	waitFor(t, "the sync to store "+stored, func() bool {
		return w.count(t, `SELECT count(*) FROM rooms WHERE zoom_room_id = $1 AND status = $2`, zoomRoomID, stored) == 1
	})
}

// TestReferenceClient runs the graphql-ws reference client (Node, under
// test/wsclient) against a gateway syncing a Zoom simulator: it subscribes
// to roomStatusChanged of one connection, must receive the changes the
// syncs find after rooms' statuses flip in the simulator (and none of
// another connection's), and must be refused with 4403 on bad credentials.
// node and test/wsclient/node_modules (npm ci, which .ci/run does) are
// required: missing, the test fails.
func TestReferenceClient(t *testing.T) {
	w, tenant, admin, conn := roomsWorld(t, 3, nil) // rooms Available, InMeeting, Offline
	ctx := context.Background()
	otherSeed, err := w.sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := w.post(admin, connectS2S, s2sInput(otherSeed.AccountID, otherSeed.Server))
	if r.code() != "" {
		t.Fatalf("connecting the second account: %s", r.Raw)
	}
	other := r.Data["connectZoomServerApp"].(map[string]any)["id"].(string)
	waitFor(t, "the second connection's first sync", func() bool {
		return w.count(t, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'SUCCEEDED'`, other) > 0
	})
	room0, room1 := w.seed.RoomIDs[0], w.seed.RoomIDs[1]
	expect := fmt.Sprintf(`[{"room":%q,"previousStatus":"AVAILABLE","status":"IN_MEETING"},`+
		`{"room":%q,"previousStatus":"IN_MEETING","status":"OFFLINE"},`+
		`{"room":%q,"previousStatus":"IN_MEETING","status":"AVAILABLE"}]`, room0, room1, room0)

	n := startNodeTest(t, "wsclient", "subscriptions.test.mjs", []string{
		"GATEWAY_WS_URL=ws" + strings.TrimPrefix(w.url, "http") + "/graphql",
		"CREDENTIAL=" + w.apiKey(tenant, auth.ScopeRoomsRead),
		"CONNECTION_ID=" + conn,
		"EXPECT_EVENTS=" + expect,
	}, "graphql-ws", "ws", "graphql")
	waitSubscribers(t, w.app.Bus, tenant, 1)
	// One change per sync, so the order the client sees is the order here;
	// the other connection's change comes first and must be filtered out.
	w.flipAndSync(t, admin, other, otherSeed.RoomIDs[0], zoomsim.StatusOffline, "OFFLINE")
	w.flipAndSync(t, admin, conn, room0, zoomsim.StatusInMeeting, "IN_MEETING")
	w.flipAndSync(t, admin, conn, room1, zoomsim.StatusOffline, "OFFLINE")
	w.flipAndSync(t, admin, conn, room0, zoomsim.StatusAvailable, "AVAILABLE")
	n.wait(t, 2)
}

// TestRevokedKeyOnAHeaderAuthenticatedSocketMintsNothing is the attack of
// issue 10: a socket authenticated only by its upgrade request's
// Authorization header, with an empty connection_init, kept running
// mutations after its admin key was revoked. Now the operation is refused,
// the socket closed with 4403, and no key is minted.
func TestRevokedKeyOnAHeaderAuthenticatedSocketMintsNothing(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("A", 1)
	owner := g.apiKey(tenant, auth.ScopeAdmin)
	doomed, doomedSecret, err := g.app.Keys.Create(context.Background(), g.app.DB, tenant, "doomed", []auth.Scope{auth.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(g.url, "http")+"/graphql", http.Header{"Authorization": {"Bearer " + doomedSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(subWait))
	c := &subClient{t: t, conn: conn}
	c.send(map[string]any{"type": "connection_init"})
	if m := c.read(); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	if r := g.post(owner, `mutation($id: ID!){revokeApiKey(id:$id){id}}`, map[string]any{"id": doomed.ID}); r.code() != "" {
		t.Fatalf("revokeApiKey: %s", r.Raw)
	}
	c.subscribe("mint", `mutation{createApiKey(input:{name:"minted",scopes:["admin"]}){key}}`, nil)
	for {
		_, raw, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 4403 {
				t.Fatalf("closed with %d, want 4403", ce.Code)
			}
			break
		}
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if strings.Contains(string(raw), `"key"`) {
			t.Fatalf("a revoked key minted a key: %s", raw)
		}
	}
	keys := g.post(owner, `{apiKeys{name}}`, nil)
	if strings.Contains(keys.Raw, "minted") {
		t.Fatalf("a key was minted: %s", keys.Raw)
	}
}
