package rooms

import (
	"context"
	"fmt"
	"time"

	"zoomsignage/store"
)

// Details are the rows a room shows besides its own: devices, alerts and
// signage (when activated).
type Details struct {
	Devices []Device
	Alerts  []Alert
	Signage *Assignment
}

// DetailsWant selects which details RoomDetails reads.
type DetailsWant struct{ Devices, Alerts, Signage bool }

// sqlRoomDetails reads the devices, alerts and signage of a set of rooms in
// one statement, so a page costs the same few statements whichever of them
// it selects ($3, $4, $5 switch each part off as a one-time filter). The
// three row kinds share one typed column layout (no JSON to build and
// parse): kind, room_id, then 10 text, 1 boolean, 3 integer and 3
// timestamptz columns, whose meaning depends on the kind (see
// scanDetailRow). ord keeps each kind's order.
const sqlRoomDetails = `SELECT * FROM (
SELECT 1 AS kind, d.room_id::text, row_number() OVER (ORDER BY d.room_id, d.type, d.zoom_device_id) AS ord,
  d.id::text, d.zoom_device_id, d.type, coalesce(d.model, ''), coalesce(d.manufacturer, ''), coalesce(d.os, ''),
  coalesce(d.app_version, ''), coalesce(d.firmware, ''), d.status, coalesce(d.hostname, ''),
  false, 0, 0, 0, d.updated_at, NULL::timestamptz, NULL::timestamptz
FROM room_devices d WHERE $3 AND d.tenant_id = $1 AND d.room_id = ANY($2::uuid[])
UNION ALL
SELECT 2, a.room_id::text, row_number() OVER (ORDER BY a.room_id, a.state DESC, a.triggered_at DESC, a.component, a.alert_type),
  a.issue, a.state, '', '', '', '', '', '', '', '',
  false, a.component, a.alert_type, 0, a.triggered_at, a.cleared_at, NULL
FROM room_alerts a WHERE $4 AND a.tenant_id = $1 AND a.room_id = ANY($2::uuid[])
UNION ALL
SELECT 3, s.room_id::text, 0,
  s.tenant_id::text, s.connection_id::text, s.state, s.screen_url, coalesce(s.zoom_content_id, ''),
  coalesce(s.zoom_content_list_id, ''), s.layout, s.activated_by, coalesce(s.last_error, ''), '',
  s.muted, s.start_after_minutes, s.stop_before_minutes, s.push_attempts, s.activated_at, s.last_pushed_at, s.updated_at
FROM signage_assignments s WHERE $5 AND s.tenant_id = $1 AND s.room_id = ANY($2::uuid[])
) x ORDER BY kind, ord`

// RoomDetails returns the selected details of the given rooms of the
// tenant, by room id, in one statement (rooms of another tenant have
// none). Devices and alerts keep the order of DevicesByRoom and
// AlertsByRoom.
func (s *Service) RoomDetails(ctx context.Context, tenantID string, roomIDs []string, want DetailsWant) (map[string]*Details, error) {
	out := make(map[string]*Details, len(roomIDs))
	if !want.Devices && !want.Alerts && !want.Signage {
		return out, nil
	}
	rows, err := s.db.Query(ctx, sqlRoomDetails, tenantID, store.UUIDs(roomIDs), want.Devices, want.Alerts, want.Signage)
	if err != nil {
		return nil, fmt.Errorf("rooms.RoomDetails: %w", err)
	}
	defer rows.Close()
	var (
		kind     int
		roomID   string
		ord      int64
		t        [10]string
		b        bool
		i        [3]int
		ts       time.Time
		t2, t3   *time.Time
		lastRoom string
		cur      *Details
	)
	for rows.Next() {
		if err := rows.Scan(&kind, &roomID, &ord, &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7], &t[8], &t[9],
			&b, &i[0], &i[1], &i[2], &ts, &t2, &t3); err != nil {
			return nil, fmt.Errorf("rooms.RoomDetails: %w", err)
		}
		if cur == nil || roomID != lastRoom {
			if cur = out[roomID]; cur == nil {
				cur = &Details{}
				out[roomID] = cur
			}
			lastRoom = roomID
		}
		switch kind {
		case 1:
			cur.Devices = append(cur.Devices, Device{ID: t[0], RoomID: roomID, ZoomDeviceID: t[1], Type: t[2], Model: t[3],
				Manufacturer: t[4], OS: t[5], AppVersion: t[6], Firmware: t[7], Status: t[8], Hostname: t[9], UpdatedAt: ts})
		case 2:
			cur.Alerts = append(cur.Alerts, Alert{RoomID: roomID, Component: i[0], AlertType: i[1], Issue: t[0], State: t[1],
				TriggeredAt: ts, ClearedAt: t2})
		case 3:
			a := &Assignment{RoomID: roomID, TenantID: t[0], ConnectionID: t[1], State: t[2], ScreenURL: t[3],
				ZoomContentID: t[4], ContentListID: t[5], Layout: t[6], ActivatedBy: t[7], LastError: t[8], Muted: b,
				StartAfter: i[0], StopBefore: i[1], PushAttempts: i[2], ActivatedAt: ts, LastPushedAt: t2}
			if t3 != nil {
				a.UpdatedAt = *t3
			}
			cur.Signage = a
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rooms.RoomDetails: %w", err)
	}
	return out, nil
}
