package rooms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/store"
)

// MaxPageSize bounds one page of rooms.
const MaxPageSize = 500

// Filter narrows a room listing; zero fields match everything.
type Filter struct {
	ConnectionID string
	Statuses     []string
	Online       *bool
	Activated    *bool
	Healths      []string
	NameContains string
	LocationID   *string
}

// Page is one page of rooms in name order.
type Page struct {
	Rooms   []Room
	HasNext bool
	// HasPrevious is set by ListBefore when rooms come before the first.
	HasPrevious bool
	TotalCount  int
}

const roomColumns = `r.id, r.tenant_id, r.connection_id, r.zoom_room_id, r.zoom_dashboard_id, r.name, r.type,
coalesce(r.location_id, ''), r.status, r.online, r.last_seen_at, r.health, r.devices_refreshed_at`

// pageColumns are roomColumns for the page side of a LEFT JOIN: NOT NULL
// columns are coalesced so the empty-page row (id NULL) scans.
const pageColumns = `r.id, coalesce(r.tenant_id::text, ''), coalesce(r.connection_id::text, ''), coalesce(r.zoom_room_id, ''),
coalesce(r.zoom_dashboard_id, ''), coalesce(r.name, ''), coalesce(r.type, ''), coalesce(r.location_id, ''),
coalesce(r.status, ''), coalesce(r.online, false), r.last_seen_at, coalesce(r.health, ''), r.devices_refreshed_at`

// sqlListRooms pages a tenant's rooms by (name, id) with a keyset cursor,
// and counts every match (only when asked: $12) in the same statement, so a
// page costs one round trip. Filters are optional parameters, never
// concatenated SQL. The LEFT JOIN keeps a row for the count when the page is
// empty.
const sqlListRooms = sqlMatchingRooms + `
  WHERE $9::text IS NULL OR (m.name, m.id) > ($9, $10::uuid)
  ORDER BY m.name, m.id
  LIMIT $11
) r ON true
ORDER BY r.name, r.id`

// sqlListRoomsBefore is sqlListRooms backwards: the rooms just before the
// cursor (or the last ones), nearest first, so LIMIT keeps those next to
// it; ListBefore turns them back into name order.
const sqlListRoomsBefore = sqlMatchingRooms + `
  WHERE $9::text IS NULL OR (m.name, m.id) < ($9, $10::uuid)
  ORDER BY m.name DESC, m.id DESC
  LIMIT $11
) r ON true
ORDER BY r.name DESC, r.id DESC`

// sqlMatchingRooms is what both directions share: the filtered rooms, the
// optional count and the lateral page their keyset condition completes.
const sqlMatchingRooms = `WITH matching AS NOT MATERIALIZED (
  SELECT r.* FROM rooms r
  WHERE r.tenant_id = $1
    AND ($2::uuid IS NULL OR r.connection_id = $2)
    AND ($3::text[] IS NULL OR r.status = ANY($3))
    AND ($4::boolean IS NULL OR r.online = $4)
    AND ($5::boolean IS NULL OR EXISTS (SELECT 1 FROM signage_assignments s WHERE s.room_id = r.id AND s.tenant_id = $1) = $5)
    AND ($6::text[] IS NULL OR r.health = ANY($6))
    AND ($7 = '' OR r.name ILIKE '%' || $7 || '%' ESCAPE '\')
    AND ($8::text IS NULL OR r.location_id = $8)
)
SELECT CASE WHEN $12 THEN (SELECT count(*) FROM matching) ELSE 0 END,
       ` + pageColumns + `
FROM (SELECT 1) one
LEFT JOIN LATERAL (
  SELECT * FROM matching m`

// List returns up to first rooms of the tenant after the cursor.
func (s *Service) List(ctx context.Context, tenantID string, f Filter, first int, after string, withTotal bool) (Page, error) {
	page, err := s.list(ctx, sqlListRooms, tenantID, f, "first", first, "after", after, withTotal)
	if err != nil {
		return Page{}, fmt.Errorf("rooms.List: %w", err)
	}
	if len(page.Rooms) > first {
		page.Rooms, page.HasNext = page.Rooms[:first], true
	}
	return page, nil
}

// ListBefore returns up to last rooms of the tenant just before the cursor
// (the last ones without one), still in name order: Relay's backward
// pagination. HasPrevious says more rooms come before the first.
func (s *Service) ListBefore(ctx context.Context, tenantID string, f Filter, last int, before string, withTotal bool) (Page, error) {
	page, err := s.list(ctx, sqlListRoomsBefore, tenantID, f, "last", last, "before", before, withTotal)
	if err != nil {
		return Page{}, fmt.Errorf("rooms.ListBefore: %w", err)
	}
	if len(page.Rooms) > last {
		page.Rooms, page.HasPrevious = page.Rooms[:last], true
	}
	slices.Reverse(page.Rooms)
	return page, nil
}

