package rooms

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
)

// The batch reads behind the GraphQL dataloaders: one statement for any
// number of rooms, always filtered by tenant, so a page of rooms with their
// devices, alerts and signage costs a fixed number of statements.

const (
	sqlDevicesByRoom = `SELECT id, room_id, zoom_device_id, type, coalesce(model, ''), coalesce(manufacturer, ''),
coalesce(os, ''), coalesce(app_version, ''), coalesce(firmware, ''), status, coalesce(hostname, ''), updated_at
FROM room_devices WHERE tenant_id = $1 AND room_id = ANY($2::uuid[])
ORDER BY room_id, type, zoom_device_id`
	sqlAlertsByRoom = `SELECT room_id, component, alert_type, issue, state, triggered_at, cleared_at
FROM room_alerts WHERE tenant_id = $1 AND room_id = ANY($2::uuid[])
ORDER BY room_id, state DESC, triggered_at DESC, component, alert_type`
	sqlRoomsByID = `SELECT ` + roomColumns + ` FROM rooms r WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[]) ORDER BY r.id`
)

// DevicesByRoom returns the devices of the given rooms of the tenant, by
// room id. Rooms without devices (or of another tenant) are absent.
func (s *Service) DevicesByRoom(ctx context.Context, tenantID string, roomIDs []string) (map[string][]Device, error) {
	rows, err := s.db.Query(ctx, sqlDevicesByRoom, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("rooms.DevicesByRoom: %w", err)
	}
	devices, err := pgx.CollectRows(rows, scanDevice)
	if err != nil {
		return nil, fmt.Errorf("rooms.DevicesByRoom: %w", err)
	}
	out := make(map[string][]Device)
	for _, d := range devices {
		out[d.RoomID] = append(out[d.RoomID], d)
	}
	return out, nil
}

func scanDevice(row pgx.CollectableRow) (Device, error) {
	var d Device
	err := row.Scan(&d.ID, &d.RoomID, &d.ZoomDeviceID, &d.Type, &d.Model, &d.Manufacturer, &d.OS, &d.AppVersion,
		&d.Firmware, &d.Status, &d.Hostname, &d.UpdatedAt)
	return d, err
}

// AlertsByRoom returns the latest alert states of the given rooms, current
// (triggered) ones first.
func (s *Service) AlertsByRoom(ctx context.Context, tenantID string, roomIDs []string) (map[string][]Alert, error) {
	return alertsByRoom(ctx, s.db, tenantID, roomIDs)
}

// alertsByRoom is AlertsByRoom on any queryer (a transaction's view).
func alertsByRoom(ctx context.Context, q queryer, tenantID string, roomIDs []string) (map[string][]Alert, error) {
	rows, err := q.Query(ctx, sqlAlertsByRoom, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("rooms.AlertsByRoom: %w", err)
	}
	alerts, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("rooms.AlertsByRoom: %w", err)
	}
	out := make(map[string][]Alert)
	for _, a := range alerts {
		out[a.RoomID] = append(out[a.RoomID], a)
	}
	return out, nil
}

func scanAlert(row pgx.CollectableRow) (Alert, error) {
	var a Alert
	err := row.Scan(&a.RoomID, &a.Component, &a.AlertType, &a.Issue, &a.State, &a.TriggeredAt, &a.ClearedAt)
	return a, err
}

// SignageByRoom returns the signage assignments of the given rooms.
func (s *Service) SignageByRoom(ctx context.Context, tenantID string, roomIDs []string) (map[string]Assignment, error) {
	rows, err := s.db.Query(ctx, sqlAssignmentsByRoom, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("rooms.SignageByRoom: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanAssignment)
	if err != nil {
		return nil, fmt.Errorf("rooms.SignageByRoom: %w", err)
	}
	out := make(map[string]Assignment, len(list))
	for _, a := range list {
		out[a.RoomID] = a
	}
	return out, nil
}

// RoomsByID returns the given rooms of the tenant by id (for rooms built
// from event snapshots, whose connection is looked up through them).
func (s *Service) RoomsByID(ctx context.Context, tenantID string, roomIDs []string) (map[string]Room, error) {
	return roomsByID(ctx, s.db, tenantID, roomIDs)
}

// roomsByID is RoomsByID on any queryer (a transaction's view).
func roomsByID(ctx context.Context, q queryer, tenantID string, roomIDs []string) (map[string]Room, error) {
	rows, err := q.Query(ctx, sqlRoomsByID, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("rooms.RoomsByID: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanRoom)
	if err != nil {
		return nil, fmt.Errorf("rooms.RoomsByID: %w", err)
	}
	out := make(map[string]Room, len(list))
	for _, r := range list {
		out[r.ID] = r
	}
	return out, nil
}
