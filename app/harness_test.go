package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"zoomsignage/app"
	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/internal/testutil/logtest"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
	"zoomsignage/vault/vaulttest"
)

// startJobs runs the gateway's River workers for the rest of the test.
func (g *gateway) startJobs(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.app.River.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = g.app.River.Stop(sctx)
	})
}

// disconnectCleanly disconnects connection id (a retry of a disconnect
// answers its final report) and checks that report: every one of rooms
// cleaned and its license released, no leftovers, no license of tenant in
// use.
func (g *gateway) disconnectCleanly(t testing.TB, token, tenant, id string, rooms int) {
	t.Helper()
	r := g.post(token, disconnect, map[string]any{"id": id})
	rep, _ := r.Data["disconnectZoom"].(map[string]any)
	left, _ := rep["leftovers"].([]any)
	if rep == nil || rep["roomsCleaned"] != float64(rooms) || rep["licensesReleased"] != float64(rooms) || len(left) != 0 {
		t.Errorf("final disconnect report = %s", r.Raw)
	}
	if u, _ := tenants.LicenseUsage(context.Background(), g.app.DB, tenant); u.Used != 0 {
		t.Errorf("licenses used: %d", u.Used)
	}
}

// testSecret is the HS256 key of the test gateways' JWTs.
const testSecret = "test-hs256-secret-of-at-least-32-bytes!!"

// gateway is one real gateway for a test: its own database, Redis prefix and
// Vault key, served over HTTP.
type gateway struct {
	t    testing.TB
	app  *app.App
	url  string
	logs *syncBuffer
	// attacker is a rooms:read key of a tenant of its own, made on first
	// use: what a hostile key holder sends (hostile).
	attacker func() string
}

// syncBuffer is the shared goroutine-safe log sink.
type syncBuffer = logtest.Buffer

// testConfig is a production-mode configuration on the test services.
func testConfig(t testing.TB) app.Config { return testConfigEnv(t, nil) }

// testConfigEnv is testConfig read through app.FromEnv from environ, so a
// test of a variable proves FromEnv reads it; the test services' addresses
// are set on top.
func testConfigEnv(t testing.TB, environ map[string]string) app.Config {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	_, prefix := redistest.New(t)
	vcfg := vaulttest.Config(t)
	cfg, err := app.FromEnv(func(key string) string { return environ[key] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = dbURL
	cfg.RedisURL = redistest.URL()
	cfg.RedisPrefix = prefix
	cfg.VaultAddr, cfg.VaultToken, cfg.VaultTransitKey = vcfg.Address, vcfg.Token, vcfg.Key
	cfg.JWTHS256Secret = testSecret
	return cfg
}

// newGateway starts a gateway with cfg (testConfig when nil is given).
func newGateway(t testing.TB, cfg *app.Config) *gateway {
	t.Helper()
	if cfg == nil {
		c := testConfig(t)
		cfg = &c
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, *cfg, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	g := &gateway{t: t, app: a, url: srv.URL, logs: logs}
	g.attacker = sync.OnceValue(func() string { return g.apiKey(g.tenant("Attacker", 1), auth.ScopeRoomsRead) })
	return g
}

// newBenchGateway is newGateway for benchmarks.
func newBenchGateway(b *testing.B) *gateway { return newGateway(b, nil) }

// tenant creates a tenant with licenses.
func (g *gateway) tenant(name string, licenses int) string {
	g.t.Helper()
	tn, err := tenants.Create(context.Background(), g.app.DB, name, licenses)
	if err != nil {
		g.t.Fatal(err)
	}
	return tn.ID
}

// apiKey creates a key for tenantID with scopes and returns its secret.
func (g *gateway) apiKey(tenantID string, scopes ...auth.Scope) string {
	g.t.Helper()
	_, secret, err := g.app.Keys.Create(context.Background(), g.app.DB, tenantID, "test", scopes, "test")
	if err != nil {
		g.t.Fatal(err)
	}
	return secret
}

// userJWT signs a web-app JWT for tenantID with role.
func userJWT(t *testing.T, tenantID, role string, ttl time.Duration) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "tenant": tenantID, "role": role, "email": "ada@example.com",
		"exp": time.Now().Add(ttl).Unix(),
	})
	s, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gqlResponse is a GraphQL response with errors kept as maps.
type gqlResponse struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	Raw string
}

// code returns the first error's extensions.code, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends a GraphQL request with an optional bearer credential.
func (g *gateway) post(credential, query string, vars map[string]any) gqlResponse {
	g.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return g.raw(credential, "application/json", bytes.NewReader(body))
}

func (g *gateway) raw(credential, contentType string, body io.Reader) gqlResponse {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", body)
	req.Header.Set("Content-Type", contentType)
	if credential != "" {
		req.Header.Set("Authorization", "Bearer "+credential)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := gqlResponse{Status: resp.StatusCode, Raw: string(data)}
	if err := json.Unmarshal(data, &out); err != nil && !strings.Contains(resp.Header.Get("Content-Type"), "text/") {
		g.t.Fatalf("response is not JSON (%d): %s", resp.StatusCode, data)
	}
	return out
}

// seedAuditEvents records n "thing.done" events for each tenant, targets
// numbered tenant-0 … tenant-(n-1).
func (g *gateway) seedAuditEvents(n int, tenants ...string) {
	g.t.Helper()
	for i := range n {
		for _, tn := range tenants {
			if err := audit.Record(context.Background(), g.app.DB, audit.Event{TenantID: tn, Actor: "test", Action: "thing.done", TargetID: tn + "-" + strconv.Itoa(i)}); err != nil {
				g.t.Fatal(err)
			}
		}
	}
}
