package rooms

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
)

// Health is derived, never reported by Zoom: Zoom has no endpoint for a
// room's current alerts, so the gateway keeps the latest state of every
// (component, alert type) from zoomroom.alert webhooks and combines it with
// the room's status and its devices' status:
//
//   - UNKNOWN: the room is under construction (not set up yet);
//   - CRITICAL: the room is offline, or an alert says so (alert type 3,
//     "Zoom Room is offline", or 7, "display disconnected": nothing can show);
//   - WARNING: any other triggered alert, a device that is not online, or
//     a dark screen: signage ACTIVE while its screen is OFFLINE, as the
//     screens package reports it (SetScreenStates: no contact for the
//     online window after the last one, or after activation when the
//     player never called);
//   - OK otherwise.
//
// sqlRecomputeHealth applies that to the given rooms and writes only rooms
// whose health changed, returning them with their previous health. Callers
// lock or write the room rows earlier in the same transaction, so the
// statement sees every committed alert and status change.
const sqlRecomputeHealth = `WITH target AS (
  SELECT r.id, r.health AS old_health,
    CASE
      WHEN r.status = 'UNDER_CONSTRUCTION' THEN 'UNKNOWN'
      WHEN r.status = 'OFFLINE' THEN 'CRITICAL'
      WHEN EXISTS (SELECT 1 FROM room_alerts a WHERE a.room_id = r.id AND a.state = 'TRIGGERED' AND a.alert_type IN (3, 7)) THEN 'CRITICAL'
      WHEN EXISTS (SELECT 1 FROM room_alerts a WHERE a.room_id = r.id AND a.state = 'TRIGGERED')
        OR EXISTS (SELECT 1 FROM room_devices d WHERE d.room_id = r.id AND d.status <> 'Online')
        OR EXISTS (SELECT 1 FROM signage_assignments sa WHERE sa.room_id = r.id AND sa.state = '` + SignageActive + `' AND sa.screen_state = '` + ScreenOffline + `') THEN 'WARNING'
      ELSE 'OK'
    END AS new_health
  FROM rooms r WHERE r.tenant_id = $1 AND r.id = ANY($2::uuid[])
)
UPDATE rooms r SET health = t.new_health, updated_at = now()
FROM target t
WHERE r.id = t.id AND r.health IS DISTINCT FROM t.new_health
RETURNING t.old_health, ` + roomColumns

// healthChange is a room whose health changed.
type healthChange struct {
	room     Room
	previous string
}

func recomputeHealth(ctx context.Context, tx pgx.Tx, tenantID string, roomIDs []string) ([]healthChange, error) {
	if len(roomIDs) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, sqlRecomputeHealth, tenantID, roomIDs)
	if err != nil {
		return nil, fmt.Errorf("rooms.recomputeHealth: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (healthChange, error) {
		var h healthChange
		r := &h.room
		err := row.Scan(&h.previous, &r.ID, &r.TenantID, &r.ConnectionID, &r.ZoomRoomID, &r.ZoomDashboardID, &r.Name,
			&r.Type, &r.LocationID, &r.Status, &r.Online, &r.LastSeenAt, &r.Health, &r.DevicesRefreshedAt)
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("rooms.recomputeHealth: %w", err)
	}
	return out, nil
}

// AlertPayload is the payload of a zoomroom.alert webhook.
type AlertPayload struct {
	AccountID string `json:"account_id"`
	Object    struct {
		ID        string `json:"id"`
		RoomName  string `json:"room_name"`
		Issue     string `json:"issue"`
		AlertType int    `json:"alert_type"`
		Component int    `json:"component"`
		AlertKind int    `json:"alert_kind"`
		AlertTime int64  `json:"alert_time"` // milliseconds since the epoch
	} `json:"object"`
}

// Alert kinds of the zoomroom.alert payload.
const (
	alertKindTriggered = 1
	alertKindCleared   = 2
)

