package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"zoomsignage/screens"
)

const screenChangedQuery = `subscription($c: ID) { screenChanged(connectionId: $c) { change at room { id name } screen { url online lastSeenAt broadcast { id } } broadcast { id message } } }`

// screenEventMsg is one screenChanged payload.
type screenEventMsg struct {
	Data struct {
		ScreenChanged struct {
			Change string
			At     time.Time
			Room   struct{ ID, Name string }
			Screen *struct {
				URL        string
				Online     bool
				LastSeenAt *time.Time
				Broadcast  *struct{ ID string }
			}
			Broadcast *struct{ ID, Message string }
		}
	}
	Errors []json.RawMessage
}

// nextScreenEvent reads the next screenChanged event of subscription id.
func nextScreenEvent(t *testing.T, c *subClient, id string) screenEventMsg {
	t.Helper()
	m := c.read()
	if m.Type != "next" || m.ID != id {
		t.Fatalf("got %s %s %s, want a screen event on %s", m.Type, m.ID, m.Payload, id)
	}
	var out screenEventMsg
	if err := json.Unmarshal(m.Payload, &out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("screen event %s (%v)", m.Payload, err)
	}
	return out
}

// TestScreenChangedSubscription: a subscriber of screenChanged sees the
// player's first contact (ONLINE), its silence once the sweep notices
// (OFFLINE), its return, and broadcasts starting and ending on the room,
// a tenant-wide one as one event for the activated room; another tenant's
// subscriber gets none of it.
func TestScreenChangedSubscription(t *testing.T) {
	w := newScreenWorld(t)
	ctx := context.Background()
	other := w.zoomWorld.tenant("Other", 1)
	otherAdmin := userJWT(t, other, "admin", time.Hour)
	sweep := func() {
		t.Helper()
		if _, err := w.app.River.Insert(ctx, screens.SweepArgs{}, nil); err != nil {
			t.Fatal(err)
		}
	}

	var connID string
	if err := w.app.DB.QueryRow(ctx, `SELECT connection_id FROM rooms WHERE id = $1`, w.roomID).Scan(&connID); err != nil {
		t.Fatal(err)
	}
	elsewhere := insertConnection(t, w.gateway, w.tenant, "acct-elsewhere", "Elsewhere")
	viewer := userJWT(t, w.tenant, "viewer", time.Hour)
	all := dialSubscriptions(t, w.url, viewer)
	all.subscribe("all", screenChangedQuery, nil)
	mine := dialSubscriptions(t, w.url, viewer)
	mine.subscribe("mine", screenChangedQuery, map[string]any{"c": connID})
	// Another connection's subscriber, and another tenant's, get nothing.
	e := dialSubscriptions(t, w.url, viewer)
	e.subscribe("screens", screenChangedQuery, map[string]any{"c": elsewhere})
	e.subscribe("marker", roomStatusQuery, nil)
	o := dialSubscriptions(t, w.url, otherAdmin)
	o.subscribe("screens", screenChangedQuery, nil)
	o.subscribe("marker", roomStatusQuery, nil)
	waitSubscribers(t, w.app.Bus, w.tenant, 4)
	waitSubscribers(t, w.app.Bus, other, 2)
	// next reads the next event of the unfiltered subscription and checks
	// the connection's subscription got the same.
	next := func() screenEventMsg {
		t.Helper()
		a, b := nextScreenEvent(t, all, "all"), nextScreenEvent(t, mine, "mine")
		if a.Data.ScreenChanged.Change != b.Data.ScreenChanged.Change || a.Data.ScreenChanged.Room != b.Data.ScreenChanged.Room {
			t.Fatalf("the connection's subscriber got %+v, the tenant's %+v", b, a)
		}
		return a
	}

	// The player's first contact.
	if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
		t.Fatalf("program: %d", code)
	}
	ev := next().Data.ScreenChanged
	if ev.Change != "ONLINE" || ev.Room.ID != w.roomID || ev.Room.Name != w.roomName || ev.Screen == nil ||
		!ev.Screen.Online || ev.Screen.URL != w.screenURL || ev.Screen.LastSeenAt == nil || ev.Broadcast != nil {
		t.Fatalf("first contact: %+v", ev)
	}

	// Silent past the window (its last contact moved back): OFFLINE once
	// the sweep runs, as of the window's end; back online at the next call.
	if _, err := w.app.DB.Exec(ctx, `UPDATE screen_status SET last_seen_at = last_seen_at - interval '4 minutes' WHERE room_id = $1`, w.roomID); err != nil {
		t.Fatal(err)
	}
	sweep()
	ev = next().Data.ScreenChanged
	if ev.Change != "OFFLINE" || ev.Room.ID != w.roomID || ev.Screen == nil || ev.Screen.Online || ev.Screen.LastSeenAt == nil ||
		!ev.At.Equal(ev.Screen.LastSeenAt.Add(screens.OnlineWindow)) {
		t.Fatalf("after the silence: %+v", ev)
	}
	if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
		t.Fatalf("program: %d", code)
	}
	if ev = next().Data.ScreenChanged; ev.Change != "ONLINE" || !ev.Screen.Online {
		t.Fatalf("back: %+v", ev)
	}

	// A broadcast to the room, then one to every activated room (the
	// other room has no signage: one event).
	for _, target := range []map[string]any{{"roomIds": []string{w.roomID}}, nil} {
		in := map[string]any{"message": "Fire drill", "severity": "WARNING"}
		if target != nil {
			in["target"] = target
		}
		cast := id(t, w.post(w.admin, startBroadcast, map[string]any{"in": in}), "startBroadcast")
		ev = next().Data.ScreenChanged
		if ev.Change != "BROADCAST_STARTED" || ev.Room.ID != w.roomID || ev.Broadcast == nil || ev.Broadcast.ID != cast ||
			ev.Broadcast.Message != "Fire drill" || ev.Screen == nil || ev.Screen.Broadcast == nil || ev.Screen.Broadcast.ID != cast {
			t.Fatalf("broadcast started (target %v): %+v", target, ev)
		}
		if r := w.post(w.admin, `mutation($id: ID!){endBroadcast(id: $id){id}}`, map[string]any{"id": cast}); r.code() != "" {
			t.Fatalf("endBroadcast: %s", r.Raw)
		}
		ev = next().Data.ScreenChanged
		if ev.Change != "BROADCAST_ENDED" || ev.Room.ID != w.roomID || ev.Broadcast == nil || ev.Broadcast.ID != cast ||
			ev.Screen == nil || ev.Screen.Broadcast != nil {
			t.Fatalf("broadcast ended (target %v): %+v", target, ev)
		}
	}

	// The other connection's and the other tenant's subscribers saw none
	// of it: the first thing they get is the marker published after
	// everything above.
	if err := w.app.Bus.Publish(ctx, roomStatus(other, "c", "marker", "", "AVAILABLE"), roomStatus(w.tenant, "c", "marker", "", "AVAILABLE")); err != nil {
		t.Fatal(err)
	}
	for name, sub := range map[string]*subClient{"the other tenant": o, "the other connection": e} {
		if m := sub.read(); m.ID != "marker" {
			t.Fatalf("%s got %s %s %s", name, m.Type, m.ID, m.Payload)
		}
	}
}

