package resolvers

import (
	"context"

	"zoomsignage/graph/model"
	"zoomsignage/screens"
)

// The mappings between the screens domain and the GraphQL models.

// screenOf builds a room's Screen: its URL from rooms' signage assignment
// (through the request's loader, unless the room came with it), its
// status and playlist from the screens package.
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
	assigned, err := r.Screens.PlaylistOfRooms(ctx, tenantID, []string{room.ID})
	if err != nil {
		return nil, err
	}
	if id, ok := assigned[room.ID]; ok {
		pls, err := r.Screens.PlaylistsByID(ctx, tenantID, []string{id})
		if err != nil {
			return nil, err
		}
		if pl, ok := pls[id]; ok {
			out.Playlist = playlistModel(pl)
		}
	}
	b, err := r.Screens.LiveBroadcast(ctx, tenantID, room.ID)
	if err != nil {
		return nil, err
	}
	if b != nil {
		out.Broadcast = broadcastModel(*b)
	}
	return out, nil
}

func broadcastInput(in model.BroadcastInput) screens.BroadcastInput {
	out := screens.BroadcastInput{Message: in.Message, Severity: string(in.Severity), EndsAt: in.EndsAt}
	if in.Target != nil {
		out.Target = targetInput(*in.Target)
	}
	return out
}

func broadcastModel(b screens.Broadcast) *model.Broadcast {
	return &model.Broadcast{ID: b.ID, Message: b.Message, Severity: model.BroadcastSeverity(b.Severity),
		StartedAt: b.StartedAt, StartedBy: b.StartedBy, EndsAt: b.EndsAt, EndedAt: b.EndedAt,
		RoomCount: b.RoomCount, ZoomAlertRooms: b.ZoomAlertRooms}
}

func contentInput(in model.ContentInput) screens.ContentInput {
	return screens.ContentInput{Name: in.Name, Kind: string(in.Kind), URL: in.URL, DurationSeconds: in.DurationSeconds}
}

func contentModel(c screens.Content) *model.Content {
	return &model.Content{ID: c.ID, Name: c.Name, Kind: model.ContentKind(c.Kind), URL: c.URL,
		DurationSeconds: c.DurationSeconds, CreatedAt: c.CreatedAt}
}

func contentConnectionModel(p screens.ContentPage) *model.ContentConnection {
	out := &model.ContentConnection{Edges: make([]*model.ContentEdge, len(p.Contents)), TotalCount: p.TotalCount,
		PageInfo: &model.PageInfo{HasNextPage: p.HasNextPage}}
	for i, c := range p.Contents {
		out.Edges[i] = &model.ContentEdge{Cursor: screens.ContentCursor(c), Node: contentModel(c)}
	}
	if n := len(out.Edges); n > 0 {
		start, end := out.Edges[0].Cursor, out.Edges[n-1].Cursor
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &start, &end
	}
	return out
}

func playlistInput(in model.PlaylistInput) screens.PlaylistInput {
	out := screens.PlaylistInput{Name: in.Name, Timezone: in.Timezone}
	for _, it := range in.Items {
		out.Items = append(out.Items, screens.ItemInput{ContentID: it.ContentID, DurationSeconds: it.DurationSeconds})
	}
	for _, w := range in.Schedule {
		days := make([]string, len(w.Days))
		for i, d := range w.Days {
			days[i] = string(d)
		}
		out.Schedule = append(out.Schedule, screens.Window{Days: days, Start: w.Start, End: w.End})
	}
	return out
}

func playlistModel(p screens.Playlist) *model.Playlist {
	out := &model.Playlist{ID: p.ID, Name: p.Name, Timezone: p.Timezone, RoomCount: p.RoomCount,
		Items: make([]*model.PlaylistItem, len(p.Items)), Schedule: make([]*model.ScheduleWindow, len(p.Schedule))}
	for i, it := range p.Items {
		out.Items[i] = &model.PlaylistItem{Content: contentModel(it.Content), DurationSeconds: it.DurationSeconds}
	}
	for i, w := range p.Schedule {
		days := make([]model.Weekday, len(w.Days))
		for j, d := range w.Days {
			days[j] = model.Weekday(d)
		}
		out.Schedule[i] = &model.ScheduleWindow{Days: days, Start: w.Start, End: w.End}
	}
	return out
}

func targetInput(t model.TargetInput) screens.Target {
	return screens.Target{RoomIDs: t.RoomIds, LocationIDs: t.LocationIds, TagIDs: t.TagIds}
}
