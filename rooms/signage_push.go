package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"zoomsignage/zoom"
)

// contentListName names the content list we add to a room's play list.
const contentListName = "zoomsignage"

// contentDuration is how long (seconds) our item plays before the list
// loops; it is the list's only item.
const contentDuration = 300

// interruptedAfter is how long a PUSHING assignment may go unchanged before
// a sync takes it over (its activation request died half-way).
const interruptedAfter = 2 * time.Minute

// pushResult is what one push did.
type pushResult struct {
	calls  int
	listID string
}

// push puts the room's signage on Zoom: our URL item in the account's
// library (once; its id is stored at once, so a retry never adds a second),
// then a settings PATCH enabling signage with our content list, layout, mute
// and display period. Adding a content list is not idempotent, so a retry
// after an unclear outcome first reads the room's settings to find a list
// that already holds our item.
func (s *Service) push(ctx context.Context, ac *zoom.AccountClient, room Room, a *Assignment) (pushResult, error) {
	var res pushResult
	if a.ZoomContentID == "" {
		res.calls++
		id, err := ac.AddSignageURL(ctx, zoom.SignageURL{Name: contentName(room), URL: a.ScreenURL})
		if err != nil {
			return res, err
		}
		if _, err := s.db.Exec(context.WithoutCancel(ctx), sqlSetContentID, a.TenantID, a.RoomID, id); err != nil {
			// Without the id stored the item would be orphaned: remove it.
			_ = ac.DeleteSignageContent(context.WithoutCancel(ctx), id)
			return res, fmt.Errorf("rooms.push: %w: %w", errInternal, err)
		}
		a.ZoomContentID = id
	}
	res.listID = a.ContentListID
	if res.listID == "" && a.State == SignagePushing && a.PushAttempts > 0 {
		res.calls++
		id, err := s.findList(ctx, ac, room.ZoomRoomID, a.ZoomContentID)
		if err != nil {
			return res, err
		}
		res.listID = id
	}
	patch := valuesOf(*a).zoomSettings()
	added := res.listID == ""
	if added {
		patch.PlayList = []zoom.SignageContentList{{Action: zoom.ActionAdd, Name: contentListName,
			Contents: []zoom.SignageContent{{Action: zoom.ActionAdd, ContentID: a.ZoomContentID, Name: contentName(room),
				Duration: contentDuration, Order: 1}}}}
	}
	res.calls++
	if err := ac.UpdateSignageSettings(ctx, room.ZoomRoomID, patch); err != nil {
		return res, err
	}
	if added {
		// Best effort: the list id only makes later pushes cheaper.
		res.calls++
		if id, err := s.findList(ctx, ac, room.ZoomRoomID, a.ZoomContentID); err == nil {
			res.listID = id
		}
	}
	return res, nil
}

// findList returns the id of the room's content list holding contentID, or
// "" when none does.
func (s *Service) findList(ctx context.Context, ac *zoom.AccountClient, zoomRoomID, contentID string) (string, error) {
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

// removeFromZoom turns signage off on the room, deletes our content list
// and our library item. A room that is gone, signage the admin disabled, a
// list or an item already deleted all count as done.
func (s *Service) removeFromZoom(ctx context.Context, ac *zoom.AccountClient, room Room, a Assignment) (int, error) {
	calls := 0
	listID := a.ContentListID
	if listID == "" && a.ZoomContentID != "" {
		calls++
		id, err := s.findList(ctx, ac, room.ZoomRoomID, a.ZoomContentID)
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
	err := ac.UpdateSignageSettings(ctx, room.ZoomRoomID, off)
	if err != nil && listID != "" && isInvalidParams(err) {
		// The list is gone already (removed in Zoom): just turn signage off.
		calls++
		err = ac.UpdateSignageSettings(ctx, room.ZoomRoomID, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)})
	}
	if err != nil && !zoom.IsNotFound(err) && !zoom.IsSignageDisabled(err) {
		return calls, err
	}
	if a.ZoomContentID != "" {
		calls++
		if err := ac.DeleteSignageContent(ctx, a.ZoomContentID); err != nil && !zoom.IsNotFound(err) {
			return calls, err
		}
	}
	return calls, nil
}

