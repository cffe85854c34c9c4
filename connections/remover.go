package connections

import (
	"context"
	"errors"
	"time"

	"zoomsignage/zoom"
)

// breakerLimit is how many rooms in a row may fail because Zoom is down or
// throttling before the cleanup stops calling it: a Zoom outage then costs
// a few bounded calls, not one per room, and never holds the disconnect.
const breakerLimit = 3

// remover decides, room by room, whether the cleanup asks the rooms domain
// (SignageRemover) to remove our signage from Zoom, and words what could
// not be removed for the report. remove returns "" when the room is clean,
// or why it is not.
type remover struct {
	signage SignageRemover
	client  *zoom.AccountClient
	c       Connection
	timeout time.Duration // bounds each room's Zoom calls
	skip    string        // non-empty: Zoom is not called at all, for this reason
	failed  int           // consecutive rooms Zoom was unavailable for
}

func newRemover(s *Service, c Connection, d disconnectRow) *remover {
	r := &remover{signage: s.cfg.Signage, c: c, timeout: s.cfg.ZoomCallTimeout}
	switch {
	case d.Reason == reasonDeauthorized:
		r.skip = "the app was uninstalled in Zoom, which revoked the gateway's access; remove the signage from this room in the Zoom web portal"
	case d.PreviousStatus == StatusReauthRequired:
		r.skip = "Zoom no longer accepted the connection's authorization; remove the signage from this room in the Zoom web portal"
	default:
		r.client = s.clientFor(c)
	}
	return r
}

// remove removes our signage from a room whose lease owner holds.
func (r *remover) remove(ctx context.Context, room ClaimedRoom, owner string) string {
	return r.try(ctx, "this room", func(ctx context.Context) error {
		return r.signage.RemoveRoom(ctx, r.client, r.c.TenantID, room.RoomID, owner)
	})
}

// removeLeftover removes what a signage_leftovers row describes, like
// remove does for a room.
func (r *remover) removeLeftover(ctx context.Context, l SignageLeftover) string {
	where := "this room"
	if l.ZoomRoomID == "" {
		where = "the Digital Signage library"
	}
	return r.try(ctx, where, func(ctx context.Context) error {
		return r.signage.RemoveLeftover(ctx, r.client, r.c.TenantID, r.c.ID, l)
	})
}

// try runs one removal unless Zoom is known to refuse or be down, and
// returns "" when it succeeded, or why not (where names the place in
// Zoom's portal the admin cleans up by hand).
func (r *remover) try(ctx context.Context, where string, removal func(context.Context) error) string {
	if r.skip != "" {
		return r.skip
	}
	if r.failed >= breakerLimit {
		return "not attempted: Zoom was unavailable during the disconnect; remove the signage from " + where + " in the Zoom web portal"
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := removal(cctx)
	switch {
	case err == nil:
		r.failed = 0
		return ""
	case errors.Is(err, zoom.ErrReauthorizationRequired):
		r.skip = "Zoom no longer accepted the connection's authorization; remove the signage from " + where + " in the Zoom web portal"
	case errors.Is(err, zoom.ErrUnavailable), errors.Is(err, zoom.ErrRateLimited), errors.Is(err, context.DeadlineExceeded):
		r.failed++
	default:
		r.failed = 0
	}
	return "Zoom could not remove the signage (" + zoomReason(err) + "); remove it from " + where + " in the Zoom web portal"
}

// zoomReason names a Zoom failure for a report, without Zoom's text.
func zoomReason(err error) string {
	switch {
	case errors.Is(err, zoom.ErrReauthorizationRequired), errors.Is(err, zoom.ErrInvalidToken):
		return "authorization no longer accepted"
	case errors.Is(err, zoom.ErrMissingScope):
		return "the app lacks a scope"
	case errors.Is(err, zoom.ErrRateLimited):
		return "rate limited"
	case errors.Is(err, zoom.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "Zoom unavailable"
	case errors.Is(err, zoom.ErrNoSubscription):
		return "no Zoom Rooms subscription"
	}
	return "Zoom refused the request"
}