const (
	// sqlLockAlertRooms finds (and locks) the rooms a Zoom account's alert
	// is about: a Zoom account is linked to at most one live connection, so
	// this is one room, of one tenant.
	sqlLockAlertRooms = `SELECT r.id, r.tenant_id FROM rooms r
JOIN zoom_connections c ON c.id = r.connection_id AND c.tenant_id = r.tenant_id
WHERE c.zoom_account_id = $1 AND r.zoom_room_id = $2
ORDER BY r.id FOR UPDATE OF r`
	// sqlTriggerAlert records a triggered alert unless a later event for the
	// same (component, type) was already applied (Zoom may deliver out of
	// order).
	sqlTriggerAlert = `INSERT INTO room_alerts (tenant_id, room_id, component, alert_type, issue, state, triggered_at)
VALUES ($1, $2, $3, $4, $5, 'TRIGGERED', $6)
ON CONFLICT (room_id, component, alert_type) DO UPDATE SET
  issue = EXCLUDED.issue, state = 'TRIGGERED', triggered_at = EXCLUDED.triggered_at, cleared_at = NULL, updated_at = now()
WHERE room_alerts.triggered_at <= EXCLUDED.triggered_at AND coalesce(room_alerts.cleared_at, '-infinity') <= EXCLUDED.triggered_at`
	sqlClearAlert = `INSERT INTO room_alerts (tenant_id, room_id, component, alert_type, issue, state, triggered_at, cleared_at)
VALUES ($1, $2, $3, $4, $5, 'CLEARED', $6, $6)
ON CONFLICT (room_id, component, alert_type) DO UPDATE SET
  issue = EXCLUDED.issue, state = 'CLEARED', cleared_at = EXCLUDED.cleared_at, updated_at = now()
WHERE room_alerts.triggered_at <= EXCLUDED.cleared_at AND coalesce(room_alerts.cleared_at, '-infinity') <= EXCLUDED.cleared_at`
)

// HandleAlert applies a zoomroom.alert webhook payload in its own
// transaction, with the room's health and alerts event. The webhook route
// uses AlertWebhookHandler instead, which applies it in the delivery's
// transaction.
func (s *Service) HandleAlert(ctx context.Context, payload json.RawMessage) error {
	var tenant string
	var touched []string
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		tenant, touched, err = s.applyAlert(ctx, tx, payload)
		if err != nil {
			return err
		}
		return s.emitRoomHealth(ctx, tx, tenant, touched)
	})
	if err != nil {
		return fmt.Errorf("rooms.HandleAlert: %w", err)
	}
	return nil
}

// applyAlert records the latest state of the room's (component, alert
// type) and recomputes the room's health. Kinds other than triggered and
// cleared ("observed", "other") carry no follow-up and change nothing.
// An alert for a room or account we do not sync, or a malformed one, is
// ignored: Zoom must not retry it. It returns the rooms whose alerts changed.
func (s *Service) applyAlert(ctx context.Context, tx pgx.Tx, payload json.RawMessage) (string, []string, error) {
	// A malformed payload is logged and dropped: an error would answer the
	// delivery with a 500, and Zoom would retry it forever.
	var p AlertPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		s.log.WarnContext(ctx, "dropping a malformed zoomroom.alert payload", "error", err.Error(), "bytes", len(payload))
		return "", nil, nil
	}
	if p.AccountID == "" || p.Object.ID == "" {
		s.log.WarnContext(ctx, "dropping a zoomroom.alert payload without account_id or object.id")
		return "", nil, nil
	}
	kind := p.Object.AlertKind
	if kind != alertKindTriggered && kind != alertKindCleared {
		return "", nil, nil
	}
	at := time.UnixMilli(p.Object.AlertTime)
	if p.Object.AlertTime == 0 {
		at = s.cfg.Now()
	}
	rows, err := tx.Query(ctx, sqlLockAlertRooms, p.AccountID, p.Object.ID)
	if err != nil {
		return "", nil, err
	}
	var roomID, tenantID string
	var targets [][2]string
	if _, err := pgx.ForEachRow(rows, []any{&roomID, &tenantID}, func() error {
		targets = append(targets, [2]string{roomID, tenantID})
		return nil
	}); err != nil {
		return "", nil, err
	}
	sql := sqlTriggerAlert
	if kind == alertKindCleared {
		sql = sqlClearAlert
	}
	var tenant string
	var touched []string
	for _, t := range targets {
		tag, err := tx.Exec(ctx, sql, t[1], t[0], p.Object.Component, p.Object.AlertType, p.Object.Issue, at)
		if err != nil {
			return "", nil, err
		}
		if tag.RowsAffected() == 0 {
			continue // older than the state already applied
		}
		if _, err := recomputeHealth(ctx, tx, t[1], []string{t[0]}); err != nil {
			return "", nil, err
		}
		touched, tenant = append(touched, t[0]), t[1]
	}
	return tenant, touched, nil
}
