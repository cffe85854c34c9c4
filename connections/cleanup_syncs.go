package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zoomsignage/syncjob"
)

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
	sqlSyncBusy = `SELECT
  EXISTS (SELECT 1 FROM sync_runs
           WHERE connection_id = $1 AND tenant_id = $2 AND state = 'RUNNING' AND started_at > $3)
  OR EXISTS (SELECT 1 FROM river_job
              WHERE kind = ANY($4) AND args->>'connection_id' = $5 AND state = 'running')`
)

// stopSyncs cancels the connection's waiting and running syncs and device
// refreshes, and returns errSyncRunning while one of them still runs (a
// cancelled job stops at its next context check): the rooms must not be
// cleaned while a sync is writing them.
func (s *Service) stopSyncs(ctx context.Context, tenantID, connectionID string) error {
	if rc := s.riverClient(); rc != nil {
		if _, err := syncjob.CancelForConnection(ctx, rc, s.db, connectionID); err != nil {
			return fmt.Errorf("stopSyncs: %w", err)
		}
	}
	var busy bool
	if err := s.db.QueryRow(ctx, sqlSyncBusy, connectionID, tenantID, s.now().Add(-syncRunStale), syncjob.WritingKinds(), connectionID).Scan(&busy); err != nil {
		return fmt.Errorf("stopSyncs: %w", err)
	}
	if busy {
		return errSyncRunning
	}
	return nil
}
