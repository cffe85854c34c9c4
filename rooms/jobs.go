package rooms

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"zoomsignage/jobtime"
	"zoomsignage/syncjob"
	"zoomsignage/zoom"
)

const (
	triggerManual   = syncjob.TriggerManual
	triggerPeriodic = syncjob.TriggerPeriodic
)

// ScheduleTick is how often the scheduler looks for connections whose next
// sync is due. It bounds how late a periodic sync can start, not how often
// connections are synced.
const ScheduleTick = 5 * time.Second

// errNoRiver is returned when a job must be enqueued before the app handed
// the service its River client.
var errNoRiver = errors.New("rooms: no River client (Config.River)")

// SyncWorker works syncjob.Args: one sync of one connection. River's
// uniqueness on the connection id means one replica syncs a connection at a
// time.
type SyncWorker struct {
	river.WorkerDefaults[syncjob.Args]
	Service *Service
}

// Work implements river.Worker. A rate-limited sync is snoozed until Zoom
// allows calls again (a snooze does not use up an attempt); other failures
// are retried with River's backoff. Either way the run is recorded as
// failed and the next attempt is a new run.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[syncjob.Args]) error {
	a := job.Args
	trigger := a.Trigger
	if trigger == "" {
		trigger = triggerPeriodic
	}
	_, err := w.Service.Sync(ctx, a.TenantID, a.ConnectionID, trigger)
	switch {
	case err == nil:
		return w.Service.enqueueDevices(ctx, a.TenantID, a.ConnectionID)
	case errors.Is(err, ErrNotSyncable):
		return nil // disconnected or paused meanwhile: nothing to do
	case zoom.IsRateLimited(err):
		wait := 30 * time.Second
		if at, ok := zoom.RetryAt(err); ok {
			wait = max(time.Until(at), time.Second)
		}
		return river.JobSnooze(wait)
	}
	return err
}

// Timeout bounds one sync below the rescue horizon (jobtime): listing
// 10,000 rooms takes seconds, and a hung Zoom must not hold the
// connection's unique job, nor a dead replica keep it for long.
func (w *SyncWorker) Timeout(*river.Job[syncjob.Args]) time.Duration {
	return w.Service.cfg.Jobs.JobTimeout()
}

// NextRetry retries a sync whose replica died (or whose attempt timed out)
// at once, other failures with River's backoff.
func (w *SyncWorker) NextRetry(job *river.Job[syncjob.Args]) time.Time {
	return jobtime.NextRetry(job.JobRow, w.Timeout(job))
}

// ScheduleArgs is the periodic job that enqueues the syncs that are due.
type ScheduleArgs struct{}

// Kind implements river.JobArgs.
func (ScheduleArgs) Kind() string { return "rooms_schedule_syncs" }

// InsertOpts keeps at most one scheduler job waiting.
func (ScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// ScheduleWorker enqueues a periodic sync for every syncable connection
// whose last sync started at least one jittered interval ago. It runs on
// the leader replica only (a River periodic job); syncjob's uniqueness
// keeps a connection's syncs from piling up whatever happens.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *ScheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	_, err := w.Service.ScheduleDue(ctx)
	return err
}

// PeriodicJobs are the service's River periodic jobs: the sync scheduler
// and the pruning of old sync runs.
func (s *Service) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(min(ScheduleTick, s.cfg.SyncInterval)),
			func() (river.JobArgs, *river.InsertOpts) { return ScheduleArgs{}, nil },
			&river.PeriodicJobOpts{ID: "rooms_schedule_syncs", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PruneRunsArgs{}, nil },
			&river.PeriodicJobOpts{ID: "rooms_prune_sync_runs"}),
	}
}

// ScheduleDue enqueues the periodic syncs that are due and returns how many
// connections it asked for.
func (s *Service) ScheduleDue(ctx context.Context) (int, error) {
	c := s.cfg.River
	if c == nil {
		return 0, errNoRiver
	}
	conns, err := s.cfg.Connections.Syncable(ctx)
	if err != nil {
		return 0, fmt.Errorf("rooms.ScheduleDue: %w", err)
	}
	due, err := s.dueConnections(ctx, conns)
	if err != nil {
		return 0, err
	}
	for _, ref := range due {
		args := syncjob.Args{TenantID: ref.TenantID, ConnectionID: ref.ID, Trigger: triggerPeriodic}
		if _, err := c.Insert(ctx, args, nil); err != nil {
			return 0, fmt.Errorf("rooms.ScheduleDue: %w", err)
		}
	}
	return len(due), nil
}

// dueConnections keeps the connections whose next sync time has come: the
// start of their last run plus the interval, jittered by ±10% with a value
// fixed per (connection, run) so every tick and replica agrees on it.
func (s *Service) dueConnections(ctx context.Context, conns []ConnectionRef) ([]ConnectionRef, error) {
	if len(conns) == 0 {
		return nil, nil
	}
	ids := make([]string, len(conns))
	for i, c := range conns {
		ids[i] = c.ID
	}
	rows, err := s.db.Query(ctx, sqlLastRuns, ids)
	if err != nil {
		return nil, fmt.Errorf("rooms.dueConnections: %w", err)
	}
	type last struct {
		runID   *string
		started *time.Time
	}
	lastByConn := make(map[string]last, len(conns))
	var connID string
	var l last
	_, err = pgx.ForEachRow(rows, []any{&connID, &l.runID, &l.started}, func() error {
		lastByConn[connID] = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rooms.dueConnections: %w", err)
	}
	now := s.cfg.Now()
	var due []ConnectionRef
	for _, c := range conns {
		l := lastByConn[c.ID]
		if l.started == nil || !now.Before(l.started.Add(s.jitteredInterval(c.ID, *l.runID))) {
			due = append(due, c)
		}
	}
	return due, nil
}

// jitteredInterval is the interval scaled by a factor in [0.9, 1.1) derived
// from the connection and its last run.
func (s *Service) jitteredInterval(connectionID, runID string) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(connectionID))
	h.Write([]byte(runID))
	f := 0.9 + 0.2*float64(h.Sum64()%10_000)/10_000
	return time.Duration(float64(s.cfg.SyncInterval) * f)
}

// PruneRunsArgs is the periodic job that forgets old sync runs.
type PruneRunsArgs struct{}

// Kind implements river.JobArgs.
func (PruneRunsArgs) Kind() string { return "rooms_prune_sync_runs" }

// RunRetention is how long finished sync runs are kept (a connection's
// latest successful run is always kept).
const RunRetention = 7 * 24 * time.Hour

// PruneRunsWorker deletes sync runs older than RunRetention.
type PruneRunsWorker struct {
	river.WorkerDefaults[PruneRunsArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *PruneRunsWorker) Work(ctx context.Context, _ *river.Job[PruneRunsArgs]) error {
	if _, err := w.Service.db.Exec(ctx, sqlPruneRuns, w.Service.cfg.Now().Add(-RunRetention)); err != nil {
		return fmt.Errorf("rooms.PruneRunsWorker: %w", err)
	}
	return nil
}

// Register adds the service's workers to River.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &SyncWorker{Service: s})
	river.AddWorker(workers, &ScheduleWorker{Service: s})
	river.AddWorker(workers, &DevicesWorker{Service: s})
	river.AddWorker(workers, &PruneRunsWorker{Service: s})
	river.AddWorker(workers, &HealthEventWorker{Service: s})
}
