package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// SyncRun is a connection's sync run as the connection's summary shows it.
type SyncRun struct {
	ID            string
	ConnectionID  string
	Trigger       string
	State         string
	StartedAt     time.Time
	FinishedAt    *time.Time
	RoomsSeen     int
	RoomsAdded    int
	RoomsRemoved  int
	StatusChanges int
	ZoomCalls     int
	Error         string
}

// Summary is what the API shows about a connection besides its row: the
// last sync attempt, the last successful one, and its room counts.
type Summary struct {
	LastSync             *SyncRun
	LastSuccessfulSyncAt *time.Time
	RoomCount            int
	ActivatedRoomCount   int
}

const (
	sqlLastSync = `SELECT id, connection_id, trigger, state, started_at, finished_at, rooms_seen, rooms_added,
       rooms_removed, status_changes, zoom_calls, COALESCE(error, '')
  FROM sync_runs
 WHERE connection_id = $1 AND tenant_id = $2
 ORDER BY started_at DESC, id DESC
 LIMIT 1`
	sqlCounts = `SELECT
  (SELECT max(finished_at) FROM sync_runs WHERE connection_id = $1 AND tenant_id = $2 AND state = 'SUCCEEDED'),
  (SELECT count(*) FROM rooms WHERE connection_id = $1 AND tenant_id = $2),
  (SELECT count(*) FROM signage_assignments WHERE connection_id = $1 AND tenant_id = $2)`
)

// Summary returns the connection's sync and room figures (zero values for
// unknown ids: the caller has already resolved the connection itself).
func (s *Service) Summary(ctx context.Context, tenantID, connectionID string) (Summary, error) {
	var sum Summary
	var r SyncRun
	err := s.db.QueryRow(ctx, sqlLastSync, connectionID, tenantID).Scan(&r.ID, &r.ConnectionID, &r.Trigger, &r.State,
		&r.StartedAt, &r.FinishedAt, &r.RoomsSeen, &r.RoomsAdded, &r.RoomsRemoved, &r.StatusChanges, &r.ZoomCalls, &r.Error)
	switch {
	case err == nil:
		sum.LastSync = &r
	case !errors.Is(err, pgx.ErrNoRows):
		return sum, fmt.Errorf("connections.Summary: %w", err)
	}
	if err := s.db.QueryRow(ctx, sqlCounts, connectionID, tenantID).Scan(&sum.LastSuccessfulSyncAt, &sum.RoomCount, &sum.ActivatedRoomCount); err != nil {
		return sum, fmt.Errorf("connections.Summary: %w", err)
	}
	return sum, nil
}
