package rooms_test

import (
	"testing"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/rooms"
)

func TestListFiltersAndPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 7, 5)
	other := e.connect("globex", 3, 0)
	e.sync(tn)
	e.sync(other)
	ids := tn.seed.RoomIDs
	if err := e.sim.RenameRoom(e.ctx, ids[0], "Lobby_100% screen"); err != nil {
		t.Fatal(err)
	}
	e.sync(tn)
	if res, err := e.svc.Activate(e.ctx, tn.actor, []string{e.room(tn, ids[1]).ID}, rooms.Settings{}); err != nil || res[0].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	yes, no := true, false
	cases := []struct {
		name string
		f    rooms.Filter
		want int
	}{
		{"everything", rooms.Filter{}, 7},
		{"offline", rooms.Filter{Statuses: []string{rooms.StatusOffline}}, 2},
		{"available or in a meeting", rooms.Filter{Statuses: []string{rooms.StatusAvailable, rooms.StatusInMeeting}}, 5},
		{"online", rooms.Filter{Online: &yes}, 5},
		{"activated", rooms.Filter{Activated: &yes}, 1},
		{"not activated", rooms.Filter{Activated: &no}, 6},
		{"critical", rooms.Filter{Healths: []string{rooms.HealthCritical}}, 2},
		{"name, case-insensitive", rooms.Filter{NameContains: "LOBBY"}, 1},
		{"wildcards are literal", rooms.Filter{NameContains: "_100%"}, 1},
		{"a percent sign alone", rooms.Filter{NameContains: "%"}, 1},
		{"connection", rooms.Filter{ConnectionID: tn.connID}, 7},
		{"another tenant's connection", rooms.Filter{ConnectionID: other.connID}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := e.svc.List(e.ctx, tn.id, c.f, 50, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Rooms) != c.want || page.TotalCount != c.want || page.HasNext {
				t.Fatalf("%d rooms, total %d, want %d", len(page.Rooms), page.TotalCount, c.want)
			}
			for _, r := range page.Rooms {
				if r.TenantID != tn.id {
					t.Fatal("another tenant's room listed")
				}
			}
		})
	}

	// Pages of 3 walk all 7 rooms once, in name order.
	var seen []string
	after := ""
	for {
		page, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, 3, after, true)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 7 {
			t.Fatalf("total %d on a page", page.TotalCount)
		}
		for _, r := range page.Rooms {
			seen = append(seen, r.Name)
		}
		if !page.HasNext {
			break
		}
		after = rooms.Cursor(page.Rooms[len(page.Rooms)-1])
	}
	if len(seen) != 7 {
		t.Fatalf("walked %d rooms", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1] > seen[i] {
			t.Fatalf("not in name order: %v", seen)
		}
	}

	bad := []struct {
		name  string
		call  func() error
		field string
	}{
		{"first too large", func() error {
			_, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, rooms.MaxPageSize+1, "", false)
			return err
		}, "first"},
		{"negative first", func() error { _, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, -1, "", false); return err }, "first"},
		{"forged cursor", func() error {
			_, err := e.svc.List(e.ctx, tn.id, rooms.Filter{}, 5, "bm90IGEgY3Vyc29y", false)
			return err
		}, "after"},
		{"malformed connection id", func() error {
			_, err := e.svc.List(e.ctx, tn.id, rooms.Filter{ConnectionID: "x"}, 5, "", false)
			return err
		}, "connectionId"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			ae, ok := apierror.As(c.call())
			if !ok || ae.Code != apierror.BadUserInput || ae.Field != c.field {
				t.Fatalf("err = %v, want BAD_USER_INPUT on %s", ae, c.field)
			}
		})
	}
	for _, id := range []string{"nope", "00000000-0000-4000-8000-000000000000", e.room(other, other.seed.RoomIDs[0]).ID} {
		if _, err := e.svc.Get(e.ctx, tn.id, id); code(err) != apierror.NotFound {
			t.Fatalf("get %q: %v", id, err)
		}
	}
}

// The scheduler enqueues a periodic sync for connections whose jittered
// interval has passed since their last run, and for never-synced ones;
// syncjob's uniqueness keeps one waiting job per connection.
func TestScheduleDue(t *testing.T) {
	now := time.Now()
	e := newEnv(t, envOptions{syncInterval: time.Minute})
	fresh := e.connect("fresh", 1, 0)
	stale := e.connect("stale", 1, 0)
	never := e.connect("never", 1, 0)
	for _, tn := range []tenant{fresh, stale} {
		e.sync(tn)
	}
	// The connect flow queued a first sync for each; start from none.
	if _, err := e.db.Exec(e.ctx, `DELETE FROM river_job`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE sync_runs SET started_at = $2 WHERE connection_id = $1`, stale.connID, now.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		n, err := e.svc.ScheduleDue(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("round %d: %d connections due, want 2 (stale and never)", round, n)
		}
	}
	jobs := scalar[int](t, e.db, `SELECT count(*) FROM river_job WHERE kind = 'sync_connection'`)
	due := scalar[int](t, e.db, `SELECT count(*) FROM river_job WHERE kind = 'sync_connection' AND args->>'connection_id' IN ($1, $2) AND args->>'trigger' = 'periodic'`,
		stale.connID, never.connID)
	if jobs != 2 || due != 2 {
		t.Fatalf("%d sync jobs queued (%d for the due connections), want 2", jobs, due)
	}

	// "Sync now" while a sync runs returns that run instead of a new one.
	run, err := e.svc.RequestSync(e.ctx, fresh.id, fresh.connID)
	if err != nil || run.State != rooms.SyncRunning || run.Trigger != "manual" {
		t.Fatalf("sync now: %v %+v", err, run)
	}
	again, err := e.svc.RequestSync(e.ctx, fresh.id, fresh.connID)
	if err != nil || again.ID != run.ID {
		t.Fatalf("sync now twice: %v, %s then %s", err, run.ID, again.ID)
	}
	done := e.sync(fresh) // the worker adopts the requested run
	if done.ID != run.ID || done.Trigger != "manual" {
		t.Fatalf("the worker's run %+v is not the requested one %s", done, run.ID)
	}
}
