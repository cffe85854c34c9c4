package screens

import (
	"context"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// Target picks rooms: the union of its lists; all empty is every
// activated room of the tenant. Locations and tags come with the
// inventory issue and are refused until then.
type Target struct {
	RoomIDs     []string
	LocationIDs []string
	TagIDs      []string
}

const (
	sqlAssignPlaylist = `INSERT INTO room_playlists (room_id, tenant_id, playlist_id, assigned_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (room_id) DO UPDATE SET playlist_id = excluded.playlist_id, assigned_at = now(), assigned_by = excluded.assigned_by`
	sqlClearPlaylist = `DELETE FROM room_playlists WHERE tenant_id = $1 AND room_id = $2`
)

// resolve returns the distinct room ids a target names, in its order.
func (s *Service) resolve(ctx context.Context, tenantID string, t Target) ([]string, error) {
	if len(t.LocationIDs) > 0 {
		return nil, apierror.Invalid("target.locationIds", "targeting by location is not yet supported; give roomIds")
	}
	if len(t.TagIDs) > 0 {
		return nil, apierror.Invalid("target.tagIds", "targeting by tag is not yet supported; give roomIds")
	}
	ids := t.RoomIDs
	if len(ids) == 0 {
		var err error
		if ids, err = s.cfg.Rooms.ActivatedRoomIDs(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	if len(ids) > rooms.MaxBulkRooms {
		return nil, apierror.Invalid("target.roomIds", "at most %d rooms per call", rooms.MaxBulkRooms)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// AssignPlaylist makes a playlist (nil: none) what the targeted rooms
// play, in one transaction with its audit event, and tells their screens.
// A room need not have signage yet: its screen plays the playlist once
// activated. One result per room; an unknown room is NOT_FOUND.
func (s *Service) AssignPlaylist(ctx context.Context, actor rooms.Actor, playlistID *string, target Target) ([]rooms.Result, error) {
	ids, err := s.resolve(ctx, actor.TenantID, target)
	if err != nil {
		return nil, err
	}
	var playlist Playlist
	if playlistID != nil {
		if !store.IsUUID(*playlistID) {
			return nil, apierror.NotFoundf("playlist %q not found", *playlistID)
		}
		if playlist, err = s.onePlaylist(ctx, actor.TenantID, *playlistID); err != nil {
			return nil, err
		}
	}
	found, err := s.cfg.Rooms.RoomsByID(ctx, actor.TenantID, ids)
	if err != nil {
		return nil, err
	}
	signage, err := s.cfg.Rooms.SignageByRoom(ctx, actor.TenantID, ids)
	if err != nil {
		return nil, err
	}
	results := make([]rooms.Result, len(ids))
	var changed []string
	for i, id := range ids {
		results[i].RoomID = id
		if _, ok := found[id]; !ok {
			results[i].Err = apierror.NotFoundf("room %q not found", id)
			continue
		}
		if a, ok := signage[id]; ok {
			results[i].Assignment = &a
		}
		changed = append(changed, id)
	}
	if len(changed) == 0 {
		return results, nil
	}
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		for _, id := range changed {
			var err error
			if playlistID != nil {
				_, err = tx.Exec(ctx, sqlAssignPlaylist, id, actor.TenantID, *playlistID, actor.Name)
			} else {
				_, err = tx.Exec(ctx, sqlClearPlaylist, actor.TenantID, id)
			}
			if err != nil {
				if store.ConstraintError(err) != "" { // the room or playlist went meanwhile
					return apierror.Invalid("playlistId", "the playlist or a room was deleted meanwhile; try again")
				}
				return err
			}
		}
		details := map[string]any{"rooms": changed, "playlist": nil}
		targetID := ""
		if playlistID != nil {
			details["playlist"], targetID = playlist.Name, *playlistID
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "playlist.assign",
			TargetType: "playlist", TargetID: targetID, Details: details})
	})
	if err != nil {
		return nil, wrap("screens.AssignPlaylist", err)
	}
	s.publishRooms(ctx, actor.TenantID, changed)
	return results, nil
}
