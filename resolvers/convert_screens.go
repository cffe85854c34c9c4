package resolvers

import (
	"context"

	"zoomsignage/graph/model"
)

// screenOf builds a room's Screen: its URL from rooms' signage assignment
// (through the request's loader, unless the room came with it), its
// status from what the player reported to the screens package.
func (r *Resolver) screenOf(ctx context.Context, tenantID string, room *model.Room) (*model.Screen, error) {
	signage := room.Signage
	if signage == nil {
		l, err := loadersFrom(ctx)
		if err != nil {
			return nil, err
		}
		a, err := l.signage.Load(ctx, room.ID)()
		if err != nil {
			return nil, err
		}
		signage = signageModel(a)
	}
	if signage == nil {
		return nil, nil
	}
	out := &model.Screen{URL: signage.ScreenURL}
	status, err := r.Screens.StatusByRoom(ctx, tenantID, []string{room.ID})
	if err != nil {
		return nil, err
	}
	if st, ok := status[room.ID]; ok {
		out.Online, out.LastSeenAt = st.Online, st.LastSeenAt
	}
	return out, nil
}
