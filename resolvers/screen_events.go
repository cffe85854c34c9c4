package resolvers

import (
	"context"

	"zoomsignage/events"
	"zoomsignage/graph/model"
	"zoomsignage/screens"
)

// screenChange is what screenChanged says of an outbox kind; ok is false
// for the kinds it does not follow.
func screenChange(k events.Kind) (model.ScreenChange, bool) {
	switch k {
	case events.ScreenOnline:
		return model.ScreenChangeOnline, true
	case events.ScreenOffline:
		return model.ScreenChangeOffline, true
	case events.BroadcastStarted:
		return model.ScreenChangeBroadcastStarted, true
	case events.BroadcastEnded:
		return model.ScreenChangeBroadcastEnded, true
	}
	return "", false
}

// screenChanged streams the tenant's screen events (optionally of one
// connection, which must be the tenant's). The screens package writes one
// event per online transition and one per broadcast, whatever its size, so
// a broadcast is expanded here into one ScreenEvent per room: the rooms
// it names, or for a tenant-wide one the rooms activated when it is
// delivered. That reads Postgres once per event and subscriber, which
// the rarity of broadcasts and transitions makes cheap, unlike one outbox
// row per room in the starting transaction of a 10,000-room broadcast.
// One goroutine per subscription does the reads, off the bus's goroutine.
func (r *subscriptionResolver) screenChanged(ctx context.Context, tenantID string, connectionID *string) (<-chan *model.ScreenEvent, error) {
	connID, err := r.filterConnection(ctx, tenantID, connectionID)
	if err != nil {
		return nil, err
	}
	in, err := stream(ctx, r.Bus, tenantID, func(ev *events.Event) (*events.Event, bool) {
		_, ok := screenChange(ev.Kind)
		// A transition names its connection (unless its room was deleted
		// meanwhile, which expandScreenEvent drops); a broadcast does not.
		if ok && connID != "" && ev.ConnectionID != "" && ev.ConnectionID != connID {
			ok = false
		}
		return ev, ok
	})
	if err != nil {
		return nil, err
	}
	out := make(chan *model.ScreenEvent, 1)
	go func() {
		defer close(out)
		for ev := range in {
			list, err := r.expandScreenEvent(ctx, tenantID, connID, ev)
			if err != nil {
				r.Logger.WarnContext(ctx, "skipping a screen event: its rooms are not readable", "kind", string(ev.Kind), "error", err.Error())
				continue
			}
			for _, m := range list {
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// expandScreenEvent turns one outbox event into the ScreenEvents of its
// rooms that are still the tenant's and of the connection connID ("" is
// any), in room id order for a broadcast.
func (r *Resolver) expandScreenEvent(ctx context.Context, tenantID, connID string, ev *events.Event) ([]*model.ScreenEvent, error) {
	change, _ := screenChange(ev.Kind)
	var ids []string
	var screen *model.Screen
	var cast *model.Broadcast
	switch {
	case ev.Screen != nil && ev.Room != nil:
		ids = []string{ev.Room.ID}
		last := ev.Screen.LastSeenAt
		screen = &model.Screen{Online: ev.Screen.Online, LastSeenAt: &last}
	case ev.Broadcast != nil:
		ids = ev.Broadcast.RoomIDs
		if ev.Broadcast.AllRooms {
			var err error
			if ids, err = r.Rooms.ActivatedRoomIDs(ctx, tenantID); err != nil {
				return nil, err
			}
		}
		cast = r.eventBroadcast(ctx, tenantID, ev.Broadcast)
	default:
		return nil, nil
	}
	found, err := r.Rooms.RoomsByID(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*model.ScreenEvent, 0, len(ids))
	for _, id := range ids {
		room, ok := found[id]
		if !ok || (connID != "" && room.ConnectionID != connID) {
			continue
		}
		m := &model.ScreenEvent{Room: roomModel(room), Change: change, Broadcast: cast, At: ev.At}
		if screen != nil {
			s := *screen
			m.Screen = &s
		}
		out = append(out, m)
	}
	return out, nil
}

// eventBroadcast is the broadcast of a broadcast event as stored now (its
// Zoom alert counts are written after the start commits), or as the event
// saw it when it is no longer readable.
func (r *Resolver) eventBroadcast(ctx context.Context, tenantID string, b *events.BroadcastSnapshot) *model.Broadcast {
	if stored, err := r.Screens.Broadcast(ctx, tenantID, b.ID); err == nil {
		return broadcastModel(stored)
	}
	return broadcastModel(screens.Broadcast{ID: b.ID, Message: b.Message, Severity: b.Severity, StartedAt: b.StartedAt,
		StartedBy: b.StartedBy, EndsAt: b.EndsAt, EndedAt: b.EndedAt, RoomCount: b.RoomCount})
}

// eventScreen is the screen of a ScreenEvent's room now (nil once signage
// is off the room), except that an online transition keeps the online
// state and last contact the event announced: a subscriber that reads
// OFFLINE sees the screen offline even if it came back since (the next
// event says so).
func (r *Resolver) eventScreen(ctx context.Context, tenantID string, ev *model.ScreenEvent) (*model.Screen, error) {
	out, err := r.screenOf(ctx, tenantID, ev.Room)
	if err != nil || out == nil || ev.Screen == nil {
		return out, err
	}
	out.Online, out.LastSeenAt = ev.Screen.Online, ev.Screen.LastSeenAt
	if !out.Online {
		out.NowPlaying = nil
	}
	return out, nil
}
