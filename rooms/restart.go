package rooms

import (
	"context"
	"fmt"
	"time"

	"zoomsignage/audit"
)

// Restart restarts the Zoom Rooms app on a room, only on request, and
// records it in the audit log once Zoom accepted it. Zoom decides whether
// the room is offline (our status may be a sync old): an offline room is
// ZOOM_ROOM_OFFLINE. The call is never retried, since a restart is not
// idempotent.
func (s *Service) Restart(ctx context.Context, actor Actor, roomID string) (time.Time, error) {
	room, err := s.Get(ctx, actor.TenantID, roomID)
	if err != nil {
		return time.Time{}, err
	}
	ac, err := s.cfg.Connections.ZoomClient(ctx, room.TenantID, room.ConnectionID)
	if err != nil {
		return time.Time{}, zoomError(err)
	}
	if err := ac.RestartRoom(ctx, room.ZoomRoomID); err != nil {
		return time.Time{}, zoomError(err)
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
