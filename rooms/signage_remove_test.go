package rooms_test

import (
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/rooms"
)

// A disconnect takes the signage off each room exactly as a deactivation
// does: signage off, our content list gone from the room's play list (Zoom
// removes a deleted library item from the lists that reference it but
// leaves the list itself, taking one of the room's two slots), and the
// library item deleted.
func TestDisconnectRemovesSignageLikeADeactivation(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 2, 2)
	e.sync(tn)
	ids := []string{e.room(tn, tn.seed.RoomIDs[0]).ID, e.room(tn, tn.seed.RoomIDs[1]).ID}
	res, err := e.svc.Activate(e.ctx, tn.actor, ids, rooms.Settings{})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	// One room deactivated first, the other left to the disconnect.
	if off, err := e.svc.Deactivate(e.ctx, tn.actor, ids[:1]); err != nil || off[0].Err != nil {
		t.Fatalf("deactivate: %v %+v", err, off)
	}
	p := &auth.Principal{TenantID: tn.id, Actor: tn.actor.Name, Scopes: auth.AllScopes, Kind: auth.KindUser}
	if _, err := e.conns.Disconnect(e.ctx, p, tn.connID); err != nil {
		t.Fatal(err)
	}
	if err := e.conns.RunCleanup(e.ctx, tn.id, tn.connID); err != nil {
		t.Fatal(err)
	}
	deactivated, disconnected := e.signage(tn.seed.RoomIDs[0]), e.signage(tn.seed.RoomIDs[1])
	if disconnected.Enable || len(disconnected.PlayList) != 0 {
		t.Errorf("after the disconnect the room's signage is %+v, want off with no content list", disconnected)
	}
	if deactivated.Enable != disconnected.Enable || len(deactivated.PlayList) != len(disconnected.PlayList) {
		t.Errorf("deactivated room %+v, disconnected room %+v: the removals differ", deactivated, disconnected)
	}
	if lib := e.sim.LibraryContents(tn.seed.AccountID); len(lib) != 0 {
		t.Errorf("library items left: %v", lib)
	}
}

// The push lease bounds both its claimants alike: a push and the
// disconnect cleanup both wait for a lease younger than the bound and
// both take over one older (its holder died).
func TestPushLeaseBoundsPushesAndTheCleanupAlike(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 1, 1)
	e.sync(tn)
	id := e.room(tn, tn.seed.RoomIDs[0]).ID
	if res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{}); err != nil || res[0].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	remover := rooms.NewSignageRemover(e.db)
	for _, c := range []struct {
		age  time.Duration
		free bool
	}{{rooms.PushLease - 10*time.Second, false}, {rooms.PushLease + 10*time.Second, true}} {
		lease := func() {
			t.Helper()
			if _, err := e.db.Exec(e.ctx, `UPDATE signage_assignments SET push_owner = 'push-1',
  push_started_at = now() - $2 * interval '1 second' WHERE room_id = $1`, id, c.age.Seconds()); err != nil {
				t.Fatal(err)
			}
		}
		lease()
		pushed, err := e.svc.ClaimForPush(e.ctx, tn.id, id)
		if err != nil {
			t.Fatal(err)
		}
		lease()
		_, got, err := remover.ClaimRoom(e.ctx, tn.id, tn.connID, id, "disconnect:"+tn.connID)
		if err != nil {
			t.Fatal(err)
		}
		if pushed != c.free || (got == connections.ClaimTaken) != c.free || (got == connections.ClaimHeld) == c.free {
			t.Errorf("lease %s old: push took it %v, cleanup's claim %v; want taken = %v", c.age, pushed, got, c.free)
		}
	}
}
