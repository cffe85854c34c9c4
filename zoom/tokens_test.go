package zoom_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// hookRT runs after on every response that passes through it.
type hookRT struct {
	next  http.RoundTripper
	after func(*http.Request, *http.Response)
}

func (h hookRT) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(req)
	if err == nil {
		h.after(req, resp)
	}
	return resp, err
}

// singleTokenServerApp replaces the seeded Server-to-Server app by one for
// which, as Zoom historically did, a new token kills the previous one.
func (e *env) singleTokenServerApp() {
	e.t.Helper()
	app, err := e.sim.CreateApp(context.Background(), zoomsim.App{Kind: zoomsim.AppServer, AccountID: e.seed.AccountID,
		Scopes: zoomsim.DefaultScopes(), SingleToken: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.seed.Server = app
}

// TestTokenExpiresMidPaging: Zoom expires the token between page 1 and
// page 2; the client gets a fresh token once and goes on with the same page
// token, and no room is lost or repeated.
func TestTokenExpiresMidPaging(t *testing.T) {
	for _, kind := range []zoom.ConnectionKind{zoom.KindServerApp, zoom.KindMarketplace} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 700}, sim: zoomsim.Options{DisableRateLimits: true}})
			var pages atomic.Int32
			c, _ := e.newClient(func(o *zoom.Options) {
				o.HTTPClient = &http.Client{Transport: hookRT{next: e.spec, after: func(req *http.Request, resp *http.Response) {
					if req.URL.Path == "/v2/rooms" && resp.StatusCode == 200 && pages.Add(1) == 1 {
						if err := e.sim.ExpireTokens(context.Background(), ""); err != nil {
							t.Error(err)
						}
					}
				}}}
			})
			var ref zoom.ConnectionRef
			if kind == zoom.KindServerApp {
				ref = e.serverApp()
			} else {
				ref, _ = e.marketplace(c)
			}
			rooms, err := c.For(e.account(c, ref, kind)).ListRooms(context.Background(), zoom.RoomFilter{})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, r := range rooms {
				seen[r.ID] = true
			}
			if len(rooms) != 700 || len(seen) != 700 {
				t.Fatalf("got %d rooms (%d distinct), want 700", len(rooms), len(seen))
			}
			// 3 pages + the one page refused with 124.
			if got := e.calls(zoomsim.RouteListRooms); got != 4 {
				t.Fatalf("list calls = %d, want 4", got)
			}
			grant := map[zoom.ConnectionKind]string{zoom.KindServerApp: "account_credentials", zoom.KindMarketplace: "refresh_token"}[kind]
			want := map[zoom.ConnectionKind]int{zoom.KindServerApp: 2, zoom.KindMarketplace: 1}[kind]
			if got := e.tokenCalls(grant); got != want {
				t.Fatalf("%s calls = %d, want %d", grant, got, want)
			}
		})
	}
}

