package connections

import (
	"context"
	"errors"

	"zoomsignage/zoom"
)

// breakerLimit is how many rooms in a row may fail because Zoom is down or
// throttling before the cleanup stops calling it: a Zoom outage then costs
// a few bounded calls, not one per room, and never holds the disconnect.
const breakerLimit = 3

// remover removes our signage from the rooms of one connection, best
// effort. remove returns "" when the room is clean, or why it is not.
type remover struct {
	s       *Service
	client  *zoom.AccountClient
	skip    string // non-empty: Zoom is not called at all, for this reason
	failed  int    // consecutive rooms Zoom was unavailable for
	deleted map[string]bool
}

func newRemover(s *Service, c Connection, d disconnectRow) *remover {
	r := &remover{s: s, deleted: map[string]bool{}}
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

func (r *remover) remove(ctx context.Context, a assignment) string {
	if r.skip != "" {
		return r.skip
	}
	if r.failed >= breakerLimit {
		return "not attempted: Zoom was unavailable during the disconnect; remove the signage from this room in the Zoom web portal"
	}
	err := r.removeFromZoom(ctx, a)
	switch {
	case err == nil:
		r.failed = 0
		return ""
	case errors.Is(err, zoom.ErrReauthorizationRequired):
		r.skip = "Zoom no longer accepted the connection's authorization; remove the signage from this room in the Zoom web portal"
	case errors.Is(err, zoom.ErrUnavailable), errors.Is(err, zoom.ErrRateLimited), errors.Is(err, context.DeadlineExceeded):
		r.failed++
	default:
		r.failed = 0
	}
	return "Zoom could not remove the signage (" + zoomReason(err) + "); remove it from this room in the Zoom web portal"
}

// removeFromZoom turns off the signage we enabled and deletes our library
// item (which also removes the content lists that reference it). Both are
// done when Zoom says there is nothing left to remove.
func (r *remover) removeFromZoom(ctx context.Context, a assignment) error {
	cctx, cancel := context.WithTimeout(ctx, r.s.cfg.ZoomCallTimeout)
	defer cancel()
	if a.State != "PENDING_ZOOM_ENABLE" {
		err := r.client.UpdateSignageSettings(cctx, a.ZoomRoomID, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)})
		if err != nil && !zoom.IsNotFound(err) && !zoom.IsSignageDisabled(err) {
			return err
		}
	}
	if a.ContentID != "" && !r.deleted[a.ContentID] {
		if err := r.client.DeleteSignageContent(cctx, a.ContentID); err != nil && !zoom.IsNotFound(err) {
			return err
		}
		r.deleted[a.ContentID] = true
	}
	return nil
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
