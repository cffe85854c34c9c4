package rooms_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/store"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

func alertPayload(accountID, zoomRoomID string, alertType, component, kind int, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"account_id":%q,"object":{"id":%q,"room_name":"Room","calendar_name":"c","email":"r@example.com",
"issue":"issue %d","alert_type":%d,"component":%d,"alert_kind":%d,"alert_time":%d}}`,
		accountID, zoomRoomID, alertType, alertType, component, kind, at.UnixMilli()))
}

// Health follows the latest state of each (component, alert type) and the
// room's devices; late deliveries never undo newer ones.
func TestHealthFromAlertsAndDevices(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 1, 0)
	other := e.connect("globex", 1, 0)
	e.sync(tn)
	e.sync(other)
	zid, acc := tn.seed.RoomIDs[0], tn.seed.AccountID
	id := e.room(tn, zid).ID
	evs := e.subscribe(tn, events.RoomHealthChanged)
	t0 := time.Now().Add(-time.Hour)

	steps := []struct {
		name    string
		payload json.RawMessage
		health  string
		events  int
	}{
		{"high CPU triggered", alertPayload(acc, zid, 4, 1, 1, t0), rooms.HealthWarning, 1},
		{"room offline alert", alertPayload(acc, zid, 3, 1, 1, t0.Add(time.Minute)), rooms.HealthCritical, 1},
		{"offline cleared", alertPayload(acc, zid, 3, 1, 2, t0.Add(2*time.Minute)), rooms.HealthWarning, 1},
		{"late copy of the offline trigger", alertPayload(acc, zid, 3, 1, 1, t0.Add(time.Minute)), rooms.HealthWarning, 0},
		{"observed kind changes nothing", alertPayload(acc, zid, 5, 1, 3, t0.Add(3*time.Minute)), rooms.HealthWarning, 0},
		{"CPU cleared", alertPayload(acc, zid, 4, 1, 2, t0.Add(4*time.Minute)), rooms.HealthOK, 1},
		{"unknown room is ignored", alertPayload(acc, "no-such-room", 4, 1, 1, t0), rooms.HealthOK, 0},
		{"another account's room is untouched", alertPayload(other.seed.AccountID, zid, 4, 1, 1, t0.Add(5*time.Minute)), rooms.HealthOK, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := e.svc.HandleAlert(e.ctx, s.payload); err != nil {
				t.Fatal(err)
			}
			if h := e.room(tn, zid).Health; h != s.health {
				t.Fatalf("health %s, want %s", h, s.health)
			}
			if s.events == 1 {
				ev := until(t, evs, func(*events.Event) bool { return true })[0]
				if ev.Room.ID != id || ev.Room.Health != s.health {
					t.Fatalf("event = %+v", ev.Room)
				}
			}
		})
	}
	alerts, err := e.svc.AlertsByRoom(e.ctx, tn.id, []string{id})
	if err != nil || len(alerts[id]) != 2 {
		t.Fatalf("alerts = %+v, %v (one row per component and type)", alerts, err)
	}
	for _, a := range alerts[id] {
		if a.State != rooms.AlertCleared || a.ClearedAt == nil {
			t.Fatalf("alert %+v not cleared", a)
		}
	}
	if _, err := e.svc.AlertsByRoom(e.ctx, other.id, []string{id}); err != nil {
		t.Fatal(err)
	} else if m, _ := e.svc.AlertsByRoom(e.ctx, other.id, []string{id}); len(m) != 0 {
		t.Fatal("another tenant reads the room's alerts")
	}

	// A device going offline is a warning.
	if n, err := e.svc.RefreshDevices(e.ctx, tn.id, tn.connID); err != nil || n != 1 {
		t.Fatalf("refresh: %d %v", n, err)
	}
	info, _ := e.sim.RoomInfo(e.ctx, zid)
	devices := info.Devices
	devices[0].Status = zoomsim.DeviceOffline
	if err := e.sim.SetRoomDevices(e.ctx, zid, devices); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RefreshDevices(e.ctx, tn.id, tn.connID); err != nil {
		t.Fatal(err)
	}
	if r := e.room(tn, zid); r.Health != rooms.HealthWarning || r.Type == "" {
		t.Fatalf("after a device went offline: %+v", r)
	}
	stored, _ := e.svc.DevicesByRoom(e.ctx, tn.id, []string{id})
	if len(stored[id]) != len(devices) {
		t.Fatalf("%d devices stored, Zoom has %d", len(stored[id]), len(devices))
	}
}

// A malformed zoomroom.alert is dropped (logged), never an error: an error
// answers the delivery with a 500 and Zoom retries it forever. Nothing is
// written.
func TestMalformedAlertsAreDropped(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 1, 0)
	e.sync(tn)
	zid, acc := tn.seed.RoomIDs[0], tn.seed.AccountID
	cases := []struct {
		name    string
		payload string
	}{
		{"not JSON", `{"object":`},
		{"an array", `[1,2]`},
		{"no account", fmt.Sprintf(`{"object":{"id":%q,"alert_type":3,"alert_kind":1}}`, zid)},
		{"no room", fmt.Sprintf(`{"account_id":%q,"object":{"alert_type":3,"alert_kind":1}}`, acc)},
		{"wrong types", fmt.Sprintf(`{"account_id":%q,"object":{"id":%q,"alert_type":"three","alert_kind":1}}`, acc, zid)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := e.svc.HandleAlert(e.ctx, json.RawMessage(c.payload)); err != nil {
				t.Fatalf("HandleAlert: %v", err)
			}
			err := store.InTx(e.ctx, e.db, func(tx pgx.Tx) error {
				return e.svc.AlertWebhookHandler(e.ctx, tx, &zoom.WebhookEvent{Event: rooms.EventAlert, Payload: json.RawMessage(c.payload)})
			})
			if err != nil {
				t.Fatalf("AlertWebhookHandler: %v", err)
			}
			if n := scalar[int](t, e.db, `SELECT count(*) FROM room_alerts`); n != 0 {
				t.Fatalf("%d alerts written", n)
			}
		})
	}
}
