package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zoomsignage/syncjob"
)

// syncWaitSnooze is how long a cleanup waits before looking again at a sync
// that is still running.
const syncWaitSnooze = 2 * time.Second

// errSyncRunning says the connection's sync or device refresh has not
// stopped yet; the cleanup worker snoozes on it.
var errSyncRunning = errors.New("a sync of the connection is still running")

// sqlSyncBusy tells whether a sync or device refresh of the connection is
// running. River's job state is the one truth of that: a sync run recorded
// RUNNING is not, since a run is recorded before its job runs (a sync
// asked for with syncZoomConnection) and a job cancelled before it ran
// never finishes it; waiting for such a run held disconnects for 15
// minutes. A running job of a dead replica stays running until River
// rescues it (RIVER_RESCUE_AFTER), and is cancelled on the next look.
const sqlSyncBusy = `SELECT EXISTS (SELECT 1 FROM river_job
                       WHERE kind = ANY($1) AND args->>'connection_id' = $2 AND state = 'running')`

// stopSyncs cancels the connection's waiting and running syncs and device
// refreshes, and returns errSyncRunning while one of them still runs (a
// cancelled job stops at its next context check): the rooms must not be
// cleaned while a sync is writing them.
func (s *Service) stopSyncs(ctx context.Context, connectionID string) error {
	if rc := s.cfg.River; rc != nil {
		if _, err := syncjob.CancelForConnection(ctx, rc, s.db, connectionID); err != nil {
			return fmt.Errorf("stopSyncs: %w", err)
		}
	}
	var busy bool
	if err := s.db.QueryRow(ctx, sqlSyncBusy, syncjob.WritingKinds(), connectionID).Scan(&busy); err != nil {
		return fmt.Errorf("stopSyncs: %w", err)
	}
	if busy {
		return errSyncRunning
	}
	return nil
}