// TestInvalidTokenBeforeExpiry: Zoom answers 124 to a token the client
// believes valid. One fresh token and one retry; a second replica holding
// the same dead token reuses the new stored token instead of fetching its
// own (which, for a single-token S2S app, would kill the first replica's).
func TestInvalidTokenBeforeExpiry(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 5}, sim: zoomsim.Options{DisableRateLimits: true}})
	e.singleTokenServerApp()
	ref := e.serverApp()
	a, _ := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	b, _ := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	apiA, apiB := a.For(e.account(a, ref, zoom.KindServerApp)), b.For(e.account(b, ref, zoom.KindServerApp))
	ctx := context.Background()
	room := e.seed.RoomIDs[0]

	steps := []struct {
		name       string
		before     func()
		api        *zoom.AccountClient
		wantFetch  int // account_credentials calls so far
		wantRoomGs int // GET /rooms/{id} calls so far
	}{
		{"replica A fetches the account's token", nil, apiA, 1, 1},
		{"replica B reuses the stored token", nil, apiB, 1, 2},
		{"Zoom kills the token: A gets a new one once", func() { mustExpire(t, e) }, apiA, 2, 4},
		{"B's dead token: B takes A's new one from the row", nil, apiB, 2, 6},
		{"both keep working without fetching", nil, apiA, 2, 7},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			if _, err := st.api.GetRoom(ctx, room); err != nil {
				t.Fatal(err)
			}
			if got := e.tokenCalls("account_credentials"); got != st.wantFetch {
				t.Fatalf("token fetches = %d, want %d", got, st.wantFetch)
			}
			if got := e.calls(zoomsim.RouteGetRoom); got != st.wantRoomGs {
				t.Fatalf("GET room calls = %d, want %d", got, st.wantRoomGs)
			}
		})
	}
	t.Run("a token Zoom keeps refusing fails as invalid token after one retry", func(t *testing.T) {
		before := e.calls(zoomsim.RouteGetRoom)
		e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Status: 401})
		defer e.sim.ClearFaults(ctx)
		_, err := apiA.GetRoom(ctx, room)
		if !zoom.IsInvalidToken(err) {
			t.Fatalf("err = %v, want invalid token", err)
		}
		if got := e.calls(zoomsim.RouteGetRoom) - before; got != 2 {
			t.Fatalf("GET room calls = %d, want 2 (one retry with a fresh token)", got)
		}
	})
}

func mustExpire(t *testing.T, e *env) {
	t.Helper()
	if err := e.sim.ExpireTokens(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

var noCache = zoom.CacheTTLs{RoomsList: -1, Room: -1, Devices: -1, Settings: -1}

// TestMarketplaceConcurrentRefresh: two goroutines in each of two client
// instances need a refresh of the same connection at once. Exactly one
// refresh reaches Zoom, everyone goes on with the new token, and the old
// refresh token is never presented again (Zoom would answer invalid_grant).
func TestMarketplaceConcurrentRefresh(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 5}, sim: zoomsim.Options{DisableRateLimits: true}})
	a, regA := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	b, regB := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	ref, first := e.marketplace(a)
	ctx := context.Background()
	apis := []*zoom.AccountClient{a.For(e.account(a, ref, zoom.KindMarketplace)), b.For(e.account(b, ref, zoom.KindMarketplace))}
	for _, api := range apis {
		if _, err := api.GetRoom(ctx, e.seed.RoomIDs[0]); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.tokenCalls("refresh_token"); got != 0 {
		t.Fatalf("refreshes before expiry = %d, want 0", got)
	}
	version0, _, _, err := e.store.state(ref)
	if err != nil {
		t.Fatal(err)
	}
	// Past expiry for everyone: the simulator and both clients share the clock.
	e.clock.Advance(time.Hour)

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 4)
	for _, api := range apis {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := api.GetRoom(ctx, e.seed.RoomIDs[1])
				errs <- err
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("call after refresh: %v", err)
		}
	}
	if got := e.tokenCalls("refresh_token"); got != 1 {
		t.Fatalf("refreshes = %d, want exactly 1", got)
	}
	for name, reg := range map[string]*prometheus.Registry{"A": regA, "B": regB} {
		if n := counterValue(t, reg, "zoom_client_token_requests_total", map[string]string{"grant": "refresh_token", "result": "invalid_grant"}); n != 0 {
			t.Fatalf("client %s presented a dead refresh token %v times", name, n)
		}
	}
	version1, reauth, _, err := e.store.state(ref)
	if err != nil {
		t.Fatal(err)
	}
	if version1 != version0+1 || reauth {
		t.Fatalf("version %d → %d, reauthorization required %v; want one bump and usable", version0, version1, reauth)
	}
	// The old refresh token is dead at Zoom; the stored one is the new one.
	if _, err := a.RefreshToken(ctx, e.marketplaceApp(), first.RefreshToken); !zoom.IsReauthorizationRequired(err) {
		t.Fatalf("old refresh token: err = %v, want invalid_grant", err)
	}
}

