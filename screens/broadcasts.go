package screens

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// MaxMessageLength bounds a broadcast's message.
const MaxMessageLength = 500

// Broadcast severities, as the API names them.
const (
	SeverityInfo      = "INFO"
	SeverityWarning   = "WARNING"
	SeverityEmergency = "EMERGENCY"
)

// Broadcast is a message shown instead of the program on its rooms'
// screens while it is live.
type Broadcast struct {
	ID        string
	TenantID  string
	Message   string
	Severity  string
	TargetAll bool
	RoomCount int
	// ZoomAlertRooms counts the rooms where Zoom's own emergency alert was
	// raised (EMERGENCY broadcasts, connections with the permission).
	ZoomAlertRooms int
	// ZoomAlertError says where and why Zoom's alert was not raised;
	// ZoomAlertRemovalError where it is still up after the end.
	ZoomAlertError        *string
	ZoomAlertRemovalError *string
	StartedAt             time.Time
	StartedBy             string
	EndsAt                *time.Time
	EndedAt               *time.Time
}

// BroadcastInput is startBroadcast's input.
type BroadcastInput struct {
	Message  string
	Severity string
	Target   Target
	EndsAt   *time.Time
}

const (
	broadcastColumns = `id, tenant_id, message, severity, target_all, room_count, zoom_alert_rooms, started_at, started_by, ends_at, ended_at,
  zoom_alert_error, zoom_alert_removal_error`
	sqlInsertBroadcast = `INSERT INTO broadcasts (tenant_id, message, severity, target_all, room_count, started_by, ends_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ` + broadcastColumns
	sqlInsertBroadcastRoom = `INSERT INTO broadcast_rooms (broadcast_id, room_id) VALUES ($1, $2)`
	// sqlEndBroadcast ends a live broadcast and marks its end announced;
	// one whose endsAt passed and was announced by the sweep is left as it
	// is (it ended then).
	// sqlEndBroadcast also claims the Zoom alert's removal (tried now), so
	// a sweep meanwhile does not remove it a second time.
	sqlEndBroadcast = `UPDATE broadcasts SET ended_at = $3, ended_by = $4, end_announced = true, zoom_alert_removal_tried_at = now()
WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND NOT end_announced RETURNING ` + broadcastColumns
	sqlBroadcastByID = `SELECT ` + broadcastColumns + ` FROM broadcasts WHERE tenant_id = $1 AND id = $2`
	sqlBroadcasts    = `SELECT ` + broadcastColumns + ` FROM broadcasts WHERE tenant_id = $1
  AND ($2::boolean IS NULL OR $2 = (ended_at IS NULL AND (ends_at IS NULL OR ends_at > $3)))
ORDER BY started_at DESC, id LIMIT 500`
	sqlBroadcastRooms = `SELECT room_id FROM broadcast_rooms WHERE broadcast_id = $1 ORDER BY room_id`
	// sqlLiveBroadcast is the broadcast a room's screen shows at $3: the
	// most severe live one, the latest of those.
	sqlLiveBroadcast = `SELECT ` + broadcastColumns + ` FROM broadcasts b
WHERE b.tenant_id = $1 AND b.ended_at IS NULL AND (b.ends_at IS NULL OR b.ends_at > $3)
  AND (b.target_all OR EXISTS (SELECT 1 FROM broadcast_rooms br WHERE br.broadcast_id = b.id AND br.room_id = $2))
ORDER BY CASE b.severity WHEN 'EMERGENCY' THEN 0 WHEN 'WARNING' THEN 1 ELSE 2 END, b.started_at DESC, b.id
LIMIT 1`
)

func scanBroadcast(row pgx.CollectableRow) (Broadcast, error) { return scanBroadcastWith(row) }

// scanBroadcastWith scans broadcastColumns followed by extra columns.
func scanBroadcastWith(row pgx.CollectableRow, extra ...any) (Broadcast, error) {
	var b Broadcast
	err := row.Scan(append([]any{&b.ID, &b.TenantID, &b.Message, &b.Severity, &b.TargetAll, &b.RoomCount, &b.ZoomAlertRooms,
		&b.StartedAt, &b.StartedBy, &b.EndsAt, &b.EndedAt, &b.ZoomAlertError, &b.ZoomAlertRemovalError}, extra...)...)
	return b, err
}

