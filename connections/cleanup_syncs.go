package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/syncjob"
)

// devicesJobKind is the rooms domain's device refresh job
// (rooms.DevicesArgs.Kind()); rooms imports connections, so the kind is
// named here rather than imported.
const devicesJobKind = "rooms_refresh_devices"

// syncRunStale is how old a RUNNING sync run may be and still count as
// running: a sync is cut off after 5 minutes (rooms.SyncWorker.Timeout), so
// an older one was left behind by a crash and must not hold a disconnect.
const syncRunStale = 15 * time.Minute

// syncWaitSnooze is how long a cleanup waits before looking again at a sync
// that is still running.
const syncWaitSnooze = 2 * time.Second

// errSyncRunning says the connection's sync or device refresh has not
// stopped yet; the cleanup worker snoozes on it.
var errSyncRunning = errors.New("a sync of the connection is still running")

const (
	sqlConnectionWorkJobs = `SELECT id FROM river_job
 WHERE kind = ANY($1) AND args->>'connection_id' = $2
   AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')
 ORDER BY id`
	sqlSyncBusy = `SELECT
  EXISTS (SELECT 1 FROM sync_runs
           WHERE connection_id = $1 AND tenant_id = $2 AND state = 'RUNNING' AND started_at > $3)
  OR EXISTS (SELECT 1 FROM river_job
              WHERE kind = ANY($4) AND args->>'connection_id' = $5 AND state = 'running')`
)

// syncKinds are the job kinds that write a connection's rooms.
func syncKinds() []string { return []string{syncjob.Kind, devicesJobKind} }

// stopSyncs cancels the connection's waiting and running syncs and device
// refreshes, and returns errSyncRunning while one of them still runs (a
// cancelled job stops at its next context check): the rooms must not be
// cleaned while a sync is writing them.
func (s *Service) stopSyncs(ctx context.Context, tenantID, connectionID string) error {
	if rc := s.riverClient(); rc != nil {
		if err := s.cancelSyncJobs(ctx, rc, connectionID); err != nil {
			return err
		}
	}
	var busy bool
	if err := s.db.QueryRow(ctx, sqlSyncBusy, connectionID, tenantID, s.now().Add(-syncRunStale), syncKinds(), connectionID).Scan(&busy); err != nil {
		return fmt.Errorf("stopSyncs: %w", err)
	}
	if busy {
		return errSyncRunning
	}
	return nil
}

// cancelSyncJobs cancels the connection's sync and device refresh jobs.
// The job table is River's; its args carry the connection id (the jobs'
// unique key), which is what scopes the query.
func (s *Service) cancelSyncJobs(ctx context.Context, rc *river.Client[pgx.Tx], connectionID string) error {
	rows, err := s.db.Query(ctx, sqlConnectionWorkJobs, syncKinds(), connectionID)
	if err != nil {
		return fmt.Errorf("cancelSyncJobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("cancelSyncJobs: %w", err)
	}
	for _, id := range ids {
		if _, err := rc.JobCancel(ctx, id); err != nil {
			return fmt.Errorf("cancelSyncJobs: job %d: %w", id, err)
		}
	}
	return nil
}
