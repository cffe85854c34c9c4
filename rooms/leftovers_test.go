package rooms_test

import (
	"slices"
	"testing"

	"zoomsignage/rooms"
	"zoomsignage/zoom/zoomsim"
)

// The library item of a room deleted in Zoom is deleted by the sync that
// sees the room gone; when Zoom fails that delete, the item is recorded and
// the next sync deletes it.
func TestFailedLibraryDeleteIsRetriedByTheNextSync(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 2, 1)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	res, err := e.svc.Activate(e.ctx, tn.actor, []string{e.room(tn, zid).ID}, rooms.Settings{})
	if err != nil || res[0].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	content := res[0].Assignment.ZoomContentID
	if err := e.sim.DeleteRoom(e.ctx, zid); err != nil {
		t.Fatal(err)
	}
	fault, err := e.sim.AddFault(e.ctx, zoomsim.Fault{Route: zoomsim.RouteDeleteContent, Status: 500})
	if err != nil {
		t.Fatal(err)
	}
	e.sync(tn)
	if !slices.Contains(e.sim.LibraryContents(tn.seed.AccountID), content) {
		t.Fatal("the item was deleted despite the fault")
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_leftovers WHERE tenant_id = $1 AND zoom_content_id = $2`, tn.id, content); n != 1 {
		t.Fatalf("%d leftovers recorded, want 1", n)
	}
	if err := e.sim.RemoveFault(e.ctx, fault); err != nil {
		t.Fatal(err)
	}
	e.sync(tn)
	if slices.Contains(e.sim.LibraryContents(tn.seed.AccountID), content) {
		t.Fatal("the next sync left the item in Zoom's library")
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_leftovers WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Fatalf("%d leftovers remain", n)
	}
}
