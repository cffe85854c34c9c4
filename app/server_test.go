package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"zoomsignage/app"
	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/internal/testutil/faultproxy"
	"zoomsignage/server/graphiql"
)

func TestViewerCannotCallAdminMutations(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("Acme", 5)
	viewer := userJWT(t, tenant, "viewer", time.Hour)
	for _, m := range []string{
		`mutation{setLicenseLimit(limit: 10){total}}`,
		`mutation{createApiKey(input:{name:"x",scopes:["rooms:read"]}){key}}`,
		`mutation{revokeApiKey(id:"00000000-0000-0000-0000-000000000000"){id}}`,
	} {
		r := g.post(viewer, m, nil)
		if r.code() != "FORBIDDEN" {
			t.Errorf("%s: code = %q, want FORBIDDEN (%s)", m, r.code(), r.Raw)
		}
	}
	if r := g.post(viewer, `{licenseUsage{total used available}}`, nil); r.code() != "" {
		t.Errorf("viewer reading license usage: %s", r.Raw)
	}
	if r := g.post("", `{viewer{tenantId}}`, nil); r.code() != "UNAUTHENTICATED" {
		t.Errorf("anonymous viewer: code %q", r.code())
	}
}

func TestLicenseLimit(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	r := g.post(admin, `mutation{setLicenseLimit(limit: 12){total used available}}`, nil)
	if r.code() != "" || r.Data["setLicenseLimit"].(map[string]any)["total"] != float64(12) {
		t.Fatalf("setLicenseLimit: %s", r.Raw)
	}
	if r := g.post(admin, `mutation{setLicenseLimit(limit: -1){total}}`, nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("negative limit: %s", r.Raw)
	}
	events, err := audit.List(context.Background(), g.app.DB, tenant, 10, "", audit.Filter{Action: "licenses.set_limit"})
	if err != nil || len(events.Events) != 1 || events.Events[0].Actor != "user:user-1" {
		t.Fatalf("audit of setLicenseLimit: %+v, %v", events, err)
	}
}

