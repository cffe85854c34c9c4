package rooms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/connections"
)

// pushLease bounds how long a claim on an assignment holds (see
// claimAssignment). Every push and removal runs under a context bounded by
// leaseWork, well inside it, so a lease only ever expires when its holder
// died.
const (
	pushLease = 2 * time.Minute
	leaseWork = pushLease / 2
)

// connectionSyncable is true for an assignment whose connection is not
// being disconnected: nothing new is sent to Zoom for such a connection
// (its cleanup owns the rooms).
const connectionSyncable = `EXISTS (SELECT 1 FROM zoom_connections c
  WHERE c.id = signage_assignments.connection_id AND c.tenant_id = signage_assignments.tenant_id
    AND ` + connections.LiveConnectionSQL + `)`

const (
	// sqlClaim takes an assignment's push lease: only in one of the given
	// states, when nobody holds it (or its holder's lease expired), and
	// while the connection is not being disconnected. It returns the row as
	// it is now, which is what the claimant works from.
	sqlClaim = `UPDATE signage_assignments SET push_owner = $3, push_started_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND state = ANY($4::text[])
  AND (push_owner IS NULL OR push_started_at < now() - $5::interval)
  AND ` + connectionSyncable + `
RETURNING ` + assignmentColumns
	// sqlLeaseState re-reads the state of an assignment we hold, with
	// whether its connection is still syncable; no row means the lease is
	// lost (the row was deleted, or the lease expired and was taken).
	sqlLeaseState = `SELECT state, ` + connectionSyncable + ` FROM signage_assignments
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $3`
	sqlReleaseLease = `UPDATE signage_assignments SET push_owner = NULL, push_started_at = NULL
WHERE tenant_id = $1 AND room_id = $2 AND push_owner = $3`
)

// errLeaseLost aborts Zoom work whose assignment was deleted, or taken
// over, while it ran.
var errLeaseLost = errors.New("rooms: the assignment's push lease was lost")

// errRemovalRequested aborts a push whose assignment was deactivated while
// it ran: the pusher then removes what it did instead.
var errRemovalRequested = errors.New("rooms: signage was deactivated during the push")

func newLeaseOwner() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// claimAssignment takes the push lease of a room's assignment in one of
// states. It reports false (and no error) when the assignment is gone, in
// another state, held by someone else, or its connection is being
// disconnected: the caller must then leave Zoom alone.
func (s *Service) claimAssignment(ctx context.Context, tenantID, roomID, owner string, states ...string) (Assignment, bool, error) {
	a, err := oneAssignment(ctx, s.db, sqlClaim, tenantID, roomID, owner, states, pushLease.String())
	if errors.Is(err, pgx.ErrNoRows) {
		return Assignment{}, false, nil
	}
	if err != nil {
		return Assignment{}, false, fmt.Errorf("rooms.claimAssignment: %w: %w", errInternal, err)
	}
	return a, true, nil
}

// checkLease is the last check before a Zoom call that changes the room:
// the lease is still ours, the assignment was not deactivated meanwhile and
// the connection is not being disconnected.
func (s *Service) checkLease(ctx context.Context, a Assignment, owner string) error {
	var state string
	var syncable bool
	err := s.db.QueryRow(ctx, sqlLeaseState, a.TenantID, a.RoomID, owner).Scan(&state, &syncable)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errLeaseLost
	case err != nil:
		return fmt.Errorf("rooms.checkLease: %w: %w", errInternal, err)
	case state == SignageRemoving:
		return errRemovalRequested
	case !syncable:
		return errLeaseLost
	}
	return nil
}

// releaseLease gives the lease up without recording anything else.
func (s *Service) releaseLease(ctx context.Context, a Assignment, owner string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.db.Exec(ctx, sqlReleaseLease, a.TenantID, a.RoomID, owner); err != nil {
		return fmt.Errorf("rooms.releaseLease: %w", err)
	}
	return nil
}
