package rooms

import (
	"context"
	"time"

	"zoomsignage/events"
)

// publishChunk bounds one Publish call; a first sync of 10,000 rooms
// publishes its "new room" events in chunks of this size.
const publishChunk = 500

// publish sends events best effort: the change is committed already, and a
// subscriber that misses an event sees the state on its next query. The
// caller's cancellation does not stop it.
func (s *Service) publish(ctx context.Context, evs []events.Event) {
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for start := 0; start < len(evs); start += publishChunk {
		end := min(start+publishChunk, len(evs))
		if err := s.cfg.Events.Publish(ctx, evs[start:end]...); err != nil {
			s.log.WarnContext(ctx, "publishing events failed", "count", end-start, "error", err.Error())
			return
		}
	}
}

func (s *Service) publishSync(ctx context.Context, run SyncRun) {
	s.publish(ctx, []events.Event{{
		Kind: events.SyncProgress, TenantID: run.TenantID, ConnectionID: run.ConnectionID, At: s.cfg.Now(),
		Sync: syncSnapshot(run),
	}})
}

// publishInventory publishes a sync's status and health changes.
func (s *Service) publishInventory(ctx context.Context, connectionID string, ch inventoryChanges) {
	now := s.cfg.Now()
	evs := make([]events.Event, 0, len(ch.statusEvents))
	healthByRoom := make(map[string]string, len(ch.health))
	for _, h := range ch.health {
		healthByRoom[h.room.ID] = h.room.Health
	}
	for _, c := range ch.statusEvents {
		room := c.room
		if h, ok := healthByRoom[room.ID]; ok {
			room.Health = h
		}
		evs = append(evs, events.Event{Kind: events.RoomStatusChanged, TenantID: room.TenantID, ConnectionID: connectionID,
			At: now, Room: roomSnapshot(room), PreviousStatus: c.previous})
	}
	s.publish(ctx, evs)
	if len(ch.health) > 0 {
		ids := make([]string, len(ch.health))
		for i, h := range ch.health {
			ids[i] = h.room.ID
		}
		s.publishRoomHealth(ctx, ch.health[0].room.TenantID, ids)
	}
}

// publishRoomHealth publishes the health and alerts of rooms as they are
// now.
func (s *Service) publishRoomHealth(ctx context.Context, tenantID string, roomIDs []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rooms, err := s.RoomsByID(ctx, tenantID, roomIDs)
	if err != nil {
		s.log.WarnContext(ctx, "health event: reading rooms failed", "error", err.Error())
		return
	}
	alerts, err := s.AlertsByRoom(ctx, tenantID, roomIDs)
	if err != nil {
		s.log.WarnContext(ctx, "health event: reading alerts failed", "error", err.Error())
		return
	}
	now := s.cfg.Now()
	evs := make([]events.Event, 0, len(rooms))
	for _, id := range roomIDs {
		r, ok := rooms[id]
		if !ok {
			continue
		}
		snaps := make([]events.AlertSnapshot, 0, len(alerts[id]))
		for _, a := range alerts[id] {
			snaps = append(snaps, alertSnapshot(a))
		}
		evs = append(evs, events.Event{Kind: events.RoomHealthChanged, TenantID: tenantID, ConnectionID: r.ConnectionID,
			At: now, Room: roomSnapshot(r), Alerts: snaps})
	}
	s.publish(ctx, evs)
}

// publishSignage publishes a room's signage state (a nil assignment: removed).
func (s *Service) publishSignage(ctx context.Context, room Room, a *Assignment) {
	ev := events.Event{Kind: events.SignageStateChanged, TenantID: room.TenantID, ConnectionID: room.ConnectionID,
		At: s.cfg.Now(), Room: roomSnapshot(room)}
	if a != nil {
		ev.Signage = signageSnapshot(*a)
	}
	s.publish(ctx, []events.Event{ev})
}

func roomSnapshot(r Room) *events.RoomSnapshot {
	return &events.RoomSnapshot{ID: r.ID, ConnectionID: r.ConnectionID, ZoomRoomID: r.ZoomRoomID, Name: r.Name,
		Type: r.Type, LocationID: r.LocationID, Status: r.Status, Online: r.Online, LastSeenAt: r.LastSeenAt, Health: r.Health}
}

func alertSnapshot(a Alert) events.AlertSnapshot {
	return events.AlertSnapshot{Component: ComponentName(a.Component), AlertType: AlertTypeName(a.AlertType), Issue: a.Issue,
		State: a.State, TriggeredAt: a.TriggeredAt, ClearedAt: a.ClearedAt}
}

func signageSnapshot(a Assignment) *events.SignageSnapshot {
	return &events.SignageSnapshot{State: a.State, ScreenURL: a.ScreenURL, Layout: a.Layout, Muted: a.Muted,
		StartAfterMeetingMinutes: a.StartAfter, StopBeforeMeetingMinutes: a.StopBefore, ActivatedAt: a.ActivatedAt,
		ActivatedBy: a.ActivatedBy, LastPushedAt: a.LastPushedAt, LastError: a.LastError}
}

func syncSnapshot(r SyncRun) *events.SyncSnapshot {
	return &events.SyncSnapshot{ID: r.ID, Trigger: r.Trigger, State: r.State, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		RoomsSeen: r.RoomsSeen, RoomsAdded: r.RoomsAdded, RoomsRemoved: r.RoomsRemoved, StatusChanges: r.StatusChanges,
		ZoomCalls: r.ZoomCalls, Error: r.Error}
}

// ComponentName names a zoomroom.alert component.
func ComponentName(c int) string {
	switch c {
	case 1:
		return "ZOOM_ROOMS_COMPUTER"
	case 2:
		return "CONTROLLER"
	case 3:
		return "SCHEDULING_DISPLAY"
	case 4:
		return "MICROPHONE"
	case 5:
		return "CAMERA"
	case 6:
		return "SPEAKER"
	}
	return "OTHER"
}

// AlertTypeName names a zoomroom.alert alert type.
func AlertTypeName(t int) string {
	switch t {
	case 1:
		return "CONTROLLER_DISCONNECTED"
	case 2:
		return "PERIPHERAL_DISCONNECTED"
	case 3:
		return "ROOM_OFFLINE"
	case 4:
		return "HIGH_CPU"
	case 5:
		return "LOW_BANDWIDTH"
	case 6:
		return "LOW_BATTERY"
	case 7:
		return "DISPLAY_DISCONNECTED"
	case 8:
		return "AUDIO_QUALITY"
	case 9:
		return "SIP_REGISTRATION_FAILED"
	case 10:
		return "INCORRECT_PASSCODE"
	}
	return "OTHER"
}
