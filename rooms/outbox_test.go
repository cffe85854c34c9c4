package rooms_test

import (
	"testing"
	"time"

	"zoomsignage/events"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/rooms"
	"zoomsignage/zoom/zoomsim"
)

// TestStatusChangesCommittedWhileRedisIsDownAreDeliveredOnce is issue 11
// item 5: a sync that writes status changes while the events' Redis is
// down used to lose those events for good (the rooms were written, so later
// syncs saw no change). They now wait in the outbox and reach the
// subscriber exactly once when Redis is back.
func TestStatusChangesCommittedWhileRedisIsDownAreDeliveredOnce(t *testing.T) {
	srv := redistest.StartServer(t)
	e := newEnv(t, envOptions{eventsRedis: srv})
	tn := e.connect("acme", 8, 0)
	e.sync(tn)
	evs := e.subscribe(tn, events.RoomStatusChanged, events.SyncProgress)

	srv.Stop()
	for _, id := range tn.seed.RoomIDs {
		if err := e.sim.SetRoomStatus(e.ctx, id, zoomsim.StatusUnderConstruction); err != nil {
			t.Fatal(err)
		}
	}
	run, err := e.svc.Sync(e.ctx, tn.id, tn.connID, "manual") // not e.sync: nothing can be published now
	if err != nil || run.State != rooms.SyncSucceeded {
		t.Fatalf("sync while Redis is down: %v %+v", err, run)
	}
	if run.StatusChanges != len(tn.seed.RoomIDs) {
		t.Fatalf("status changes = %d, want %d", run.StatusChanges, len(tn.seed.RoomIDs))
	}
	time.Sleep(200 * time.Millisecond) // the relay tries, and fails, meanwhile
	srv.Start()

	got := until(t, evs, syncDone)
	// A later sync's end flushes any duplicate still on its way.
	e.sync(tn)
	got = append(got, until(t, evs, syncDone)...)
	perRoom := map[string]int{}
	for _, ev := range got {
		if ev.Kind == events.RoomStatusChanged {
			if ev.Room.Status != rooms.StatusUnderConstruction {
				t.Errorf("event for %s has status %s", ev.Room.ZoomRoomID, ev.Room.Status)
			}
			perRoom[ev.Room.ZoomRoomID]++
		}
	}
	for _, id := range tn.seed.RoomIDs {
		if perRoom[id] != 1 {
			t.Errorf("room %s: %d status events, want exactly 1", id, perRoom[id])
		}
	}
}
