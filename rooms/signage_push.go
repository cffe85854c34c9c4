package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/events"
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
// and display period. The caller holds the assignment's push lease (owner);
// it is checked again before each call that changes Zoom, so a deactivation
// or a disconnect that came meanwhile stops the push. Adding a content list
// is not idempotent, so a push after any earlier attempt first reads the
// room's settings (uncached) to find a list that already holds our item.
func (s *Service) push(ctx context.Context, ac *zoom.AccountClient, room Room, a *Assignment, owner string) (pushResult, error) {
	var res pushResult
	if a.ZoomContentID == "" {
		n, err := s.addContent(ctx, ac, room, a, owner)
		res.calls += n
		if err != nil {
			return res, err
		}
	}
	res.listID = a.ContentListID
	if res.listID == "" && a.PushAttempts > 0 {
		res.calls++
		id, err := findList(ctx, s.uncached(ac), room.ZoomRoomID, a.ZoomContentID)
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
	if err := s.checkLease(ctx, *a, owner); err != nil {
		return res, err
	}
	res.calls++
	if err := ac.UpdateSignageSettings(ctx, room.ZoomRoomID, patch); err != nil {
		return res, err
	}
	if added {
		// Best effort: the list id only makes later pushes cheaper.
		res.calls++
		if id, err := findList(ctx, s.uncached(ac), room.ZoomRoomID, a.ZoomContentID); err == nil {
			res.listID = id
		}
	}
	return res, nil
}

// addContent adds our URL item to the account's library and stores its id
// while the lease is still ours; when it no longer is (the assignment was
// deleted or taken over meanwhile), the new item is deleted again. The add
// is recorded before it is sent: Zoom has no idempotency key, and the zoom
// client no call listing library contents, so an add whose answer was lost
// cannot be found again; a retry that meets one says so in the log, naming
// the item, so it can be deleted in Zoom's portal.
func (s *Service) addContent(ctx context.Context, ac *zoom.AccountClient, room Room, a *Assignment, owner string) (int, error) {
	if err := s.checkLease(ctx, *a, owner); err != nil {
		return 0, err
	}
	var earlier bool
	if err := s.db.QueryRow(ctx, sqlStartContentAdd, a.TenantID, a.RoomID, owner).Scan(&earlier); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, errLeaseLost
		}
		return 0, fmt.Errorf("rooms.addContent: %w: %w", errInternal, err)
	}
	if earlier {
		s.log.WarnContext(ctx, "an earlier signage library add got no answer; Zoom may hold an unused item of this name",
			"room_id", room.ID, "content_name", contentName(room))
	}
	id, err := ac.AddSignageURL(ctx, zoom.SignageURL{Name: contentName(room), URL: a.ScreenURL})
	if err != nil {
		return 1, err
	}
	tag, err := s.db.Exec(context.WithoutCancel(ctx), sqlSetContentID, a.TenantID, a.RoomID, id, owner)
	if err != nil || tag.RowsAffected() == 0 {
		// Without the id stored the item would be orphaned: remove it.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := ac.DeleteSignageContent(dctx, id); derr != nil && !zoom.IsNotFound(derr) {
			s.recordLeftover(dctx, leftover{tenantID: a.TenantID, connectionID: a.ConnectionID, contentID: id,
				reason: "library item of an interrupted push"})
		}
		if err != nil {
			return 2, fmt.Errorf("rooms.addContent: %w: %w", errInternal, err)
		}
		return 2, errLeaseLost
	}
	a.ZoomContentID = id
	return 1, nil
}

