package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/connections"
	"zoomsignage/zoom"
)

// SignageRemover takes our signage off rooms in Zoom. It is the one
// implementation of the removal: a deactivation and a sync's retries
// (Service.finishRemoval, retryLeftovers) and the disconnect cleanup
// (connections.SignageRemover, wired by app) all go through it, under the
// one push lease of signage_lease.go. It needs only the database, so the
// app builds it before the connections service, which Service itself
// needs.
type SignageRemover struct{ db *pgxpool.Pool }

// NewSignageRemover returns the remover over db.
func NewSignageRemover(db *pgxpool.Pool) *SignageRemover { return &SignageRemover{db: db} }

var _ connections.SignageRemover = (*SignageRemover)(nil)

const (
	// sqlClaimForCleanup takes a room's push lease for a disconnect
	// cleanup: in any state (the connection is going, so every assignment
	// is removed), unlike sqlClaim not refused because the connection is
	// being disconnected, and taken back at once by the same owner (a
	// resumed cleanup).
	sqlClaimForCleanup = `UPDATE signage_assignments a SET push_owner = $4, push_started_at = now()
  FROM rooms r
 WHERE a.room_id = $1 AND a.tenant_id = $2 AND a.connection_id = $3 AND r.id = a.room_id
   AND (a.push_owner IS NULL OR a.push_owner = $4 OR a.push_started_at < now() - $5::interval)
RETURNING a.room_id, r.zoom_room_id, r.name`
	sqlAssignmentExists = `SELECT EXISTS (SELECT 1 FROM signage_assignments
 WHERE room_id = $1 AND tenant_id = $2 AND connection_id = $3)`
	// sqlHeldAssignment reads an assignment whose lease owner holds.
	sqlHeldAssignment = `SELECT ` + assignmentColumns + ` FROM signage_assignments
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $3`
	// sqlCleanupRooms lists the rooms of a connection with our signage, for
	// its disconnect cleanup.
	sqlCleanupRooms = `SELECT a.room_id
  FROM signage_assignments a JOIN rooms r ON r.id = a.room_id
 WHERE a.connection_id = $1 AND a.tenant_id = $2
 ORDER BY r.name, a.room_id`
	sqlForgetRoom = `DELETE FROM signage_assignments
 WHERE room_id = $1 AND connection_id = $2 AND tenant_id = $3`
	sqlForgetRest = `DELETE FROM signage_assignments a
 USING rooms r
 WHERE r.id = a.room_id AND a.connection_id = $1 AND a.tenant_id = $2
RETURNING a.room_id, r.zoom_room_id, r.name`
	sqlCleanupLeftovers = `SELECT l.id, l.zoom_room_id, l.zoom_content_id, l.content_list_id,
       COALESCE((SELECT r.name FROM rooms r
                  WHERE r.connection_id = l.connection_id AND r.tenant_id = l.tenant_id
                    AND r.zoom_room_id = l.zoom_room_id), '')
  FROM signage_leftovers l
 WHERE l.connection_id = $1 AND l.tenant_id = $2
 ORDER BY l.created_at, l.id`
	sqlForgetLeftover = `DELETE FROM signage_leftovers WHERE id = $1 AND connection_id = $2 AND tenant_id = $3`
	// sqlListRemoved records that the room's content list is gone, so a
	// removal retried after a later failure (or a kill) does not delete it
	// again: Zoom refuses to delete a list it no longer has.
	sqlListRemoved = `UPDATE signage_assignments SET zoom_content_list_id = NULL
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $3`
)

// ClaimRoom implements connections.SignageRemover: it takes the room's push
// lease for a disconnect cleanup, with the same bound (pushLease) as every
// push and deactivation.
func (r *SignageRemover) ClaimRoom(ctx context.Context, tenantID, connectionID, roomID, owner string) (connections.ClaimedRoom, connections.Claim, error) {
	var room connections.ClaimedRoom
	err := r.db.QueryRow(ctx, sqlClaimForCleanup, roomID, tenantID, connectionID, owner, pushLease.String()).
		Scan(&room.RoomID, &room.ZoomRoomID, &room.Name)
	if err == nil {
		return room, connections.ClaimTaken, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return room, 0, fmt.Errorf("rooms.ClaimRoom: %w", err)
	}
	var exists bool
	if err := r.db.QueryRow(ctx, sqlAssignmentExists, roomID, tenantID, connectionID).Scan(&exists); err != nil {
		return room, 0, fmt.Errorf("rooms.ClaimRoom: %w", err)
	}
	if exists {
		return room, connections.ClaimHeld, nil
	}
	return room, connections.ClaimGone, nil
}

