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
	if now, err := r.Screens.NowPlaying(ctx, tenantID, room.ID); err != nil {
		return nil, err
	} else if now != "" && out.Online {
		cs, err := r.Screens.ContentsByID(ctx, tenantID, []string{now})
		if err != nil {
			return nil, err
		}
		if c, ok := cs[now]; ok {
			out.NowPlaying = contentModel(c)
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
		RoomCount: b.RoomCount, ZoomAlertRooms: b.ZoomAlertRooms,
		ZoomAlertError: b.ZoomAlertError, ZoomAlertRemovalError: b.ZoomAlertRemovalError}
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

// playConnection maps a page of plays with their rooms, contents and
// broadcasts, each read once for the page.
func (r *Resolver) playConnection(ctx context.Context, tenantID string, page screens.PlayPage) (*model.PlayConnection, error) {
	var roomIDs, contentIDs []string
	castIDs := map[string]bool{}
	for _, p := range page.Plays {
		roomIDs = append(roomIDs, p.RoomID)
		if p.ContentID != "" {
			contentIDs = append(contentIDs, p.ContentID)
		}
		if p.BroadcastID != "" {
			castIDs[p.BroadcastID] = true
		}
	}
	found, err := r.Rooms.RoomsByID(ctx, tenantID, roomIDs)
	if err != nil {
		return nil, err
	}
	contents, err := r.Screens.ContentsByID(ctx, tenantID, contentIDs)
	if err != nil {
		return nil, err
	}
	casts := map[string]*model.Broadcast{}
	if len(castIDs) > 0 {
		list, err := r.Screens.Broadcasts(ctx, tenantID, nil)
		if err != nil {
			return nil, err
		}
		for _, b := range list {
			if castIDs[b.ID] {
				casts[b.ID] = broadcastModel(b)
			}
		}
	}
	out := &model.PlayConnection{PageInfo: &model.PageInfo{HasNextPage: page.HasNextPage}}
	for _, p := range page.Plays {
		room, ok := found[p.RoomID]
		if !ok {
			continue // the room was removed: its plays go with it
		}
		m := &model.Play{ID: p.ID, Room: roomModel(room), StartedAt: p.StartedAt, EndedAt: p.EndedAt, Broadcast: casts[p.BroadcastID]}
		if c, ok := contents[p.ContentID]; ok {
			m.Content = contentModel(c)
		}
		out.Edges = append(out.Edges, &model.PlayEdge{Cursor: screens.PlayCursor(p), Node: m})
	}
	if out.Edges == nil {
		out.Edges = []*model.PlayEdge{}
	}
	if n := len(out.Edges); n > 0 {
		start, end := out.Edges[0].Cursor, out.Edges[n-1].Cursor
		out.PageInfo.StartCursor, out.PageInfo.EndCursor = &start, &end
	}
	return out, nil
}