// TestInvalidGrant: the grant was revoked in Zoom. The refresh fails with
// reauthorization required, the source has the store mark the connection
// (connections' tests show the Postgres store writes REAUTH_REQUIRED), and
// later calls fail the same way without asking Zoom again.
func TestInvalidGrant(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 2}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	ref, _ := e.marketplace(c)
	api := c.For(e.account(c, ref, zoom.KindMarketplace))
	ctx := context.Background()
	if _, err := api.GetRoom(ctx, e.seed.RoomIDs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.RevokeGrants(ctx, e.seed.Marketplace.ClientID, e.seed.AccountID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	for i := range 3 {
		_, err := api.GetRoom(ctx, e.seed.RoomIDs[0])
		if !zoom.IsReauthorizationRequired(err) {
			t.Fatalf("call %d: err = %v, want reauthorization required", i, err)
		}
	}
	if got := e.tokenCalls("refresh_token"); got != 1 {
		t.Fatalf("refresh attempts = %d, want 1 (invalid_grant is never retried)", got)
	}
	_, reauth, reason, err := e.store.state(ref)
	if err != nil {
		t.Fatal(err)
	}
	if !reauth || reason == "" {
		t.Fatalf("reauthorization required = %v (%q), want marked with a reason", reauth, reason)
	}
}

// TestMissingScope: the grant lacks the devices scope; the error names it.
func TestMissingScope(t *testing.T) {
	var scopes []string
	for _, s := range zoomsim.DefaultScopes() {
		if s != "zoom_rooms:read:list_devices:admin" {
			scopes = append(scopes, s)
		}
	}
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 2, Scopes: scopes}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(nil)
	ref := e.serverApp()
	api := c.For(e.account(c, ref, zoom.KindServerApp))
	_, err := api.ListDevices(context.Background(), e.seed.RoomIDs[0])
	if !zoom.IsMissingScope(err) {
		t.Fatalf("err = %v, want missing scope", err)
	}
	got, ok := zoom.MissingScopes(err)
	if !ok || !contains(got, "zoom_rooms:read:list_devices:admin") {
		t.Fatalf("MissingScopes = %v, %v; want the devices scope", got, ok)
	}
	if e.calls(zoomsim.RouteListDevices) != 1 {
		t.Fatalf("devices calls = %d, want 1 (a missing scope is not retried)", e.calls(zoomsim.RouteListDevices))
	}
}

// TestSecretsStayOutOfStorageLogsAndMetrics plants the credentials of full
// Marketplace and S2S flows (including a refresh rotation) and scans Redis,
// logs, metrics and errors for them. The token store is the caller's:
// connections' tests scan the sealed Postgres rows.
func TestSecretsStayOutOfStorageLogsAndMetrics(t *testing.T) {
	for _, kind := range []zoom.ConnectionKind{zoom.KindServerApp, zoom.KindMarketplace} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 5}, sim: zoomsim.Options{DisableRateLimits: true}})
			c, reg := e.newClient(nil)
			ctx := context.Background()
			secrets := []string{e.seed.Server.ClientSecret, e.seed.Marketplace.ClientSecret}
			var texts []string
			var ref zoom.ConnectionRef
			if kind == zoom.KindServerApp {
				ref = e.serverApp()
			} else {
				var first *zoom.OAuthToken
				ref, first = e.marketplace(c)
				secrets = append(secrets, first.AccessToken, first.RefreshToken)
				texts = append(texts, first.String(), first.GoString())
			}
			acc := e.account(c, ref, kind)
			api := c.For(acc)
			tok, err := acc.Tokens.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, tok)
			if _, err := api.ListRooms(ctx, zoom.RoomFilter{}); err != nil {
				t.Fatal(err)
			}
			_, err = api.GetRoom(ctx, "missing")
			texts = append(texts, err.Error())
			// Renewal past expiry plants the next token (and refresh token).
			e.clock.Advance(time.Hour)
			if _, err := api.Me(ctx); err != nil {
				t.Fatal(err)
			}
			tok2, err := acc.Tokens.Token(ctx)
			if err != nil || tok2 == tok {
				t.Fatalf("no renewal: %v", err)
			}
			secrets = append(secrets, tok2)
			_, err = c.RefreshToken(ctx, e.marketplaceApp(), "not-a-token")
			texts = append(texts, err.Error(), e.marketplaceApp().String())
			_, err = c.ServerAppToken(ctx, zoom.AppCredentials{ClientID: e.seed.Server.ClientID, ClientSecret: "wrong-" + e.seed.Server.ClientSecret}, e.seed.AccountID)
			texts = append(texts, err.Error())

			var hay strings.Builder
			keys, err := e.rdb.Keys(ctx, e.prefix+"*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) == 0 {
				t.Fatal("no Redis keys under the test prefix: the scan would prove nothing")
			}
			for _, k := range keys {
				hay.WriteString(k)
				if v, err := e.rdb.Get(ctx, k).Result(); err == nil {
					hay.WriteString(v)
				}
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				hay.WriteString(mf.String())
			}
			hay.WriteString(e.logs.String())
			hay.WriteString(strings.Join(texts, "\n"))
			for i, s := range secrets {
				if len(s) < 8 {
					t.Fatalf("planted secret %d is too short to search for", i)
				}
				if strings.Contains(hay.String(), s) {
					t.Fatalf("planted secret %d appears in Redis, logs, metrics or errors", i)
				}
			}
		})
	}
}