func (in BroadcastInput) validate(now time.Time) error {
	if n := utf8.RuneCountInString(in.Message); n == 0 || n > MaxMessageLength {
		return apierror.Invalid("input.message", "message must be 1 to %d characters", MaxMessageLength)
	}
	switch in.Severity {
	case SeverityInfo, SeverityWarning, SeverityEmergency:
	default:
		return apierror.Invalid("input.severity", "severity must be INFO, WARNING or EMERGENCY")
	}
	if in.EndsAt != nil && !in.EndsAt.After(now) {
		return apierror.Invalid("input.endsAt", "endsAt must be in the future")
	}
	return nil
}

// StartBroadcast shows a message instead of the program on the targeted
// rooms' screens (every activated room when the target names none),
// audited with who started it; the screens show it within moments. An
// EMERGENCY one then raises Zoom's own alert in those rooms too (see
// raiseZoomAlert), so rooms in a meeting get it.
func (s *Service) StartBroadcast(ctx context.Context, actor rooms.Actor, in BroadcastInput) (Broadcast, error) {
	if err := in.validate(s.cfg.Now()); err != nil {
		return Broadcast{}, err
	}
	all := len(in.Target.RoomIDs) == 0 && len(in.Target.LocationIDs) == 0 && len(in.Target.TagIDs) == 0
	ids, err := s.resolve(ctx, actor.TenantID, in.Target)
	if err != nil {
		return Broadcast{}, err
	}
	if !all {
		found, err := s.cfg.Rooms.RoomsByID(ctx, actor.TenantID, ids)
		if err != nil {
			return Broadcast{}, err
		}
		for _, id := range ids {
			if _, ok := found[id]; !ok {
				return Broadcast{}, apierror.NotFoundf("room %q not found", id)
			}
		}
	}
	var b Broadcast
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlInsertBroadcast, actor.TenantID, in.Message, in.Severity, all, len(ids), actor.Name, in.EndsAt)
		if err != nil {
			return err
		}
		if b, err = pgx.CollectExactlyOneRow(rows, scanBroadcast); err != nil {
			return err
		}
		if !all {
			for _, id := range ids {
				if _, err := tx.Exec(ctx, sqlInsertBroadcastRoom, b.ID, id); err != nil {
					return err
				}
			}
		}
		var roomIDs []string
		if !all {
			roomIDs = ids
		}
		if err := s.cfg.Events.Add(ctx, tx, broadcastEvent(events.BroadcastStarted, b, roomIDs, b.StartedAt)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "broadcast.start",
			TargetType: "broadcast", TargetID: b.ID, Details: map[string]any{"severity": b.Severity, "rooms": len(ids),
				"allRooms": all, "message": b.Message}})
	})
	if err != nil {
		return Broadcast{}, wrap("screens.StartBroadcast", err)
	}
	s.publishBroadcast(ctx, b, ids)
	return s.raiseZoomAlert(ctx, actor.Name, b, ids), nil
}

// EndBroadcast ends a live broadcast, audited with who ended it, and then
// removes Zoom's alert where it raised one; an ended one is returned as it
// is.
func (s *Service) EndBroadcast(ctx context.Context, actor rooms.Actor, id string) (Broadcast, error) {
	if !store.IsUUID(id) {
		return Broadcast{}, apierror.NotFoundf("broadcast %q not found", id)
	}
	var b Broadcast
	var ids []string
	ended := false
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlEndBroadcast, actor.TenantID, id, s.cfg.Now(), actor.Name)
		if err != nil {
			return err
		}
		b, err = pgx.CollectExactlyOneRow(rows, scanBroadcast)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ended = true
		if ids, err = broadcastRoomsTx(ctx, tx, b); err != nil {
			return err
		}
		if err := s.cfg.Events.Add(ctx, tx, broadcastEvent(events.BroadcastEnded, b, ids, *b.EndedAt)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: actor.TenantID, Actor: actor.Name, Action: "broadcast.end",
			TargetType: "broadcast", TargetID: b.ID, Details: map[string]any{"severity": b.Severity, "startedBy": b.StartedBy}})
	})
	if err != nil {
		return Broadcast{}, wrap("screens.EndBroadcast", err)
	}
	if !ended {
		return s.broadcastByID(ctx, actor.TenantID, id)
	}
	s.publishBroadcast(ctx, b, ids)
	return s.removeZoomAlert(ctx, actor.Name, b), nil
}

