package rooms_test

import (
	"strings"
	"testing"
	"time"

	"zoomsignage/rooms"
)

// An activation never reserves a license on a connection being
// disconnected: not once a disconnect is recorded (even with the
// connection's status not DISCONNECTING, as when the token store flipped
// it), and not while one is under way (the disconnect holds the connection row; the reservation waits
// for it, then sees DISCONNECTING). Either way nothing is written.
func TestActivationRefusedWhileTheConnectionIsDisconnecting(t *testing.T) {
	cases := []struct {
		name     string
		inFlight bool
	}{
		{"disconnect recorded", false},
		{"disconnect under way", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tn := e.connect("acme", 1, 1)
			e.sync(tn)
			id := e.room(tn, tn.seed.RoomIDs[0]).ID
			const markDisconnecting = `UPDATE zoom_connections SET status = 'DISCONNECTING' WHERE id = $1`
			var res []rooms.Result
			var err error
			if !c.inFlight {
				if _, err := e.db.Exec(e.ctx, `INSERT INTO zoom_disconnects (connection_id, tenant_id, kind, zoom_account_id,
  reason, actor, previous_status) VALUES ($1, $2, 'SERVER_TO_SERVER', 'acct', 'disconnect', 'test', 'ACTIVE')`,
					tn.connID, tn.id); err != nil {
					t.Fatal(err)
				}
				res, err = e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
			} else {
				tx, terr := e.db.Begin(e.ctx)
				if terr != nil {
					t.Fatal(terr)
				}
				defer tx.Rollback(e.ctx)
				if _, err := tx.Exec(e.ctx, markDisconnecting, tn.connID); err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					res, err = e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
				}()
				waitForLockWaiter(t, e)
				if err := tx.Commit(e.ctx); err != nil {
					t.Fatal(err)
				}
				<-done
			}
			if err != nil || res[0].Err == nil || res[0].Assignment != nil {
				t.Fatalf("activate: %v %+v, want the room refused", err, res)
			}
			if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_assignments WHERE tenant_id = $1`, tn.id); n != 0 {
				t.Fatalf("%d assignments", n)
			}
			if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
				t.Fatalf("licenses_used = %d", used)
			}
		})
	}
}

// waitForLockWaiter returns once some statement of the test's database
// waits for a row lock (the reservation behind the held connection row).
func waitForLockWaiter(t *testing.T, e *env) {
	t.Helper()
	for range 2000 {
		n := scalar[int](t, e.db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no statement ever waited for the held lock")
}

// TestLicensesFollowAssignmentsHoweverTheyGo: licenses_used is derived from
// the assignments (issue 16), so a write path outside the signage code (a
// room deleted by hand, a connection row deleted, a cascade) cannot leave
// it wrong, and the limit still refuses an activation past it with
// LICENSE_LIMIT_REACHED and its usage.
func TestLicensesFollowAssignmentsHoweverTheyGo(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 2)
	e.sync(tn)
	rs := e.rooms(tn)
	ids := roomIDs(rs, tn.seed.RoomIDs...)
	used := func() int {
		return scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id)
	}
	res, err := e.svc.Activate(e.ctx, tn.actor, ids, rooms.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var refused []rooms.Result
	for _, r := range res {
		if r.Err != nil {
			refused = append(refused, r)
		}
	}
	if len(refused) != 1 || code(refused[0].Err) != "LICENSE_LIMIT_REACHED" {
		t.Fatalf("activating 3 rooms on 2 licenses: %+v, want one LICENSE_LIMIT_REACHED", res)
	}
	if !strings.Contains(refused[0].Err.Error(), "2 of 2 in use") {
		t.Fatalf("refusal %q does not give the usage", refused[0].Err)
	}
	if n := used(); n != 2 {
		t.Fatalf("licenses_used = %d after two activations, want 2", n)
	}
	activated := ""
	for _, r := range res {
		if r.Err == nil {
			activated = r.RoomID
			break
		}
	}
	if _, err := e.db.Exec(e.ctx, `DELETE FROM rooms WHERE id = $1`, activated); err != nil {
		t.Fatal(err)
	}
	if n := used(); n != 1 {
		t.Fatalf("licenses_used = %d after a room with signage was deleted, want 1", n)
	}
	if _, err := e.db.Exec(e.ctx, `DELETE FROM zoom_connections WHERE id = $1`, tn.connID); err != nil {
		t.Fatal(err)
	}
	if n := used(); n != 0 {
		t.Fatalf("licenses_used = %d after the connection was deleted, want 0", n)
	}
}