func TestAuditEventsAreTenantScopedAndPaged(t *testing.T) {
	g := newGateway(t, nil)
	a, b := g.tenant("A", 1), g.tenant("B", 1)
	g.seedAuditEvents(5, a, b)
	key := g.apiKey(a, auth.ScopeAdmin)
	var seen []string
	after := ""
	for page := 0; page < 10; page++ {
		r := g.post(key, `query($after: String){auditEvents(first: 2, after: $after){totalCount edges{cursor node{targetId}} pageInfo{hasNextPage endCursor}}}`,
			map[string]any{"after": nilIfEmpty(after)})
		if r.code() != "" {
			t.Fatal(r.Raw)
		}
		conn := r.Data["auditEvents"].(map[string]any)
		if conn["totalCount"] != float64(5) {
			t.Fatalf("totalCount = %v, want 5 (tenant A's only)", conn["totalCount"])
		}
		for _, e := range conn["edges"].([]any) {
			seen = append(seen, e.(map[string]any)["node"].(map[string]any)["targetId"].(string))
		}
		info := conn["pageInfo"].(map[string]any)
		if info["hasNextPage"] != true {
			break
		}
		after = info["endCursor"].(string)
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d events, want 5: %v", len(seen), seen)
	}
	for _, id := range seen {
		if !strings.HasPrefix(id, a) {
			t.Fatalf("tenant A saw tenant B's event %s", id)
		}
	}
	if r := g.post(key, `{auditEvents(after: "bogus"){totalCount}}`, nil); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("bad cursor: %s", r.Raw)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestBadRequests(t *testing.T) {
	g := newGateway(t, nil)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin)

	t.Run("malformed JSON", func(t *testing.T) {
		r := g.raw(key, "application/json", strings.NewReader(`{"query": "{viewer{tenantId}}"`))
		if r.Status != 400 || r.code() != "BAD_USER_INPUT" {
			t.Fatalf("status %d code %q (%s)", r.Status, r.code(), r.Raw)
		}
	})
	t.Run("2 MiB body", func(t *testing.T) {
		big := `{"query":"{viewer{tenantId}}","variables":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
		r := g.raw(key, "application/json", strings.NewReader(big))
		if r.Status != 413 {
			t.Fatalf("status %d, want 413", r.Status)
		}
	})
	t.Run("2 MiB chunked body", func(t *testing.T) {
		big := `{"query":"{viewer{tenantId}}","variables":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
		r := g.raw(key, "application/json", io.MultiReader(strings.NewReader(big))) // no Content-Length
		if r.Status != 413 {
			t.Fatalf("status %d, want 413", r.Status)
		}
	})
	t.Run("GraphQL syntax error", func(t *testing.T) {
		r := g.post(key, `{viewer{tenantId}`, nil)
		if r.code() != "GRAPHQL_PARSE_FAILED" {
			t.Fatalf("code %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		r := g.post(key, `{viewer{password}}`, nil)
		if r.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("code %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("over the complexity limit", func(t *testing.T) {
		var q strings.Builder
		q.WriteString("{")
		for i := range 5 {
			fmt.Fprintf(&q, "a%d: auditEvents(first: 500){edges{node{id actor action targetId details}}} ", i)
		}
		q.WriteString("}")
		r := g.post(key, q.String(), nil)
		if r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("code %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("negative first does not cheapen a query", func(t *testing.T) {
		q := `{a: auditEvents(first: -1000000){edges{node{id}}} b: auditEvents(first: 500){edges{node{id actor action targetId targetType details createdAt}}} c: auditEvents(first: 500){edges{node{id actor action targetId targetType details createdAt}}}}`
		r := g.post(key, q, nil)
		if r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("code %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("over the depth limit", func(t *testing.T) {
		// Depth 4, through a fragment so spreads are measured too.
		deep := `{...F} fragment F on Query {auditEvents{edges{node{id}}}}`
		if r := postWithDepth(t, 4, deep); r.code() != "" {
			t.Fatalf("query at the limit refused: %s", r.Raw)
		}
		if r := postWithDepth(t, 3, deep); r.code() != "DEPTH_LIMIT_EXCEEDED" {
			t.Fatalf("code %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("introspection is off outside dev mode", func(t *testing.T) {
		r := g.post(key, `{__schema{types{name}}}`, nil)
		if r.code() == "" {
			t.Fatalf("introspection answered in production mode: %.200s", r.Raw)
		}
	})
	t.Run("GET queries work", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, g.url+"/graphql?query="+url.QueryEscape(`{viewer{tenantId}}`), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "tenantId") {
			t.Fatalf("GET: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("GraphiQL is off outside dev mode", func(t *testing.T) {
		for _, path := range []string{"/", devGraphiQLAsset(t)} {
			resp, err := http.Get(g.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("GET %s = %d, want 404", path, resp.StatusCode)
			}
		}
	})
}

// postWithDepth runs query on a gateway whose depth limit is limit.
func postWithDepth(t *testing.T, limit int, query string) gqlResponse {
	cfg := testConfig(t)
	cfg.DepthLimit = limit
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin)
	return g.post(key, query, nil)
}

// devGraphiQLAsset is the path dev mode serves GraphiQL's script at.
func devGraphiQLAsset(t *testing.T) string {
	t.Helper()
	ui, err := graphiql.New("zoomsignage", "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	return ui.AssetPrefix() + "graphiql.min.js"
}

func TestDevModeServesIntrospectionAndGraphiQL(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dev = true
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin)
	if r := g.post(key, `{__schema{queryType{name}}}`, nil); r.code() != "" {
		t.Fatalf("introspection in dev: %s", r.Raw)
	}
	resp, err := http.Get(g.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(bytes.ToLower(body), []byte("graphiql")) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GraphiQL: %d %v", resp.StatusCode, resp.Header)
	}
	// Its script is served from the binary, with a year's caching.
	resp, err = http.Get(g.url + devGraphiQLAsset(t))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GraphiQL's script: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	g := newGateway(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(g.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
	}
	g.post(g.apiKey(g.tenant("Metrics", 1), auth.ScopeRoomsRead), `{__typename}`, nil)
	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"gateway_http_requests_total", "gateway_graphql_operations_total", "gateway_graphql_operation_duration_seconds_bucket", "gateway_http_request_duration_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestReadyzReportsAStoppedRedis starts a Redis of its own, points a gateway
// at it, stops it, and expects /readyz to answer 503 naming redis.
func TestReadyzReportsAStoppedRedis(t *testing.T) {
	port := freePort(t)
	redis := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := redis.Start(); err != nil {
		t.Fatalf("redis-server is required for this test: %v", err)
	}
	t.Cleanup(func() { _ = redis.Process.Kill(); _ = redis.Wait() })
	waitForPort(t, port)

	cfg := testConfig(t)
	cfg.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	g := newGateway(t, &cfg)
	if code, _ := get(t, g.url+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up = %d", code)
	}
	_ = redis.Process.Kill()
	_ = redis.Wait()
	code, body := get(t, g.url+"/readyz")
	if code != 503 || !strings.Contains(body, `"redis"`) || !strings.Contains(body, "unreachable") {
		t.Fatalf("/readyz with Redis down = %d %s", code, body)
	}
	if strings.Contains(body, `"postgres":"unreachable"`) || strings.Contains(body, `"vault":"unreachable"`) {
		t.Fatalf("/readyz blames a healthy dependency: %s", body)
	}
}

// TestShutdownClosesWebsocketsWithGoingAway runs a real listener, opens a
// graphql-transport-ws connection, and cancels the server.
func TestShutdownClosesWebsocketsWithGoingAway(t *testing.T) {
	cfg := testConfig(t)
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.RunListener(ctx, ln) }()

	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := dialer.Dial("ws://"+ln.Addr().String()+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tenant := tenantOf(t, a)
	key, _ := apiKeyOf(t, a, tenant)
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + key}}); err != nil {
		t.Fatal(err)
	}
	var ack map[string]any
	if err := conn.ReadJSON(&ack); err != nil || ack["type"] != "connection_ack" {
		t.Fatalf("connection_ack: %v %v", ack, err)
	}
	cancel()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err = conn.ReadMessage()
		if err != nil {
			break
		}
	}
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("close = %v, want 1001 going away", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestWebsocketRejectsBadCredentials(t *testing.T) {
	g := newGateway(t, nil)
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := dialer.Dial("ws"+strings.TrimPrefix(g.url, "http")+"/graphql", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer zsk_nope"}})
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err = conn.ReadMessage(); err != nil {
			break
		}
	}
	if !websocket.IsCloseError(err, 4403) {
		t.Fatalf("close = %v, want 4403", err)
	}
}

func tenantOf(t *testing.T, a *app.App) string {
	t.Helper()
	var id string
	if err := a.DB.QueryRow(context.Background(), `INSERT INTO tenants (name, license_limit) VALUES ('ws', 1) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func apiKeyOf(t *testing.T, a *app.App, tenant string) (string, error) {
	t.Helper()
	_, key, err := a.Keys.Create(context.Background(), a.DB, tenant, "ws", []auth.Scope{auth.ScopeRoomsRead}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return key, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitForPort(t *testing.T, port int) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}

// TestOurDatabaseDownIsNotBlamedOnAnyoneElse is issue 11 item 8: with
// Postgres unreachable, requests were answered INTERNAL (or
// ZOOM_UNAVAILABLE). They are answered SERVICE_UNAVAILABLE naming the kind
// of dependency, never its address, and recover when it is back. Postgres
// is cut off by a proxy in front of the shared server, which keeps running.
func TestOurDatabaseDownIsNotBlamedOnAnyoneElse(t *testing.T) {
	cfg := testConfig(t)
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.New(t, u.Host)
	u.Host = proxy.Addr()
	cfg.DatabaseURL = u.String()
	g := newGateway(t, &cfg)
	tenant := g.tenant("Acme", 1)
	admin := userJWT(t, tenant, "admin", time.Hour)
	key := g.apiKey(tenant, auth.ScopeConnectionsRead)
	const q = `{zoomConnections{id}}`
	if r := g.post(admin, q, nil); r.code() != "" {
		t.Fatalf("with the database up: %s", r.Raw)
	}

	proxy.Down()
	for name, credential := range map[string]string{"JWT": admin, "API key": key} {
		r := g.post(credential, q, nil)
		if r.code() != "SERVICE_UNAVAILABLE" {
			t.Fatalf("%s with the database down: %s, want SERVICE_UNAVAILABLE", name, r.Raw)
		}
		if strings.Contains(r.Raw, "127.0.0.1") || strings.Contains(r.Raw, proxy.Addr()) {
			t.Fatalf("%s: the error names an address: %s", name, r.Raw)
		}
	}
	if r := g.post(admin, q, nil); !strings.Contains(r.Errors[0].Message, "database") {
		t.Fatalf("the error does not say which kind of dependency failed: %s", r.Raw)
	}

	proxy.Up()
	waitFor(t, "requests to succeed once the database is back", func() bool {
		return g.post(admin, q, nil).code() == ""
	})
}

// TestOpsEndpointsMoveToTheirOwnAddress is issue 10 item 11: with
// GATEWAY_OPS_ADDR set, /metrics and /readyz are served there and no longer
// on the public API port, which keeps serving the API.
func TestOpsEndpointsMoveToTheirOwnAddress(t *testing.T) {
	bin := buildGateway(t)
	ops := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := startGatewayProcess(t, bin, testConfig(t), "GATEWAY_OPS_ADDR="+ops)
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		if code, _ := get(t, "http://"+ops+path); code != 200 {
			t.Fatalf("ops %s = %d, want 200", path, code)
		}
	}
	for _, path := range []string{"/metrics", "/readyz"} {
		if code, _ := get(t, p.url+path); code != 404 {
			t.Fatalf("API port %s = %d, want 404", path, code)
		}
	}
	if code, _ := get(t, p.url+"/healthz"); code != 200 {
		t.Fatalf("API port /healthz = %d, want 200 (liveness stays)", code)
	}
}
