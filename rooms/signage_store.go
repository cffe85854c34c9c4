package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/connections"
	"zoomsignage/store"
	"zoomsignage/tenants"
)

const assignmentColumns = `room_id, tenant_id, connection_id, state, screen_url, coalesce(zoom_content_id, ''),
coalesce(zoom_content_list_id, ''), layout, muted, start_after_minutes, stop_before_minutes, activated_at, activated_by,
last_pushed_at, coalesce(last_error, ''), push_attempts, updated_at`

const (
	sqlAssignmentsByRoom = `SELECT ` + assignmentColumns + ` FROM signage_assignments
WHERE tenant_id = $1 AND room_id = ANY($2::uuid[]) ORDER BY room_id`
	// sqlInsertAssignment reserves a room's assignment; nothing is returned
	// when the room has one already (a concurrent activation won).
	sqlInsertAssignment = `INSERT INTO signage_assignments (room_id, tenant_id, connection_id, state, screen_token, screen_url,
  layout, muted, start_after_minutes, stop_before_minutes, activated_by)
SELECT r.id, r.tenant_id, r.connection_id, 'PUSHING', $3, $4, $5, $6, $7, $8, $9
FROM rooms r WHERE r.tenant_id = $1 AND r.id = $2
ON CONFLICT (room_id) DO NOTHING
RETURNING ` + assignmentColumns
	// sqlSetContentID stores our library item's id, only while the push
	// still holds the lease: no row means the item must be deleted again.
	// sqlLockForReserve locks the room and its connection for a reservation:
	// FOR SHARE waits for a disconnect (which updates the connection row)
	// or a room removal (which locks the room FOR UPDATE) that is under way,
	// and keeps them from starting until the reservation commits, so they
	// always see, and release, the new assignment. No row means the room is
	// gone or its connection is being disconnected.
	sqlLockForReserve = `SELECT r.id FROM rooms r
JOIN zoom_connections c ON c.id = r.connection_id AND c.tenant_id = r.tenant_id
WHERE r.tenant_id = $1 AND r.id = $2 AND ` + connections.LiveConnectionSQL + `
FOR SHARE OF r, c`
	sqlSetContentID = `UPDATE signage_assignments SET zoom_content_id = $3, content_add_started_at = NULL, updated_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $4`
	// sqlStartContentAdd records that a library add is about to be sent, so
	// a retry knows when an earlier add's answer was lost.
	// It returns whether an earlier add was recorded without its id.
	sqlStartContentAdd = `WITH old AS (
  SELECT room_id, content_add_started_at FROM signage_assignments
  WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $3 FOR UPDATE
)
UPDATE signage_assignments a SET content_add_started_at = now()
FROM old WHERE a.room_id = old.room_id
RETURNING old.content_add_started_at IS NOT NULL`
	// sqlRecordPush records a push's outcome and gives its lease up. A
	// deactivation that came meanwhile (state REMOVING) stays: the pusher
	// then removes what it did. Nothing matches when the lease was lost.
	sqlRecordPush = `UPDATE signage_assignments SET
  state = CASE WHEN state = 'REMOVING' THEN state ELSE $3 END,
  last_error = CASE WHEN state = 'REMOVING' THEN last_error ELSE nullif($4, '') END,
  last_pushed_at = CASE WHEN $3 = 'ACTIVE' AND state <> 'REMOVING' THEN now() ELSE last_pushed_at END,
  zoom_content_list_id = coalesce(nullif($5, ''), zoom_content_list_id),
  push_attempts = push_attempts + 1, push_owner = NULL, push_started_at = NULL, updated_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $6
RETURNING ` + assignmentColumns
	// sqlMarkRemoving marks a deactivation. It never waits for, nor takes,
	// a push lease: a push in flight sees REMOVING at its next check (or
	// when it records its outcome) and removes its own work.
	sqlMarkRemoving = `UPDATE signage_assignments SET state = 'REMOVING', last_error = NULL, updated_at = now()
WHERE tenant_id = $1 AND room_id = $2
RETURNING ` + assignmentColumns
	sqlRecordRemoveError = `UPDATE signage_assignments SET last_error = $3, push_attempts = push_attempts + 1,
  push_owner = NULL, push_started_at = NULL, updated_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND state = 'REMOVING' AND push_owner = $4`
	// sqlDeleteAssignment deletes an assignment in one of the states that
	// nobody else holds the lease of ($4 is the caller's own lease, if any).
	sqlDeleteAssignment = `DELETE FROM signage_assignments WHERE tenant_id = $1 AND room_id = $2 AND state = ANY($3::text[])
  AND (push_owner IS NULL OR push_owner = $4 OR push_started_at < now() - $5::interval)`
	sqlUpdateSettings = `UPDATE signage_assignments SET layout = $3, muted = $4, start_after_minutes = $5,
  stop_before_minutes = $6, state = $7, last_error = nullif($8, ''),
  last_pushed_at = CASE WHEN $7 = 'ACTIVE' THEN now() ELSE last_pushed_at END, updated_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND state <> 'REMOVING'
RETURNING ` + assignmentColumns
	// sqlDueAssignments are the assignments a sync pushes again: pending
	// ones, removals that failed, and pushes that were interrupted (still
	// PUSHING a while after their last change), least recently tried first.
	sqlDueAssignments = `SELECT ` + assignmentColumns + ` FROM signage_assignments
WHERE tenant_id = $1 AND connection_id = $2
  AND (state IN ('PENDING_ZOOM_ENABLE', 'REMOVING') OR (state = 'PUSHING' AND updated_at < now() - $3::interval))
  AND (push_owner IS NULL OR push_started_at < now() - $5::interval)
ORDER BY updated_at, room_id
LIMIT $4`
)

