package rooms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/rooms"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// cacheQuery selects every cacheable field a change below can show.
const cacheQuery = `query($first: Int){rooms(first: $first){totalCount pageInfo{hasNextPage endCursor}
  edges{cursor node{id name status online lastSeenAt health devicesRefreshedAt
    devices{id type model status firmware updatedAt} alerts{component alertType state triggeredAt clearedAt}
    signage{state layout muted lastPushedAt lastError displayPeriod{startAfterMeetingMinutes stopBeforeMeetingMinutes}}
    connection{id label status statusReason}}}}}`

// Every write path that changes what a rooms page shows changes the
// tenant's data version in its own transaction, so the cached gateway
// answers each change with exactly what the uncached one builds from
// Postgres. Each step checks that the version moved, that the cached page
// equals the uncached one, and, for the steps that change the page, that it
// differs from the page before. The other tenant's cached page is never
// touched by this tenant's writes and never served to it.
func TestRoomsCacheIsInvalidatedByEveryWritePath(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 3)
	other := e.connect("globex", 2, 0)
	e.sync(tn)
	e.sync(other)
	cached, fresh := e.gateway(tn), e.uncachedGateway(tn)
	otherCached := e.gateway(other)
	client := &http.Client{}
	page := func(g *gateway) string {
		return string(g.post(t, client, cacheQuery, map[string]any{"first": 50}).Data)
	}
	version := func(tenantID string) int64 {
		v, err := e.svc.DataVersion(e.ctx, tenantID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	zids := tn.seed.RoomIDs
	id := func(zid string) string { return e.room(tn, zid).ID }
	admin := &auth.Principal{TenantID: tn.id, Actor: "user:admin", Scopes: auth.AllScopes, Kind: auth.KindUser}
	muted := true

	steps := []struct {
		name    string
		write   func(t *testing.T)
		visible bool // the page shows the change
	}{
		{"sync upserts a status change", func(t *testing.T) {
			if err := e.sim.SetRoomStatus(e.ctx, zids[0], zoomsim.StatusOffline); err != nil {
				t.Fatal(err)
			}
			e.sync(tn)
		}, true},
		{"device refresh", func(t *testing.T) {
			if err := e.sim.SetRoomDevices(e.ctx, zids[1], []zoomsim.Device{{ID: "dev-new", RoomName: "r", DeviceType: "Zoom Rooms Computer",
				AppVersion: "6.0.0", DeviceSystem: "Win 11", Status: "Offline", DeviceFirmware: "fw-2"}}); err != nil {
				t.Fatal(err)
			}
			if done, err := e.svc.RefreshRoomDevices(e.ctx, e.room(tn, zids[1])); err != nil || !done {
				t.Fatalf("refresh: %v %v", done, err)
			}
		}, true},
		{"alert webhook", func(t *testing.T) {
			if err := e.svc.HandleAlert(e.ctx, alertPayload(tn.seed.AccountID, zids[2], 4, 1, 1, time.Now())); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"signage activation (pending until Zoom enables it)", func(t *testing.T) {
			if err := e.sim.SetSignageEnabled(e.ctx, zids[2], false); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Activate(e.ctx, tn.actor, []string{id(zids[1]), id(zids[2])}, rooms.Settings{}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"pending signage pushed again by a sync", func(t *testing.T) {
			if err := e.sim.SetSignageEnabled(e.ctx, zids[2], true); err != nil {
				t.Fatal(err)
			}
			e.sync(tn)
		}, true},
		{"signage settings push", func(t *testing.T) {
			if _, err := e.svc.UpdateSettings(e.ctx, tn.actor, []string{id(zids[1])}, rooms.Settings{Muted: &muted}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"signage deactivation", func(t *testing.T) {
			if _, err := e.svc.Deactivate(e.ctx, tn.actor, []string{id(zids[2])}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"connection credentials update", func(t *testing.T) {
			if _, err := e.conns.UpdateServerAppCredentials(e.ctx, admin, tn.connID, connections.ServerAppCredentials{
				ClientID: tn.seed.Server.ClientID, ClientSecret: tn.seed.Server.ClientSecret}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"connection status change (the token store's reauth flip)", func(t *testing.T) {
			// The token store itself meets invalid_grant (no secret is
			// opened or sealed, so it needs no sealer).
			_, err := connections.NewTokenStore(e.db, nil).WithLockedConnection(e.ctx, zoom.ConnectionRef{ID: tn.connID, TenantID: tn.id},
				func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) {
					return nil, zoom.ErrReauthorizationRequired
				})
			if !errors.Is(err, zoom.ErrReauthorizationRequired) {
				t.Fatal(err)
			}
		}, true},
		{"disconnect cleanup", func(t *testing.T) {
			if _, err := e.db.Exec(e.ctx, `UPDATE zoom_connections SET status = 'ACTIVE', status_reason = NULL WHERE id = $1`, tn.connID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.conns.Disconnect(e.ctx, admin, tn.connID); err != nil {
				t.Fatal(err)
			}
			if err := e.conns.RunCleanup(e.ctx, tn.id, tn.connID); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	otherPage := page(otherCached)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := page(cached)
			if again := page(cached); again != before {
				t.Fatal("two pages with no change in between differ")
			}
			v, ov := version(tn.id), version(other.id)
			s.write(t)
			if got := version(tn.id); got <= v {
				t.Fatalf("data version %d after the write, %d before", got, v)
			}
			if got := version(other.id); got != ov {
				t.Fatalf("the other tenant's version moved from %d to %d", ov, got)
			}
			// Another replica's write reaches this one's versions by
			// NOTIFY: wait for it (tests of the listener itself are below).
			cached.caughtUp(t, e, tn.id)
			after, want := page(cached), page(fresh)
			if after != want {
				t.Fatalf("cached page after the write:\n%s\nwant (uncached):\n%s", after, want)
			}
			if s.visible && after == before {
				t.Fatalf("the page did not change: %s", after)
			}
			if got := page(otherCached); got != otherPage {
				t.Fatalf("the other tenant's page changed")
			}
		})
	}
	if last := page(cached); bytes.Contains([]byte(last), []byte(`"id"`)) {
		t.Fatalf("rooms still listed after the disconnect: %s", last)
	}
}

// A write that changes nothing (a resync) leaves the version, and so the
// cached page, alone; tenants with the same query never share an entry.
func TestRoomsCacheKeepsEntriesAcrossNoOpWritesAndTenants(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.connect("acme", 2, 0), e.connect("globex", 3, 0)
	e.sync(a)
	e.sync(b)
	v, err := e.svc.DataVersion(e.ctx, a.id)
	if err != nil {
		t.Fatal(err)
	}
	e.sync(a)
	if again, _ := e.svc.DataVersion(e.ctx, a.id); again != v {
		t.Fatalf("a resync with no change moved the version from %d to %d", v, again)
	}
	client := &http.Client{}
	count := func(g *gateway) int {
		var data struct{ Rooms struct{ TotalCount int } }
		if err := json.Unmarshal(g.post(t, client, cacheQuery, map[string]any{"first": 50}).Data, &data); err != nil {
			t.Fatal(err)
		}
		return data.Rooms.TotalCount
	}
	ga, gb := e.gateway(a), e.gateway(b)
	for range 2 {
		if n, m := count(ga), count(gb); n != 2 || m != 3 {
			t.Fatalf("acme sees %d rooms, globex %d", n, m)
		}
	}
}

// Operations that select anything the data version does not cover (a
// connection's sync runs, other root fields) are never served from the
// cache: the second identical request still runs its statements.
func TestRoomsCacheSkipsOperationsItCannotVouchFor(t *testing.T) {
	counter := &statements{}
	e := newEnv(t, envOptions{tracer: counter})
	tn := e.connect("acme", 2, 1)
	e.sync(tn)
	g := e.gateway(tn)
	client := &http.Client{}
	for _, q := range []string{
		`{rooms(first: 10){edges{node{id connection{id lastSync{id state}}}}}}`,
		`{rooms(first: 10){totalCount} licenseUsage{total used}}`,
		`{rooms(first: 10){edges{node{id ...on Room{connection{roomCount}}}}}}`,
	} {
		g.post(t, client, q, nil)
		before := counter.n.Load()
		g.post(t, client, q, nil)
		if n := counter.n.Load() - before; n < 2 {
			t.Errorf("%s: %d statements on the second request; served from the cache", q, n)
		}
	}
	q := `{rooms(first: 10){edges{node{id name}}}}`
	g.post(t, client, q, nil)
	before := counter.n.Load()
	g.post(t, client, q, nil)
	if n := counter.n.Load() - before; n != 0 {
		t.Errorf("a cacheable page cost %d statements on its second request, want 0 (a hit, its version from memory)", n)
	}
}

// versionsGateway is a cached gateway whose listener reconnects after
// retry, and the page query of the listener tests.
func versionsGateway(t *testing.T, e *env, tn tenant, retry time.Duration) (*gateway, func(*gateway) string) {
	g := e.newGateway(tn, cachePostgres)
	g.versions.RetryAfter = retry
	startListener(t, g.versions)
	client := &http.Client{}
	return g, func(g *gateway) string {
		return string(g.post(t, client, cacheQuery, map[string]any{"first": 50}).Data)
	}
}

// A write on another replica (here: straight to Postgres) reaches the
// in-memory versions by NOTIFY alone: no version is read from Postgres
// while they catch up, and the cached page then equals the uncached one.
func TestDataVersionsFollowNotifications(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	e.sync(tn)
	cached, page := versionsGateway(t, e, tn, 0)
	fresh := e.uncachedGateway(tn)
	page(cached)
	fallbacks := cached.versions.Fallbacks()
	for range 3 {
		before := page(cached)
		touchRoom(t, e, tn.id)
		cached.caughtUp(t, e, tn.id)
		after := page(cached)
		if after == before || after != page(fresh) {
			t.Fatalf("cached page after a notified write:\n%s\nwant (uncached):\n%s", after, page(fresh))
		}
	}
	if n := cached.versions.Fallbacks(); n != fallbacks {
		t.Fatalf("%d versions read from Postgres while the listener was live", n-fallbacks)
	}
}

// While the listener is down (its connection killed, not yet replaced),
// every version is read from Postgres: a page reflects each write at once,
// with no notification to deliver it.
func TestDataVersionsFallBackWhileTheListenerIsDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	e.sync(tn)
	cached, page := versionsGateway(t, e, tn, time.Hour)
	fresh := e.uncachedGateway(tn)
	page(cached)
	killListener(t, e, cached)
	waitUntil(t, "the listener knows it is down", func() bool { return !cached.versions.Live() })
	fallbacks := cached.versions.Fallbacks()
	for range 3 {
		before := page(cached)
		touchRoom(t, e, tn.id)
		after := page(cached)
		if after == before || after != page(fresh) {
			t.Fatalf("cached page after a write with the listener down:\n%s\nwant (uncached):\n%s", after, page(fresh))
		}
	}
	if cached.versions.Fallbacks() == fallbacks || cached.versions.Live() {
		t.Fatal("versions were not read from Postgres while the listener was down")
	}
}

// A write made while the listener's connection is gone (its notification
// lost with it) is never hidden by a cached page once a new listener is
// live: it re-reads every version after LISTEN, before memory is trusted.
func TestDataVersionsReconnectRereadsVersions(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	e.sync(tn)
	// The listener stays down long enough for the write to commit before
	// its replacement connects: a write that lands after the re-read comes
	// by notification instead, which is not what this test is about.
	cached, page := versionsGateway(t, e, tn, 300*time.Millisecond)
	fresh := e.uncachedGateway(tn)
	for range 3 {
		before := page(cached)
		pid := killListener(t, e, cached)
		touchRoom(t, e, tn.id)
		waitUntil(t, "a new listener is live", func() bool {
			p := cached.versions.ListenerPID()
			return p != 0 && p != pid && cached.versions.Live()
		})
		after := page(cached) // no waiting for a notification
		if after == before || after != page(fresh) {
			t.Fatalf("cached page after a write the listener missed:\n%s\nwant (uncached):\n%s", after, page(fresh))
		}
	}
}

// killListener terminates the listener's backend, as a failover or an
// operator would, and returns its pid.
func killListener(t *testing.T, e *env, g *gateway) uint32 {
	t.Helper()
	pid := g.versions.ListenerPID()
	if pid == 0 {
		t.Fatal("no listener connection")
	}
	var ok bool
	if err := e.db.QueryRow(e.ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating the listener's backend %d: %v %v", pid, ok, err)
	}
	return pid
}

// A mutation's own replica serves the page it changed right after the
// mutation returns, without waiting for its notification: the cache
// raises the tenant's version in memory from Postgres after a mutation.
func TestRoomsCacheReadsYourWritesAfterAMutation(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 3)
	e.sync(tn)
	id := e.room(tn, tn.seed.RoomIDs[0]).ID
	if _, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{}); err != nil {
		t.Fatal(err)
	}
	cached, page := versionsGateway(t, e, tn, 0)
	fresh := e.uncachedGateway(tn)
	client := &http.Client{}
	for _, muted := range []bool{true, false, true} {
		before := page(cached)
		cached.post(t, client, `mutation($ids: [ID!]!, $muted: Boolean){updateSignageSettings(roomIds: $ids, settings: {muted: $muted}){ok}}`,
			map[string]any{"ids": []string{id}, "muted": muted})
		want, err := e.svc.DataVersion(e.ctx, tn.id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cached.versions.DataVersion(e.ctx, tn.id); err != nil || got < want {
			t.Fatalf("version in memory right after the mutation: %d (%v), Postgres has %d", got, err, want)
		}
		if after := page(cached); after == before || after != page(fresh) {
			t.Fatalf("cached page after a mutation:\n%s\nwant (uncached):\n%s", after, page(fresh))
		}
	}
}