// Broadcast returns one broadcast of the tenant: NOT_FOUND when the tenant
// has none with id.
func (s *Service) Broadcast(ctx context.Context, tenantID, id string) (Broadcast, error) {
	if !store.IsUUID(id) {
		return Broadcast{}, apierror.NotFoundf("broadcast %q not found", id)
	}
	return s.broadcastByID(ctx, tenantID, id)
}

func (s *Service) broadcastByID(ctx context.Context, tenantID, id string) (Broadcast, error) {
	rows, err := s.db.Query(ctx, sqlBroadcastByID, tenantID, id)
	if err != nil {
		return Broadcast{}, fmt.Errorf("screens.broadcastByID: %w", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBroadcast)
	if errors.Is(err, pgx.ErrNoRows) {
		return Broadcast{}, apierror.NotFoundf("broadcast %q not found", id)
	}
	if err != nil {
		return Broadcast{}, fmt.Errorf("screens.broadcastByID: %w", err)
	}
	return b, nil
}

// broadcastRoomsTx lists a broadcast's rooms (none for an all-rooms one).
func broadcastRoomsTx(ctx context.Context, tx pgx.Tx, b Broadcast) ([]string, error) {
	if b.TargetAll {
		return nil, nil
	}
	rows, err := tx.Query(ctx, sqlBroadcastRooms, b.ID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// broadcastEvent is a broadcast.started or broadcast.ended event, written
// in the transaction that starts or ends the broadcast (or the sweep's).
func broadcastEvent(kind events.Kind, b Broadcast, roomIDs []string, at time.Time) events.Event {
	return events.Event{Kind: kind, TenantID: b.TenantID, At: at, Broadcast: &events.BroadcastSnapshot{
		ID: b.ID, Message: b.Message, Severity: b.Severity, AllRooms: b.TargetAll, RoomIDs: roomIDs, RoomCount: b.RoomCount,
		StartedAt: b.StartedAt, StartedBy: b.StartedBy, EndsAt: b.EndsAt, EndedAt: b.EndedAt}}
}

// publishBroadcast tells the broadcast's screens: every screen of the
// tenant for an all-rooms broadcast (one event), else each room.
func (s *Service) publishBroadcast(ctx context.Context, b Broadcast, roomIDs []string) {
	if b.TargetAll {
		s.publishTenant(ctx, b.TenantID)
		return
	}
	s.publishRooms(ctx, b.TenantID, roomIDs)
}

// Broadcasts returns the tenant's broadcasts, newest first (live or not
// when active is nil).
func (s *Service) Broadcasts(ctx context.Context, tenantID string, active *bool) ([]Broadcast, error) {
	rows, err := s.db.Query(ctx, sqlBroadcasts, tenantID, active, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("screens.Broadcasts: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBroadcast)
	if err != nil {
		return nil, fmt.Errorf("screens.Broadcasts: %w", err)
	}
	return list, nil
}

// LiveBroadcast returns the broadcast a room's screen shows now, if any.
func (s *Service) LiveBroadcast(ctx context.Context, tenantID, roomID string) (*Broadcast, error) {
	rows, err := s.db.Query(ctx, sqlLiveBroadcast, tenantID, roomID, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("screens.LiveBroadcast: %w", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBroadcast)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("screens.LiveBroadcast: %w", err)
	}
	return &b, nil
}
