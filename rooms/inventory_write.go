package rooms

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/audit"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// SystemActor is the audit actor of what the sync engine does by itself.
const SystemActor = "system:sync"

const (
	// sqlConnectionRooms is the stored side of the diff.
	sqlConnectionRooms = `SELECT ` + roomColumns + ` FROM rooms r
WHERE r.tenant_id = $1 AND r.connection_id = $2 ORDER BY r.zoom_room_id`
	// sqlUpsertRooms writes new and changed rooms in one statement. The
	// WHERE keeps an unchanged row untouched even if the caller sent it.
	// last_seen_at moves when a room is seen online at a change, or goes
	// offline (the moment it was last known to be reachable).
	// The list call has no room type: the device refresh reads it from the
	// room's profile, so the upsert leaves type alone.
	sqlUpsertRooms = `INSERT INTO rooms (tenant_id, connection_id, zoom_room_id, zoom_dashboard_id, name, location_id,
  status, online, last_seen_at)
SELECT $1, $2, u.zid, u.did, u.name, nullif(u.loc, ''), u.status, u.status <> 'OFFLINE',
  CASE WHEN u.status <> 'OFFLINE' THEN now() END
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(zid, did, name, loc, status)
ON CONFLICT (connection_id, zoom_room_id) DO UPDATE SET
  zoom_dashboard_id = EXCLUDED.zoom_dashboard_id, name = EXCLUDED.name,
  location_id = EXCLUDED.location_id, status = EXCLUDED.status, online = EXCLUDED.online,
  last_seen_at = CASE WHEN rooms.online OR EXCLUDED.online THEN now() ELSE rooms.last_seen_at END,
  updated_at = now()
WHERE (rooms.zoom_dashboard_id, rooms.name, rooms.location_id, rooms.status)
  IS DISTINCT FROM (EXCLUDED.zoom_dashboard_id, EXCLUDED.name, EXCLUDED.location_id, EXCLUDED.status)
RETURNING id, zoom_room_id`
	// sqlDeleteAssignmentsOf removes the signage of rooms gone from Zoom,
	// returning what the cleanup on Zoom's side needs.
	sqlDeleteAssignmentsOf = `DELETE FROM signage_assignments
WHERE tenant_id = $1 AND connection_id = $2 AND room_id = ANY($3::uuid[])
RETURNING room_id, coalesce(zoom_content_id, '')`
	// sqlLockRemovedRooms locks the rooms about to be removed, so a
	// reservation either committed before (and its assignment is deleted
	// and released here) or waits and then finds no room.
	sqlLockRemovedRooms = `SELECT id FROM rooms WHERE tenant_id = $1 AND connection_id = $2 AND id = ANY($3::uuid[])
ORDER BY id FOR UPDATE`
	// sqlPreviousRefusal is the removals refused by the connection's latest
	// finished run before this one that read the whole list (a succeeded
	// run, or one that refused and failed later).
	sqlPreviousRefusal = `SELECT coalesce((SELECT r.removals_refused FROM sync_runs r
WHERE r.tenant_id = $1 AND r.connection_id = $2 AND r.id <> $3 AND r.finished_at IS NOT NULL
  AND (r.state = 'SUCCEEDED' OR r.removals_refused > 0)
ORDER BY r.started_at DESC, r.id LIMIT 1), 0)`
	sqlRecordRefusal = `UPDATE sync_runs SET removals_refused = $3 WHERE tenant_id = $1 AND id = $2`
	sqlDeleteRooms   = `DELETE FROM rooms WHERE tenant_id = $1 AND connection_id = $2 AND id = ANY($3::uuid[])`
)

// inventoryChanges is what one write changed.
type inventoryChanges struct {
	added         int
	removed       []removedRoom
	statusEvents  []statusChange
	statusChanges int // the events' count, kept once they are published
	health        []healthChange
	rowsWritten   int64
}

// statusChange is a room whose status changed (previous "" for a new room).
type statusChange struct {
	room     Room
	previous string
}

// removedRoom is a room gone from Zoom; contentID is our library item on it.
type removedRoom struct {
	room      Room
	contentID string
}

// inventory writes one sync's differences as the pages arrive: each page's
// new and changed rooms (and their health) in one transaction while the
// limiter holds the next list call back, so writing costs the sync no time;
// rooms gone from Zoom are removed only once the whole list was read, so a
// missing page never removes anything. Unchanged rooms are never written.
type inventory struct {
	s                      *Service
	tenantID, connectionID string
	runID                  string
	stored                 map[string]Room // by Zoom id
	seen                   map[string]bool
	changes                inventoryChanges
	// refused is the removals finish held back (a mass removal not yet
	// confirmed by a second list).
	refused int
}

