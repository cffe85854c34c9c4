package screens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// MaxPlaylistItems bounds one playlist.
const MaxPlaylistItems = 200

// Playlist is content in order, with when it plays.
type Playlist struct {
	ID        string
	TenantID  string
	Name      string
	Timezone  string
	Schedule  []Window
	Items     []PlaylistItem
	RoomCount int
	UpdatedAt time.Time
}

// PlaylistItem is one entry: its content and how long it shows
// (the item's own duration, else the content's; 0 is a video to its end).
type PlaylistItem struct {
	Content         Content
	DurationSeconds int
}

// ItemInput is one item as the API receives it.
type ItemInput struct {
	ContentID       string
	DurationSeconds *int
}

// PlaylistInput is createPlaylist's and updatePlaylist's input.
type PlaylistInput struct {
	Name     string
	Items    []ItemInput
	Timezone *string
	Schedule []Window
}

const (
	sqlInsertPlaylist = `INSERT INTO playlists (tenant_id, name, timezone, schedule) VALUES ($1, $2, $3, $4) RETURNING id`
	sqlUpdatePlaylist = `UPDATE playlists SET name = $3, timezone = $4, schedule = $5, updated_at = now()
WHERE tenant_id = $1 AND id = $2`
	sqlDeleteItems    = `DELETE FROM playlist_items WHERE playlist_id = $1`
	sqlInsertItem     = `INSERT INTO playlist_items (playlist_id, position, content_id, duration_seconds) VALUES ($1, $2, $3, $4)`
	sqlLockPlaylist   = `SELECT id FROM playlists WHERE tenant_id = $1 AND id = $2 FOR UPDATE`
	sqlDeletePlaylist = `DELETE FROM playlists WHERE tenant_id = $1 AND id = $2`
	playlistColumns   = `p.id, p.tenant_id, p.name, p.timezone, p.schedule, p.updated_at,
  (SELECT count(*) FROM room_playlists rp WHERE rp.playlist_id = p.id)`
	sqlPlaylists     = `SELECT ` + playlistColumns + ` FROM playlists p WHERE p.tenant_id = $1 ORDER BY p.name, p.id`
	sqlPlaylistsByID = `SELECT ` + playlistColumns + ` FROM playlists p WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[]) ORDER BY p.id`
	sqlPlaylistItems = `SELECT i.playlist_id, coalesce(i.duration_seconds, c.duration_seconds),
  c.id, c.tenant_id, c.name, c.kind, c.url, c.duration_seconds, c.created_at
FROM playlist_items i JOIN contents c ON c.id = i.content_id
WHERE i.playlist_id = ANY($1::uuid[]) ORDER BY i.playlist_id, i.position`
	sqlRoomsOfPlaylist = `SELECT room_id FROM room_playlists WHERE tenant_id = $1 AND playlist_id = $2 ORDER BY room_id`
	sqlPlaylistOfRooms = `SELECT room_id, playlist_id FROM room_playlists WHERE tenant_id = $1 AND room_id = ANY($2::uuid[]) ORDER BY room_id`
)

// validated is a PlaylistInput checked, with its timezone resolved.
type validated struct {
	name     string
	timezone string
	schedule []byte
	items    []ItemInput
}

func (s *Service) validatePlaylist(ctx context.Context, tenantID string, in PlaylistInput) (validated, error) {
	var v validated
	var err error
	if v.name, err = validName("input.name", in.Name); err != nil {
		return v, err
	}
	if len(in.Items) == 0 || len(in.Items) > MaxPlaylistItems {
		return v, apierror.Invalid("input.items", "a playlist has 1 to %d items", MaxPlaylistItems)
	}
	v.timezone = "UTC"
	if in.Timezone != nil && *in.Timezone != "" {
		v.timezone = *in.Timezone
	}
	if _, err := LoadLocation(v.timezone); err != nil {
		return v, err
	}
	if err := ValidateWindows(in.Schedule); err != nil {
		return v, err
	}
	schedule := in.Schedule
	if schedule == nil {
		schedule = []Window{}
	}
	if v.schedule, err = json.Marshal(schedule); err != nil {
		return v, err
	}
	ids := make([]string, len(in.Items))
	for i, it := range in.Items {
		ids[i] = it.ContentID
		if d := it.DurationSeconds; d != nil && (*d < 1 || *d > MaxDurationSeconds) {
			return v, apierror.Invalid(fmt.Sprintf("input.items[%d].durationSeconds", i), "durationSeconds must be between 1 and %d", MaxDurationSeconds)
		}
	}
	contents, err := s.ContentsByID(ctx, tenantID, ids)
	if err != nil {
		return v, err
	}
	for i, id := range ids {
		if _, ok := contents[id]; !ok {
			return v, apierror.Invalid(fmt.Sprintf("input.items[%d].contentId", i), "content %q not found", id)
		}
	}
	v.items = in.Items
	return v, nil
}