// pushAndRecord claims the assignment's push lease, pushes it and records
// the outcome: ACTIVE, PENDING_ZOOM_ENABLE when the admin has not enabled
// signage for the room (pushed again by later syncs), PUSHING with the error
// for a transient failure (also retried), or FAILED for anything else. An
// assignment someone else is pushing (or removing), or whose connection is
// being disconnected, is returned as it was, untouched, with errNotClaimed.
// A deactivation that came during the push is finished here, by the pusher,
// once its own calls are done (errRemovalRequested).
func (s *Service) pushAndRecord(ctx context.Context, ac *zoom.AccountClient, room Room, a Assignment) (Assignment, int, error) {
	owner := newLeaseOwner()
	claimed, ok, err := s.claimAssignment(ctx, a.TenantID, a.RoomID, owner, SignagePushing, SignagePending, SignageFailed)
	if err != nil {
		return a, 0, err
	}
	if !ok {
		return a, 0, errNotClaimed
	}
	a = claimed
	wctx, cancel := context.WithTimeout(ctx, leaseWork)
	defer cancel()
	res, pushErr := s.push(wctx, ac, room, &a, owner)
	state, msg := SignageActive, ""
	switch {
	case pushErr == nil:
	case errors.Is(pushErr, errRemovalRequested):
		state = SignageRemoving
	case zoom.IsSignageDisabled(pushErr):
		state, msg = SignagePending, "Digital Signage is not enabled for this room in Zoom; it is pushed again at every sync until it is"
	case transient(pushErr) || errors.Is(pushErr, errLeaseLost):
		state, msg = SignagePushing, runErrorMessage(pushErr)
	default:
		state, msg = SignageFailed, runErrorMessage(pushErr)
	}
	recCtx, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelRec()
	var out Assignment
	err = s.inTxEmit(recCtx, func(tx pgx.Tx) ([]events.Event, error) {
		var err error
		out, err = oneAssignment(recCtx, tx, sqlRecordPush, a.TenantID, a.RoomID, state, msg, res.listID, owner)
		if err != nil || out.State == SignageRemoving || (out.State == a.State && state != SignageActive) {
			return nil, err
		}
		if err := s.healthAfterSignage(recCtx, tx, room.TenantID, []string{room.ID}); err != nil {
			return nil, err
		}
		return []events.Event{s.signageEvent(room, &out)}, nil
	})
	if err != nil {
		// The lease was lost (the row deleted or taken over), or Postgres
		// failed: the push error, if any, is what the caller needs.
		return a, res.calls, errors.Join(pushErr, fmt.Errorf("rooms.pushAndRecord: %w", err))
	}
	if out.State == SignageRemoving {
		// Deactivated during the push: undo it now that our calls are done.
		n, _, rerr := s.finishRemoval(ctx, ac, SystemActor, room)
		return out, res.calls + n, errors.Join(errRemovalRequested, rerr)
	}
	return out, res.calls, pushErr
}

// errNotClaimed is returned for an assignment someone else holds the lease
// of, or whose connection is being disconnected: nothing was done.
var errNotClaimed = errors.New("rooms: the assignment is being pushed or removed elsewhere")

// retryPushes pushes the connection's due assignments again (pending,
// interrupted, and removals that failed), within budget Zoom calls. It stops
// at a rate limit: the rest waits for the next sync. Each one is claimed
// first, which skips rows another pusher holds and stops at a connection
// that started disconnecting meanwhile.
func (s *Service) retryPushes(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, budget int) (int, error) {
	// Each retry costs one to three Medium calls.
	rows, err := s.db.Query(ctx, sqlDueAssignments, tenantID, connectionID, interruptedAfter.String(), max(budget/2, 1),
		pushLease.String())
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
			n, _, perr = s.finishRemoval(ctx, ac, SystemActor, room)
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

// finishRemoval claims a REMOVING assignment, removes the signage from
// Zoom, then deletes the assignment and releases its license; on failure
// the assignment stays REMOVING with the error, and a later sync tries
// again. It reports false (no error) when it could not claim the
// assignment: a push in flight holds it and removes its work itself, or
// another removal is on it.
func (s *Service) finishRemoval(ctx context.Context, ac *zoom.AccountClient, actor string, room Room) (int, bool, error) {
	owner := newLeaseOwner()
	a, ok, err := s.claimAssignment(ctx, room.TenantID, room.ID, owner, SignageRemoving)
	if err != nil || !ok {
		return 0, false, err
	}
	wctx, cancel := context.WithTimeout(ctx, leaseWork)
	defer cancel()
	calls, err := s.remover.removeFromZoom(wctx, ac, room.ZoomRoomID, a, owner)
	dctx, cancelDB := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelDB()
	if err != nil {
		if _, rerr := s.db.Exec(dctx, sqlRecordRemoveError, a.TenantID, a.RoomID, runErrorMessage(err), owner); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return calls, false, err
	}
	if _, err := s.release(dctx, actor, "signage.removed", room, owner, []string{SignageRemoving}, nil); err != nil {
		return calls, false, err
	}
	return calls, true, nil
}

// contentName names our library item after the room.
func contentName(r Room) string {
	name := []rune("Signage: " + r.Name)
	if len(name) > 100 {
		name = name[:100]
	}
	return string(name)
}
