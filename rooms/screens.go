package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/connections"
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