func (s *Service) newInventory(ctx context.Context, tenantID, connectionID string) (*inventory, error) {
	rows, err := s.db.Query(ctx, sqlConnectionRooms, tenantID, connectionID)
	if err != nil {
		return nil, fmt.Errorf("rooms.newInventory: %w: %w", errInternal, err)
	}
	list, err := pgx.CollectRows(rows, scanRoom)
	if err != nil {
		return nil, fmt.Errorf("rooms.newInventory: %w: %w", errInternal, err)
	}
	inv := &inventory{s: s, tenantID: tenantID, connectionID: connectionID,
		stored: make(map[string]Room, len(list)), seen: make(map[string]bool, len(list))}
	for _, r := range list {
		inv.stored[r.ZoomRoomID] = r
	}
	return inv, nil
}

// page writes what one page changed, with its events.
func (inv *inventory) page(ctx context.Context, listed []zoom.Room) error {
	var upserts []zoom.Room
	for _, z := range listed {
		if z.ID == "" || inv.seen[z.ID] {
			continue // a room listed twice (pages shifting under us) counts once
		}
		inv.seen[z.ID] = true
		r, ok := inv.stored[z.ID]
		if !ok || r.ZoomDashboardID != z.RoomID || r.Name != z.Name || r.LocationID != z.LocationID ||
			r.Status != statusFromZoom(z.Status) {
			upserts = append(upserts, z)
		}
	}
	if len(upserts) == 0 {
		return nil
	}
	var ch inventoryChanges
	err := store.InTx(ctx, inv.s.db, func(tx pgx.Tx) error {
		ch = inventoryChanges{}
		if err := inv.s.upsertRooms(ctx, tx, inv.tenantID, inv.connectionID, inv.stored, upserts, &ch); err != nil {
			return err
		}
		changed := make([]string, 0, len(ch.statusEvents))
		for _, c := range ch.statusEvents {
			changed = append(changed, c.room.ID)
		}
		var err error
		ch.health, err = recomputeHealth(ctx, tx, inv.tenantID, changed)
		if err != nil {
			return err
		}
		ch.rowsWritten += int64(len(ch.health))
		evs, err := inv.s.inventoryEvents(ctx, tx, inv.connectionID, ch)
		if err != nil {
			return err
		}
		return inv.s.emit(ctx, tx, evs...)
	})
	if err != nil {
		return fmt.Errorf("rooms.inventory.page: %w: %w", errInternal, err)
	}
	inv.merge(ch)
	return nil
}

