package rooms_test

import (
	"strings"
	"testing"

	"zoomsignage/apierror"
	"zoomsignage/rooms"
)

// Deactivating while Zoom refuses the connection's authorization releases
// the license at once (syncs, which would finish the removal, are paused),
// tells the user the room may still show signage, and records the room;
// once the connection works again, a sync removes the signage from Zoom.
// A room already REMOVING (an earlier removal failed) ends the same way.
func TestDeactivationWhileTheConnectionNeedsReauthorization(t *testing.T) {
	for _, removing := range []bool{false, true} {
		name := "active room"
		if removing {
			name = "room left REMOVING"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tn := e.connect("acme", 1, 1)
			e.sync(tn)
			zid := tn.seed.RoomIDs[0]
			id := e.room(tn, zid).ID
			res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
			if err != nil || res[0].Err != nil {
				t.Fatalf("activate: %v %+v", err, res)
			}
			if removing {
				if _, err := e.db.Exec(e.ctx, `UPDATE signage_assignments SET state = 'REMOVING' WHERE room_id = $1`, id); err != nil {
					t.Fatal(err)
				}
			}
			setStatus := `UPDATE zoom_connections SET status = $2 WHERE id = $1`
			if _, err := e.db.Exec(e.ctx, setStatus, tn.connID, "REAUTH_REQUIRED"); err != nil {
				t.Fatal(err)
			}
			off, err := e.svc.Deactivate(e.ctx, tn.actor, []string{id})
			if err != nil || code(off[0].Err) != apierror.ZoomReauthRequired || off[0].Assignment != nil ||
				!strings.Contains(off[0].Err.Error(), "Zoom web portal") {
				t.Fatalf("deactivate: %v %+v", err, off)
			}
			if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
				t.Fatalf("licenses_used = %d", used)
			}
			if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_leftovers WHERE tenant_id = $1 AND zoom_room_id = $2`, tn.id, zid); n != 1 {
				t.Fatalf("%d leftovers", n)
			}
			if !e.signage(zid).Enable {
				t.Fatal("Zoom was called although the connection is not authorized")
			}

			if _, err := e.db.Exec(e.ctx, setStatus, tn.connID, "ACTIVE"); err != nil {
				t.Fatal(err)
			}
			e.sync(tn)
			if s := e.signage(zid); s.Enable || len(s.PlayList) != 0 {
				t.Fatalf("Zoom's settings after the sync = %+v", s)
			}
			if lib := e.sim.LibraryContents(tn.seed.AccountID); len(lib) != 0 {
				t.Fatalf("library items left: %v", lib)
			}
			if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_leftovers WHERE tenant_id = $1`, tn.id); n != 0 {
				t.Fatalf("%d leftovers remain", n)
			}
		})
	}
}
