package resolvers

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"zoomsignage/apierror"
	"zoomsignage/connections"
	"zoomsignage/events"
	"zoomsignage/graph/model"
)

// codeSlowConsumer ends a subscription whose client fell a whole buffer of
// events behind: it should resubscribe and re-query the current state.
const codeSlowConsumer apierror.Code = "SLOW_CONSUMER"

// stream subscribes to the tenant's events through the bus, converting each
// accepted event on the bus's read goroutine (no goroutine per
// subscription). Why a stream ended abnormally reaches the client as the
// subscription's error message.
func stream[T any](ctx context.Context, bus *events.Bus, tenantID string, convert func(*events.Event) (T, bool)) (<-chan T, error) {
	if bus == nil {
		return nil, errors.New("resolvers.stream: no event bus is configured")
	}
	// gqlgen reads a subscription's errors, without a lock, on its own
	// goroutine once the stream's channel closes or its context ends. The
	// error is written just before the channel closes, so the read is
	// ordered after it, but only if the context did not end meanwhile: it
	// is written for a slow consumer that is still connected, the one
	// client that needs telling. A stream ended by the shutdown gets no
	// error: the socket is closed with 1001, which says to reconnect, and
	// the context ends at the same time, so the write would race the read.
	s, err := events.Subscribe(ctx, bus, tenantID, convert, func(err error) {
		if errors.Is(err, events.ErrSlowConsumer) && ctx.Err() == nil {
			transport.AddSubscriptionError(ctx, slowConsumerError())
		}
	})
	if err != nil && ctx.Err() != nil {
		// The client stopped the subscription (or left) before Redis
		// confirmed it: it gets the end of the stream, as for any stop,
		// not an error about a subscription it no longer wants.
		done := make(chan T)
		close(done)
		return done, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolvers.stream: %w", err)
	}
	return s.C(), nil
}

// slowConsumerError is what a client that fell a whole buffer behind is
// told when its stream is cut.
func slowConsumerError() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "subscription closed: the client fell too far behind the events; resubscribe and query the current state",
		Extensions: map[string]any{"code": string(codeSlowConsumer)},
	}
}

// connectionFilter checks that connectionID (when given) is one of the
// tenant's connections, and returns a predicate on events' connection.
func (r *Resolver) connectionFilter(ctx context.Context, tenantID string, connectionID *string) (func(*events.Event) bool, error) {
	id, err := r.filterConnection(ctx, tenantID, connectionID)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return func(*events.Event) bool { return true }, nil
	}
	return func(ev *events.Event) bool { return ev.ConnectionID == id }, nil
}