// list runs one of the keyset queries with up to size+1 rooms from the
// cursor, in the query's order; the extra room tells whether more follow.
// sizeArg and cursorArg name the arguments in errors.
func (s *Service) list(ctx context.Context, query, tenantID string, f Filter, sizeArg string, size int, cursorArg, cursor string, withTotal bool) (Page, error) {
	if size < 0 || size > MaxPageSize {
		return Page{}, apierror.Invalid(sizeArg, "%s must be between 0 and %d", sizeArg, MaxPageSize)
	}
	var afterName, afterID *string
	if cursor != "" {
		name, id, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, apierror.Invalid(cursorArg, "%s is not a cursor of this list", cursorArg)
		}
		afterName, afterID = &name, &id
	}
	var conn *string
	if f.ConnectionID != "" {
		if !store.IsUUID(f.ConnectionID) {
			return Page{}, apierror.Invalid("connectionId", "connectionId is not a connection id")
		}
		conn = &f.ConnectionID
	}
	rows, err := s.db.Query(ctx, query, tenantID, conn, nilIfEmpty(f.Statuses), f.Online, f.Activated,
		nilIfEmpty(f.Healths), likeEscape(f.NameContains), f.LocationID, afterName, afterID, size+1, withTotal)
	if err != nil {
		return Page{}, fmt.Errorf("rooms.list: %w", err)
	}
	var page Page
	defer rows.Close()
	for rows.Next() {
		var total int
		var id *string
		var r Room
		if err := rows.Scan(&total, &id, &r.TenantID, &r.ConnectionID, &r.ZoomRoomID, &r.ZoomDashboardID, &r.Name, &r.Type,
			&r.LocationID, &r.Status, &r.Online, &r.LastSeenAt, &r.Health, &r.DevicesRefreshedAt); err != nil {
			return Page{}, fmt.Errorf("rooms.list: %w", err)
		}
		page.TotalCount = total
		if id != nil {
			r.ID = *id
			page.Rooms = append(page.Rooms, r)
		}
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("rooms.list: %w", err)
	}
	return page, nil
}

const sqlGetRoom = `SELECT ` + roomColumns + ` FROM rooms r WHERE r.tenant_id = $1 AND r.id = $2`

// Get returns one room of the tenant; another tenant's room, an unknown id
// and a malformed one are all NOT_FOUND.
func (s *Service) Get(ctx context.Context, tenantID, roomID string) (Room, error) {
	if !store.IsUUID(roomID) {
		return Room{}, apierror.NotFoundf("room %q not found", roomID)
	}
	rows, err := s.db.Query(ctx, sqlGetRoom, tenantID, roomID)
	if err != nil {
		return Room{}, fmt.Errorf("rooms.Get: %w", err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanRoom)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return Room{}, apierror.NotFoundf("room %q not found", roomID)
	}
	if err != nil {
		return Room{}, fmt.Errorf("rooms.Get: %w", err)
	}
	return r, nil
}

const sqlGetRooms = `SELECT ` + roomColumns + ` FROM rooms r WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[]) ORDER BY r.id`

// GetMany returns the tenant's rooms among ids, in no promised order;
// unknown, malformed and other tenants' ids are left out.
func (s *Service) GetMany(ctx context.Context, tenantID string, ids []string) ([]Room, error) {
	valid := store.UUIDs(ids)
	if len(valid) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, sqlGetRooms, tenantID, valid)
	if err != nil {
		return nil, fmt.Errorf("rooms.GetMany: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanRoom)
	if err != nil {
		return nil, fmt.Errorf("rooms.GetMany: %w", err)
	}
	return out, nil
}

func scanRoom(row pgx.CollectableRow) (Room, error) {
	var r Room
	err := row.Scan(&r.ID, &r.TenantID, &r.ConnectionID, &r.ZoomRoomID, &r.ZoomDashboardID, &r.Name, &r.Type,
		&r.LocationID, &r.Status, &r.Online, &r.LastSeenAt, &r.Health, &r.DevicesRefreshedAt)
	return r, err
}

// Cursor returns the opaque cursor of a room in the name-ordered listing.
func Cursor(r Room) string {
	return base64.RawURLEncoding.EncodeToString([]byte(r.Name + "\x00" + r.ID))
}

func decodeCursor(c string) (name, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", err
	}
	name, id, ok := strings.Cut(string(b), "\x00")
	if !ok || !store.IsUUID(id) {
		return "", "", errors.New("rooms: malformed cursor")
	}
	return name, id, nil
}

// likeEscape escapes LIKE's wildcards so a search is a plain substring.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(s))
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
