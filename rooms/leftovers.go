package rooms

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/zoom"
)

// leftover is signage work still owed to Zoom once the assignment (and its
// license) is gone: a library item whose delete failed, or a room whose
// signage could not be removed because Zoom refused the connection's
// authorization. Later syncs of the connection retry it.
type leftover struct {
	id                     string
	tenantID, connectionID string
	zoomRoomID             string
	contentID, listID      string
	reason                 string
}

const (
	sqlInsertLeftover = `INSERT INTO signage_leftovers (tenant_id, connection_id, zoom_room_id, zoom_content_id,
  content_list_id, reason)
VALUES ($1, $2, $3, $4, $5, $6)`
	sqlDueLeftovers = `SELECT id, tenant_id, connection_id, zoom_room_id, zoom_content_id, content_list_id, reason
FROM signage_leftovers WHERE tenant_id = $1 AND connection_id = $2
ORDER BY updated_at, id LIMIT $3`
	sqlLeftoverDone   = `DELETE FROM signage_leftovers WHERE tenant_id = $1 AND id = $2`
	sqlLeftoverFailed = `UPDATE signage_leftovers SET attempts = attempts + 1, updated_at = now()
WHERE tenant_id = $1 AND id = $2`
	// sqlRoomHasSignage tells whether the room has our signage again (it
	// was activated anew since the leftover was recorded).
	sqlRoomHasSignage = `SELECT EXISTS (SELECT 1 FROM signage_assignments a JOIN rooms r ON r.id = a.room_id
  WHERE a.tenant_id = $1 AND a.connection_id = $2 AND r.zoom_room_id = $3)`
)

// recordLeftover records owed Zoom work; a failure is logged only (it is
// itself the fallback of a failure).
func (s *Service) recordLeftover(ctx context.Context, l leftover) {
	if _, err := s.db.Exec(ctx, sqlInsertLeftover, l.tenantID, l.connectionID, l.zoomRoomID, l.contentID, l.listID,
		l.reason); err != nil {
		s.log.ErrorContext(ctx, "recording leftover signage failed", "connection_id", l.connectionID,
			"zoom_room_id", l.zoomRoomID, "zoom_content_id", l.contentID, "error", err.Error())
	}
}

// retryLeftovers retries the connection's leftovers, at most budget Zoom
// calls, and returns the calls made. It stops at a rate limit.
func (s *Service) retryLeftovers(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, budget int) (int, error) {
	rows, err := s.db.Query(ctx, sqlDueLeftovers, tenantID, connectionID, max(budget/2, 1))
	if err != nil {
		return 0, fmt.Errorf("rooms.retryLeftovers: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (leftover, error) {
		var l leftover
		err := row.Scan(&l.id, &l.tenantID, &l.connectionID, &l.zoomRoomID, &l.contentID, &l.listID, &l.reason)
		return l, err
	})
	if err != nil {
		return 0, fmt.Errorf("rooms.retryLeftovers: %w", err)
	}
	calls := 0
	for _, l := range list {
		if calls >= budget {
			break
		}
		n, err := s.remover.cleanLeftover(ctx, ac, l)
		calls += n
		sql := sqlLeftoverDone
		if err != nil {
			sql = sqlLeftoverFailed
			s.log.WarnContext(ctx, "leftover signage cleanup failed", "connection_id", connectionID,
				"zoom_room_id", l.zoomRoomID, "error", err.Error())
		}
		if _, derr := s.db.Exec(ctx, sql, tenantID, l.id); derr != nil {
			return calls, fmt.Errorf("rooms.retryLeftovers: %w", derr)
		}
		if zoom.IsRateLimited(err) {
			break
		}
	}
	return calls, nil
}