func writeItems(ctx context.Context, tx pgx.Tx, playlistID string, items []ItemInput) error {
	if _, err := tx.Exec(ctx, sqlDeleteItems, playlistID); err != nil {
		return err
	}
	for i, it := range items {
		if _, err := tx.Exec(ctx, sqlInsertItem, playlistID, i, it.ContentID, it.DurationSeconds); err != nil {
			if store.ConstraintError(err) != "" { // the content was deleted meanwhile
				return apierror.Invalid(fmt.Sprintf("input.items[%d].contentId", i), "content %q not found", it.ContentID)
			}
			return err
		}
	}
	return nil
}

// CreatePlaylist stores a playlist (audited).
func (s *Service) CreatePlaylist(ctx context.Context, actor rooms.Actor, in PlaylistInput) (Playlist, error) {
	v, err := s.validatePlaylist(ctx, actor.TenantID, in)
	if err != nil {
		return Playlist{}, err
	}
	var id string
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sqlInsertPlaylist, actor.TenantID, v.name, v.timezone, v.schedule).Scan(&id); err != nil {
			return err
		}
		if err := writeItems(ctx, tx, id, v.items); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "playlist.create",
			TargetType: "playlist", TargetID: id, Details: map[string]any{"name": v.name, "items": len(v.items)}})
	})
	if err != nil {
		return Playlist{}, wrap("screens.CreatePlaylist", err)
	}
	return s.onePlaylist(ctx, actor.TenantID, id)
}

// UpdatePlaylist replaces a playlist's name, items, timezone and schedule;
// the screens playing it pick the change up at once.
func (s *Service) UpdatePlaylist(ctx context.Context, actor rooms.Actor, id string, in PlaylistInput) (Playlist, error) {
	if !store.IsUUID(id) {
		return Playlist{}, apierror.NotFoundf("playlist %q not found", id)
	}
	v, err := s.validatePlaylist(ctx, actor.TenantID, in)
	if err != nil {
		return Playlist{}, err
	}
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var locked string
		if err := tx.QueryRow(ctx, sqlLockPlaylist, actor.TenantID, id).Scan(&locked); errors.Is(err, pgx.ErrNoRows) {
			return apierror.NotFoundf("playlist %q not found", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlUpdatePlaylist, actor.TenantID, id, v.name, v.timezone, v.schedule); err != nil {
			return err
		}
		if err := writeItems(ctx, tx, id, v.items); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "playlist.update",
			TargetType: "playlist", TargetID: id, Details: map[string]any{"name": v.name, "items": len(v.items)}})
	})
	if err != nil {
		return Playlist{}, wrap("screens.UpdatePlaylist", err)
	}
	s.publishPlaylist(ctx, actor.TenantID, id)
	return s.onePlaylist(ctx, actor.TenantID, id)
}

// DeletePlaylist deletes a playlist; rooms that played it play nothing.
func (s *Service) DeletePlaylist(ctx context.Context, actor rooms.Actor, id string) (Playlist, error) {
	if !store.IsUUID(id) {
		return Playlist{}, apierror.NotFoundf("playlist %q not found", id)
	}
	p, err := s.onePlaylist(ctx, actor.TenantID, id)
	if err != nil {
		return Playlist{}, err
	}
	roomIDs, err := s.roomsOf(ctx, actor.TenantID, id)
	if err != nil {
		return Playlist{}, err
	}
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlDeletePlaylist, actor.TenantID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return apierror.NotFoundf("playlist %q not found", id)
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "playlist.delete",
			TargetType: "playlist", TargetID: id, Details: map[string]any{"name": p.Name, "rooms": len(roomIDs)}})
	})
	if err != nil {
		return Playlist{}, wrap("screens.DeletePlaylist", err)
	}
	s.publishRooms(ctx, actor.TenantID, roomIDs)
	p.RoomCount = 0
	return p, nil
}

func wrap(fn string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apierror.As(err); ok {
		return err
	}
	return fmt.Errorf("%s: %w", fn, err)
}

// Playlists returns the tenant's playlists by name.
func (s *Service) Playlists(ctx context.Context, tenantID string) ([]Playlist, error) {
	return s.loadPlaylists(ctx, sqlPlaylists, tenantID)
}

