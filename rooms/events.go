package rooms

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/events"
	"zoomsignage/store"
)

// emit records events in tx's outbox: they are relayed to subscribers (and
// partner webhooks) once tx commits, and never if it rolls back, so a Redis
// outage at commit time loses nothing.
func (s *Service) emit(ctx context.Context, tx pgx.Tx, evs ...events.Event) error {
	if err := s.cfg.Outbox.Add(ctx, tx, evs...); err != nil {
		return fmt.Errorf("rooms.emit: %w", err)
	}
	return nil
}

// inTxEmit runs fn in a transaction and records the events it returns in
// the same transaction.
func (s *Service) inTxEmit(ctx context.Context, fn func(tx pgx.Tx) ([]events.Event, error)) error {
	return store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		evs, err := fn(tx)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, evs...)
	})
}

func (s *Service) syncEvent(run SyncRun) events.Event {
	return events.Event{Kind: events.SyncProgress, TenantID: run.TenantID, ConnectionID: run.ConnectionID, At: s.cfg.Now(),
		Sync: syncSnapshot(run)}
}

// emitProgress records a sync's progress, which reports counters held in
// memory rather than a write, in a transaction of its own. Progress is
// informational: a failure is logged, never fails the sync.
func (s *Service) emitProgress(ctx context.Context, run SyncRun) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cfg.Outbox.AddNow(ctx, s.syncEvent(run)); err != nil {
		s.log.WarnContext(ctx, "recording sync progress failed", "run_id", run.ID, "error", err.Error())
	}
}

// inventoryEvents are a page's status changes and the health of the rooms
// whose health it recomputed, read in tx.
func (s *Service) inventoryEvents(ctx context.Context, tx pgx.Tx, connectionID string, ch inventoryChanges) ([]events.Event, error) {
	now := s.cfg.Now()
	evs := make([]events.Event, 0, len(ch.statusEvents)+len(ch.health))
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
	if len(ch.health) > 0 {
		ids := make([]string, len(ch.health))
		for i, h := range ch.health {
			ids[i] = h.room.ID
		}
		health, err := s.roomHealthEvents(ctx, tx, ch.health[0].room.TenantID, ids)
		if err != nil {
			return nil, err
		}
		evs = append(evs, health...)
	}
	return evs, nil
}

// roomHealthEvents are the health and alerts of rooms as q sees them.
func (s *Service) roomHealthEvents(ctx context.Context, q queryer, tenantID string, roomIDs []string) ([]events.Event, error) {
	rooms, err := roomsByID(ctx, q, tenantID, roomIDs)
	if err != nil {
		return nil, fmt.Errorf("rooms.roomHealthEvents: %w", err)
	}
	alerts, err := alertsByRoom(ctx, q, tenantID, roomIDs)
	if err != nil {
		return nil, fmt.Errorf("rooms.roomHealthEvents: %w", err)
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
	return evs, nil
}

// emitRoomHealth records rooms' health events in tx.
func (s *Service) emitRoomHealth(ctx context.Context, tx pgx.Tx, tenantID string, roomIDs []string) error {
	if len(roomIDs) == 0 {
		return nil
	}
	evs, err := s.roomHealthEvents(ctx, tx, tenantID, roomIDs)
	if err != nil {
		return err
	}
	return s.emit(ctx, tx, evs...)
}

// signageEvent is a room's signage state (a nil assignment: removed).
func (s *Service) signageEvent(room Room, a *Assignment) events.Event {
	ev := events.Event{Kind: events.SignageStateChanged, TenantID: room.TenantID, ConnectionID: room.ConnectionID,
		At: s.cfg.Now(), Room: roomSnapshot(room)}
	if a != nil {
		ev.Signage = signageSnapshot(*a)
	}
	return ev
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
