package resolvers

import (
	"context"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/graph/model"
	"zoomsignage/rooms"
)

// findNode looks for id among the caller's tenant's objects of every Node
// type, one domain after the other (ids are UUIDs, unique across types,
// and say nothing of their type). A found object needs its type's scope,
// checked before anything more of it is read; nothing found is null.
func (r *queryResolver) findNode(ctx context.Context, p *auth.Principal, id string) (model.Node, error) {
	room, ok, err := found(r.Resolver.Rooms.Get(ctx, p.TenantID, id))
	if err != nil {
		return nil, err
	}
	if ok {
		if err := p.Check(auth.ScopeRoomsRead); err != nil {
			return nil, err
		}
		return r.roomResponse(ctx, p, room)
	}
	if c, ok, err := found(r.Resolver.Connections.Get(ctx, p.TenantID, id)); ok || err != nil {
		return scoped(p, auth.ScopeConnectionsRead, err, func() model.Node { return connectionModel(c) })
	}
	if b, ok, err := found(r.Resolver.Screens.Broadcast(ctx, p.TenantID, id)); ok || err != nil {
		return scoped(p, auth.ScopeRoomsRead, err, func() model.Node { return broadcastModel(b) })
	}
	if e, ok, err := found(r.Resolver.Webhooks.Endpoint(ctx, p.TenantID, id)); ok || err != nil {
		return scoped(p, auth.ScopeAdmin, err, func() model.Node { return webhookEndpointModel(e) })
	}
	contents, err := r.Resolver.Screens.ContentsByID(ctx, p.TenantID, []string{id})
	if c, ok := contents[id]; ok || err != nil {
		return scoped(p, auth.ScopeRoomsRead, err, func() model.Node { return contentModel(c) })
	}
	playlists, err := r.Resolver.Screens.PlaylistsByID(ctx, p.TenantID, []string{id})
	if pl, ok := playlists[id]; ok || err != nil {
		return scoped(p, auth.ScopeRoomsRead, err, func() model.Node { return playlistModel(pl) })
	}
	return nil, nil
}

// found turns a domain Get's NOT_FOUND into "not here" (ok false, no error).
func found[T any](v T, err error) (T, bool, error) {
	if apierror.CodeOf(err) == apierror.NotFound {
		return v, false, nil
	}
	return v, err == nil, err
}

// scoped answers a found object when the caller holds scope, or the lookup's
// error.
func scoped(p *auth.Principal, scope auth.Scope, lookupErr error, node func() model.Node) (model.Node, error) {
	if lookupErr != nil {
		return nil, lookupErr
	}
	if err := p.Check(scope); err != nil {
		return nil, err
	}
	return node(), nil
}

// roomResponse is the Room answered by room(id:) and node(id:): its
// devices refreshed when stale and asked for, and the fields the selection
// needs filled in one prefetch.
func (r *queryResolver) roomResponse(ctx context.Context, p *auth.Principal, room rooms.Room) (*model.Room, error) {
	fields := selectedRoomFields(ctx)
	if fields["devices"] || fields["devicesRefreshedAt"] {
		room = r.refreshStaleDevices(ctx, room)
	}
	out := roomModel(room)
	if err := r.fillRooms(ctx, p.TenantID, []*model.Room{out}, fields); err != nil {
		return nil, err
	}
	return out, nil
}
