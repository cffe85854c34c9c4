package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/store"
)

// sqlAbandonAssignment deletes an assignment nobody holds the lease of,
// returning what Zoom still shows.
const sqlAbandonAssignment = `DELETE FROM signage_assignments
WHERE tenant_id = $1 AND room_id = $2 AND (push_owner IS NULL OR push_started_at < now() - $3::interval)
RETURNING coalesce(zoom_content_id, ''), coalesce(zoom_content_list_id, '')`

// abandonedMessage is what a deactivation returns for a room whose signage
// could not be removed from Zoom.
const abandonedMessage = "signage was deactivated and its license released, but Zoom refuses this connection's " +
	"authorization, so the room may still show it: remove it in the Zoom web portal (Room Management > Digital Signage), " +
	"or connect the account again and the next sync removes it"

// authFailure reports an error that no retry fixes until an admin acts:
// Zoom refuses the connection's authorization or its credentials.
func authFailure(err error) bool {
	code := apierror.CodeOf(zoomError(err))
	return code == apierror.ZoomReauthRequired || code == apierror.ZoomCredentialsRejected
}

// abandon ends a room's signage on our side when Zoom cannot be reached
// for authorization reasons (the connection needs reauthorization, and
// syncs, which would finish a removal, are paused): the assignment is
// deleted and its license released, with the audit event, and what Zoom
// still shows is recorded as a leftover that a sync removes once the
// connection works again. It reports false when there was nothing to
// abandon (or a push in flight holds the room: it fails on the same
// authorization and stays for the next attempt).
func (s *Service) abandon(ctx context.Context, actor string, room Room) (bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	found := false
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var contentID, listID string
		err := tx.QueryRow(ctx, sqlAbandonAssignment, room.TenantID, room.ID, pushLease.String()).Scan(&contentID, &listID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if _, err := tx.Exec(ctx, sqlInsertLeftover, room.TenantID, room.ConnectionID, room.ZoomRoomID, contentID, listID,
			"deactivated while Zoom refused the connection's authorization"); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{TenantID: room.TenantID, Actor: actor, Action: "signage.deactivate",
			TargetType: "room", TargetID: room.ID, Details: map[string]any{"room": room.Name, "zoomRoomId": room.ZoomRoomID,
				"reason": "Zoom refused the connection's authorization; left on Zoom for removal later"}}); err != nil {
			return err
		}
		return s.emitSignage(ctx, tx, room, nil)
	})
	if err != nil {
		return false, fmt.Errorf("rooms.abandon: %w", err)
	}
	return found, nil
}

// deactivationFailed is the result of a room whose removal from Zoom
// failed with err: abandoned (see abandon) when Zoom refuses the
// connection's authorization, else left as it is with the error.
func (s *Service) deactivationFailed(ctx context.Context, actor string, room Room, a *Assignment, err error) Result {
	if authFailure(err) {
		abandoned, aerr := s.abandon(ctx, actor, room)
		if aerr != nil {
			s.log.ErrorContext(ctx, "abandoning signage failed", "room_id", room.ID, "error", aerr.Error())
		}
		if abandoned {
			return Result{RoomID: room.ID, Err: apierror.New(apierror.ZoomReauthRequired, abandonedMessage)}
		}
	}
	if a != nil {
		a.LastError = runErrorMessage(err)
	}
	return Result{RoomID: room.ID, Assignment: a, Err: zoomError(err)}
}
