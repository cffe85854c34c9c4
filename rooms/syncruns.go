package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"zoomsignage/apierror"
	"zoomsignage/events"
	"zoomsignage/store"
	"zoomsignage/syncjob"
)

const syncRunColumns = `id, tenant_id, connection_id, trigger, state, started_at, finished_at, rooms_seen, rooms_added,
rooms_removed, status_changes, zoom_calls, coalesce(error, '')`

const (
	// sqlStartRun starts a run, or adopts the connection's running one (the
	// run "Sync now" created before the job started, or the run of an
	// attempt that crashed): there is at most one per connection. An
	// adopted run takes the job's trigger and starts now, so its duration
	// and trigger are this attempt's. The SELECT from zoom_connections
	// inserts nothing when the tenant does not own the connection: a job's
	// tenant id is not trusted.
	sqlStartRun = `INSERT INTO sync_runs (tenant_id, connection_id, trigger, state)
SELECT c.tenant_id, c.id, $3, 'RUNNING' FROM zoom_connections c WHERE c.id = $2 AND c.tenant_id = $1
ON CONFLICT (connection_id) WHERE state = 'RUNNING' DO UPDATE SET trigger = EXCLUDED.trigger, started_at = now()
RETURNING ` + syncRunColumns
	// sqlStartRunIfIdle starts a run unless one is running (then nothing is
	// returned and the running one is read instead).
	sqlStartRunIfIdle = `INSERT INTO sync_runs (tenant_id, connection_id, trigger, state)
SELECT c.tenant_id, c.id, $3, 'RUNNING' FROM zoom_connections c WHERE c.id = $2 AND c.tenant_id = $1
ON CONFLICT (connection_id) WHERE state = 'RUNNING' DO NOTHING
RETURNING ` + syncRunColumns
	// sqlLatestRun is the connection's latest run, whatever its state.
	sqlLatestRun = `SELECT ` + syncRunColumns + ` FROM sync_runs
WHERE tenant_id = $1 AND connection_id = $2 ORDER BY started_at DESC, id LIMIT 1`
	sqlRunningRun = `SELECT ` + syncRunColumns + ` FROM sync_runs
WHERE tenant_id = $1 AND connection_id = $2 AND state = 'RUNNING' ORDER BY started_at DESC LIMIT 1`
	sqlFinishRun = `UPDATE sync_runs SET state = $3, finished_at = now(), rooms_seen = $4, rooms_added = $5,
rooms_removed = $6, status_changes = $7, zoom_calls = zoom_calls + $8, error = nullif($9, '')
WHERE tenant_id = $1 AND id = $2
RETURNING ` + syncRunColumns
	sqlGetRun = `SELECT ` + syncRunColumns + ` FROM sync_runs WHERE tenant_id = $1 AND id = $2`
	// sqlLastRuns is the latest run of each connection, for the scheduler.
	sqlLastRuns = `SELECT c.id, last.id, last.started_at
FROM unnest($1::uuid[]) AS c(id)
LEFT JOIN LATERAL (
  SELECT r.id, r.started_at FROM sync_runs r WHERE r.connection_id = c.id ORDER BY r.started_at DESC LIMIT 1
) last ON true
ORDER BY c.id`
	// sqlPruneRuns forgets finished runs older than the retention, except
	// each connection's latest successful one ("last successful sync").
	sqlPruneRuns = `DELETE FROM sync_runs r
WHERE r.finished_at < $1
  AND r.id <> coalesce((SELECT s.id FROM sync_runs s WHERE s.connection_id = r.connection_id AND s.state = 'SUCCEEDED'
                        ORDER BY s.started_at DESC LIMIT 1), '00000000-0000-0000-0000-000000000000'::uuid)`
)

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func scanRun(row pgx.CollectableRow) (SyncRun, error) {
	var r SyncRun
	err := row.Scan(&r.ID, &r.TenantID, &r.ConnectionID, &r.Trigger, &r.State, &r.StartedAt, &r.FinishedAt,
		&r.RoomsSeen, &r.RoomsAdded, &r.RoomsRemoved, &r.StatusChanges, &r.ZoomCalls, &r.Error)
	return r, err
}

func oneRun(ctx context.Context, db queryer, sql string, args ...any) (SyncRun, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return SyncRun{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanRun)
}

// errNotOwned is a sync of a connection its tenant id does not own (a job
// whose arguments are wrong): nothing is written.
var errNotOwned = errors.New("rooms: the tenant does not own the connection")

// startRun records the start of a run (or adopts the running one).
func (s *Service) startRun(ctx context.Context, tenantID, connectionID, trigger string) (SyncRun, error) {
	var run SyncRun
	err := s.inTxEmit(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		var err error
		run, err = oneRun(ctx, tx, sqlStartRun, tenantID, connectionID, trigger)
		return []events.Event{s.syncEvent(run)}, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return SyncRun{}, fmt.Errorf("rooms.startRun: %w", errNotOwned)
	}
	if err != nil {
		return SyncRun{}, fmt.Errorf("rooms.startRun: %w", err)
	}
	return run, nil
}

