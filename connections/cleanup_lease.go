package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaseWaitSnooze is how long a cleanup waits before looking again at a
// room whose signage a push still holds. The pusher stops at its next
// check once it sees the connection DISCONNECTING (rooms/signage_lease.go),
// so the wait is short.
const leaseWaitSnooze = 2 * time.Second

// errLeaseHeld says a room's assignment is leased by a live push; the
// cleanup worker snoozes on it and cleans the room on a later attempt.
var errLeaseHeld = errors.New("a push still holds the signage of a room")

const (
	// sqlClaimRoom takes the room's push lease (the protocol of
	// rooms/signage_lease.go) before the cleanup touches the room in Zoom:
	// only when nobody holds it, the holder's lease is older than the
	// rooms domain's 2-minute bound, or it is our own (a resumed cleanup).
	// It returns the assignment as it is now, which is what is removed.
	sqlClaimRoom = `UPDATE signage_assignments a SET push_owner = $4, push_started_at = now()
  FROM rooms r
 WHERE a.room_id = $1 AND a.tenant_id = $2 AND a.connection_id = $3 AND r.id = a.room_id
   AND (a.push_owner IS NULL OR a.push_owner = $4 OR a.push_started_at < now() - interval '2 minutes')
RETURNING a.room_id, r.zoom_room_id, r.name, a.state, COALESCE(a.zoom_content_id, '')`
	sqlAssignmentExists = `SELECT EXISTS (SELECT 1 FROM signage_assignments
 WHERE room_id = $1 AND tenant_id = $2 AND connection_id = $3)`
)

// claim is the outcome of claiming a room's lease.
type claim int

const (
	claimed   claim = iota // the lease is ours: remove the signage
	claimGone              // the assignment is gone (deactivated meanwhile)
	claimHeld              // a live push holds the lease: retry later
)

// cleanupOwner is the lease owner of a connection's cleanup. It is the
// same on every attempt, so a cleanup killed mid-room takes its own lease
// back at once instead of waiting for it to expire.
func cleanupOwner(connectionID string) string { return "disconnect:" + connectionID }

// claimRoom claims the lease of the room's assignment for the cleanup.
func (s *Service) claimRoom(ctx context.Context, c Connection, roomID string) (assignment, claim, error) {
	rows, err := s.db.Query(ctx, sqlClaimRoom, roomID, c.TenantID, c.ID, cleanupOwner(c.ID))
	if err != nil {
		return assignment{}, 0, fmt.Errorf("claimRoom: %w", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[assignment])
	if err == nil {
		return a, claimed, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return assignment{}, 0, fmt.Errorf("claimRoom: %w", err)
	}
	var exists bool
	if err := s.db.QueryRow(ctx, sqlAssignmentExists, roomID, c.TenantID, c.ID).Scan(&exists); err != nil {
		return assignment{}, 0, fmt.Errorf("claimRoom: %w", err)
	}
	if exists {
		return assignment{}, claimHeld, nil
	}
	return assignment{}, claimGone, nil
}
