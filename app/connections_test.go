package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/app"
	"zoomsignage/audit"
	"zoomsignage/connections"
	"zoomsignage/events"
	"zoomsignage/syncjob"
	"zoomsignage/tenants"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

// webhookSecret is the Zoom webhook secret token of the test gateways.
const webhookSecret = "test-webhook-secret-token-0123456789"

// zoomWorld is a gateway wired to a Zoom simulator through a proxy that
// checks /v2 traffic against Zoom's OpenAPI files and remembers every token
// Zoom issued (for the secrets scan).
type zoomWorld struct {
	*gateway
	sim  *zoomsim.Sim
	seed zoomsim.Seeded

	mu     sync.Mutex
	tokens []string // access and refresh tokens seen in /oauth/token answers
}

// lazyHandler forwards to a handler set after it is served: the simulator
// needs the webhook URL before the gateway it points to exists.
type lazyHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (l *lazyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	h := l.h
	l.mu.Unlock()
	if h == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// newZoomWorld starts a simulator seeded with rooms and a gateway using it;
// edit may change the configuration first.
func newZoomWorld(t *testing.T, rooms int, edit func(*app.Config)) *zoomWorld {
	t.Helper()
	return newZoomWorldWith(t, zoomsim.SeedOptions{Rooms: rooms}, edit)
}

// newZoomWorldWith is newZoomWorld with the simulator seeded by opts.
func newZoomWorldWith(t *testing.T, opts zoomsim.SeedOptions, edit func(*app.Config)) *zoomWorld {
	t.Helper()
	ctx := context.Background()
	hook := &lazyHandler{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	sim := zoomsim.New(zoomsim.Options{WebhookURL: hookSrv.URL + "/webhooks/zoom", WebhookSecret: webhookSecret})
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); simSrv.Close() })
	seed, err := sim.Seed(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &zoomWorld{sim: sim, seed: seed}
	proxy := w.proxy(t, simSrv.URL)
	cfg := testConfig(t)
	cfg.ZoomAPIBaseURL = proxy + "/v2"
	cfg.ZoomOAuthBaseURL = proxy
	cfg.ZoomClientID, cfg.ZoomClientSecret = seed.Marketplace.ClientID, seed.Marketplace.ClientSecret
	cfg.ZoomWebhookSecret = webhookSecret
	cfg.PublicBaseURL = "https://app.example.test"
	cfg.DisconnectWait = 30 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	w.gateway = newGateway(t, &cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway logs:\n%s", w.logs.String())
		}
	})
	hook.mu.Lock()
	hook.h = w.app.Server.Handler()
	hook.mu.Unlock()
	return w
}

// proxy serves the simulator through a validating, token-recording proxy.
func (w *zoomWorld) proxy(t *testing.T, simURL string) string {
	target, _ := url.Parse(simURL)
	v, err := zoomspec.NewValidator(simURL + "/v2")
	if err != nil {
		t.Fatal(err)
	}
	validating := v.Transport(t, nil)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = target.Host },
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasPrefix(r.URL.Path, "/v2/") {
				return validating.RoundTrip(r)
			}
			return http.DefaultTransport.RoundTrip(r)
		}),
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/oauth/token" {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			var tok struct{ AccessToken, RefreshToken string }
			if json.Unmarshal(body, &struct {
				A *string `json:"access_token"`
				R *string `json:"refresh_token"`
			}{&tok.AccessToken, &tok.RefreshToken}) == nil {
				w.mu.Lock()
				for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
					if s != "" {
						w.tokens = append(w.tokens, s)
					}
				}
				w.mu.Unlock()
			}
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const connectS2S = `mutation($in: ConnectServerAppInput!){connectZoomServerApp(input: $in){
  id kind zoomAccountId label status statusReason grantedScopes missingScopes connectedBy{name email}}}`

const connectionFields = `id kind status statusReason missingScopes connectedBy{name email} roomCount activatedRoomCount lastSync{state} lastSuccessfulSyncAt`

func s2sInput(accountID string, app zoomsim.App) map[string]any {
	return map[string]any{"in": map[string]any{"accountId": accountID, "clientId": app.ClientID, "clientSecret": app.ClientSecret, "label": "HQ"}}
}

// connectServerApp connects the seeded Server-to-Server app and returns the
// connection id.
func (w *zoomWorld) connectServerApp(t *testing.T, cred string) string {
	t.Helper()
	r := w.post(cred, connectS2S, s2sInput(w.seed.AccountID, w.seed.Server))
	if r.code() != "" {
		t.Fatalf("connectZoomServerApp: %s", r.Raw)
	}
	return r.Data["connectZoomServerApp"].(map[string]any)["id"].(string)
}

// install runs a Marketplace install as user (approve or deny) from one
// browser and returns where the gateway's callback redirected it.
func (w *zoomWorld) install(t *testing.T, cred, userID, decision string) *url.URL {
	t.Helper()
	authURL, cookies := w.beginInstall(t, cred)
	return w.callback(t, w.authorize(t, authURL, userID, decision), cookies...)
}

// beginInstall calls beginZoomMarketplaceInstall and returns the authorize
// URL and the cookies the answer set (the browser binding).
func (w *zoomWorld) beginInstall(t *testing.T, cred string) (*url.URL, []*http.Cookie) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": `mutation{beginZoomMarketplaceInstall(returnTo: "/settings/zoom"){authorizeUrl expiresAt}}`})
	req, _ := http.NewRequest(http.MethodPost, w.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.code() != "" || r.Data["beginZoomMarketplaceInstall"] == nil {
		t.Fatalf("beginZoomMarketplaceInstall: %v %+v", err, r)
	}
	authURL, err := url.Parse(r.Data["beginZoomMarketplaceInstall"].(map[string]any)["authorizeUrl"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return authURL, resp.Cookies()
}

// authorize plays Zoom's consent page for authURL and returns the query
// Zoom redirects to the callback with.
func (w *zoomWorld) authorize(t *testing.T, authURL *url.URL, userID, decision string) string {
	t.Helper()
	q := authURL.Query()
	redirect, err := w.sim.Authorize(context.Background(), zoomsim.AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
		UserID: userID, Decision: decision,
	})
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := url.Parse(redirect)
	return ru.RawQuery
}

// callback calls GET /oauth/zoom/callback with rawQuery from a browser
// holding cookies and returns the redirect target.
func (w *zoomWorld) callback(t *testing.T, rawQuery string, cookies ...*http.Cookie) *url.URL {
	t.Helper()
	loc, _ := w.callbackResponse(t, rawQuery, cookies...)
	return loc
}

// callbackResponse is callback that also returns the cookies the answer set.
func (w *zoomWorld) callbackResponse(t *testing.T, rawQuery string, cookies ...*http.Cookie) (*url.URL, []*http.Cookie) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, w.url+"/oauth/zoom/callback?"+rawQuery, nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback answered %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc, resp.Cookies()
}

func (w *zoomWorld) connection(t *testing.T, cred, id string) map[string]any {
	t.Helper()
	r := w.post(cred, `query($id: ID!){zoomConnection(id: $id){`+connectionFields+`}}`, map[string]any{"id": id})
	if r.code() != "" {
		t.Fatalf("zoomConnection: %s", r.Raw)
	}
	c, _ := r.Data["zoomConnection"].(map[string]any)
	return c
}

