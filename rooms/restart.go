package rooms

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/audit"
)

// RestartInterval is how long a room's restart blocks the next one: a Zoom
// Rooms app takes about that long to come back, and a second restart
// meanwhile only interrupts the first (issue 10 item 6).
const RestartInterval = time.Minute

// Restart restarts the Zoom Rooms app on a room, only on request, and
// records it in the audit log once Zoom accepted it. Zoom decides whether
// the room is offline (our status may be a sync old): an offline room is
// ZOOM_ROOM_OFFLINE. The call is never retried, since a restart is not
// idempotent, and a second restart of the room within RestartInterval, on
// any replica, is RATE_LIMITED without reaching Zoom.
func (s *Service) Restart(ctx context.Context, actor Actor, roomID string) (time.Time, error) {
	room, err := s.Get(ctx, actor.TenantID, roomID)
	if err != nil {
		return time.Time{}, err
	}
	release, err := s.takeRestartSlot(ctx, room.ID)
	if err != nil {
		return time.Time{}, err
	}
	ac, err := s.cfg.Connections.ZoomClient(ctx, room.TenantID, room.ConnectionID)
	if err != nil {
		release()
		return time.Time{}, zoomError(err)
	}
	if err := ac.RestartRoom(ctx, room.ZoomRoomID); err != nil {
		err = zoomError(err)
		// A refusal (offline, unknown room) restarted nothing, so the room
		// may be restarted again at once; after a timeout or an outage
		// Zoom may have acted, so the slot stays taken.
		if c := apierror.CodeOf(err); c != apierror.ZoomUnavailable && c != apierror.Internal {
			release()
		}
		return time.Time{}, err
	}
	at := s.cfg.Now()
	// The restart happened: record it even if the caller has gone.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := audit.Record(actx, s.db, audit.Event{TenantID: room.TenantID, Actor: actor.Name, Action: "room.restart",
		TargetType: "room", TargetID: room.ID, Details: map[string]any{"room": room.Name, "zoomRoomId": room.ZoomRoomID}}); err != nil {
		return time.Time{}, fmt.Errorf("rooms.Restart: %w", err)
	}
	return at, nil
}

// takeRestartSlot claims the room's restart for RestartInterval with one
// Redis SET NX, so two replicas cannot both restart it; a taken slot is
// RATE_LIMITED with the seconds left. release gives the slot back.
func (s *Service) takeRestartSlot(ctx context.Context, roomID string) (release func(), err error) {
	key := s.cfg.KeyPrefix + "rooms:restart:" + roomID
	ok, err := s.cfg.Redis.SetNX(ctx, key, s.cfg.Now().UTC().Format(time.RFC3339), RestartInterval).Result()
	if err != nil {
		return nil, fmt.Errorf("rooms.Restart: throttle: %w", apierror.Unavailable(apierror.Redis, err))
	}
	if !ok {
		wait := RestartInterval
		if ttl, err := s.cfg.Redis.PTTL(ctx, key).Result(); err == nil && ttl > 0 {
			wait = ttl
		}
		secs := int(math.Ceil(wait.Seconds()))
		return nil, &apierror.Error{Code: apierror.RateLimited,
			Message: fmt.Sprintf("this room was restarted less than a minute ago; try again in %d s", secs),
			Extra:   map[string]any{"retryAfterSeconds": secs}}
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := s.cfg.Redis.Del(rctx, key).Err(); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("restart throttle not released", "room_id", roomID, "error", err.Error())
		}
	}, nil
}
