package connections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
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
	// sqlLastSyncs is each connection's latest run.
	sqlLastSyncs = `SELECT DISTINCT ON (connection_id) id, connection_id, trigger, state, started_at, finished_at,
       rooms_seen, rooms_added, rooms_removed, status_changes, zoom_calls, COALESCE(error, '')
  FROM sync_runs
 WHERE tenant_id = $1 AND connection_id = ANY($2::uuid[])
 ORDER BY connection_id, started_at DESC, id DESC`
	// sqlCounts is each connection's last success and room counts.
	sqlCounts = `SELECT c.id::text,
  (SELECT max(finished_at) FROM sync_runs WHERE connection_id = c.id AND tenant_id = $1 AND state = 'SUCCEEDED'),
  (SELECT count(*) FROM rooms WHERE connection_id = c.id AND tenant_id = $1),
  (SELECT count(*) FROM signage_assignments WHERE connection_id = c.id AND tenant_id = $1)
  FROM unnest($2::uuid[]) AS c(id)
 ORDER BY c.id`
)

// Summary returns the connection's sync and room figures (zero values for
// unknown ids: the caller has already resolved the connection itself).
func (s *Service) Summary(ctx context.Context, tenantID, connectionID string) (Summary, error) {
	m, err := s.Summaries(ctx, tenantID, []string{connectionID})
	return m[connectionID], err
}

// Summaries returns the summaries of many connections of the tenant in two
// statements, whatever their number (a page of connections, each asking
// for its lastSync and counts, costs no more than one). Ids that are not
// UUIDs are left out.
func (s *Service) Summaries(ctx context.Context, tenantID string, connectionIDs []string) (map[string]Summary, error) {
	ids := validIDs(connectionIDs)
	out := make(map[string]Summary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, sqlCounts, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("connections.Summaries: %w", err)
	}
	var id string
	var sum Summary
	if _, err := pgx.ForEachRow(rows, []any{&id, &sum.LastSuccessfulSyncAt, &sum.RoomCount, &sum.ActivatedRoomCount}, func() error {
		out[id] = sum
		return nil
	}); err != nil {
		return nil, fmt.Errorf("connections.Summaries: %w", err)
	}
	rows, err = s.db.Query(ctx, sqlLastSyncs, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("connections.Summaries: %w", err)
	}
	var r SyncRun
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.ConnectionID, &r.Trigger, &r.State, &r.StartedAt, &r.FinishedAt,
		&r.RoomsSeen, &r.RoomsAdded, &r.RoomsRemoved, &r.StatusChanges, &r.ZoomCalls, &r.Error}, func() error {
		run := r
		sum := out[r.ConnectionID]
		sum.LastSync = &run
		out[r.ConnectionID] = sum
		return nil
	}); err != nil {
		return nil, fmt.Errorf("connections.Summaries: %w", err)
	}
	return out, nil
}

// validIDs keeps the ids that are UUIDs: Postgres would refuse the whole
// array for one that is not.
func validIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if uuid.Validate(id) == nil {
			out = append(out, id)
		}
	}
	return out
}
