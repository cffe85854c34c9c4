package resolvers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
)

// Room fields that need their own rows (devices, alerts, signage,
// connection) are plain fields of model.Room, filled by whoever builds the
// room: the rooms and room queries read them for the whole page at once
// (fillRooms: a fixed number of statements whatever the page size, never
// dependent on timing), and the room of a subscription event reads them
// through per-response dataloaders (fillEventRoom).

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
	summary    *dataloader.Loader[string, rooms.ConnectionSummary] // loaders_connections.go
}

type roomLoadersKey struct{}

// WithRoomLoaders wraps the executable schema so that every response (each
// query, mutation, and each event of a subscription) gets fresh loaders
// (the rooms' and the connections' summary, loaders_connections.go):
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
			ctx = context.WithValue(ctx, roomLoadersKey{}, &lazyRoomLoaders{tenantID: p.TenantID, rooms: s.rooms, connections: s.connections})
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
	l.summary = dataloader.NewBatchedLoader(l.loadSummaries, dataloader.WithWait[string, rooms.ConnectionSummary](loaderWait))
	return l
}

// lazyRoomLoaders builds a request's loaders on first use: most operations
// (viewer, mutations, audit) never touch rooms, and four batched loaders
// with their caches are not free on every request.
type lazyRoomLoaders struct {
	once        sync.Once
	loaders     *roomLoaders
	tenantID    string
	rooms       *rooms.Service
	connections *connections.Service
}

func (lz *lazyRoomLoaders) get() *roomLoaders {
	lz.once.Do(func() { lz.loaders = newRoomLoaders(lz.tenantID, lz.rooms, lz.connections) })
	return lz.loaders
}

// errNoLoaders means the schema was not wrapped with WithRoomLoaders.
var errNoLoaders = errors.New("resolvers: room loaders are not configured")

func loadersFrom(ctx context.Context) (*roomLoaders, error) {
	lz, ok := ctx.Value(roomLoadersKey{}).(*lazyRoomLoaders)
	if !ok {
		return nil, errNoLoaders
	}
	return lz.get(), nil
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

// fillRooms sets the selected devices, alerts, signage and connection of
// a page of rooms on their models: one statement for the first three
// (rooms.RoomDetails) and one for the connections, whatever the page size.
// They are plain fields of model.Room, so gqlgen marshals them inline
// instead of starting a resolver goroutine per field and room.
func (r *Resolver) fillRooms(ctx context.Context, tenantID string, page []*model.Room, fields map[string]bool) error {
	if len(page) == 0 {
		return nil
	}
	want := rooms.DetailsWant{Devices: fields["devices"], Alerts: fields["alerts"], Signage: fields["signage"]}
	if want.Devices || want.Alerts || want.Signage {
		ids := make([]string, len(page))
		for i, m := range page {
			ids[i] = m.ID
		}
		details, err := r.Rooms.RoomDetails(ctx, tenantID, ids, want)
		if err != nil {
			return err
		}
		for _, m := range page {
			d := details[m.ID]
			if d == nil {
				d = &rooms.Details{}
			}
			if want.Devices {
				m.Devices = deviceModels(d.Devices)
			}
			if want.Alerts {
				m.Alerts = alertModels(d.Alerts)
			}
			if want.Signage {
				m.Signage = signageModel(d.Signage)
			}
		}
	}
	if fields["connection"] {
		if r.Connections == nil {
			return errors.New("resolvers: connections are not configured")
		}
		list, err := r.Connections.List(ctx, tenantID)
		if err != nil {
			return err
		}
		byID := make(map[string]*model.ZoomConnection, len(list))
		for _, c := range list {
			byID[c.ID] = roomConnectionModel(c)
		}
		for _, m := range page {
			// A room whose connection is gone keeps none: its non-null
			// connection is then an error for that room alone, as the
			// field resolver's NOT_FOUND was.
			m.Connection = byID[roomConnectionID(m)]
		}
	}
	return nil
}

// roomConnectionID is the id a room model was built with (roomModel and
// roomSnapshotModel seed Connection with it).
func roomConnectionID(m *model.Room) string {
	if m.Connection == nil {
		return ""
	}
	return m.Connection.ID
}

// fillEventRoom sets the selected devices, alerts, signage and connection
// of the room of a subscription event, through the response's dataloaders
// (started together, so they batch in one wait). The event's model is
// copied, not changed.
func fillEventRoom(ctx context.Context, room *model.Room) (*model.Room, error) {
	fields := selectedRoomFields(ctx)
	if !fields["devices"] && !fields["alerts"] && !fields["signage"] && !fields["connection"] {
		return room, nil
	}
	l, err := loadersFrom(ctx)
	if err != nil {
		return nil, err
	}
	out := *room
	var (
		devices    func() ([]rooms.Device, error)
		alerts     func() ([]rooms.Alert, error)
		signage    func() (*rooms.Assignment, error)
		connection func() (*model.ZoomConnection, error)
	)
	if fields["devices"] {
		devices = l.devices.Load(ctx, room.ID)
	}
	if fields["alerts"] {
		alerts = l.alerts.Load(ctx, room.ID)
	}
	if fields["signage"] {
		signage = l.signage.Load(ctx, room.ID)
	}
	if fields["connection"] {
		id := roomConnectionID(room)
		if id == "" {
			return nil, fmt.Errorf("resolvers.Room.connection: room %s carries no connection id", room.ID)
		}
		connection = l.connection.Load(ctx, id)
	}
	if devices != nil {
		ds, err := devices()
		if err != nil {
			return nil, err
		}
		out.Devices = deviceModels(ds)
	}
	if alerts != nil {
		as, err := alerts()
		if err != nil {
			return nil, err
		}
		out.Alerts = alertModels(as)
	}
	if signage != nil {
		a, err := signage()
		if err != nil {
			return nil, err
		}
		out.Signage = signageModel(a)
	}
	if connection != nil {
		c, err := connection()
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, apierror.NotFoundf("the room's connection no longer exists")
		}
		out.Connection = c
	}
	return &out, nil
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

// resultRooms loads the rooms a mutation changed, when its caller selected
// `room` on the results (so a client cache updates from the payload alone):
// one read for all of them and one prefetch of the selected sub-fields, as
// a page of rooms gets. Rooms not found (deleted meanwhile, another
// tenant's id) are absent from the map.
func (r *Resolver) resultRooms(ctx context.Context, tenantID string, ids []string) (map[string]*model.Room, error) {
	fields := selectedRoomFields(ctx, "room")
	if fields == nil {
		return nil, nil
	}
	found, err := r.Rooms.GetMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	page := make([]*model.Room, len(found))
	byID := make(map[string]*model.Room, len(found))
	for i, room := range found {
		page[i] = roomModel(room)
		byID[room.ID] = page[i]
	}
	if err := r.fillRooms(ctx, tenantID, page, fields); err != nil {
		return nil, err
	}
	return byID, nil
}

// withRooms sets each signage result's room, when selected.
func (r *Resolver) withRooms(ctx context.Context, tenantID string, results []*model.SignageResult) ([]*model.SignageResult, error) {
	ids := make([]string, len(results))
	for i, res := range results {
		ids[i] = res.RoomID
	}
	byID, err := r.resultRooms(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	for _, res := range results {
		res.Room = byID[res.RoomID]
	}
	return results, nil
}
