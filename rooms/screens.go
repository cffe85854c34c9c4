package rooms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/connections"
	"zoomsignage/store"
)

// sqlScreenByToken finds the room a screen token belongs to. A token is
// live from its activation until deactivation starts (REMOVING) or its
// connection is being disconnected: afterwards it matches nothing, so the
// screen's URL stops answering at once, before Zoom has been told.
const sqlScreenByToken = `SELECT a.room_id, a.tenant_id, a.connection_id, r.name, a.state, a.screen_url, a.layout, a.muted
FROM signage_assignments a
JOIN rooms r ON r.id = a.room_id AND r.tenant_id = a.tenant_id
JOIN zoom_connections c ON c.id = a.connection_id AND c.tenant_id = a.tenant_id
WHERE a.screen_token = $1 AND a.state <> '` + SignageRemoving + `' AND ` + connections.LiveConnectionSQL

// Screen is what a screen token stands for: the room whose signage it is
// and the settings the player honours. It is the one view of rooms'
// signage state the screens package reads.
type Screen struct {
	RoomID       string
	TenantID     string
	ConnectionID string
	RoomName     string
	State        string
	ScreenURL    string
	Layout       string
	Muted        bool
}

// ErrNoScreen means a token is unknown, deactivated or disconnected; the
// caller answers exactly as for a token that never existed.
var ErrNoScreen = errors.New("rooms: no such screen")

// ScreenByToken returns the live screen a token belongs to, or ErrNoScreen.
func (s *Service) ScreenByToken(ctx context.Context, token string) (Screen, error) {
	if token == "" {
		return Screen{}, ErrNoScreen
	}
	var sc Screen
	err := s.db.QueryRow(ctx, sqlScreenByToken, token).Scan(&sc.RoomID, &sc.TenantID, &sc.ConnectionID, &sc.RoomName,
		&sc.State, &sc.ScreenURL, &sc.Layout, &sc.Muted)
	if errors.Is(err, pgx.ErrNoRows) {
		return Screen{}, ErrNoScreen
	}
	if err != nil {
		return Screen{}, fmt.Errorf("rooms.ScreenByToken: %w", err)
	}
	return sc, nil
}

// sqlActivatedRooms lists the rooms of a tenant with signage, for targets
// that name no rooms ("every activated room").
const sqlActivatedRooms = `SELECT room_id FROM signage_assignments WHERE tenant_id = $1 AND state <> '` + SignageRemoving + `' ORDER BY room_id`

// ActivatedRoomIDs returns the ids of the tenant's rooms with signage.
func (s *Service) ActivatedRoomIDs(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := s.db.Query(ctx, sqlActivatedRooms, tenantID)
	if err != nil {
		return nil, fmt.Errorf("rooms.ActivatedRoomIDs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("rooms.ActivatedRoomIDs: %w", err)
	}
	return ids, nil
}

// What the screens package last reported of an assignment's screen
// (signage_assignments.screen_state). Health counts an ACTIVE assignment
// whose screen is ScreenOffline as WARNING (health.go).
const (
	// ScreenPending is an assignment whose screen nobody has reported
	// since its activation.
	ScreenPending = "PENDING"
	ScreenOnline  = "ONLINE"
	ScreenOffline = "OFFLINE"
)

const (
	// sqlSetScreenState moves assignments' screen state; onlyPending ($4)
	// leaves states a transition already reported alone, so the sweep of
	// pending screens never overwrites a contact that committed first.
	sqlSetScreenState = `UPDATE signage_assignments SET screen_state = $3
WHERE tenant_id = $1 AND room_id = ANY($2::uuid[]) AND screen_state <> $3 AND (NOT $4 OR screen_state = '` + ScreenPending + `')
RETURNING room_id`
	// sqlPendingScreens takes assignments still pending after activation,
	// oldest first, across tenants; a row another sweep holds is skipped.
	sqlPendingScreens = `SELECT a.room_id, a.tenant_id, a.connection_id FROM signage_assignments a
WHERE a.screen_state = '` + ScreenPending + `' AND a.activated_at <= $1
ORDER BY a.activated_at, a.room_id LIMIT $2 FOR UPDATE SKIP LOCKED`
)

// SetScreenStates records, in the screens package's transaction tx (the
// one announcing the transition), that the rooms' screens are now state
// (ScreenOnline or ScreenOffline), recomputes their health and records
// the health events of rooms whose health changed. With onlyPending it
// only settles screens still ScreenPending. Rooms without signage are
// ignored. Screens reports; rooms owns health: this keeps the import arrow
// screens → rooms.
func (s *Service) SetScreenStates(ctx context.Context, tx pgx.Tx, tenantID string, roomIDs []string, state string, onlyPending bool) error {
	if len(roomIDs) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, sqlSetScreenState, tenantID, store.UUIDs(roomIDs), state, onlyPending)
	if err != nil {
		return fmt.Errorf("rooms.SetScreenStates: %w", err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("rooms.SetScreenStates: %w", err)
	}
	if err := s.healthAfterSignage(ctx, tx, tenantID, changed); err != nil {
		return fmt.Errorf("rooms.SetScreenStates: %w", err)
	}
	return nil
}

// PendingScreens returns, locked in tx, up to limit assignments activated
// at or before activatedBefore whose screen was never reported, for the
// screens sweep to settle (ONLINE if the player called, else OFFLINE).
func (s *Service) PendingScreens(ctx context.Context, tx pgx.Tx, activatedBefore time.Time, limit int) ([]Screen, error) {
	rows, err := tx.Query(ctx, sqlPendingScreens, activatedBefore, limit)
	if err != nil {
		return nil, fmt.Errorf("rooms.PendingScreens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Screen, error) {
		var sc Screen
		err := row.Scan(&sc.RoomID, &sc.TenantID, &sc.ConnectionID)
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("rooms.PendingScreens: %w", err)
	}
	return out, nil
}

// healthAfterSignage recomputes the health of rooms whose signage or
// screen state changed in tx (a dark screen counts only while signage is
// ACTIVE) and records the health events of those whose health moved.
func (s *Service) healthAfterSignage(ctx context.Context, tx pgx.Tx, tenantID string, roomIDs []string) error {
	changes, err := recomputeHealth(ctx, tx, tenantID, roomIDs)
	if err != nil || len(changes) == 0 {
		return err
	}
	ids := make([]string, len(changes))
	for i, c := range changes {
		ids[i] = c.room.ID
	}
	return s.emitRoomHealth(ctx, tx, tenantID, ids)
}

// emitSignage records a room's signage event in tx, and its health event
// when the change moved its health (a dark screen stops or starts counting
// with the ACTIVE state).
func (s *Service) emitSignage(ctx context.Context, tx pgx.Tx, room Room, a *Assignment) error {
	if err := s.emit(ctx, tx, s.signageEvent(room, a)); err != nil {
		return err
	}
	return s.healthAfterSignage(ctx, tx, room.TenantID, []string{room.ID})
}
