package connections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
)

// cleanLeftovers tries to remove what each of the connection's leftovers
// describes from Zoom (best effort, through the same remover as the rooms:
// the rooms domain's removal)
// and forgets it, reporting what could not be removed, in one transaction
// per leftover: a retried cleanup never reports one twice.
func (s *Service) cleanLeftovers(ctx context.Context, c Connection, r *remover) error {
	list, err := s.cfg.Signage.Leftovers(ctx, c.TenantID, c.ID)
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
		deleted, err := s.cfg.Signage.ForgetLeftover(ctx, tx, c.TenantID, c.ID, l.ID)
		if err != nil {
			return fmt.Errorf("delete leftover: %w", err)
		}
		if !deleted || reason == "" {
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