// isInvalidParams reports a Zoom 400 code 300 that is not one of the cases
// with their own meaning (offline room, signage disabled).
func isInvalidParams(err error) bool {
	var ze *zoom.Error
	return errors.As(err, &ze) && ze.Code == zoom.CodeInvalidParams && !zoom.IsSignageDisabled(err) && !zoom.IsRoomOffline(err)
}

// pushAndRecord pushes an assignment and records the outcome: ACTIVE,
// PENDING_ZOOM_ENABLE when the admin has not enabled signage for the room
// (pushed again by later syncs), PUSHING with the error for a transient
// failure (also retried), or FAILED for anything else. It returns the
// recorded assignment and the push error, if any.
func (s *Service) pushAndRecord(ctx context.Context, ac *zoom.AccountClient, room Room, a Assignment) (Assignment, int, error) {
	res, pushErr := s.push(ctx, ac, room, &a)
	state, msg := SignageActive, ""
	switch {
	case pushErr == nil:
	case zoom.IsSignageDisabled(pushErr):
		state, msg = SignagePending, "Digital Signage is not enabled for this room in Zoom; it is pushed again at every sync until it is"
	case transient(pushErr):
		state, msg = SignagePushing, runErrorMessage(pushErr)
	default:
		state, msg = SignageFailed, runErrorMessage(pushErr)
	}
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	out, err := oneAssignment(recCtx, s.db, sqlRecordPush, a.TenantID, a.RoomID, state, msg, res.listID)
	if err != nil {
		// Deactivated meanwhile (no row matched), or Postgres failed: the
		// push error, if any, is what the caller needs.
		return a, res.calls, errors.Join(pushErr, fmt.Errorf("rooms.pushAndRecord: %w", err))
	}
	if out.State != a.State || state == SignageActive {
		s.publishSignage(ctx, room, &out)
	}
	return out, res.calls, pushErr
}

// retryPushes pushes the connection's due assignments again (pending,
// interrupted, and removals that failed), within budget Zoom calls. It stops
// at a rate limit: the rest waits for the next sync.
func (s *Service) retryPushes(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, budget int) (int, error) {
	// Each retry costs one to three Medium calls.
	rows, err := s.db.Query(ctx, sqlDueAssignments, tenantID, connectionID, interruptedAfter.String(), max(budget/2, 1))
	if err != nil {
		return 0, fmt.Errorf("rooms.retryPushes: %w", err)
	}
	due, err := collectAssignments(rows)
	if err != nil {
		return 0, fmt.Errorf("rooms.retryPushes: %w", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	ids := make([]string, len(due))
	for i, a := range due {
		ids[i] = a.RoomID
	}
	rooms, err := s.RoomsByID(ctx, tenantID, ids)
	if err != nil {
		return 0, err
	}
	calls := 0
	for _, a := range due {
		if calls >= budget {
			break
		}
		room, ok := rooms[a.RoomID]
		if !ok {
			continue
		}
		var n int
		var perr error
		if a.State == SignageRemoving {
			n, perr = s.finishRemoval(ctx, ac, SystemActor, room, a)
		} else {
			_, n, perr = s.pushAndRecord(ctx, ac, room, a)
		}
		calls += n
		if zoom.IsRateLimited(perr) {
			break
		}
	}
	return calls, nil
}

// finishRemoval removes the signage from Zoom, then deletes the assignment
// and releases its license; on failure the assignment stays REMOVING with
// the error, and a later sync tries again.
func (s *Service) finishRemoval(ctx context.Context, ac *zoom.AccountClient, actor string, room Room, a Assignment) (int, error) {
	calls, err := s.removeFromZoom(ctx, ac, room, a)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err != nil {
		if _, rerr := s.db.Exec(dctx, sqlRecordRemoveError, a.TenantID, a.RoomID, runErrorMessage(err)); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return calls, err
	}
	released, err := s.release(dctx, actor, "signage.removed", room, []string{SignageRemoving}, nil)
	if err != nil {
		return calls, err
	}
	if released {
		s.publishSignage(ctx, room, nil)
	}
	return calls, nil
}

// contentName names our library item after the room.
func contentName(r Room) string {
	name := []rune("Signage: " + r.Name)
	if len(name) > 100 {
		name = name[:100]
	}
	return string(name)
}