// PlaylistsByID returns the tenant's playlists among ids.
func (s *Service) PlaylistsByID(ctx context.Context, tenantID string, ids []string) (map[string]Playlist, error) {
	list, err := s.loadPlaylists(ctx, sqlPlaylistsByID, tenantID, store.UUIDs(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Playlist, len(list))
	for _, p := range list {
		out[p.ID] = p
	}
	return out, nil
}

func (s *Service) onePlaylist(ctx context.Context, tenantID, id string) (Playlist, error) {
	m, err := s.PlaylistsByID(ctx, tenantID, []string{id})
	if err != nil {
		return Playlist{}, err
	}
	p, ok := m[id]
	if !ok {
		return Playlist{}, apierror.NotFoundf("playlist %q not found", id)
	}
	return p, nil
}

func (s *Service) loadPlaylists(ctx context.Context, sql string, args ...any) ([]Playlist, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("screens.loadPlaylists: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Playlist, error) {
		var p Playlist
		var schedule []byte
		err := row.Scan(&p.ID, &p.TenantID, &p.Name, &p.Timezone, &schedule, &p.UpdatedAt, &p.RoomCount)
		if err == nil {
			err = json.Unmarshal(schedule, &p.Schedule)
		}
		return p, err
	})
	if err != nil || len(list) == 0 {
		return list, wrap("screens.loadPlaylists", err)
	}
	ids := make([]string, len(list))
	index := make(map[string]int, len(list))
	for i, p := range list {
		ids[i], index[p.ID] = p.ID, i
	}
	rows, err = s.db.Query(ctx, sqlPlaylistItems, ids)
	if err != nil {
		return nil, fmt.Errorf("screens.loadPlaylists: %w", err)
	}
	var playlistID string
	var it PlaylistItem
	c := &it.Content
	_, err = pgx.ForEachRow(rows, []any{&playlistID, &it.DurationSeconds, &c.ID, &c.TenantID, &c.Name, &c.Kind, &c.URL,
		&c.DurationSeconds, &c.CreatedAt}, func() error {
		p := &list[index[playlistID]]
		p.Items = append(p.Items, it)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("screens.loadPlaylists: %w", err)
	}
	return list, nil
}

func (s *Service) roomsOf(ctx context.Context, tenantID, playlistID string) ([]string, error) {
	rows, err := s.db.Query(ctx, sqlRoomsOfPlaylist, tenantID, playlistID)
	if err != nil {
		return nil, fmt.Errorf("screens.roomsOf: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("screens.roomsOf: %w", err)
	}
	return ids, nil
}

// PlaylistOfRooms returns the playlist id of each given room that has one.
func (s *Service) PlaylistOfRooms(ctx context.Context, tenantID string, roomIDs []string) (map[string]string, error) {
	rows, err := s.db.Query(ctx, sqlPlaylistOfRooms, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("screens.PlaylistOfRooms: %w", err)
	}
	out := map[string]string{}
	var room, playlist string
	_, err = pgx.ForEachRow(rows, []any{&room, &playlist}, func() error {
		out[room] = playlist
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("screens.PlaylistOfRooms: %w", err)
	}
	return out, nil
}

// publishPlaylist tells the screens of a playlist's rooms to reload.
func (s *Service) publishPlaylist(ctx context.Context, tenantID, playlistID string) {
	ids, err := s.roomsOf(ctx, tenantID, playlistID)
	if err != nil {
		s.log.WarnContext(ctx, "listing a playlist's rooms failed; their screens catch up at their next check", "error", err.Error())
		return
	}
	s.publishRooms(ctx, tenantID, ids)
}

// publishRooms publishes a program change per room, best effort: the
// change is committed, and a screen that misses it rechecks on its
// heartbeat.
func (s *Service) publishRooms(ctx context.Context, tenantID string, roomIDs []string) {
	if len(roomIDs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := s.cfg.Now()
	const chunk = 500
	for start := 0; start < len(roomIDs); start += chunk {
		end := min(start+chunk, len(roomIDs))
		evs := make([]events.Event, 0, end-start)
		for _, id := range roomIDs[start:end] {
			evs = append(evs, events.Event{Kind: events.ScreenProgramChanged, TenantID: tenantID, At: now, Room: &events.RoomSnapshot{ID: id}})
		}
		if err := s.cfg.Events.Publish(ctx, evs...); err != nil {
			s.log.WarnContext(ctx, "publishing screen program changes failed", "count", len(evs), "error", err.Error())
			return
		}
	}
}

// publishTenant tells every screen of the tenant to reload (one event).
func (s *Service) publishTenant(ctx context.Context, tenantID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cfg.Events.Publish(ctx, events.Event{Kind: events.ScreenProgramChanged, TenantID: tenantID, At: s.cfg.Now()}); err != nil {
		s.log.WarnContext(ctx, "publishing a tenant-wide screen change failed", "error", err.Error())
	}
}
