package connections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"zoomsignage/zoom"
)

// SignageRemover is how the disconnect cleanup takes our signage off the
// connection's rooms. The rooms domain owns the signage, its push lease and
// its removal from Zoom (rooms.SignageRemover, wired by app), so a
// disconnect removes a room's signage exactly as a deactivation does, and
// connections never names a signage state or the lease's bound. The
// cleanup decides whether to call Zoom at all (not once Zoom refused the
// authorization, nor while Zoom is down: see remover) and reports what is
// left; the rows it forgets (assignments, leftovers) are rooms' tables, so
// it forgets them through the remover too, in its own transactions.
type SignageRemover interface {
	// Rooms lists the rooms of the connection with our signage, by name.
	Rooms(ctx context.Context, tenantID, connectionID string) ([]string, error)
	// ClaimRoom takes the push lease of the room's assignment for owner:
	// when nobody holds it, its holder's lease expired, or it is owner's
	// already (a resumed cleanup). ClaimGone means the room has no
	// assignment under the connection any more, ClaimHeld that a live push
	// holds it.
	ClaimRoom(ctx context.Context, tenantID, connectionID, roomID, owner string) (ClaimedRoom, Claim, error)
	// RemoveRoom removes our signage from the room in Zoom while owner
	// holds its lease (what is already gone counts as removed).
	RemoveRoom(ctx context.Context, ac *zoom.AccountClient, tenantID, roomID, owner string) error
	// ForgetRoom deletes the room's assignment in tx (its license returns
	// with it); false when it was gone already.
	ForgetRoom(ctx context.Context, tx pgx.Tx, tenantID, connectionID, roomID string) (bool, error)
	// ForgetRest deletes every assignment still under the connection in tx
	// and returns their rooms: activated while the cleanup ran, their
	// signage was never removed.
	ForgetRest(ctx context.Context, tx pgx.Tx, tenantID, connectionID string) ([]ClaimedRoom, error)
	// Leftovers lists the connection's leftovers, oldest first.
	Leftovers(ctx context.Context, tenantID, connectionID string) ([]SignageLeftover, error)
	// RemoveLeftover removes what a leftover of the connection describes
	// from Zoom (what is already gone counts as removed).
	RemoveLeftover(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, l SignageLeftover) error
	// ForgetLeftover deletes the leftover in tx; false when it was gone
	// already (settled by a sync).
	ForgetLeftover(ctx context.Context, tx pgx.Tx, tenantID, connectionID, id string) (bool, error)
}

// Claim is the outcome of SignageRemover.ClaimRoom.
type Claim int

// Outcomes of a claim.
const (
	ClaimTaken Claim = iota // the lease is the cleanup's: remove the signage
	ClaimGone               // the assignment is gone (deactivated meanwhile)
	ClaimHeld               // a live push holds the lease: retry later
)

// ClaimedRoom is a room whose lease the cleanup holds, as the report names
// it.
type ClaimedRoom struct {
	RoomID     string
	ZoomRoomID string
	Name       string
}

// SignageLeftover is a signage_leftovers row: Zoom-side work the rooms
// domain still owed when the disconnect began (a library item whose delete
// failed, a room deactivated while Zoom was unreachable). Its row goes with
// the connection, so the cleanup settles it first.
type SignageLeftover struct {
	ID         string
	ZoomRoomID string
	ContentID  string
	ListID     string
	RoomName   string
}
