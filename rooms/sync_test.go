package rooms_test

import (
	"testing"

	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/zoom/zoomsim"
)

func TestSyncMirrorsTheAccountAndAResyncWritesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 25, 5)
	evs := e.subscribe(tn, events.RoomStatusChanged, events.SyncProgress)

	run := e.sync(tn)
	if run.RoomsSeen != 25 || run.RoomsAdded != 25 || run.RoomsRemoved != 0 || run.ZoomCalls != 1 || run.RowsWritten == 0 {
		t.Fatalf("first sync = %+v", run)
	}
	got := until(t, evs, syncDone)
	if n := count(got, events.RoomStatusChanged); n != 25 {
		t.Fatalf("first sync published %d status events, want one per new room (25)", n)
	}
	simRooms, err := e.sim.Rooms(e.ctx, tn.seed.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	stored := e.rooms(tn)
	for _, sr := range simRooms {
		r, ok := stored[sr.ID]
		if !ok {
			t.Fatalf("room %s missing", sr.ID)
		}
		want := map[zoomsim.RoomStatus]string{zoomsim.StatusAvailable: rooms.StatusAvailable,
			zoomsim.StatusInMeeting: rooms.StatusInMeeting, zoomsim.StatusOffline: rooms.StatusOffline}[sr.Status]
		if r.Name != sr.Name || r.Status != want || r.ZoomDashboardID != sr.RoomID || r.Online != (want != rooms.StatusOffline) {
			t.Errorf("room %s = %+v, Zoom has %+v", sr.ID, r, sr)
		}
		wantHealth := rooms.HealthOK
		if want == rooms.StatusOffline {
			wantHealth = rooms.HealthCritical
		}
		if r.Health != wantHealth {
			t.Errorf("room %s (%s) health %s, want %s", sr.ID, r.Status, r.Health, wantHealth)
		}
	}

	again := e.sync(tn)
	if again.RowsWritten != 0 || again.RoomsAdded != 0 || again.StatusChanges != 0 {
		t.Fatalf("a resync with no change wrote %d rows: %+v", again.RowsWritten, again)
	}
	if n := count(until(t, evs, syncDone), events.RoomStatusChanged); n != 0 {
		t.Fatalf("a resync with no change published %d status events", n)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'SUCCEEDED'`, tn.connID); n != 2 {
		t.Fatalf("%d succeeded runs recorded, want 2", n)
	}
}

func TestStatusFlipPublishesExactlyOneEvent(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 6, 0)
	e.sync(tn)
	evs := e.subscribe(tn, events.RoomStatusChanged, events.RoomHealthChanged, events.SyncProgress)

	target := tn.seed.RoomIDs[0] // Available (statuses cycle from Available)
	if err := e.sim.SetRoomStatus(e.ctx, target, zoomsim.StatusOffline); err != nil {
		t.Fatal(err)
	}
	run := e.sync(tn)
	if run.StatusChanges != 1 {
		t.Fatalf("status changes = %d, want 1", run.StatusChanges)
	}
	got := until(t, evs, syncDone)
	var status []*events.Event
	for _, ev := range got {
		if ev.Kind == events.RoomStatusChanged {
			status = append(status, ev)
		}
	}
	if len(status) != 1 {
		t.Fatalf("%d status events, want exactly 1", len(status))
	}
	ev := status[0]
	if ev.Room.ZoomRoomID != target || ev.PreviousStatus != rooms.StatusAvailable || ev.Room.Status != rooms.StatusOffline ||
		ev.Room.Online || ev.Room.Health != rooms.HealthCritical || ev.TenantID != tn.id || ev.ConnectionID != tn.connID {
		t.Fatalf("event = %+v room %+v", ev, ev.Room)
	}
	if n := count(got, events.RoomHealthChanged); n != 1 {
		t.Fatalf("%d health events, want 1 (OK -> CRITICAL)", n)
	}
	if r := e.room(tn, target); r.Status != rooms.StatusOffline || r.LastSeenAt == nil {
		t.Fatalf("stored room = %+v", r)
	}
}

func TestRoomsDeletedAndRenamedInZoom(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 5, 3)
	e.sync(tn)
	gone, renamed := tn.seed.RoomIDs[1], tn.seed.RoomIDs[2]
	goneRoom := e.room(tn, gone)
	res, err := e.svc.Activate(e.ctx, tn.actor, []string{goneRoom.ID}, rooms.Settings{})
	if err != nil || res[0].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	content := res[0].Assignment.ZoomContentID

	if err := e.sim.DeleteRoom(e.ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.RenameRoom(e.ctx, renamed, "Boardroom (renamed)"); err != nil {
		t.Fatal(err)
	}
	run := e.sync(tn)
	if run.RoomsSeen != 4 || run.RoomsRemoved != 1 || run.RoomsAdded != 0 || run.StatusChanges != 0 {
		t.Fatalf("run = %+v", run)
	}
	stored := e.rooms(tn)
	if _, ok := stored[gone]; ok {
		t.Fatal("the deleted room is still in the inventory")
	}
	if got := stored[renamed].Name; got != "Boardroom (renamed)" {
		t.Fatalf("renamed room is called %q", got)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
		t.Fatalf("licenses_used = %d after the activated room was deleted, want 0", used)
	}
	for _, id := range e.sim.LibraryContents(tn.seed.AccountID) {
		if id == content {
			t.Fatal("the deleted room's library item was left in Zoom")
		}
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'signage.deactivate' AND actor = 'system:sync'`, tn.id); n != 1 {
		t.Fatalf("%d audit events for the released license, want 1", n)
	}
}