func scanAssignment(row pgx.CollectableRow) (Assignment, error) {
	var a Assignment
	err := row.Scan(&a.RoomID, &a.TenantID, &a.ConnectionID, &a.State, &a.ScreenURL, &a.ZoomContentID, &a.ContentListID,
		&a.Layout, &a.Muted, &a.StartAfter, &a.StopBefore, &a.ActivatedAt, &a.ActivatedBy, &a.LastPushedAt, &a.LastError,
		&a.PushAttempts, &a.UpdatedAt)
	return a, err
}

func oneAssignment(ctx context.Context, db queryer, sql string, args ...any) (Assignment, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return Assignment{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanAssignment)
}

// errAlreadyActivated aborts a reservation that lost to a concurrent one.
var errAlreadyActivated = errors.New("rooms: signage already activated")

// reserve inserts the room's assignment (state PUSHING) and takes its
// license in one transaction, with the audit event: either all of it
// happens or none. The room and its connection are locked first (see
// sqlLockForReserve), so a disconnect or a room removal never deletes the
// assignment while it is being made. The insert takes the license itself
// (a trigger; see tenants.LimitReached), so concurrent activations never
// exceed the limit.
func (s *Service) reserve(ctx context.Context, actor string, room Room, st settingsValues) (Assignment, error) {
	token, err := newScreenToken()
	if err != nil {
		return Assignment{}, err
	}
	var a Assignment
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var locked string
		if err := tx.QueryRow(ctx, sqlLockForReserve, room.TenantID, room.ID).Scan(&locked); errors.Is(err, pgx.ErrNoRows) {
			return apierror.Invalid("roomIds", "room %q is being removed or its Zoom connection disconnected", room.ID)
		} else if err != nil {
			return err
		}
		a, err = oneAssignment(ctx, tx, sqlInsertAssignment, room.TenantID, room.ID, token, s.cfg.SignageBaseURL+token,
			st.layout, st.muted, st.startAfter, st.stopBefore, actor)
		if errors.Is(err, pgx.ErrNoRows) {
			return errAlreadyActivated
		}
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{TenantID: room.TenantID, Actor: actor, Action: "signage.activate",
			TargetType: "room", TargetID: room.ID, Details: st.details(room)}); err != nil {
			return err
		}
		return s.emitSignage(ctx, tx, room, &a)
	})
	if err != nil {
		return Assignment{}, fmt.Errorf("rooms.reserve: %w", tenants.LimitReached(ctx, s.db, room.TenantID, err))
	}
	return a, nil
}

// release deletes an assignment in one of states, unless someone else
// holds its push lease (its license returns with the row), with the audit
// event, in one transaction. It reports whether there was
// one to delete.
func (s *Service) release(ctx context.Context, actor, action string, room Room, owner string, states []string, details map[string]any) (bool, error) {
	released := false
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlDeleteAssignment, room.TenantID, room.ID, states, owner, pushLease.String())
		if err != nil {
			return err
		}
		if released = tag.RowsAffected() == 1; !released {
			return nil
		}
		if details == nil {
			details = map[string]any{}
		}
		details["room"], details["zoomRoomId"] = room.Name, room.ZoomRoomID
		if err := audit.Record(ctx, tx, audit.Event{TenantID: room.TenantID, Actor: actor, Action: action,
			TargetType: "room", TargetID: room.ID, Details: details}); err != nil {
			return err
		}
		return s.emitSignage(ctx, tx, room, nil)
	})
	if err != nil {
		return false, fmt.Errorf("rooms.release: %w", err)
	}
	return released, nil
}

func collectAssignments(rows pgx.Rows) ([]Assignment, error) {
	return pgx.CollectRows(rows, scanAssignment)
}
