package resolvers

import (
	"context"
	"errors"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
)

// Room fields that need their own rows (devices, alerts, signage,
// connection) are resolved through per-response dataloaders: rooms by the
// hundred cost one statement per field, not one per room. The rooms and
// room queries go further and prime the loaders for the whole page at once
// (prefetch), so the number of statements of a page never depends on
// timing; the loaders' own batching serves rooms built from event
// snapshots.

// loaderWait is how long a loader collects keys before it queries.
const loaderWait = 2 * time.Millisecond

// roomLoaders are one response's loaders, for the caller's tenant.
type roomLoaders struct {
	tenantID    string
	rooms       *rooms.Service
	connections *connections.Service

	devices    *dataloader.Loader[string, []rooms.Device]
	alerts     *dataloader.Loader[string, []rooms.Alert]
	signage    *dataloader.Loader[string, *rooms.Assignment]
	connection *dataloader.Loader[string, *model.ZoomConnection]
}

type roomLoadersKey struct{}

// WithRoomLoaders wraps the executable schema so that every response (each
// query, mutation, and each event of a subscription) gets fresh loaders:
// nothing is cached across responses, so a subscription never serves stale
// rows. It is how the app wires the loaders (app/rooms.go).
func WithRoomLoaders(es graphql.ExecutableSchema, rs *rooms.Service, cs *connections.Service) graphql.ExecutableSchema {
	return loaderSchema{ExecutableSchema: es, rooms: rs, connections: cs}
}

type loaderSchema struct {
	graphql.ExecutableSchema
	rooms       *rooms.Service
	connections *connections.Service
}

// Exec implements graphql.ExecutableSchema.
func (s loaderSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	next := s.ExecutableSchema.Exec(ctx)
	return func(ctx context.Context) *graphql.Response {
		if p := auth.FromContext(ctx); p != nil && s.rooms != nil {
			ctx = context.WithValue(ctx, roomLoadersKey{}, newRoomLoaders(p.TenantID, s.rooms, s.connections))
		}
		return next(ctx)
	}
}

func newRoomLoaders(tenantID string, rs *rooms.Service, cs *connections.Service) *roomLoaders {
	l := &roomLoaders{tenantID: tenantID, rooms: rs, connections: cs}
	l.devices = dataloader.NewBatchedLoader(l.loadDevices, dataloader.WithWait[string, []rooms.Device](loaderWait))
	l.alerts = dataloader.NewBatchedLoader(l.loadAlerts, dataloader.WithWait[string, []rooms.Alert](loaderWait))
	l.signage = dataloader.NewBatchedLoader(l.loadSignage, dataloader.WithWait[string, *rooms.Assignment](loaderWait))
	l.connection = dataloader.NewBatchedLoader(l.loadConnections, dataloader.WithWait[string, *model.ZoomConnection](loaderWait))
	return l
}

// errNoLoaders means the schema was not wrapped with WithRoomLoaders.
var errNoLoaders = errors.New("resolvers: room loaders are not configured")

func loadersFrom(ctx context.Context) (*roomLoaders, error) {
	l, ok := ctx.Value(roomLoadersKey{}).(*roomLoaders)
	if !ok {
		return nil, errNoLoaders
	}
	return l, nil
}

// byKey answers a batch in key order from a map (absent keys: zero value).
func byKey[V any](keys []string, m map[string]V, err error) []*dataloader.Result[V] {
	out := make([]*dataloader.Result[V], len(keys))
	for i, k := range keys {
		if err != nil {
			out[i] = &dataloader.Result[V]{Error: err}
			continue
		}
		out[i] = &dataloader.Result[V]{Data: m[k]}
	}
	return out
}

func (l *roomLoaders) loadDevices(ctx context.Context, ids []string) []*dataloader.Result[[]rooms.Device] {
	m, err := l.rooms.DevicesByRoom(ctx, l.tenantID, ids)
	return byKey(ids, m, err)
}

func (l *roomLoaders) loadAlerts(ctx context.Context, ids []string) []*dataloader.Result[[]rooms.Alert] {
	m, err := l.rooms.AlertsByRoom(ctx, l.tenantID, ids)
	return byKey(ids, m, err)
}

func (l *roomLoaders) loadSignage(ctx context.Context, ids []string) []*dataloader.Result[*rooms.Assignment] {
	m, err := l.rooms.SignageByRoom(ctx, l.tenantID, ids)
	ptrs := make(map[string]*rooms.Assignment, len(m))
	for k, v := range m {
		ptrs[k] = &v
	}
	return byKey(ids, ptrs, err)
}

