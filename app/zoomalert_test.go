package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"zoomsignage/screens"
	"zoomsignage/zoom/zoomsim"
)

const startAlertBroadcast = `mutation($in: BroadcastInput!){startBroadcast(input: $in){id severity roomCount zoomAlertRooms zoomAlertError zoomAlertRemovalError}}`

const endAlertBroadcast = `mutation($id: ID!){endBroadcast(id: $id){id endedAt zoomAlertRooms zoomAlertError zoomAlertRemovalError}}`

// alertWorld is a tenant whose connection's first n rooms (of the
// simulator's three) have our signage active: their ids and Zoom ids.
type alertWorld struct {
	*zoomWorld
	tenant, admin, connID string
	roomIDs, zoomIDs      []string
}

// newAlertWorld connects app, created in the seeded account (the seeded
// Server-to-Server app when nil), and activates signage on n rooms through
// the API.
func newAlertWorld(t *testing.T, app *zoomsim.App, n int) *alertWorld {
	t.Helper()
	w := newZoomWorld(t, 3, nil)
	w.startJobs(t)
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	cred := w.seed.Server
	if app != nil {
		in := *app
		in.AccountID = w.seed.AccountID
		created, err := w.sim.CreateApp(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		cred = created
	}
	r := w.post(admin, connectS2S, s2sInput(w.seed.AccountID, cred))
	if r.code() != "" {
		t.Fatalf("connectZoomServerApp: %s", r.Raw)
	}
	connID := r.Data["connectZoomServerApp"].(map[string]any)["id"].(string)
	waitFor(t, "the first sync", func() bool {
		return w.count(t, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'SUCCEEDED'`, connID) > 0
	})
	aw := &alertWorld{zoomWorld: w, tenant: tenant, admin: admin, connID: connID}
	for _, room := range nodes(t, w.post(admin, roomsPage, map[string]any{"first": n})) {
		aw.roomIDs = append(aw.roomIDs, room["id"].(string))
		aw.zoomIDs = append(aw.zoomIDs, room["zoomRoomId"].(string))
	}
	act := w.post(admin, activate, map[string]any{"ids": aw.roomIDs})
	if act.code() != "" {
		t.Fatalf("activate: %s", act.Raw)
	}
	for _, res := range act.Data["activateSignage"].([]any) {
		if res.(map[string]any)["ok"] != true {
			t.Fatalf("activate: %s", act.Raw)
		}
	}
	slices.Sort(aw.zoomIDs)
	return aw
}

// alerted is the sorted Zoom ids of the simulator's rooms showing Zoom's
// emergency alert with text (any text when text is empty).
func (w *alertWorld) alerted(t *testing.T, text string) []string {
	t.Helper()
	m, err := w.sim.EmergencyAlerts(context.Background(), w.seed.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for id, got := range m {
		if text == "" || got == text {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (w *alertWorld) alertCalls() int { return w.sim.Calls(w.seed.AccountID)[zoomsim.RouteEmergency] }

// TestEmergencyBroadcastRaisesZoomAlert: an EMERGENCY broadcast to all
// rooms raises Zoom's own alert (PATCH /rooms/events on the real simulator,
// validated against rooms.json) in the activated rooms only, counted in
// zoomAlertRooms and audited; endBroadcast removes it. An INFO broadcast
// calls nothing, and an EMERGENCY one ending by endsAt loses its Zoom
// alert at the sweep.
func TestEmergencyBroadcastRaisesZoomAlert(t *testing.T) {
	w := newAlertWorld(t, nil, 2)
	ctx := context.Background()
	if c := w.connection(t, w.admin, w.connID); c["status"] != "ACTIVE" {
		t.Fatalf("a connection with every scope: %v", c)
	}

	info := w.post(w.admin, startAlertBroadcast, map[string]any{"in": map[string]any{"message": "Lunch is served", "severity": "INFO"}})
	infoID := id(t, info, "startBroadcast")
	if b := info.Data["startBroadcast"].(map[string]any); b["zoomAlertRooms"] != float64(0) || b["zoomAlertError"] != nil {
		t.Fatalf("INFO broadcast: %s", info.Raw)
	}
	if n := w.alertCalls(); n != 0 || len(w.alerted(t, "")) != 0 {
		t.Fatalf("an INFO broadcast called PATCH /rooms/events %d times", n)
	}
	if r := w.post(w.admin, endAlertBroadcast, map[string]any{"id": infoID}); r.code() != "" {
		t.Fatalf("end INFO: %s", r.Raw)
	}

	const msg = "Fire: leave the building by the stairs"
	started := w.post(w.admin, startAlertBroadcast, map[string]any{"in": map[string]any{"message": msg, "severity": "EMERGENCY"}})
	castID := id(t, started, "startBroadcast")
	if b := started.Data["startBroadcast"].(map[string]any); b["zoomAlertRooms"] != float64(2) || b["zoomAlertError"] != nil {
		t.Fatalf("EMERGENCY broadcast: %s", started.Raw)
	}
	if got := w.alerted(t, msg); !slices.Equal(got, w.zoomIDs) {
		t.Fatalf("Zoom alert shown in %v, want the activated rooms %v", got, w.zoomIDs)
	}
	if all := w.alerted(t, ""); len(all) != 2 {
		t.Fatalf("Zoom alert in %d rooms; the room without our signage must not get it", len(all))
	}
	r := w.post(w.admin, `query($id: ID!){node(id: $id){... on Broadcast{zoomAlertRooms zoomAlertError}}}`, map[string]any{"id": castID})
	if r.code() != "" || !strings.Contains(r.Raw, `"zoomAlertRooms":2,"zoomAlertError":null`) {
		t.Fatalf("broadcast query: %s", r.Raw)
	}

	ended := w.post(w.admin, endAlertBroadcast, map[string]any{"id": castID})
	if b, _ := ended.Data["endBroadcast"].(map[string]any); ended.code() != "" || b["endedAt"] == nil || b["zoomAlertRemovalError"] != nil {
		t.Fatalf("end: %s", ended.Raw)
	}
	if got := w.alerted(t, ""); len(got) != 0 {
		t.Fatalf("Zoom alert still shown in %v after the end", got)
	}
	if n := w.count(t, `SELECT count(*) FROM broadcast_zoom_alerts WHERE broadcast_id = $1`, castID); n != 0 {
		t.Fatalf("%d Zoom alerts still listed after the end", n)
	}
	actions := w.auditActions(t, w.tenant, castID)
	for _, want := range []string{"broadcast.start", "broadcast.zoom_alert_raised", "broadcast.end", "broadcast.zoom_alert_removed"} {
		if !slices.ContainsFunc(actions, func(a string) bool { return strings.HasSuffix(a, " "+want) && !strings.HasPrefix(a, " ") }) {
			t.Errorf("audit %v lacks %s with an actor", actions, want)
		}
	}

	// Ending by endsAt: the sweep announces the end, then removes the alert.
	endsAt := time.Now().Add(2 * time.Second)
	short := w.post(w.admin, startAlertBroadcast, map[string]any{"in": map[string]any{"message": "Shelter in place", "severity": "EMERGENCY",
		"target": map[string]any{"roomIds": []string{w.roomIDs[0]}}, "endsAt": endsAt.Format(time.RFC3339Nano)}})
	if b := short.Data["startBroadcast"].(map[string]any); short.code() != "" || b["zoomAlertRooms"] != float64(1) {
		t.Fatalf("targeted EMERGENCY broadcast: %s", short.Raw)
	}
	if got := w.alerted(t, "Shelter in place"); len(got) != 1 {
		t.Fatalf("targeted alert shown in %v, want one room", got)
	}
	time.Sleep(time.Until(endsAt) + 100*time.Millisecond)
	if _, err := w.app.River.Insert(ctx, screens.SweepArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sweep to remove the endsAt broadcast's Zoom alert", func() bool { return len(w.alerted(t, "")) == 0 })
}

// TestEmergencyBroadcastWithoutZoomPermission: a connection whose Zoom app
// lacks the optional emergency-alert scope says so (MISSING_SCOPE, the
// scope in missingScopes); its EMERGENCY broadcast still replaces the
// screens but calls nothing in Zoom and says why on the broadcast.
func TestEmergencyBroadcastWithoutZoomPermission(t *testing.T) {
	app := zoomsim.App{Kind: zoomsim.AppServer, Scopes: sortedScopes(zoomsim.EmergencyAlertScope)}
	w := newAlertWorld(t, &app, 1)
	c := w.connection(t, w.admin, w.connID)
	missing, _ := c["missingScopes"].([]any)
	if c["status"] != "MISSING_SCOPE" || !slices.Contains(missing, any(zoomsim.EmergencyAlertScope)) ||
		!strings.Contains(c["statusReason"].(string), "emergency alert") {
		t.Fatalf("connection without the emergency scope: %v", c)
	}
	started := w.post(w.admin, startAlertBroadcast, map[string]any{"in": map[string]any{"message": "Evacuate", "severity": "EMERGENCY"}})
	castID := id(t, started, "startBroadcast")
	b := started.Data["startBroadcast"].(map[string]any)
	if b["roomCount"] != float64(1) || b["zoomAlertRooms"] != float64(0) {
		t.Fatalf("broadcast: %s", started.Raw)
	}
	if e, _ := b["zoomAlertError"].(string); !strings.Contains(e, zoomsim.EmergencyAlertScope) || !strings.Contains(e, w.connID) {
		t.Fatalf("zoomAlertError = %v, want the connection and the missing permission named", b["zoomAlertError"])
	}
	if n := w.alertCalls(); n != 0 || len(w.alerted(t, "")) != 0 {
		t.Fatalf("PATCH /rooms/events called %d times without the permission", n)
	}
	if r := w.post(w.admin, endAlertBroadcast, map[string]any{"id": castID}); r.code() != "" || strings.Contains(r.Raw, `"zoomAlertRemovalError":"`) {
		t.Fatalf("end: %s", r.Raw)
	}
}

// TestRefusedZoomAlertRemovalIsRetriedWithBackoff: a removal Zoom refuses
// (the room was deleted in Zoom) stays listed with its error, and the
// sweep retries it at most once a minute and for a day after the end, so
// failing removals cannot fill every sweep and hold others back.
func TestRefusedZoomAlertRemovalIsRetriedWithBackoff(t *testing.T) {
	w := newAlertWorld(t, nil, 1)
	ctx := context.Background()
	started := w.post(w.admin, startAlertBroadcast, map[string]any{"in": map[string]any{"message": "Evacuate", "severity": "EMERGENCY"}})
	castID := id(t, started, "startBroadcast")
	if b := started.Data["startBroadcast"].(map[string]any); b["zoomAlertRooms"] != float64(1) {
		t.Fatalf("EMERGENCY broadcast: %s", started.Raw)
	}
	if err := w.sim.DeleteRoom(ctx, w.zoomIDs[0]); err != nil {
		t.Fatal(err)
	}
	ended := w.post(w.admin, endAlertBroadcast, map[string]any{"id": castID})
	if b, _ := ended.Data["endBroadcast"].(map[string]any); ended.code() != "" || b["zoomAlertRemovalError"] == nil {
		t.Fatalf("ending a broadcast whose alert Zoom cannot remove: %s", ended.Raw)
	}
	sweep := func(set string) int {
		t.Helper()
		if set != "" {
			if _, err := w.app.DB.Exec(ctx, `UPDATE broadcasts SET `+set+` WHERE id = $1`, castID); err != nil {
				t.Fatal(err)
			}
		}
		before := w.alertCalls()
		if _, err := w.app.Screens.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		return w.alertCalls() - before
	}
	if n := sweep(""); n != 0 {
		t.Errorf("a sweep right after the failed removal retried it (%d calls)", n)
	}
	if n := sweep(`zoom_alert_removal_tried_at = now() - interval '2 minutes'`); n < 1 {
		t.Errorf("a sweep a minute later did not retry the removal")
	}
	if n := sweep(`zoom_alert_removal_tried_at = now() - interval '2 minutes', ended_at = now() - interval '25 hours'`); n != 0 {
		t.Errorf("a removal a day past its broadcast's end was retried (%d calls)", n)
	}
	if n := w.count(t, `SELECT count(*) FROM broadcast_zoom_alerts WHERE broadcast_id = $1`, castID); n != 1 {
		t.Errorf("%d alerts listed; the one Zoom still shows must stay listed", n)
	}
}