// A 429 storm: first Zoom throttles every page of a 3-page listing (the
// client honours Retry-After and the run finishes later), then refuses
// for longer than the client retries (the run fails and writes nothing;
// the next one finishes). Nothing is lost or duplicated.
func TestRateLimitStormDuringSync(t *testing.T) {
	e := newEnv(t, envOptions{zoomLimits: true})
	tn := e.connect("acme", 650, 0)
	evs := e.subscribe(tn, events.RoomStatusChanged, events.SyncProgress)

	if _, err := e.sim.AddFault(e.ctx, zoomsim.Fault{Route: zoomsim.RouteListRooms, Status: 429, Count: 20}); err != nil {
		t.Fatal(err)
	}
	failed, err := e.svc.Sync(e.ctx, tn.id, tn.connID, "periodic")
	if err == nil || failed.State != rooms.SyncFailed || failed.Error == "" {
		t.Fatalf("sync during the storm: %v, %+v", err, failed)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM rooms WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Fatalf("a failed sync wrote %d rooms", n)
	}
	if err := e.sim.ClearFaults(e.ctx); err != nil {
		t.Fatal(err)
	}
	// Zoom's own per-second limit now throttles the pages (Medium 1/s).
	if err := e.sim.SetLimits(e.ctx, tn.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 1}}); err != nil {
		t.Fatal(err)
	}
	run := e.sync(tn)
	if run.RoomsSeen != 650 || run.RoomsAdded != 650 || run.ZoomCalls != 3 {
		t.Fatalf("run after the storm = %+v", run)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM rooms WHERE tenant_id = $1`, tn.id); n != 650 {
		t.Fatalf("%d rooms stored, want 650", n)
	}
	got := until(t, evs, func(ev *events.Event) bool { return syncDone(ev) && ev.Sync.State == rooms.SyncSucceeded })
	seen := map[string]int{}
	for _, ev := range got {
		if ev.Kind == events.RoomStatusChanged {
			seen[ev.Room.ZoomRoomID]++
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("room %s announced %d times", id, n)
		}
	}
	if len(seen) != 650 {
		t.Fatalf("%d rooms announced, want 650", len(seen))
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'FAILED' AND error IS NOT NULL`, tn.connID); n != 1 {
		t.Fatalf("%d failed runs recorded, want 1", n)
	}
}