// loadConnections reads the tenant's connections in one statement (a
// tenant has a handful) and answers the ids asked for.
func (l *roomLoaders) loadConnections(ctx context.Context, ids []string) []*dataloader.Result[*model.ZoomConnection] {
	if l.connections == nil {
		return byKey[*model.ZoomConnection](ids, nil, errors.New("resolvers: connections are not configured"))
	}
	list, err := l.connections.List(ctx, l.tenantID)
	m := make(map[string]*model.ZoomConnection, len(list))
	for _, c := range list {
		m[c.ID] = roomConnectionModel(c)
	}
	return byKey(ids, m, err)
}

// prefetch primes the loaders for a page of rooms with the fields the
// operation selects on them: one statement per selected field, whatever
// the page size.
func (l *roomLoaders) prefetch(ctx context.Context, page []rooms.Room, fields map[string]bool) error {
	if len(page) == 0 {
		return nil
	}
	ids := make([]string, len(page))
	connIDs := map[string]bool{}
	for i, r := range page {
		ids[i] = r.ID
		connIDs[r.ConnectionID] = true
	}
	if fields["devices"] {
		if err := prime(ctx, l.devices, ids, l.loadDevices); err != nil {
			return err
		}
	}
	if fields["alerts"] {
		if err := prime(ctx, l.alerts, ids, l.loadAlerts); err != nil {
			return err
		}
	}
	if fields["signage"] {
		if err := prime(ctx, l.signage, ids, l.loadSignage); err != nil {
			return err
		}
	}
	if fields["connection"] {
		keys := make([]string, 0, len(connIDs))
		for id := range connIDs {
			keys = append(keys, id)
		}
		if err := prime(ctx, l.connection, keys, l.loadConnections); err != nil {
			return err
		}
	}
	return nil
}

// prime runs a batch function for keys now and seeds the loader with the
// results.
func prime[V any](ctx context.Context, loader *dataloader.Loader[string, V], keys []string, batch dataloader.BatchFunc[string, V]) error {
	results := batch(ctx, keys)
	for i, k := range keys {
		if results[i].Error != nil {
			return results[i].Error
		}
		loader.Prime(ctx, k, results[i].Data)
	}
	return nil
}

// selectedRoomFields returns the fields selected on the Room objects under
// the current field, following path (e.g. "edges", "node" for a
// RoomConnection).
func selectedRoomFields(ctx context.Context, path ...string) map[string]bool {
	opCtx := graphql.GetOperationContext(ctx)
	fc := graphql.GetFieldContext(ctx)
	if opCtx == nil || fc == nil {
		return nil
	}
	sel := fc.Field.Selections
	for _, name := range path {
		var next []graphql.CollectedField
		for _, f := range graphql.CollectFields(opCtx, sel, nil) {
			if f.Name == name {
				next = append(next, f)
			}
		}
		if len(next) == 0 {
			return nil
		}
		sel = nil
		for _, f := range next {
			sel = append(sel, f.Selections...)
		}
	}
	out := map[string]bool{}
	for _, f := range graphql.CollectFields(opCtx, sel, nil) {
		out[f.Name] = true
	}
	return out
}

// prefetchRooms primes the request's loaders for rooms (see prefetch).
func (r *Resolver) prefetchRooms(ctx context.Context, page []rooms.Room, fields map[string]bool) error {
	l, err := loadersFrom(ctx)
	if err != nil {
		return err
	}
	return l.prefetch(ctx, page, fields)
}

// deviceRefreshBudget bounds how long opening a room waits for Zoom to
// refresh its stale devices; past it, the stored devices are shown.
const deviceRefreshBudget = 3 * time.Second

// refreshStaleDevices refreshes the devices of a room the UI opened when
// they are stale, best effort: Zoom failing shows the stored devices.
func (r *Resolver) refreshStaleDevices(ctx context.Context, room rooms.Room) rooms.Room {
	rctx, cancel := context.WithTimeout(ctx, deviceRefreshBudget)
	defer cancel()
	done, err := r.Rooms.RefreshRoomDevices(rctx, room)
	if err != nil {
		r.Logger.InfoContext(ctx, "refreshing a room's devices failed; showing the stored ones", "room_id", room.ID, "error", err.Error())
		return room
	}
	if !done {
		return room
	}
	if fresh, err := r.Rooms.Get(ctx, room.TenantID, room.ID); err == nil {
		return fresh
	}
	return room
}