// TestRefreshBeforeExpiry: inside the 5-minute margin the client refreshes
// on its own, so Zoom never sees the old token expire under a call.
func TestRefreshBeforeExpiry(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 2}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(func(o *zoom.Options) { o.CacheTTLs = noCache })
	ref, first := e.marketplace(c)
	api := c.For(e.account(c, ref, zoom.KindMarketplace))
	ctx := context.Background()
	steps := []struct {
		name        string
		advance     time.Duration
		wantRefresh int
	}{
		{"fresh token is used from memory", 0, 0},
		{"six minutes before expiry: still the same token", 54 * time.Minute, 0},
		{"four minutes before expiry: refreshed first", 2 * time.Minute, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			e.clock.Advance(st.advance)
			if _, err := api.GetRoom(ctx, e.seed.RoomIDs[0]); err != nil {
				t.Fatal(err)
			}
			if got := e.tokenCalls("refresh_token"); got != st.wantRefresh {
				t.Fatalf("refreshes = %d, want %d", got, st.wantRefresh)
			}
			if got := e.sim.Calls("")[zoomsim.RouteGetRoom]; got != 0 {
				t.Fatalf("Zoom refused %d calls with 124, want 0", got)
			}
		})
	}
	if !first.ExpiresAt.After(e.clock.Now()) {
		t.Fatal("the first token had already expired: the test proves nothing")
	}
}

// TestRevokeToken: disconnecting a Marketplace install revokes the grant at
// Zoom; its refresh token then fails as reauthorization required.
func TestRevokeToken(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 1}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(nil)
	ref, tok := e.marketplace(c)
	ctx := context.Background()
	if _, err := c.For(e.account(c, ref, zoom.KindMarketplace)).Me(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeToken(ctx, e.marketplaceApp(), tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	grants, err := e.sim.Grants(ctx, e.seed.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		if g.ClientID == e.seed.Marketplace.ClientID {
			t.Fatalf("grant still live after revoke: %+v", g)
		}
	}
	if _, err := c.RefreshToken(ctx, e.marketplaceApp(), tok.RefreshToken); !zoom.IsReauthorizationRequired(err) {
		t.Fatalf("refresh after revoke: err = %v, want reauthorization required", err)
	}
	if err := c.RevokeToken(ctx, zoom.AppCredentials{ClientID: e.seed.Marketplace.ClientID, ClientSecret: "wrong"}, tok.AccessToken); !errors.Is(err, zoom.ErrCredentialsRejected) {
		t.Fatalf("revoke with a wrong secret: err = %v, want credentials rejected", err)
	}
}
