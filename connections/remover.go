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
	return r.try(ctx, "this room", func(ctx context.Context) error { return r.removeFromZoom(ctx, a) })
}

// removeLeftover removes what a signage_leftovers row describes, like
// remove does for a room.
func (r *remover) removeLeftover(ctx context.Context, l signageLeftover) string {
	where := "this room"
	if l.ZoomRoomID == "" {
		where = "the Digital Signage library"
	}
	return r.try(ctx, where, func(ctx context.Context) error { return r.removeLeftoverFromZoom(ctx, l) })
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
	err := removal(ctx)
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

// removeLeftoverFromZoom turns signage off on the leftover's room
// (deleting its content list) and deletes its library item. Anything
// already gone counts as done.
func (r *remover) removeLeftoverFromZoom(ctx context.Context, l signageLeftover) error {
	cctx, cancel := context.WithTimeout(ctx, r.s.cfg.ZoomCallTimeout)
	defer cancel()
	if l.ZoomRoomID != "" {
		patch := zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)}
		if l.ListID != "" {
			patch.PlayList = []zoom.SignageContentList{{Action: zoom.ActionDelete, ID: l.ListID}}
		}
		err := r.client.UpdateSignageSettings(cctx, l.ZoomRoomID, patch)
		if err != nil && !zoom.IsNotFound(err) && !zoom.IsSignageDisabled(err) && !isInvalidParams(err) {
			return err
		}
	}
	if l.ContentID != "" && !r.deleted[l.ContentID] {
		if err := r.client.DeleteSignageContent(cctx, l.ContentID); err != nil && !zoom.IsNotFound(err) {
			return err
		}
		r.deleted[l.ContentID] = true
	}
	return nil
}

// isInvalidParams reports a Zoom 400 code 300 that is not one of the cases
// with their own meaning: a content list Zoom no longer knows is refused
// that way.
func isInvalidParams(err error) bool {
	var ze *zoom.Error
	return errors.As(err, &ze) && ze.Code == zoom.CodeInvalidParams && !zoom.IsSignageDisabled(err) && !zoom.IsRoomOffline(err)
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
