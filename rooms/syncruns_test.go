package rooms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"zoomsignage/rooms"
	"zoomsignage/syncjob"
	"zoomsignage/zoom/zoomsim"
)

// "Sync now" while River already holds the connection's job (waiting after
// a snooze or a failure) must not record a run that job would adopt only
// much later: it returns the latest run and makes the job available now.
// With no run recorded yet, the run it records is the one the job adopts.
func TestSyncNowWhileTheJobWaits(t *testing.T) {
	tests := []struct {
		name      string
		state     string // the waiting job's state
		syncFirst bool   // a run exists before "Sync now"
	}{
		{"snoozed after a rate limit", "scheduled", true},
		{"retryable after a failure", "retryable", true},
		{"waiting before the first run", "scheduled", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tn := e.connect("acme", 3, 0)
			var last rooms.SyncRun
			if tc.syncFirst {
				last = e.sync(tn)
			}
			// The connect job becomes the waiting one: due in an hour.
			if _, err := e.db.Exec(e.ctx, `UPDATE river_job SET state = $2, scheduled_at = now() + interval '1 hour'
WHERE kind = $1 AND args->>'connection_id' = $3`, syncjob.Kind, tc.state, tn.connID); err != nil {
				t.Fatal(err)
			}
			run, err := e.svc.RequestSync(e.ctx, tn.id, tn.connID)
			if err != nil {
				t.Fatalf("sync now: %v", err)
			}
			running := scalar[int](t, e.db, `SELECT count(*) FROM sync_runs WHERE connection_id = $1 AND state = 'RUNNING'`, tn.connID)
			if tc.syncFirst && (run.ID != last.ID || running != 0) {
				t.Fatalf("sync now returned %+v with %d running runs; want the latest run %s and none running", run, running, last.ID)
			}
			if !tc.syncFirst && (run.State != rooms.SyncRunning || running != 1) {
				t.Fatalf("sync now with no run yet returned %+v, %d running", run, running)
			}
			jobs := scalar[int](t, e.db, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'connection_id' = $2`, syncjob.Kind, tn.connID)
			ready := scalar[bool](t, e.db, `SELECT bool_and(state = 'available' AND scheduled_at <= now()) FROM river_job
WHERE kind = $1 AND args->>'connection_id' = $2`, syncjob.Kind, tn.connID)
			if jobs != 1 || !ready {
				t.Fatalf("%d sync jobs (all available now: %v), want the waiting one made available", jobs, ready)
			}
			if !tc.syncFirst {
				if done := e.sync(tn); done.ID != run.ID {
					t.Fatalf("the job's run %s is not the recorded one %s", done.ID, run.ID)
				}
			}
		})
	}
}

// "Sync now" with no job and no run records a run and the job that works it.
func TestSyncNowWhenIdleQueuesAJob(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	last := e.sync(tn)
	if _, err := e.db.Exec(e.ctx, `DELETE FROM river_job WHERE kind = $1`, syncjob.Kind); err != nil {
		t.Fatal(err)
	}
	run, err := e.svc.RequestSync(e.ctx, tn.id, tn.connID)
	if err != nil || run.ID == last.ID || run.State != rooms.SyncRunning || run.Trigger != "manual" {
		t.Fatalf("sync now: %v %+v", err, run)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM river_job WHERE kind = $1 AND args->>'connection_id' = $2`, syncjob.Kind, tn.connID); n != 1 {
		t.Fatalf("%d sync jobs queued, want 1", n)
	}
}

// A sync job whose tenant id does not own the connection does nothing.
func TestSyncJobOfAnotherTenantDoesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	mine, theirs := e.connect("acme", 3, 0), e.connect("globex", 2, 0)
	for _, tenantID := range []string{theirs.id, "not-a-uuid"} {
		_, err := e.svc.Sync(e.ctx, tenantID, mine.connID, "periodic")
		if !errors.Is(err, rooms.ErrNotSyncable) {
			t.Fatalf("sync as tenant %q: %v, want ErrNotSyncable", tenantID, err)
		}
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM sync_runs WHERE connection_id = $1`, mine.connID); n != 0 {
		t.Fatalf("%d runs recorded for a sync the tenant may not run", n)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM rooms`); n != 0 {
		t.Fatalf("%d rooms written", n)
	}
	w := &rooms.SyncWorker{Service: e.svc}
	job := &river.Job[syncjob.Args]{Args: syncjob.Args{TenantID: theirs.id, ConnectionID: mine.connID}}
	if err := w.Work(e.ctx, job); err != nil {
		t.Fatalf("worker: %v, want the job dropped", err)
	}
}

// A crashed attempt's RUNNING run is adopted with the new attempt's trigger
// and start; a failed sync's error names Sync.
func TestAdoptedRunRestartsAndFailuresNameSync(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	var crashed string
	if err := e.db.QueryRow(e.ctx, `INSERT INTO sync_runs (tenant_id, connection_id, trigger, state, started_at)
VALUES ($1, $2, 'periodic', 'RUNNING', now() - interval '1 hour') RETURNING id`, tn.id, tn.connID).Scan(&crashed); err != nil {
		t.Fatal(err)
	}
	before := scalar[time.Time](t, e.db, `SELECT now() - interval '1 minute'`)
	run := e.sync(tn)
	if run.ID != crashed || run.Trigger != "manual" || run.StartedAt.Before(before) {
		t.Fatalf("adopted run = %+v, want %s restarted after %v with trigger manual", run, crashed, before)
	}

	if _, err := e.sim.AddFault(e.ctx, zoomsim.Fault{Route: zoomsim.RouteListRooms, Status: 500, Count: 100}); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Sync(e.ctx, tn.id, tn.connID, "manual")
	if err == nil || !strings.HasPrefix(err.Error(), "rooms.Sync: ") {
		t.Fatalf("failed sync error = %v, want it wrapped by rooms.Sync", err)
	}
}
