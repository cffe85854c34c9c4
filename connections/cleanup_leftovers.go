package connections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
)

const (
	sqlListLeftovers = `SELECT l.id, l.zoom_room_id, l.zoom_content_id, l.content_list_id,
       COALESCE((SELECT r.name FROM rooms r
                  WHERE r.connection_id = l.connection_id AND r.tenant_id = l.tenant_id
                    AND r.zoom_room_id = l.zoom_room_id), '')
  FROM signage_leftovers l
 WHERE l.connection_id = $1 AND l.tenant_id = $2
 ORDER BY l.created_at, l.id`
	sqlDeleteLeftover = `DELETE FROM signage_leftovers WHERE id = $1 AND connection_id = $2 AND tenant_id = $3`
)

// cleanLeftovers tries to remove what each of the connection's leftovers
// describes from Zoom (best effort, through the same remover as the rooms:
// the rooms domain's removal)
// and forgets it, reporting what could not be removed, in one transaction
// per leftover: a retried cleanup never reports one twice.
func (s *Service) cleanLeftovers(ctx context.Context, c Connection, r *remover) error {
	rows, err := s.db.Query(ctx, sqlListLeftovers, c.ID, c.TenantID)
	if err != nil {
		return fmt.Errorf("list leftovers: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SignageLeftover])
	if err != nil {
		return fmt.Errorf("list leftovers: %w", err)
	}
	for _, l := range list {
		reason := r.removeLeftover(ctx, l)
		if err := ctx.Err(); err != nil {
			return err // killed mid-leftover: redone by the next attempt
		}
		if err := s.forgetLeftover(ctx, c, l, reason); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) forgetLeftover(ctx context.Context, c Connection, l SignageLeftover, reason string) error {
	return store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlDeleteLeftover, l.ID, c.ID, c.TenantID)
		if err != nil {
			return fmt.Errorf("delete leftover: %w", err)
		}
		if tag.RowsAffected() == 0 || reason == "" {
			return nil // settled already (by a sync), or removed now
		}
		leftJSON, _ := json.Marshal([]Leftover{leftoverReport(l, reason)})
		if _, err := tx.Exec(ctx, sqlRecordRoom, c.ID, c.TenantID, 0, 0, leftJSON); err != nil {
			return fmt.Errorf("record leftover: %w", err)
		}
		return nil
	})
}

// leftoverReport names a leftover for the disconnect report: its room when
// it has one, else the library item.
func leftoverReport(l SignageLeftover, reason string) Leftover {
	name := l.RoomName
	if l.ZoomRoomID == "" {
		name = "Digital Signage library item " + l.ContentID
	}
	return Leftover{ZoomRoomID: l.ZoomRoomID, Name: name, Reason: reason}
}