// filterConnection checks that connectionID (when given) is one of the
// tenant's connections and returns its id ("" when none was given: every
// connection).
func (r *Resolver) filterConnection(ctx context.Context, tenantID string, connectionID *string) (string, error) {
	if connectionID == nil {
		return "", nil
	}
	if r.Connections == nil {
		return "", errors.New("resolvers.filterConnection: connections are not configured")
	}
	c, err := r.Connections.Get(ctx, tenantID, *connectionID)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// roomStatusEventModel maps a room.status event; ok is false for events
// that cannot be shown (missing snapshot, unknown status).
func roomStatusEventModel(ev *events.Event) (*model.RoomStatusEvent, bool) {
	room, ok := roomSnapshotModel(ev.Room)
	if !ok {
		return nil, false
	}
	out := &model.RoomStatusEvent{Room: room, Status: room.Status, At: ev.At}
	if prev := model.RoomStatus(ev.PreviousStatus); prev.IsValid() {
		out.PreviousStatus = &prev
	}
	return out, true
}

// roomHealthEventModel maps a room.health event.
func roomHealthEventModel(ev *events.Event) (*model.RoomHealthEvent, bool) {
	room, ok := roomSnapshotModel(ev.Room)
	if !ok {
		return nil, false
	}
	alerts := make([]*model.RoomAlert, len(ev.Alerts))
	for i, a := range ev.Alerts {
		alerts[i] = &model.RoomAlert{
			Component: a.Component, AlertType: a.AlertType, Issue: a.Issue, State: a.State,
			TriggeredAt: a.TriggeredAt, ClearedAt: a.ClearedAt,
		}
	}
	return &model.RoomHealthEvent{Room: room, Health: room.Health, Alerts: alerts, At: ev.At}, true
}

// signageStateEventModel maps a signage.state event (Signage nil once the
// assignment is removed).
func signageStateEventModel(ev *events.Event) (*model.SignageStateEvent, bool) {
	room, ok := roomSnapshotModel(ev.Room)
	if !ok {
		return nil, false
	}
	out := &model.SignageStateEvent{Room: room, At: ev.At}
	if s := ev.Signage; s != nil {
		out.Signage = &model.SignageAssignment{
			State: model.SignageState(s.State), ScreenURL: s.ScreenURL, Layout: model.SignageLayout(s.Layout), Muted: s.Muted,
			DisplayPeriod: &model.DisplayPeriod{StartAfterMeetingMinutes: s.StartAfterMeetingMinutes, StopBeforeMeetingMinutes: s.StopBeforeMeetingMinutes},
			ActivatedAt:   s.ActivatedAt, ActivatedBy: s.ActivatedBy, LastPushedAt: s.LastPushedAt, LastError: eventString(s.LastError),
		}
		if !out.Signage.State.IsValid() || !out.Signage.Layout.IsValid() {
			return nil, false
		}
	}
	return out, true
}

// roomSnapshotModel maps the room of an event. Its devices, alerts, signage
// and connection are filled by eventRoom, by id; the connection is seeded
// with its id for it.
func roomSnapshotModel(s *events.RoomSnapshot) (*model.Room, bool) {
	if s == nil || !model.RoomStatus(s.Status).IsValid() {
		return nil, false
	}
	health := model.RoomHealth(s.Health)
	if !health.IsValid() {
		health = model.RoomHealthUnknown
	}
	return &model.Room{
		ID: s.ID, ZoomRoomID: s.ZoomRoomID, Name: s.Name, Type: s.Type, LocationID: eventString(s.LocationID),
		Status: model.RoomStatus(s.Status), Online: s.Online, LastSeenAt: s.LastSeenAt, Health: health,
		Connection: &model.ZoomConnection{ID: s.ConnectionID},
	}, true
}

// syncRunModel maps a sync.progress event.
func syncRunModel(ev *events.Event) (*model.SyncRun, bool) {
	s := ev.Sync
	if s == nil || !model.SyncState(s.State).IsValid() {
		return nil, false
	}
	return &model.SyncRun{
		ID: s.ID, ConnectionID: ev.ConnectionID, Trigger: s.Trigger, State: model.SyncState(s.State),
		StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, RoomsSeen: s.RoomsSeen, RoomsAdded: s.RoomsAdded,
		RoomsRemoved: s.RoomsRemoved, StatusChanges: s.StatusChanges, ZoomCalls: s.ZoomCalls, Error: eventString(s.Error),
	}, true
}

// connectionSnapshotModel maps a connection.status event whose snapshot is
// complete (ok is false when it lacks the connection's identity).
func connectionSnapshotModel(s *events.ConnectionSnapshot) (*model.ZoomConnection, bool) {
	kind := model.ZoomConnectionKind(s.Kind)
	status := model.ConnectionStatus(s.Status)
	if !kind.IsValid() || !status.IsValid() {
		return nil, false
	}
	out := &model.ZoomConnection{
		ID: s.ID, Kind: kind, ZoomAccountID: &s.ZoomAccountID, Label: s.Label,
		Status: status, StatusReason: eventString(s.StatusReason),
		GrantedScopes: eventStrings(s.GrantedScopes), MissingScopes: eventStrings(s.MissingScopes), CreatedAt: &s.CreatedAt,
	}
	if s.AdminName != "" || s.AdminEmail != "" {
		out.ConnectedBy = &model.ZoomAdmin{Name: s.AdminName, Email: s.AdminEmail}
	}
	return out, true
}

// storedConnectionSnapshot completes a snapshot that carries only the
// status with the stored connection's identity; the status stays the one
// the event announced (the row may have moved on since).
func storedConnectionSnapshot(c connections.Connection, s *events.ConnectionSnapshot) *events.ConnectionSnapshot {
	return &events.ConnectionSnapshot{
		ID: c.ID, Status: s.Status, StatusReason: s.StatusReason,
		Kind: string(c.Kind), ZoomAccountID: c.ZoomAccountID, Label: c.Label,
		AdminName: c.AdminName, AdminEmail: c.AdminEmail,
		GrantedScopes: c.GrantedScopes, MissingScopes: c.MissingScopes, CreatedAt: c.CreatedAt,
	}
}

// eventString is nil for an empty snapshot string.
func eventString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// eventStrings is never nil, for non-null lists.
func eventStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// eventRoom is the room of a room event (always set by the mapping), with
// the devices, alerts, signage and connection the subscription selects
// read through the response's dataloaders.
func eventRoom(ctx context.Context, room *model.Room) (*model.Room, error) {
	if room == nil {
		return nil, errors.New("resolvers: room event without a room")
	}
	return fillEventRoom(ctx, room)
}

// completeConnections turns connection snapshots into connections, reading
// the stored connection only for snapshots that carry nothing but the
// status. Status changes are rare, so one goroutine per subscription here
// is cheap; it ends with the stream.
func (r *Resolver) completeConnections(ctx context.Context, tenantID string, in <-chan *events.ConnectionSnapshot, out chan<- *model.ZoomConnection) {
	defer close(out)
	for snap := range in {
		m, ok := connectionSnapshotModel(snap)
		if !ok && r.Connections != nil {
			c, err := r.Connections.Get(ctx, tenantID, snap.ID)
			if err != nil {
				r.Logger.Info("skipping a connection status event: connection not readable", "connection_id", snap.ID, "error", err.Error())
				continue
			}
			m, ok = connectionSnapshotModel(storedConnectionSnapshot(c, snap))
		}
		if !ok {
			continue
		}
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

// subscribeKind streams the tenant's events of one kind, optionally of one
// connection (which must be the tenant's), converted for a subscription.
func subscribeKind[T any](ctx context.Context, r *subscriptionResolver, tenantID string, connectionID *string, kind events.Kind, convert func(*events.Event) (T, bool)) (<-chan T, error) {
	ofConnection, err := r.connectionFilter(ctx, tenantID, connectionID)
	if err != nil {
		return nil, err
	}
	return stream(ctx, r.Bus, tenantID, func(ev *events.Event) (T, bool) {
		if ev.Kind != kind || !ofConnection(ev) {
			var zero T
			return zero, false
		}
		return convert(ev)
	})
}