// Rooms implements connections.SignageRemover.
func (r *SignageRemover) Rooms(ctx context.Context, tenantID, connectionID string) ([]string, error) {
	rows, err := r.db.Query(ctx, sqlCleanupRooms, connectionID, tenantID)
	if err != nil {
		return nil, fmt.Errorf("rooms.Rooms: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("rooms.Rooms: %w", err)
	}
	return ids, nil
}

// ForgetRoom implements connections.SignageRemover.
func (r *SignageRemover) ForgetRoom(ctx context.Context, tx pgx.Tx, tenantID, connectionID, roomID string) (bool, error) {
	tag, err := tx.Exec(ctx, sqlForgetRoom, roomID, connectionID, tenantID)
	if err != nil {
		return false, fmt.Errorf("rooms.ForgetRoom: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// ForgetRest implements connections.SignageRemover.
func (r *SignageRemover) ForgetRest(ctx context.Context, tx pgx.Tx, tenantID, connectionID string) ([]connections.ClaimedRoom, error) {
	rows, err := tx.Query(ctx, sqlForgetRest, connectionID, tenantID)
	if err != nil {
		return nil, fmt.Errorf("rooms.ForgetRest: %w", err)
	}
	rest, err := pgx.CollectRows(rows, pgx.RowToStructByPos[connections.ClaimedRoom])
	if err != nil {
		return nil, fmt.Errorf("rooms.ForgetRest: %w", err)
	}
	return rest, nil
}

// Leftovers implements connections.SignageRemover.
func (r *SignageRemover) Leftovers(ctx context.Context, tenantID, connectionID string) ([]connections.SignageLeftover, error) {
	rows, err := r.db.Query(ctx, sqlCleanupLeftovers, connectionID, tenantID)
	if err != nil {
		return nil, fmt.Errorf("rooms.Leftovers: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[connections.SignageLeftover])
	if err != nil {
		return nil, fmt.Errorf("rooms.Leftovers: %w", err)
	}
	return list, nil
}

// ForgetLeftover implements connections.SignageRemover.
func (r *SignageRemover) ForgetLeftover(ctx context.Context, tx pgx.Tx, tenantID, connectionID, id string) (bool, error) {
	tag, err := tx.Exec(ctx, sqlForgetLeftover, id, connectionID, tenantID)
	if err != nil {
		return false, fmt.Errorf("rooms.ForgetLeftover: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// RemoveRoom implements connections.SignageRemover: it removes the room's
// signage as a deactivation does (removeFromZoom), from the assignment as
// it is under owner's lease. An assignment gone meanwhile, or whose lease
// was taken, is left alone.
func (r *SignageRemover) RemoveRoom(ctx context.Context, ac *zoom.AccountClient, tenantID, roomID, owner string) error {
	a, err := oneAssignment(ctx, r.db, sqlHeldAssignment, tenantID, roomID, owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rooms.RemoveRoom: %w", err)
	}
	zoomRoomID, err := r.zoomRoomID(ctx, tenantID, roomID)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, leaseWork)
	defer cancel()
	if _, err := r.removeFromZoom(wctx, ac, zoomRoomID, a, owner); err != nil {
		return fmt.Errorf("rooms.RemoveRoom: %w", err)
	}
	return nil
}

const sqlZoomRoomID = `SELECT zoom_room_id FROM rooms WHERE tenant_id = $1 AND id = $2`

func (r *SignageRemover) zoomRoomID(ctx context.Context, tenantID, roomID string) (string, error) {
	var id string
	if err := r.db.QueryRow(ctx, sqlZoomRoomID, tenantID, roomID).Scan(&id); err != nil {
		return "", fmt.Errorf("rooms.RemoveRoom: %w", err)
	}
	return id, nil
}

// RemoveLeftover implements connections.SignageRemover with the removal a
// sync retries leftovers with (cleanLeftover).
func (r *SignageRemover) RemoveLeftover(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, l connections.SignageLeftover) error {
	_, err := r.cleanLeftover(ctx, ac, leftover{id: l.ID, tenantID: tenantID, connectionID: connectionID,
		zoomRoomID: l.ZoomRoomID, contentID: l.ContentID, listID: l.ListID})
	if err != nil {
		return fmt.Errorf("rooms.RemoveLeftover: %w", err)
	}
	return nil
}

// removeFromZoom turns signage off on the room, deletes our content list
// and our library item (Zoom's delete with remove_from_library_only=false
// takes the item out of the list but leaves the list itself, empty, in the
// room's play list, one of its two slots: so the list is deleted by
// name). A room that is gone, signage the admin disabled, a list or an
// item already deleted all count as done. The caller holds the lease
// (owner); a list once deleted is forgotten under it, so a retry does not
// ask Zoom to delete it again.
func (r *SignageRemover) removeFromZoom(ctx context.Context, ac *zoom.AccountClient, zoomRoomID string, a Assignment, owner string) (int, error) {
	calls := 0
	listID := a.ContentListID
	if listID == "" && a.ZoomContentID != "" {
		calls++
		id, err := findList(ctx, ac, zoomRoomID, a.ZoomContentID)
		if err != nil && !zoom.IsNotFound(err) {
			return calls, err
		}
		listID = id
	}
	off := zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)}
	if listID != "" {
		off.PlayList = []zoom.SignageContentList{{Action: zoom.ActionDelete, ID: listID}}
	}
	calls++
	err := ac.UpdateSignageSettings(ctx, zoomRoomID, off)
	if err != nil && listID != "" && isInvalidParams(err) {
		// The list is gone already (removed in Zoom): just turn signage off.
		calls++
		err = ac.UpdateSignageSettings(ctx, zoomRoomID, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)})
	}
	if err != nil && !zoom.IsNotFound(err) && !zoom.IsSignageDisabled(err) {
		return calls, err
	}
	if listID != "" && err == nil {
		if _, err := r.db.Exec(context.WithoutCancel(ctx), sqlListRemoved, a.TenantID, a.RoomID, owner); err != nil {
			return calls, fmt.Errorf("rooms.removeFromZoom: %w", err)
		}
	}
	if a.ZoomContentID != "" {
		calls++
		if err := ac.DeleteSignageContent(ctx, a.ZoomContentID); err != nil && !zoom.IsNotFound(err) {
			return calls, err
		}
	}
	return calls, nil
}

// cleanLeftover turns our signage off on the leftover's room (unless the
// room has our signage again: then only the old list and item go) and
// deletes the library item. Anything already gone counts as done.
func (r *SignageRemover) cleanLeftover(ctx context.Context, ac *zoom.AccountClient, l leftover) (int, error) {
	calls := 0
	if l.zoomRoomID != "" {
		var again bool
		if err := r.db.QueryRow(ctx, sqlRoomHasSignage, l.tenantID, l.connectionID, l.zoomRoomID).Scan(&again); err != nil {
			return calls, fmt.Errorf("rooms.cleanLeftover: %w", err)
		}
		var patch zoom.SignageSettings
		if !again {
			patch.EnableDigitalSignage = zoom.Bool(false)
		}
		if l.listID != "" {
			patch.PlayList = []zoom.SignageContentList{{Action: zoom.ActionDelete, ID: l.listID}}
		}
		if patch.EnableDigitalSignage != nil || patch.PlayList != nil {
			calls++
			err := ac.UpdateSignageSettings(ctx, l.zoomRoomID, patch)
			if err != nil && !zoom.IsNotFound(err) && !zoom.IsSignageDisabled(err) && !isInvalidParams(err) {
				return calls, err
			}
		}
	}
	if l.contentID != "" {
		calls++
		if err := ac.DeleteSignageContent(ctx, l.contentID); err != nil && !zoom.IsNotFound(err) {
			return calls, err
		}
	}
	return calls, nil
}

// findList returns the id of the room's content list holding contentID, or
// "" when none does.
func findList(ctx context.Context, ac *zoom.AccountClient, zoomRoomID, contentID string) (string, error) {
	st, err := ac.GetSignageSettings(ctx, zoomRoomID)
	if err != nil {
		return "", err
	}
	for _, l := range st.PlayList {
		for _, c := range l.Contents {
			if c.ContentID == contentID {
				return l.ID, nil
			}
		}
	}
	return "", nil
}

// isInvalidParams reports a Zoom 400 code 300 that is not one of the cases
// with their own meaning (offline room, signage disabled).
func isInvalidParams(err error) bool {
	var ze *zoom.Error
	return errors.As(err, &ze) && ze.Code == zoom.CodeInvalidParams && !zoom.IsSignageDisabled(err) && !zoom.IsRoomOffline(err)
}