// TestDarkScreenRoomHealth: a room whose signage is ACTIVE and whose
// screen is dark reports WARNING, with a roomHealthChanged event: a
// screen that never called within the online window after activation,
// then one that fell silent for the window after calling; it is OK again
// once the player calls, and once signage is deactivated.
func TestDarkScreenRoomHealth(t *testing.T) {
	w := newScreenWorld(t)
	ctx := context.Background()
	health := func() string {
		t.Helper()
		r := w.post(w.admin, `query($id: ID!){room(id: $id){health}}`, map[string]any{"id": w.roomID})
		if r.code() != "" {
			t.Fatalf("room: %s", r.Raw)
		}
		return r.Data["room"].(map[string]any)["health"].(string)
	}
	if h := health(); h != "OK" {
		t.Fatalf("health after activation = %s, want OK", h)
	}
	c := dialSubscriptions(t, w.url, w.admin)
	c.subscribe("health", `subscription { roomHealthChanged { health room { id health } } }`, nil)
	waitSubscribers(t, w.app.Bus, w.tenant, 1)
	expect := func(what, want string) {
		t.Helper()
		m := c.read()
		if m.Type != "next" || !strings.Contains(string(m.Payload), `"health":"`+want+`","room":{"id":"`+w.roomID+`","health":"`+want+`"}`) {
			t.Fatalf("%s: got %s %s, want health %s", what, m.Type, m.Payload, want)
		}
		if h := health(); h != want {
			t.Fatalf("%s: Room.health = %s, want %s", what, h, want)
		}
	}
	sweep := func() {
		t.Helper()
		if _, err := w.app.River.Insert(ctx, screens.SweepArgs{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := w.app.DB.Exec(ctx, sql, w.roomID); err != nil {
			t.Fatal(err)
		}
	}
	contact := func() {
		t.Helper()
		if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
			t.Fatalf("program: %d", code)
		}
	}

	// A sweep within the window after activation settles nothing.
	sweep()
	waitFor(t, "the sweep", func() bool {
		return w.count(t, `SELECT count(*) FROM river_job WHERE kind = 'screens_sweep' AND finalized_at IS NULL`) == 0
	})
	if h := health(); h != "OK" {
		t.Fatalf("health within the window = %s", h)
	}
	// Never called, activated over the window ago: dark.
	exec(`UPDATE signage_assignments SET activated_at = activated_at - interval '4 minutes' WHERE room_id = $1`)
	sweep()
	expect("never seen", "WARNING")
	contact()
	expect("first contact", "OK")

	// Silent past the window after calling: dark once the sweep notices.
	exec(`UPDATE screen_status SET last_seen_at = last_seen_at - interval '4 minutes' WHERE room_id = $1`)
	sweep()
	expect("silent", "WARNING")
	contact()
	expect("back", "OK")

	// Dark again, then deactivated: no signage, no dark screen.
	exec(`UPDATE screen_status SET last_seen_at = last_seen_at - interval '4 minutes' WHERE room_id = $1`)
	sweep()
	expect("silent again", "WARNING")
	if r := w.post(w.admin, `mutation($ids: [ID!]!){deactivateSignage(roomIds: $ids){ok}}`, map[string]any{"ids": []string{w.roomID}}); r.code() != "" {
		t.Fatalf("deactivate: %s", r.Raw)
	}
	expect("deactivated", "OK")
}