// finish removes the rooms the complete list no longer has, unless that is
// a mass removal the previous run did not see too (see massRemoval).
func (inv *inventory) finish(ctx context.Context) error {
	var removed []Room
	for id, r := range inv.stored {
		if !inv.seen[id] {
			removed = append(removed, r)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	if massRemoval(len(inv.stored), len(removed)) {
		confirmed, err := inv.confirmedRemoval(ctx, len(removed))
		if err != nil {
			return err
		}
		if !confirmed {
			inv.refused = len(removed)
			return nil
		}
	}
	var ch inventoryChanges
	err := store.InTx(ctx, inv.s.db, func(tx pgx.Tx) error {
		ch = inventoryChanges{}
		return inv.s.removeRooms(ctx, tx, inv.tenantID, inv.connectionID, removed, &ch)
	})
	if err != nil {
		return fmt.Errorf("rooms.inventory.finish: %w: %w", errInternal, err)
	}
	inv.merge(ch)
	return nil
}

// massRemovalFloor is the fewest removals a shrunken list must ask for to
// be held back: a handful of rooms deleted in Zoom is routine.
const massRemovalFloor = 10

// massRemoval reports whether removing removed of stored rooms is too much
// to trust one list answer with: every room (an empty-but-200 list), or more
// than half of them and at least massRemovalFloor. Removing deactivates
// signage, releases licenses and deletes library items, none of which a
// later list can undo.
func massRemoval(stored, removed int) bool {
	return removed == stored || (removed >= massRemovalFloor && 2*removed > stored)
}

// confirmedRemoval reports whether the connection's previous run that read
// the whole list refused the same removal: two lists in a row agree, so
// the shrink is real.
func (inv *inventory) confirmedRemoval(ctx context.Context, removed int) (bool, error) {
	var prev int
	err := inv.s.db.QueryRow(ctx, sqlPreviousRefusal, inv.tenantID, inv.connectionID, inv.runID).Scan(&prev)
	if err != nil {
		return false, fmt.Errorf("rooms.inventory.confirmedRemoval: %w: %w", errInternal, err)
	}
	return prev == removed, nil
}

// recordRefusal stores on the run how many removals it refused, for the
// next run to confirm.
func (s *Service) recordRefusal(ctx context.Context, run *SyncRun, refused int) error {
	if _, err := s.db.Exec(ctx, sqlRecordRefusal, run.TenantID, run.ID, refused); err != nil {
		return fmt.Errorf("rooms.recordRefusal: %w: %w", errInternal, err)
	}
	run.Error = fmt.Sprintf("%d rooms missing from Zoom's room list were kept: that is most of the connection's rooms, "+
		"so the next sync removes them only if Zoom still does not list them", refused)
	return nil
}

func (inv *inventory) merge(ch inventoryChanges) {
	c := &inv.changes
	c.added += ch.added
	c.removed = append(c.removed, ch.removed...)
	c.statusChanges += len(ch.statusEvents)
	c.rowsWritten += ch.rowsWritten
}

func (s *Service) upsertRooms(ctx context.Context, tx pgx.Tx, tenantID, connectionID string, old map[string]Room, upserts []zoom.Room, ch *inventoryChanges) error {
	if len(upserts) == 0 {
		return nil
	}
	n := len(upserts)
	zids, dids, names, locs, statuses := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n)
	for i, z := range upserts {
		zids[i], dids[i], names[i], locs[i], statuses[i] = z.ID, z.RoomID, z.Name, z.LocationID, statusFromZoom(z.Status)
	}
	rows, err := tx.Query(ctx, sqlUpsertRooms, tenantID, connectionID, zids, dids, names, locs, statuses)
	if err != nil {
		return err
	}
	idByZoomID := make(map[string]string, n)
	var id, zid string
	if _, err := pgx.ForEachRow(rows, []any{&id, &zid}, func() error {
		idByZoomID[zid] = id
		return nil
	}); err != nil {
		return err
	}
	ch.rowsWritten += int64(len(idByZoomID))
	for i, z := range upserts {
		id, ok := idByZoomID[z.ID]
		if !ok {
			continue
		}
		prev, existed := old[z.ID]
		room := Room{ID: id, TenantID: tenantID, ConnectionID: connectionID, ZoomRoomID: z.ID, ZoomDashboardID: z.RoomID,
			Name: z.Name, LocationID: z.LocationID, Status: statuses[i], Online: online(statuses[i]),
			Health: HealthUnknown}
		if existed {
			room.Type, room.Health, room.LastSeenAt, room.DevicesRefreshedAt = prev.Type, prev.Health, prev.LastSeenAt, prev.DevicesRefreshedAt
		} else {
			ch.added++
		}
		if !existed || prev.Status != room.Status {
			ch.statusEvents = append(ch.statusEvents, statusChange{room: room, previous: prev.Status})
		}
	}
	return nil
}

// removeRooms deletes rooms gone from Zoom with everything hanging off them,
// releasing the licenses their signage held (and auditing that).
func (s *Service) removeRooms(ctx context.Context, tx pgx.Tx, tenantID, connectionID string, removed []Room, ch *inventoryChanges) error {
	if len(removed) == 0 {
		return nil
	}
	ids := make([]string, len(removed))
	byID := make(map[string]Room, len(removed))
	for i, r := range removed {
		ids[i], byID[r.ID] = r.ID, r
	}
	if _, err := tx.Exec(ctx, sqlLockRemovedRooms, tenantID, connectionID, ids); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, sqlDeleteAssignmentsOf, tenantID, connectionID, ids)
	if err != nil {
		return err
	}
	contentByRoom := make(map[string]string)
	var roomID, contentID string
	if _, err := pgx.ForEachRow(rows, []any{&roomID, &contentID}, func() error {
		contentByRoom[roomID] = contentID
		return nil
	}); err != nil {
		return err
	}
	if len(contentByRoom) > 0 {
		for id := range contentByRoom {
			if err := audit.Record(ctx, tx, audit.Event{TenantID: tenantID, Actor: SystemActor, Action: "signage.deactivate",
				TargetType: "room", TargetID: id, Details: map[string]any{
					"reason": "room removed from Zoom", "room": byID[id].Name, "zoomRoomId": byID[id].ZoomRoomID}}); err != nil {
				return err
			}
		}
	}
	tag, err := tx.Exec(ctx, sqlDeleteRooms, tenantID, connectionID, ids)
	if err != nil {
		return err
	}
	ch.rowsWritten += tag.RowsAffected() + int64(len(contentByRoom))
	for _, r := range removed {
		ch.removed = append(ch.removed, removedRoom{room: r, contentID: contentByRoom[r.ID]})
	}
	return nil
}

// cleanupRemoved deletes the library items of rooms gone from Zoom. A
// delete that fails is recorded as a leftover, which later syncs retry
// (retryLeftovers): the room is gone, but the item would stay in the
// account's library.
func (s *Service) cleanupRemoved(ctx context.Context, ac *zoom.AccountClient, run *SyncRun, removed []removedRoom) {
	for _, r := range removed {
		if r.contentID == "" {
			continue
		}
		run.ZoomCalls++
		if err := ac.DeleteSignageContent(ctx, r.contentID); err != nil && !zoom.IsNotFound(err) {
			s.log.WarnContext(ctx, "could not delete the signage item of a removed room; a later sync retries",
				"room_id", r.room.ID, "error", err.Error())
			s.recordLeftover(context.WithoutCancel(ctx), leftover{tenantID: run.TenantID, connectionID: run.ConnectionID,
				contentID: r.contentID, reason: "library item of a room removed from Zoom"})
		}
	}
}