// activate puts our signage on the first n rooms the way the rooms domain
// does (library item, signage enabled, assignment holding a license), so
// disconnects have something to clean. The room row may exist already when
// the first sync ran.
func (w *zoomWorld) activate(t *testing.T, tenant, connID string, n int) {
	t.Helper()
	ctx := context.Background()
	ac, err := w.app.Connections.ZoomClient(ctx, tenant, connID)
	if err != nil {
		t.Fatal(err)
	}
	for i, roomID := range w.seed.RoomIDs[:n] {
		contentID, err := ac.AddSignageURL(ctx, zoom.SignageURL{Name: "screen " + strconv.Itoa(i), URL: "https://screens.example.test/" + roomID})
		if err != nil {
			t.Fatal(err)
		}
		if err := ac.UpdateSignageSettings(ctx, roomID, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		var id string
		if err := w.app.DB.QueryRow(ctx, `INSERT INTO rooms (tenant_id, connection_id, zoom_room_id, name, status, online)
VALUES ($1, $2, $3, $4, 'AVAILABLE', true)
ON CONFLICT (connection_id, zoom_room_id) DO UPDATE SET name = rooms.name
RETURNING id`, tenant, connID, roomID, "Room "+strconv.Itoa(i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := w.app.DB.Exec(ctx, `INSERT INTO signage_assignments (room_id, tenant_id, connection_id, state, screen_token, screen_url, zoom_content_id, activated_by)
VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, 'test')`, id, tenant, connID, "tok-"+id, "https://screens.example.test/"+roomID, contentID); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *zoomWorld) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := w.app.DB.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *zoomWorld) auditActions(t *testing.T, tenant, targetID string) []string {
	t.Helper()
	page, err := audit.List(context.Background(), w.app.DB, tenant, 100, "", audit.Filter{TargetID: targetID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range page.Events {
		out = append(out, e.Actor+" "+e.Action)
	}
	return out
}

func hasAction(actions []string, want string) bool {
	return slices.ContainsFunc(actions, func(a string) bool { return strings.HasSuffix(a, want) || a == want })
}

// waitFor polls cond until it holds; it fails the test after a generous
// deadline (a hang, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sortedScopes(without ...string) []string {
	var out []string
	for _, s := range zoomsim.DefaultScopes() {
		if !slices.Contains(without, s) {
			out = append(out, s)
		}
	}
	return out
}

func TestConnectServerApp(t *testing.T) {
	w := newZoomWorld(t, 3, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	noInventory, err := w.sim.CreateApp(ctx, zoomsim.App{Kind: zoomsim.AppServer, AccountID: w.seed.AccountID,
		Scopes: sortedScopes("zoom_rooms:read:list_rooms:admin", "zoom_rooms:read:alert:admin")})
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := w.seed.Server
	wrongSecret.ClientSecret = "not-the-secret"
	for _, tc := range []struct {
		name    string
		vars    map[string]any
		code    string
		missing []any
	}{
		{"wrong secret", s2sInput(w.seed.AccountID, wrongSecret), "ZOOM_CREDENTIALS_REJECTED", nil},
		{"wrong account id", s2sInput("no-such-account", w.seed.Server), "ZOOM_CREDENTIALS_REJECTED", nil},
		{"missing inventory scope", s2sInput(w.seed.AccountID, noInventory), "ZOOM_MISSING_SCOPES",
			[]any{"zoom_rooms:read:list_rooms:admin", "zoom_rooms:read:alert:admin"}},
		{"empty secret", s2sInput(w.seed.AccountID, zoomsim.App{ClientID: "x"}), "BAD_USER_INPUT", nil},
		{"unknown plan", map[string]any{"in": map[string]any{"accountId": "a", "clientId": "b", "clientSecret": "c", "plan": "gold"}}, "BAD_USER_INPUT", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(admin, connectS2S, tc.vars)
			if r.code() != tc.code {
				t.Fatalf("code %q, want %q: %s", r.code(), tc.code, r.Raw)
			}
			if tc.missing != nil && !slices.Equal(r.Errors[0].Extensions["missingScopes"].([]any), tc.missing) {
				t.Errorf("missingScopes = %v, want %v", r.Errors[0].Extensions["missingScopes"], tc.missing)
			}
			if n := w.count(t, `SELECT count(*) FROM zoom_connections`); n != 0 {
				t.Errorf("%d connection rows left behind", n)
			}
		})
	}

	t.Run("connects", func(t *testing.T) {
		r := w.post(admin, connectS2S, s2sInput(w.seed.AccountID, w.seed.Server))
		if r.code() != "" {
			t.Fatalf("connect: %s", r.Raw)
		}
		c := r.Data["connectZoomServerApp"].(map[string]any)
		admin := c["connectedBy"].(map[string]any)
		if c["status"] != "ACTIVE" || c["kind"] != "SERVER_APP" || c["label"] != "HQ" || admin["email"] != w.seed.Admin.Email ||
			len(c["missingScopes"].([]any)) != 0 || len(c["grantedScopes"].([]any)) == 0 {
			t.Errorf("connection = %v", c)
		}
		id := c["id"].(string)
		if n := w.count(t, `SELECT count(*) FROM river_job WHERE kind = 'sync_connection' AND args->>'connection_id' = $1`, id); n != 1 {
			t.Errorf("%d first syncs enqueued", n)
		}
		if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE id = $1 AND sealed_client_secret IS NOT NULL
AND position($2 in sealed_client_secret) = 0`, id, w.seed.Server.ClientSecret); n != 1 {
			t.Error("the client secret is not stored sealed")
		}
		if !hasAction(w.auditActions(t, tenant, id), "connection.connected") {
			t.Error("no audit event for the connect")
		}
	})
	t.Run("account already connected", func(t *testing.T) {
		if r := w.post(admin, connectS2S, s2sInput(w.seed.AccountID, w.seed.Server)); r.code() != "BAD_USER_INPUT" {
			t.Fatalf("second connect: %s", r.Raw)
		}
	})
	t.Run("viewer cannot connect", func(t *testing.T) {
		viewer := userJWT(t, tenant, "viewer", time.Hour)
		if r := w.post(viewer, connectS2S, s2sInput(w.seed.AccountID, w.seed.Server)); r.code() != "FORBIDDEN" {
			t.Fatalf("viewer connect: %s", r.Raw)
		}
	})
}

func TestConnectServerAppMissingOptionalScopes(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	app, err := w.sim.CreateApp(context.Background(), zoomsim.App{Kind: zoomsim.AppServer, AccountID: w.seed.AccountID,
		Scopes: sortedScopes("zoom_rooms:update:room_control:admin", "zoom_rooms:read:alert:admin")})
	if err != nil {
		t.Fatal(err)
	}
	r := w.post(admin, connectS2S, s2sInput(w.seed.AccountID, app))
	if r.code() != "" {
		t.Fatalf("connect: %s", r.Raw)
	}
	c := r.Data["connectZoomServerApp"].(map[string]any)
	want := []any{"zoom_rooms:update:room_control:admin", "zoom_rooms:read:alert:admin"}
	if c["status"] != "MISSING_SCOPE" || !slices.Equal(c["missingScopes"].([]any), want) || c["statusReason"] == nil {
		t.Errorf("connection = %v", c)
	}
	syncable, err := w.app.Connections.ListSyncable(context.Background())
	if err != nil || len(syncable) != 1 {
		t.Errorf("a MISSING_SCOPE connection must still sync: %v, %v", syncable, err)
	}
}

func TestUpdateServerAppCredentials(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	id := w.connectServerApp(t, admin)
	const update = `mutation($id: ID!, $in: ServerAppCredentialsInput!){updateZoomServerAppCredentials(id: $id, input: $in){id status}}`
	for _, tc := range []struct {
		name, id, secret, code string
	}{
		{"wrong secret keeps the old one", id, "wrong", "ZOOM_CREDENTIALS_REJECTED"},
		{"unknown id", "00000000-0000-0000-0000-000000000000", w.seed.Server.ClientSecret, "NOT_FOUND"},
		{"secret required", id, "", "BAD_USER_INPUT"},
		{"right secret", id, w.seed.Server.ClientSecret, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(admin, update, map[string]any{"id": tc.id, "in": map[string]any{"clientId": w.seed.Server.ClientID, "clientSecret": tc.secret}})
			if r.code() != tc.code {
				t.Fatalf("code %q, want %q: %s", r.code(), tc.code, r.Raw)
			}
			// The stored credentials still work either way.
			if err := w.app.Connections.CheckHealth(context.Background()); err != nil {
				t.Fatal(err)
			}
			if c := w.connection(t, admin, id); c["status"] != "ACTIVE" {
				t.Errorf("status after the update: %v", c)
			}
		})
	}
	if !hasAction(w.auditActions(t, tenant, id), "connection.credentials_updated") {
		t.Error("no audit event for the credential change")
	}
}

func TestMarketplaceInstall(t *testing.T) {
	w := newZoomWorld(t, 2, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()

	loc := w.install(t, admin, w.seed.Admin.ID, "")
	if loc.Host != "app.example.test" || loc.Path != "/settings/zoom" || loc.Query().Get("zoom") != "connected" {
		t.Fatalf("install redirected to %s", loc)
	}
	id := loc.Query().Get("connection")
	c := w.connection(t, admin, id)
	if c == nil || c["kind"] != "MARKETPLACE" || c["status"] != "ACTIVE" || c["connectedBy"].(map[string]any)["email"] != w.seed.Admin.Email {
		t.Fatalf("installed connection = %v", c)
	}

	// A code seen once, replayed under a fresh state.
	au, firstCookies := w.beginInstall(t, admin)
	q := au.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || len(q.Get("state")) < 32 {
		t.Fatalf("authorize URL lacks PKCE S256 or a strong state: %s", au)
	}
	redirect, err := w.sim.Authorize(ctx, zoomsim.AuthorizeRequest{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		State: q.Get("state"), CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: "S256", UserID: w.seed.Admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := url.Parse(redirect)
	firstUse := ru.RawQuery
	code := ru.Query().Get("code")
	if loc := w.callback(t, firstUse, firstCookies...); loc.Query().Get("connection") != id {
		t.Fatalf("reinstalling the same account must reuse its connection: %s", loc)
	}

	var freshCookies []*http.Cookie
	freshState := func() string {
		u, cookies := w.beginInstall(t, admin)
		freshCookies = append(freshCookies, cookies...)
		return u.Query().Get("state")
	}
	expired := freshState()
	rdb := w.app.Redis
	sum := sha256Hex(expired)
	if err := rdb.Del(ctx, w.app.Config.RedisPrefix+"connections:install:"+sum).Err(); err != nil { // what the 10-minute TTL does
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query, reason string
	}{
		{"state reused", firstUse, "state_reused"},
		{"state forged", "code=" + code + "&state=forged-state-value", "state_invalid"},
		{"state missing", "code=" + code, "state_missing"},
		{"state expired", "code=" + code + "&state=" + expired, "state_expired"},
		{"code reused", "code=" + code + "&state=" + freshState(), "code_exchange_failed"},
		{"consent denied", "error=access_denied&state=" + freshState(), "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := w.callback(t, tc.query, freshCookies...)
			if loc.Host != "app.example.test" || loc.Query().Get("zoom") != "error" || loc.Query().Get("reason") != tc.reason {
				t.Errorf("redirected to %s, want reason %s", loc, tc.reason)
			}
		})
	}
	t.Run("denied on Zoom's page", func(t *testing.T) {
		if loc := w.install(t, admin, w.seed.Admin.ID, zoomsim.DecisionDeny); loc.Query().Get("reason") != "access_denied" || loc.Path != "/settings/zoom" {
			t.Errorf("redirected to %s", loc)
		}
	})
	t.Run("member not allowed to install", func(t *testing.T) {
		if loc := w.install(t, admin, w.seed.Member.ID, ""); loc.Query().Get("reason") != "not_allowed_to_install" {
			t.Errorf("redirected to %s", loc)
		}
	})
	t.Run("another tenant cannot take the account", func(t *testing.T) {
		other := userJWT(t, w.tenant("Other", 1), "admin", time.Hour)
		if loc := w.install(t, other, w.seed.Admin.ID, ""); loc.Query().Get("reason") != "account_already_connected" {
			t.Errorf("redirected to %s", loc)
		}
	})
	for _, bad := range []string{"https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "https://app.example.test@evil.example/"} {
		t.Run("returnTo "+bad, func(t *testing.T) {
			r := w.post(admin, `mutation($r: String){beginZoomMarketplaceInstall(returnTo: $r){authorizeUrl}}`, map[string]any{"r": bad})
			if r.code() != "BAD_USER_INPUT" {
				t.Errorf("returnTo %q accepted: %s", bad, r.Raw)
			}
		})
	}
	if n := w.count(t, `SELECT count(*) FROM zoom_connections`); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestMarketplaceInstallBoundToBrowser: an authorize URL started by a
// web-app user and approved in another browser (the one it was sent to)
// links nothing. (API-key installs have no browser: they are confirmed on
// our page instead, TestInstallBegunWithAnAPIKeyIsConfirmedInTheApprovingBrowser.)
func TestMarketplaceInstallBoundToBrowser(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	tenant := w.tenant("B", 5)
	user := userJWT(t, tenant, "admin", time.Hour)
	_, otherInstall := w.beginInstall(t, user)
	for _, tc := range []struct {
		name    string
		cred    string
		cookies func(own []*http.Cookie) []*http.Cookie
		want    string // zoom= outcome, or the error reason
	}{
		{"another browser", user, func([]*http.Cookie) []*http.Cookie { return nil }, "state_browser_mismatch"},
		{"another install's cookie", user, func([]*http.Cookie) []*http.Cookie { return otherInstall }, "state_browser_mismatch"},
		{"forged nonce", user, func(own []*http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: own[0].Name, Value: "forged-nonce"}}
		}, "state_browser_mismatch"},
		{"the starting browser", user, func(own []*http.Cookie) []*http.Cookie { return own }, "connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			authURL, own := w.beginInstall(t, tc.cred)
			if len(own) != 1 || !own[0].HttpOnly || !own[0].Secure || own[0].SameSite != http.SameSiteLaxMode ||
				own[0].Path != "/oauth/zoom/callback" || own[0].MaxAge <= 0 {
				t.Fatalf("install cookie = %+v", own)
			}
			loc, set := w.callbackResponse(t, w.authorize(t, authURL, w.seed.Admin.ID, ""), tc.cookies(own)...)
			got := loc.Query().Get("zoom")
			if got == "error" {
				got = loc.Query().Get("reason")
			}
			if got != tc.want {
				t.Fatalf("redirected to %s, want %s", loc, tc.want)
			}
			if tc.want != "connected" {
				if n := w.count(t, `SELECT count(*) FROM zoom_connections`); n != 0 {
					t.Errorf("a refused callback linked %d connections", n)
				}
			}
			if tc.cred == user && (len(set) != 1 || set[0].Name != own[0].Name || set[0].MaxAge >= 0) {
				t.Errorf("the callback did not clear the install cookie: %+v", set)
			}
		})
	}
}

// TestUnusedGrantsRevokedOnlyWhenNoConnectionUsesTheAccount: with Zoom a
// revoke deauthorizes the app for the whole account, so a refused install
// of an account a connection uses must not revoke its grant.
func TestUnusedGrantsRevokedOnlyWhenNoConnectionUsesTheAccount(t *testing.T) {
	for _, tc := range []struct {
		name        string
		scopes      []string
		connected   bool // the account is connected (tenant A) first
		reason      string
		wantRevokes int
	}{
		{"already connected by another tenant", nil, true, "account_already_connected", 0},
		{"missing scopes, no connection", sortedScopes("zoom_rooms:read:list_rooms:admin"), false, "missing_scopes", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newZoomWorldWith(t, zoomsim.SeedOptions{Rooms: 1, Scopes: tc.scopes}, nil)
			tenantA := w.tenant("A", 5)
			adminA := userJWT(t, tenantA, "admin", time.Hour)
			var id string
			if tc.connected {
				id = w.install(t, adminA, w.seed.Admin.ID, "").Query().Get("connection")
			}
			before := w.sim.Calls("")[zoomsim.RouteRevoke]
			adminB := userJWT(t, w.tenant("B", 5), "admin", time.Hour)
			if loc := w.install(t, adminB, w.seed.Admin.ID, ""); loc.Query().Get("reason") != tc.reason {
				t.Fatalf("redirected to %s, want %s", loc, tc.reason)
			}
			if got := w.sim.Calls("")[zoomsim.RouteRevoke] - before; got != tc.wantRevokes {
				t.Errorf("%d revokes, want %d", got, tc.wantRevokes)
			}
			if tc.connected {
				if err := w.app.Connections.CheckHealth(context.Background()); err != nil {
					t.Fatal(err)
				}
				if c := w.connection(t, adminA, id); c["status"] != "ACTIVE" {
					t.Errorf("the live connection = %v", c)
				}
			}
		})
	}
}

// TestDisconnectUnderWayIsNeverRevived: while a disconnect is under way
// (its cleanup not finished), nothing turns the connection back into a
// usable one, whatever its status column says.
func TestDisconnectUnderWayIsNeverRevived(t *testing.T) {
	w := newZoomWorld(t, 1, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.install(t, admin, w.seed.Admin.ID, "").Query().Get("connection")
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" { // no job runs: it stays under way
		t.Fatalf("disconnectZoom: %s", r.Raw)
	}
	status := func() string {
		var s string
		if err := w.app.DB.QueryRow(ctx, `SELECT status FROM zoom_connections WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The token store meeting invalid_grant (the cleanup's own calls after
	// Zoom dropped the grant) leaves DISCONNECTING alone.
	if _, err := w.sim.RevokeGrants(ctx, w.seed.Marketplace.ClientID, w.seed.AccountID); err != nil {
		t.Fatal(err)
	}
	src := w.app.Zoom.MarketplaceTokenSource(connections.NewTokenStore(w.app.DB, w.app.Sealer), zoom.ConnectionRef{ID: id, TenantID: tenant},
		zoom.AppCredentials{ClientID: w.seed.Marketplace.ClientID, ClientSecret: w.seed.Marketplace.ClientSecret})
	if err := src.(zoom.Refresher).Refresh(ctx); err == nil {
		t.Fatal("a revoked grant refreshed")
	}
	if got := status(); got != "DISCONNECTING" {
		t.Fatalf("the token store set %s on a disconnecting connection", got)
	}

	// Whatever the status column says, the disconnect record decides.
	if _, err := w.app.DB.Exec(ctx, `UPDATE zoom_connections SET status = 'ACTIVE' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		check func(t *testing.T)
	}{
		{"shown as disconnecting", func(t *testing.T) {
			if c := w.connection(t, admin, id); c["status"] != "DISCONNECTING" {
				t.Errorf("zoomConnection = %v", c)
			}
		}},
		{"no Zoom client", func(t *testing.T) {
			if _, err := w.app.Connections.ZoomClient(ctx, tenant, id); apierror.CodeOf(err) != apierror.BadUserInput {
				t.Errorf("ZoomClient: %v", err)
			}
		}},
		{"not revived by a reinstall", func(t *testing.T) {
			if loc := w.install(t, admin, w.seed.Admin.ID, ""); loc.Query().Get("reason") != "account_already_connected" {
				t.Errorf("reinstall redirected to %s", loc)
			}
		}},
		{"not health-checked", func(t *testing.T) {
			if err := w.app.Connections.CheckHealth(ctx); err != nil {
				t.Fatal(err)
			}
			if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE id = $1 AND last_health_check_at IS NOT NULL`, id); n != 0 {
				t.Error("a disconnecting connection was health-checked")
			}
		}},
	} {
		t.Run(tc.name, tc.check)
	}
}

// TestDisconnectReleasesLicensesOfLateAssignments: an activation that
// commits while the cleanup's final transaction runs is either refused or
// released by it, never dropped by the cascade with its license held.
func TestDisconnectReleasesLicensesOfLateAssignments(t *testing.T) {
	w := newZoomWorld(t, 1, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	var roomID string
	if err := w.app.DB.QueryRow(ctx, `INSERT INTO rooms (tenant_id, connection_id, zoom_room_id, name, status, online)
VALUES ($1, $2, $3, 'Late room', 'AVAILABLE', true)
ON CONFLICT (connection_id, zoom_room_id) DO UPDATE SET name = rooms.name RETURNING id`, tenant, id, w.seed.RoomIDs[0]).Scan(&roomID); err != nil {
		t.Fatal(err)
	}
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("disconnectZoom: %s", r.Raw)
	}
	// An activation in flight: its assignment insert holds the foreign
	// key's lock on the connection row until it commits.
	activation, err := w.app.DB.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer activation.Rollback(ctx)
	if _, err := activation.Exec(ctx, `INSERT INTO signage_assignments (room_id, tenant_id, connection_id, state, screen_token, screen_url, activated_by)
VALUES ($1, $2, $3, 'PUSHING', 'late-token', 'https://screens.example.test/late', 'test')`, roomID, tenant, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.app.Connections.RunCleanup(ctx, tenant, id) }()
	waitFor(t, "the cleanup to wait for the activation", func() bool {
		return w.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
	})
	if err := activation.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u, _ := tenants.LicenseUsage(ctx, w.app.DB, tenant); u.Used != 0 {
		t.Errorf("%d licenses leaked", u.Used)
	}
	r := w.post(admin, disconnect, map[string]any{"id": id})
	if rep, _ := r.Data["disconnectZoom"].(map[string]any); rep == nil || rep["licensesReleased"] != float64(1) || len(rep["leftovers"].([]any)) != 1 {
		t.Errorf("report = %s", r.Raw)
	}
}

// TestDisconnectWaitsForRunningSync: the cleanup does not touch the rooms
// while a sync job is writing them; a sync run merely recorded RUNNING
// does not hold it.
func TestDisconnectWaitsForRunningSync(t *testing.T) {
	w := newZoomWorld(t, 1, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("disconnectZoom: %s", r.Raw)
	}
	// A run recorded RUNNING whose job is not running (asked for, or left by
	// a crash) holds nothing: only the job's state says a sync writes.
	if _, err := w.app.DB.Exec(ctx, `INSERT INTO sync_runs (tenant_id, connection_id, trigger, state)
VALUES ($1, $2, 'manual', 'RUNNING')`, tenant, id); err != nil {
		t.Fatal(err)
	}
	const syncJob = ` WHERE kind = 'sync_connection' AND args->>'connection_id' = $1`
	for _, tc := range []struct {
		name    string
		setJob  string // how the connection's sync job is left before the cleanup runs
		cleaned bool
	}{
		{"sync job running", `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()` + syncJob, false},
		{"sync job over", `UPDATE river_job SET state = 'completed', finalized_at = now()` + syncJob, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.app.DB.Exec(ctx, tc.setJob, id); err != nil {
				t.Fatal(err)
			}
			err := w.app.Connections.RunCleanup(ctx, tenant, id)
			if (err == nil) != tc.cleaned {
				t.Fatalf("RunCleanup: %v", err)
			}
			if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE id = $1`, id); (n == 0) != tc.cleaned {
				t.Errorf("%d connection rows, cleaned = %v", n, tc.cleaned)
			}
		})
	}
}

// TestHealthFansOutPerConnection: the periodic health job enqueues one
// check per connection (never two), and each check judges its own
// connection only.
func TestHealthFansOutPerConnection(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	ctx := context.Background()
	tenantA, tenantB := w.tenant("A", 5), w.tenant("B", 5)
	adminB := userJWT(t, tenantB, "admin", time.Hour)
	idA := w.connectServerApp(t, userJWT(t, tenantA, "admin", time.Hour))
	second, err := w.sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 1})
	if err != nil {
		t.Fatal(err)
	}
	idB := w.install(t, adminB, second.Admin.ID, "").Query().Get("connection")
	if _, err := w.sim.RevokeGrants(ctx, w.seed.Marketplace.ClientID, second.AccountID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.app.Connections.EnqueueHealthChecks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.count(t, `SELECT count(DISTINCT args->>'connection_id') FILTER (WHERE args->>'connection_id' IN ($1, $2)) * 10 + count(*)
  FROM river_job WHERE kind = 'connection_health_check'`, idA, idB); n != 22 {
		t.Fatalf("health check jobs: %d (want one per connection)", n)
	}
	w.startJobs(t)
	waitFor(t, "both checks", func() bool {
		return w.count(t, `SELECT count(*) FROM zoom_connections WHERE last_health_check_at IS NOT NULL`) == 2
	})
	for _, tc := range []struct{ tenant, id, want string }{{tenantA, idA, "ACTIVE"}, {tenantB, idB, "REAUTH_REQUIRED"}} {
		if c, err := w.app.Connections.Get(ctx, tc.tenant, tc.id); err != nil || string(c.Status) != tc.want {
			t.Errorf("connection %s: %v %v, want %s", tc.id, c.Status, err, tc.want)
		}
	}
}

func TestRevokedGrantNeedsReauthorization(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.install(t, admin, w.seed.Admin.ID, "").Query().Get("connection")
	if err := w.app.Connections.CheckHealth(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.connection(t, admin, id); c["status"] != "ACTIVE" {
		t.Fatalf("before the revoke: %v", c)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := events.Subscribe(sctx, w.app.Bus, tenant, func(e *events.Event) (events.ConnectionSnapshot, bool) {
		if e.Kind != events.ConnectionStatusChanged || e.Connection == nil {
			return events.ConnectionSnapshot{}, false
		}
		return *e.Connection, true
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.RevokeGrants(ctx, w.seed.Marketplace.ClientID, w.seed.AccountID); err != nil {
		t.Fatal(err)
	}
	if err := w.app.Connections.CheckHealth(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.connection(t, admin, id); c["status"] != "REAUTH_REQUIRED" || c["statusReason"] == nil {
		t.Fatalf("after one health cycle: %v", c)
	}
	select {
	case snap := <-stream.C():
		if snap.ID != id || snap.Status != "REAUTH_REQUIRED" {
			t.Errorf("published %+v", snap)
		}
	case <-time.After(30 * time.Second):
		t.Error("no connectionStatusChanged event published")
	}
	if syncable, _ := w.app.Connections.ListSyncable(ctx); len(syncable) != 0 {
		t.Errorf("syncing must pause: %v", syncable)
	}
	if !hasAction(w.auditActions(t, tenant, id), "system connection.status_changed") {
		t.Errorf("no audit event for the status change: %v", w.auditActions(t, tenant, id))
	}
	if loc := w.install(t, admin, w.seed.Admin.ID, ""); loc.Query().Get("connection") != id {
		t.Fatalf("reconnect: %s", loc)
	}
	if err := w.app.Connections.CheckHealth(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.connection(t, admin, id); c["status"] != "ACTIVE" {
		t.Fatalf("after the reconnect: %v", c)
	}
	if syncable, _ := w.app.Connections.ListSyncable(ctx); len(syncable) != 1 {
		t.Errorf("syncing must resume: %v", syncable)
	}
}

const disconnect = `mutation($id: ID!){disconnectZoom(id: $id){connectionId revoked roomsCleaned licensesReleased leftovers{zoomRoomId name reason}}}`

func TestDisconnect(t *testing.T) {
	w := newZoomWorld(t, 4, nil)
	w.startJobs(t)
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.install(t, admin, w.seed.Admin.ID, "").Query().Get("connection")
	w.activate(t, tenant, id, 3)

	r := w.post(admin, disconnect, map[string]any{"id": id})
	if r.code() != "" {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	rep := r.Data["disconnectZoom"].(map[string]any)
	if rep["revoked"] != true || rep["roomsCleaned"] != float64(3) || rep["licensesReleased"] != float64(3) || len(rep["leftovers"].([]any)) != 0 {
		t.Fatalf("report = %v", rep)
	}
	if c := w.connection(t, admin, id); c != nil {
		t.Errorf("connection still there: %v", c)
	}
	for _, table := range []string{"zoom_connections", "rooms", "signage_assignments"} {
		if n := w.count(t, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
	if u, _ := tenants.LicenseUsage(ctx, w.app.DB, tenant); u.Used != 0 {
		t.Errorf("licenses used after disconnect: %d", u.Used)
	}
	if lib := w.sim.LibraryContents(w.seed.AccountID); len(lib) != 0 {
		t.Errorf("library items left in Zoom: %v", lib)
	}
	for _, roomID := range w.seed.RoomIDs[:3] {
		raw, _ := w.sim.SignageSettings(roomID)
		if !strings.Contains(string(raw), `"enable_digital_signage":false`) {
			t.Errorf("signage still enabled on %s: %s", roomID, raw)
		}
	}
	if grants, _ := w.sim.Grants(ctx, w.seed.AccountID); len(grants) != 0 {
		t.Errorf("grant not revoked: %v", grants)
	}
	actions := w.auditActions(t, tenant, id)
	for _, want := range []string{"connection.connected", "connection.disconnect_started", "user:user-1 connection.disconnected"} {
		if !hasAction(actions, want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
	t.Run("idempotent", func(t *testing.T) {
		again := w.post(admin, disconnect, map[string]any{"id": id})
		if again.code() != "" || again.Data["disconnectZoom"].(map[string]any)["roomsCleaned"] != float64(3) {
			t.Errorf("second disconnect: %s", again.Raw)
		}
	})
	t.Run("reconnect is a first connect", func(t *testing.T) {
		loc := w.install(t, admin, w.seed.Admin.ID, "")
		if newID := loc.Query().Get("connection"); newID == "" || newID == id {
			t.Errorf("reconnect: %s", loc)
		}
	})
}

func TestDisconnectWithZoomDown(t *testing.T) {
	w := newZoomWorld(t, 3, nil)
	w.startJobs(t)
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	w.activate(t, tenant, id, 2)
	w.leftover(t, tenant, id)
	if _, err := w.sim.AddFault(ctx, zoomsim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	r := w.post(admin, disconnect, map[string]any{"id": id})
	if r.code() != "" {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	rep := r.Data["disconnectZoom"].(map[string]any)
	left := rep["leftovers"].([]any)
	if rep["roomsCleaned"] != float64(0) || rep["licensesReleased"] != float64(2) || len(left) != 3 || rep["revoked"] != false {
		t.Fatalf("report = %v", rep)
	}
	for _, l := range left {
		if l := l.(map[string]any); l["zoomRoomId"] == "" || !strings.Contains(l["reason"].(string), "Zoom unavailable") {
			t.Errorf("leftover = %v", l)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM zoom_connections`); n != 0 {
		t.Error("Zoom being down blocked the local disconnect")
	}
	if u, _ := tenants.LicenseUsage(ctx, w.app.DB, tenant); u.Used != 0 {
		t.Errorf("licenses used: %d", u.Used)
	}
}

func TestDisconnectKilledAndResumed(t *testing.T) {
	w := newZoomWorld(t, 4, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	w.activate(t, tenant, id, 4)

	// No job runner yet: the mutation answers with the progress so far.
	r := w.post(admin, disconnect, map[string]any{"id": id})
	if r.code() != "" || r.Data["disconnectZoom"].(map[string]any)["roomsCleaned"] != float64(0) {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	if c := w.connection(t, admin, id); c["status"] != "DISCONNECTING" {
		t.Fatalf("status while the cleanup waits: %v", c)
	}
	// Two rooms go through; the third room's library delete hangs and the
	// process dies there.
	if _, err := w.sim.AddFault(ctx, zoomsim.Fault{Route: zoomsim.RouteDeleteContent, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sim.AddFault(ctx, zoomsim.Fault{Route: zoomsim.RouteDeleteContent, Hang: true}); err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	killCtx, kill := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.app.Connections.RunCleanup(killCtx, tenant, id) }()
	waitFor(t, "the third room's delete", func() bool { return w.sim.Calls(w.seed.AccountID)[zoomsim.RouteDeleteContent] >= 3 })
	kill()
	if err := <-done; err == nil {
		t.Fatal("a killed cleanup reported success")
	}
	r = w.post(admin, disconnect, map[string]any{"id": id})
	if rep := r.Data["disconnectZoom"].(map[string]any); rep["roomsCleaned"] != float64(2) || rep["licensesReleased"] != float64(2) {
		t.Fatalf("progress after the kill: %s", r.Raw)
	}
	if err := w.sim.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}

	w.startJobs(t) // River retries the job: it continues, it does not restart
	waitFor(t, "the resumed cleanup", func() bool { return w.count(t, `SELECT count(*) FROM zoom_connections`) == 0 })
	r = w.post(admin, disconnect, map[string]any{"id": id})
	rep := r.Data["disconnectZoom"].(map[string]any)
	if rep["roomsCleaned"] != float64(4) || rep["licensesReleased"] != float64(4) || len(rep["leftovers"].([]any)) != 0 {
		t.Fatalf("final report: %s", r.Raw)
	}
	calls := w.sim.Calls(w.seed.AccountID)
	if calls[zoomsim.RoutePatchSettings] != 5 || calls[zoomsim.RouteDeleteContent] != 5 {
		t.Errorf("rooms cleaned before the kill were cleaned again: %v", calls)
	}
	if u, _ := tenants.LicenseUsage(ctx, w.app.DB, tenant); u.Used != 0 {
		t.Errorf("licenses used: %d", u.Used)
	}
	if lib := w.sim.LibraryContents(w.seed.AccountID); len(lib) != 0 {
		t.Errorf("library items left: %v", lib)
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'connection.disconnected'`); n != 1 {
		t.Errorf("%d disconnect audit events", n)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// postWebhook delivers body to /webhooks/zoom signed with secret at
// timestamp at (Zoom's retries carry a new timestamp, hence a new signature).
func (w *zoomWorld) postWebhook(t *testing.T, secret string, at time.Time, body []byte) int {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, w.url+"/webhooks/zoom", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-zm-request-timestamp", ts)
	req.Header.Set("x-zm-signature", zoom.Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func deauthBody(accountID, clientID string) []byte {
	return deauthBodyAt(accountID, clientID, "sig", time.Now().UTC().Format(time.RFC3339Nano))
}

// deauthBodyAt is an app_deauthorized body with its signature and
// deauthorization_time ("" leaves it and event_ts out).
func deauthBodyAt(accountID, clientID, signature, at string) []byte {
	payload := map[string]any{"account_id": accountID, "user_id": "u1", "client_id": clientID, "signature": signature}
	ev := map[string]any{"event": "app_deauthorized", "payload": payload}
	if at != "" {
		payload["deauthorization_time"] = at
		ev["event_ts"] = time.Now().UnixMilli()
	}
	b, _ := json.Marshal(ev)
	return b
}

// TestDeauthorizationIgnored: app_deauthorized deliveries that are not
// about the current grant of one of our Marketplace connections change
// nothing; the last, current one starts the cleanup.
func TestDeauthorizationIgnored(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	installedAfter := time.Now().Add(-time.Second).UTC()
	id := w.install(t, admin, w.seed.Admin.ID, "").Query().Get("connection")
	acct, market := w.seed.AccountID, w.seed.Marketplace.ClientID
	now := func() string { return time.Now().UTC().Format(time.RFC3339Nano) }
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"stale: about the grant before the reinstall", deauthBodyAt(acct, market, "s1", installedAfter.Add(-time.Minute).Format(time.RFC3339Nano))},
		{"another app's client id", deauthBodyAt(acct, w.seed.Server.ClientID, "s2", now())},
		{"unknown account", deauthBodyAt("unknown-account", market, "s3", now())},
		{"no account id", deauthBodyAt("", market, "s4", now())},
		{"no client id", deauthBodyAt(acct, "", "s5", now())},
		{"no time", deauthBodyAt(acct, market, "s6", "")},
		{"payload not an object", []byte(`{"event":"app_deauthorized","event_ts":1,"payload":"account_id"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status := w.postWebhook(t, webhookSecret, time.Now(), tc.body); status != http.StatusOK {
				t.Errorf("status %d", status)
			}
			if n := w.count(t, `SELECT count(*) FROM zoom_disconnects`); n != 0 {
				t.Fatalf("an ignorable deauthorization started %d disconnects", n)
			}
			if c := w.connection(t, admin, id); c == nil || c["status"] != "ACTIVE" {
				t.Fatalf("connection = %v", c)
			}
		})
	}
	t.Run("current", func(t *testing.T) {
		if status := w.postWebhook(t, webhookSecret, time.Now(), deauthBodyAt(acct, market, "s7", now())); status != http.StatusOK {
			t.Errorf("status %d", status)
		}
		if c := w.connection(t, admin, id); c == nil || c["status"] != "DISCONNECTING" {
			t.Errorf("connection = %v", c)
		}
	})
}

func TestDeauthorization(t *testing.T) {
	w := newZoomWorld(t, 3, nil)
	w.startJobs(t)
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.install(t, admin, w.seed.Admin.ID, "").Query().Get("connection")
	w.activate(t, tenant, id, 2)
	body := deauthBody(w.seed.AccountID, w.seed.Marketplace.ClientID)

	t.Run("bad signature", func(t *testing.T) {
		if status := w.postWebhook(t, "not-the-secret", time.Now(), body); status != http.StatusUnauthorized {
			t.Errorf("status %d", status)
		}
		if c := w.connection(t, admin, id); c == nil || c["status"] != "ACTIVE" || c["activatedRoomCount"] != float64(2) {
			t.Errorf("a forged uninstall touched the connection: %v", c)
		}
	})
	t.Run("unknown account", func(t *testing.T) {
		if status := w.postWebhook(t, webhookSecret, time.Now(), deauthBody("unknown-account", w.seed.Marketplace.ClientID)); status != http.StatusOK {
			t.Errorf("status %d", status)
		}
		if n := w.count(t, `SELECT count(*) FROM zoom_disconnects`); n != 0 {
			t.Errorf("an unknown account started %d disconnects", n)
		}
	})
	t.Run("url validation", func(t *testing.T) {
		if err := w.sim.ValidateEndpoint(ctx, w.seed.Marketplace.ClientID); err != nil {
			t.Error(err)
		}
	})
	t.Run("uninstall in Zoom", func(t *testing.T) {
		if err := w.sim.Deauthorize(ctx, w.seed.Marketplace.ClientID, w.seed.AccountID, ""); err != nil {
			t.Fatal(err)
		}
		deliveries := w.sim.Deliveries()
		if last := deliveries[len(deliveries)-1]; last.Event != "app_deauthorized" || last.Status != http.StatusOK {
			t.Fatalf("delivery = %+v", last)
		}
		waitFor(t, "the deauthorization cleanup", func() bool { return w.count(t, `SELECT count(*) FROM zoom_connections`) == 0 })
		for _, table := range []string{"rooms", "signage_assignments", "room_devices"} {
			if n := w.count(t, `SELECT count(*) FROM `+table); n != 0 {
				t.Errorf("%d rows left in %s", n, table)
			}
		}
		if u, _ := tenants.LicenseUsage(ctx, w.app.DB, tenant); u.Used != 0 {
			t.Errorf("licenses used: %d", u.Used)
		}
		actions := w.auditActions(t, tenant, id)
		for _, want := range []string{"connection.connected", "zoom connection.deauthorization_received", "zoom connection.deauthorized"} {
			if !hasAction(actions, want) {
				t.Errorf("audit lacks %q: %v", want, actions)
			}
		}
		r := w.post(admin, disconnect, map[string]any{"id": id})
		rep := r.Data["disconnectZoom"].(map[string]any)
		if rep["revoked"] != false || len(rep["leftovers"].([]any)) != 2 || rep["licensesReleased"] != float64(2) {
			t.Errorf("report = %s", r.Raw)
		}
	})
	t.Run("duplicate delivery", func(t *testing.T) {
		deliveries := w.sim.Deliveries()
		again := []byte(deliveries[len(deliveries)-1].Body)
		if status := w.postWebhook(t, webhookSecret, time.Now().Add(-time.Minute), again); status != http.StatusOK {
			t.Errorf("status %d", status)
		}
		if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'connection.deauthorization_received'`); n != 1 {
			t.Errorf("%d deauthorizations recorded", n)
		}
	})
}

func TestTenantsCannotReachEachOthersConnections(t *testing.T) {
	w := newZoomWorld(t, 1, nil)
	a, b := w.tenant("A", 5), w.tenant("B", 5)
	adminA, adminB := userJWT(t, a, "admin", time.Hour), userJWT(t, b, "admin", time.Hour)
	id := w.connectServerApp(t, adminA)
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		code        string
	}{
		{"read one", `query($id: ID!){zoomConnection(id: $id){id}}`, map[string]any{"id": id}, ""},
		{"list", `{zoomConnections{id}}`, nil, ""},
		{"disconnect", disconnect, map[string]any{"id": id}, "NOT_FOUND"},
		{"update credentials", `mutation($id: ID!){updateZoomServerAppCredentials(id: $id, input: {clientId: "x", clientSecret: "y"}){id}}`, map[string]any{"id": id}, "NOT_FOUND"},
		{"malformed id", disconnect, map[string]any{"id": "not-a-uuid"}, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(adminB, tc.query, tc.vars)
			if r.code() != tc.code {
				t.Fatalf("code %q, want %q: %s", r.code(), tc.code, r.Raw)
			}
			if strings.Contains(r.Raw, id) && tc.code == "" {
				t.Errorf("tenant B saw tenant A's connection: %s", r.Raw)
			}
		})
	}
	if c := w.connection(t, adminA, id); c == nil || c["status"] != "ACTIVE" {
		t.Errorf("tenant A's connection after tenant B's attempts: %v", c)
	}
}

// TestSecretsNeverLeak plants known client secrets, records every token Zoom
// issues, runs connect, refresh, health, disconnect and deauthorization
// end to end, and scans every log line, GraphQL response, audit detail,
// metric and Redis value for them.
func TestSecretsNeverLeak(t *testing.T) {
	w := newZoomWorld(t, 2, nil)
	w.startJobs(t)
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	var responses []string
	post := func(query string, vars map[string]any) gqlResponse {
		r := w.post(admin, query, vars)
		responses = append(responses, r.Raw)
		return r
	}
	wrong := w.seed.Server
	wrong.ClientSecret = "planted-wrong-secret-7f3a9c"
	post(connectS2S, s2sInput(w.seed.AccountID, wrong))
	r := post(connectS2S, s2sInput(w.seed.AccountID, w.seed.Server))
	s2s := r.Data["connectZoomServerApp"].(map[string]any)["id"].(string)
	post(`mutation($id: ID!, $in: ServerAppCredentialsInput!){updateZoomServerAppCredentials(id: $id, input: $in){id}}`,
		map[string]any{"id": s2s, "in": map[string]any{"clientId": w.seed.Server.ClientID, "clientSecret": w.seed.Server.ClientSecret}})
	w.activate(t, tenant, s2s, 1)
	if err := w.app.Connections.CheckHealth(ctx); err != nil {
		t.Fatal(err)
	}
	post(`{zoomConnections{`+connectionFields+` grantedScopes}}`, nil)
	post(disconnect, map[string]any{"id": s2s})

	second, err := w.sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 1})
	if err != nil {
		t.Fatal(err)
	}
	loc := w.install(t, admin, second.Admin.ID, "")
	mp := loc.Query().Get("connection")
	responses = append(responses, loc.String())
	if err := w.sim.ExpireTokens(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.app.Connections.CheckHealth(ctx); err != nil { // refreshes the expired grant
		t.Fatal(err)
	}
	if err := w.app.Connections.KeepAlive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.sim.Deauthorize(ctx, w.seed.Marketplace.ClientID, second.AccountID, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deauthorization", func() bool { return w.count(t, `SELECT count(*) FROM zoom_connections`) == 0 })
	post(disconnect, map[string]any{"id": mp})

	w.mu.Lock()
	secrets := append([]string{w.seed.Server.ClientSecret, wrong.ClientSecret, w.seed.Marketplace.ClientSecret, webhookSecret}, w.tokens...)
	w.mu.Unlock()
	if len(secrets) < 7 {
		t.Fatalf("too few tokens recorded to prove anything: %d", len(secrets))
	}
	var details []string
	rows, err := w.app.DB.Query(ctx, `SELECT details::text FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		details = append(details, d)
	}
	_, metrics := get(t, w.url+"/metrics")
	var redisValues []string
	keys, _ := w.app.Redis.Keys(ctx, w.app.Config.RedisPrefix+"*").Result()
	for _, k := range keys {
		if v, err := w.app.Redis.Get(ctx, k).Result(); err == nil {
			redisValues = append(redisValues, k+"="+v)
		}
	}
	places := map[string]string{
		"logs": w.logs.String(), "responses": strings.Join(responses, "\n"), "audit": strings.Join(details, "\n"),
		"metrics": metrics, "redis": strings.Join(redisValues, "\n"),
	}
	for name, text := range places {
		if text == "" && name != "redis" {
			t.Errorf("nothing captured in %s", name)
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("a secret (%d chars) leaked into %s", len(s), name)
			}
		}
	}
}

// TestDisconnectWaitsForPushLease: the cleanup claims each room's push
// lease before removing its signage. A room a live push holds is left
// alone (the cleanup fails, and its job snoozes) until the push lets go; a
// lease abandoned by a crashed pusher does not hold it. The connection's
// signage leftovers are removed from Zoom before the connection goes.
func TestDisconnectWaitsForPushLease(t *testing.T) {
	w := newZoomWorld(t, 4, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 10)
	admin := userJWT(t, tenant, "admin", time.Hour)
	ctx := context.Background()
	id := w.connectServerApp(t, admin)
	w.activate(t, tenant, id, 3)
	leftRoom, leftContent := w.leftover(t, tenant, id)
	lease := func(room, age string) {
		t.Helper()
		if _, err := w.app.DB.Exec(ctx, `UPDATE signage_assignments a SET push_owner = 'push-1', push_started_at = now() - $3::interval
FROM rooms r WHERE r.id = a.room_id AND a.tenant_id = $1 AND r.zoom_room_id = $2`, tenant, room, age); err != nil {
			t.Fatal(err)
		}
	}
	lease(w.seed.RoomIDs[0], "1 second")  // a live push
	lease(w.seed.RoomIDs[1], "3 minutes") // a push that died
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("disconnectZoom: %s", r.Raw)
	}
	signageOn := func(room string) bool {
		raw, _ := w.sim.SignageSettings(room)
		return !strings.Contains(string(raw), `"enable_digital_signage":false`)
	}

	t.Run("held by a live push", func(t *testing.T) {
		if err := w.app.Connections.RunCleanup(ctx, tenant, id); err == nil {
			t.Fatal("the cleanup finished while a push held a room")
		}
		if !signageOn(w.seed.RoomIDs[0]) {
			t.Error("the cleanup overtook the push holding the room")
		}
		for _, room := range w.seed.RoomIDs[1:3] {
			if signageOn(room) {
				t.Errorf("room %s not cleaned (free or abandoned lease)", room)
			}
		}
		if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE id = $1`, id); n != 1 {
			t.Error("the connection went before its rooms were cleaned")
		}
		if n := w.count(t, `SELECT count(*) FROM signage_assignments WHERE push_owner = 'push-1'`); n != 1 {
			t.Errorf("%d assignments still leased by the push, want 1", n)
		}
	})
	t.Run("after the push let go", func(t *testing.T) {
		if _, err := w.app.DB.Exec(ctx, `UPDATE signage_assignments SET push_owner = NULL, push_started_at = NULL WHERE tenant_id = $1`, tenant); err != nil {
			t.Fatal(err)
		}
		if err := w.app.Connections.RunCleanup(ctx, tenant, id); err != nil {
			t.Fatal(err)
		}
		for _, room := range append(w.seed.RoomIDs[:3:3], leftRoom) {
			if signageOn(room) {
				t.Errorf("signage still enabled on %s", room)
			}
		}
		if lib := w.sim.LibraryContents(w.seed.AccountID); len(lib) != 0 {
			t.Errorf("library items left in Zoom (leftover %s): %v", leftContent, lib)
		}
		w.disconnectCleanly(t, admin, tenant, id, 3)
	})
}

// leftover records signage the rooms domain could not remove on the last
// seeded room (signage on, a library item) as a signage_leftovers row, and
// returns the room and the item.
func (w *zoomWorld) leftover(t *testing.T, tenant, connID string) (string, string) {
	t.Helper()
	ctx := context.Background()
	ac, err := w.app.Connections.ZoomClient(ctx, tenant, connID)
	if err != nil {
		t.Fatal(err)
	}
	room := w.seed.RoomIDs[len(w.seed.RoomIDs)-1]
	contentID, err := ac.AddSignageURL(ctx, zoom.SignageURL{Name: "left over", URL: "https://screens.example.test/left"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ac.UpdateSignageSettings(ctx, room, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.DB.Exec(ctx, `INSERT INTO signage_leftovers (tenant_id, connection_id, zoom_room_id, zoom_content_id, reason)
VALUES ($1, $2, $3, $4, 'deactivated while Zoom was unreachable')`, tenant, connID, room, contentID); err != nil {
		t.Fatal(err)
	}
	return room, contentID
}

// TestDisconnectDoesNotWaitForASyncThatNeverRan: a sync asked for with
// syncZoomConnection records its run (RUNNING) before its job runs; a
// disconnect cancels the job, so the run is never finished by it. The
// cleanup waited for that run as if a sync were writing the rooms, for
// the 15 minutes after which a run counts as stale. Only a sync job River
// runs is waited for.
func TestDisconnectDoesNotWaitForASyncThatNeverRan(t *testing.T) {
	w := newZoomWorld(t, 2, func(c *app.Config) { c.DisconnectWait = time.Millisecond })
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	id := w.connectServerApp(t, admin)
	if r := w.post(admin, `mutation($id: ID!){syncZoomConnection(id: $id){state}}`, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("syncZoomConnection: %s", r.Raw)
	}
	if n := w.count(t, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'RUNNING'`, id); n != 1 {
		t.Fatalf("%d running runs recorded before the job ran", n)
	}
	if r := w.post(admin, disconnect, map[string]any{"id": id}); r.code() != "" {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	// What the cleanup's first step does; here before the sync job could
	// run, as when River cancels it at fetch time.
	if _, err := syncjob.CancelForConnection(context.Background(), w.app.River, w.app.DB, id); err != nil {
		t.Fatal(err)
	}
	w.startJobs(t)
	waitFor(t, "the cleanup to finish", func() bool {
		return w.count(t, `SELECT count(*) FROM river_job WHERE kind = 'connection_cleanup' AND state = 'completed'`) == 1
	})
}