// finishRun records a run's outcome: counts, calls and the error, if any.
func (s *Service) finishRun(ctx context.Context, run SyncRun, runErr error) (SyncRun, error) {
	// A run that succeeded may still tell the user something (a removal
	// it held back).
	state, msg := SyncSucceeded, run.Error
	if runErr != nil {
		state, msg = SyncFailed, runErrorMessage(runErr)
	}
	// The run is recorded even when the job's context is gone (a cancelled
	// or timed-out sync still says it failed).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var out SyncRun
	err := s.inTxEmit(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		var err error
		out, err = oneRun(ctx, tx, sqlFinishRun, run.TenantID, run.ID, state, run.RoomsSeen, run.RoomsAdded,
			run.RoomsRemoved, run.StatusChanges, run.ZoomCalls, msg)
		return []events.Event{s.syncEvent(out)}, err
	})
	if err != nil {
		return run, fmt.Errorf("rooms.finishRun: %w", err)
	}
	return out, nil
}

// runErrorMessage is what a failed run shows the user: the client-safe
// message of the error, never internals.
func runErrorMessage(err error) string {
	if ae, ok := apierror.As(zoomError(err)); ok && !errors.Is(err, errInternal) {
		return ae.Message
	}
	return "internal error while syncing; it will be retried"
}

// errInternal marks a sync failure on our side (Postgres), not Zoom's.
var errInternal = errors.New("rooms: internal sync error")

// RequestSync is "Sync now": it returns the connection's running sync, or
// starts one (the job that works it and a run row, in one transaction) and
// returns it. When River already holds the connection's job (one finishing
// its run, or one waiting after a rate-limit snooze or a failure), no run is
// recorded: that job would not adopt it for a long time, and it would show
// RUNNING meanwhile. The waiting job is made available now instead, and the
// latest run is returned.
func (s *Service) RequestSync(ctx context.Context, tenantID, connectionID string) (SyncRun, error) {
	if !store.IsUUID(connectionID) {
		return SyncRun{}, apierror.NotFoundf("connection %q not found", connectionID)
	}
	if err := s.cfg.Connections.Check(ctx, tenantID, connectionID); err != nil {
		return SyncRun{}, err
	}
	var run SyncRun
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		run, err = s.requestSyncTx(ctx, tx, tenantID, connectionID)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, s.syncEvent(run))
	})
	if err != nil {
		return SyncRun{}, fmt.Errorf("rooms.RequestSync: %w", err)
	}
	return run, nil
}

// requestSyncTx is RequestSync's work in its transaction.
func (s *Service) requestSyncTx(ctx context.Context, tx pgx.Tx, tenantID, connectionID string) (SyncRun, error) {
	run, err := oneRun(ctx, tx, sqlRunningRun, tenantID, connectionID)
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		return run, err
	}
	c := s.cfg.River
	if c == nil {
		return SyncRun{}, errNoRiver
	}
	res, err := c.InsertTx(ctx, tx, syncjob.Args{TenantID: tenantID, ConnectionID: connectionID, Trigger: triggerManual}, nil)
	if err != nil {
		return SyncRun{}, err
	}
	if res.UniqueSkippedAsDuplicate {
		if err := retryWaiting(ctx, c, tx, res.Job); err != nil {
			return SyncRun{}, err
		}
		run, err = oneRun(ctx, tx, sqlLatestRun, tenantID, connectionID)
		if !errors.Is(err, pgx.ErrNoRows) {
			return run, err
		}
		// No run at all yet: the waiting job adopts the one recorded below.
	}
	run, err = oneRun(ctx, tx, sqlStartRunIfIdle, tenantID, connectionID, triggerManual)
	if errors.Is(err, pgx.ErrNoRows) {
		return oneRun(ctx, tx, sqlRunningRun, tenantID, connectionID)
	}
	return run, err
}

// retryWaiting makes a sync job that waits (snoozed after a rate limit, or
// retryable after a failure) available now: the user asked for a sync.
func retryWaiting(ctx context.Context, c *river.Client[pgx.Tx], tx pgx.Tx, job *rivertype.JobRow) error {
	if job == nil || (job.State != rivertype.JobStateScheduled && job.State != rivertype.JobStateRetryable) {
		return nil
	}
	if _, err := c.JobRetryTx(ctx, tx, job.ID); err != nil {
		return fmt.Errorf("rooms.retryWaiting: %w", err)
	}
	return nil
}

// GetRun returns one run of the tenant.
func (s *Service) GetRun(ctx context.Context, tenantID, runID string) (SyncRun, error) {
	if !store.IsUUID(runID) {
		return SyncRun{}, apierror.NotFoundf("sync run %q not found", runID)
	}
	run, err := oneRun(ctx, s.db, sqlGetRun, tenantID, runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return SyncRun{}, apierror.NotFoundf("sync run %q not found", runID)
	}
	if err != nil {
		return SyncRun{}, fmt.Errorf("rooms.GetRun: %w", err)
	}
	return run, nil
}
