package rooms

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
)

// ConnectionSummary is what the API shows about a connection besides its
// row: its last sync attempt, its last success, and its room counts. Every
// figure is read from rooms' tables (sync_runs, rooms, signage_assignments),
// so rooms answers it, not connections.
type ConnectionSummary struct {
	LastSync             *SyncRun
	LastSuccessfulSyncAt *time.Time
	RoomCount            int
	ActivatedRoomCount   int
}

const (
	// sqlLastSyncs is each connection's latest run.
	sqlLastSyncs = `SELECT DISTINCT ON (connection_id) ` + syncRunColumns + `
  FROM sync_runs
 WHERE tenant_id = $1 AND connection_id = ANY($2::uuid[])
 ORDER BY connection_id, started_at DESC, id DESC`
	// sqlSummaryCounts is each connection's last success and room counts.
	sqlSummaryCounts = `SELECT c.id::text,
  (SELECT max(finished_at) FROM sync_runs WHERE connection_id = c.id AND tenant_id = $1 AND state = 'SUCCEEDED'),
  (SELECT count(*) FROM rooms WHERE connection_id = c.id AND tenant_id = $1),
  (SELECT count(*) FROM signage_assignments WHERE connection_id = c.id AND tenant_id = $1)
  FROM unnest($2::uuid[]) AS c(id)
 ORDER BY c.id`
)

// ConnectionSummaries returns the summaries of many connections of the
// tenant in two statements, whatever their number (a page of connections,
// each asking for its lastSync and counts, costs no more than one). Ids
// that are not UUIDs are left out; unknown ones get zero values.
func (s *Service) ConnectionSummaries(ctx context.Context, tenantID string, connectionIDs []string) (map[string]ConnectionSummary, error) {
	ids := store.UUIDs(connectionIDs)
	out := make(map[string]ConnectionSummary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, sqlSummaryCounts, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("rooms.ConnectionSummaries: %w", err)
	}
	var id string
	var sum ConnectionSummary
	if _, err := pgx.ForEachRow(rows, []any{&id, &sum.LastSuccessfulSyncAt, &sum.RoomCount, &sum.ActivatedRoomCount}, func() error {
		out[id] = sum
		return nil
	}); err != nil {
		return nil, fmt.Errorf("rooms.ConnectionSummaries: %w", err)
	}
	rows, err = s.db.Query(ctx, sqlLastSyncs, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("rooms.ConnectionSummaries: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("rooms.ConnectionSummaries: %w", err)
	}
	for _, r := range runs {
		sum := out[r.ConnectionID]
		sum.LastSync = &r
		out[r.ConnectionID] = sum
	}
	return out, nil
}
