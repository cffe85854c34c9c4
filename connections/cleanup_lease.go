package connections

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// leaseWaitSnooze is how long a cleanup waits before looking again at a
// room whose signage a push still holds. The pusher stops at its next
// check once it sees the connection DISCONNECTING (rooms/signage_lease.go),
// so the wait is short.
const leaseWaitSnooze = 2 * time.Second

// errLeaseHeld says a room's assignment is leased by a live push; the
// cleanup worker snoozes on it and cleans the room on a later attempt.
var errLeaseHeld = errors.New("a push still holds the signage of a room")

// cleanupOwner is the lease owner of a connection's cleanup. It is the
// same on every attempt, so a cleanup killed mid-room takes its own lease
// back at once instead of waiting for it to expire.
func cleanupOwner(connectionID string) string { return "disconnect:" + connectionID }

// claimRoom claims the push lease of the room's assignment for the
// cleanup, through the rooms domain that owns the lease (SignageRemover),
// before the cleanup touches the room in Zoom: a push that passed its last
// check before the disconnect began then cannot enable the signage again
// after our removal.
func (s *Service) claimRoom(ctx context.Context, c Connection, roomID string) (ClaimedRoom, Claim, error) {
	room, got, err := s.cfg.Signage.ClaimRoom(ctx, c.TenantID, c.ID, roomID, cleanupOwner(c.ID))
	if err != nil {
		return ClaimedRoom{}, 0, fmt.Errorf("claimRoom: %w", err)
	}
	return room, got, nil
}
