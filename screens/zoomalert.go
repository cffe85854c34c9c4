package screens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/connections"
	"zoomsignage/store"
	"zoomsignage/zoom"
	"zoomsignage/zoomerr"
)

// ZoomConnections is what screens needs of the connections domain to raise
// Zoom's own emergency alert: the Zoom calls of a connection whose grant
// allows it. The app adapts *connections.Service with FromConnections.
type ZoomConnections interface {
	// EmergencyAlertClient returns the Zoom calls of a connection of the
	// tenant; an error matching ErrNoEmergencyPermission when the
	// connection's grant lacks the optional emergency-alert scope.
	EmergencyAlertClient(ctx context.Context, tenantID, connectionID string) (*zoom.AccountClient, error)
}

// ErrNoEmergencyPermission: the connection's Zoom app was not granted the
// optional emergency-alert scope, so Zoom's alert is not raised through it
// (the screens still show the broadcast).
var ErrNoEmergencyPermission = errors.New("screens: the Zoom app lacks the emergency-alert permission")

// zoomAlertTimeout bounds raising or removing Zoom's alert for one
// broadcast: the calls run after the broadcast's commit, detached from the
// request, and must not hold the mutation's answer for ever.
const zoomAlertTimeout = time.Minute

// FromConnections adapts the connections service to ZoomConnections.
func FromConnections(svc *connections.Service) ZoomConnections { return connectionsAdapter{svc} }

type connectionsAdapter struct{ svc *connections.Service }

func (c connectionsAdapter) EmergencyAlertClient(ctx context.Context, tenantID, connectionID string) (*zoom.AccountClient, error) {
	conn, err := c.svc.Get(ctx, tenantID, connectionID)
	if err != nil {
		return nil, err
	}
	if !connections.EmergencyAlertAllowed(conn.GrantedScopes) {
		return nil, ErrNoEmergencyPermission
	}
	return c.svc.ZoomClient(ctx, tenantID, connectionID)
}

const (
	sqlInsertZoomAlert = `INSERT INTO broadcast_zoom_alerts (broadcast_id, connection_id, zoom_room_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING`
	// sqlRecordZoomAlert counts where the alert was raised; ended tells a
	// broadcast ended while it was being raised, whose alert must go again.
	sqlRecordZoomAlert = `UPDATE broadcasts SET zoom_alert_rooms = (SELECT count(*) FROM broadcast_zoom_alerts WHERE broadcast_id = $1),
  zoom_alert_error = $2
WHERE id = $1 RETURNING ` + broadcastColumns + `, ended_at IS NOT NULL OR end_announced`
	sqlZoomAlertsOf = `SELECT connection_id, zoom_room_id FROM broadcast_zoom_alerts WHERE broadcast_id = $1
ORDER BY connection_id, zoom_room_id`
	sqlDeleteZoomAlert = `DELETE FROM broadcast_zoom_alerts WHERE broadcast_id = $1 AND connection_id = $2 AND zoom_room_id = ANY($3::text[])`
	sqlRecordRemoval   = `UPDATE broadcasts SET zoom_alert_removal_error = $2, zoom_alert_removal_tried_at = now()
WHERE id = $1 RETURNING ` + broadcastColumns
	// sqlEndedWithZoomAlerts lists ended broadcasts whose Zoom alert is
	// still up somewhere (ended by endsAt, or a removal that failed or was
	// cut short), for the sweep to remove: the least recently tried first,
	// each at most once per removalRetryEvery, and only for removalGiveUp
	// after the end (then the error on the broadcast says where it stayed).
	sqlEndedWithZoomAlerts = `SELECT ` + broadcastColumns + ` FROM broadcasts
WHERE (ended_at IS NOT NULL OR end_announced) AND id IN (SELECT broadcast_id FROM broadcast_zoom_alerts)
  AND (zoom_alert_removal_tried_at IS NULL OR zoom_alert_removal_tried_at < now() - $2::interval)
  AND coalesce(ended_at, ends_at, started_at) > now() - $3::interval
ORDER BY zoom_alert_removal_tried_at NULLS FIRST, started_at, id LIMIT $1`
)

// How the sweep retries a removal Zoom refused.
const (
	removalRetryEvery = time.Minute
	removalGiveUp     = 24 * time.Hour
)

// zoomTargets groups Zoom room ids by connection, connections in id order.
type zoomTargets struct {
	connections []string
	rooms       map[string][]string
}

func (t *zoomTargets) add(connectionID, zoomRoomID string) {
	if _, ok := t.rooms[connectionID]; !ok {
		t.connections = append(t.connections, connectionID)
	}
	t.rooms[connectionID] = append(t.rooms[connectionID], zoomRoomID)
}

// raiseZoomAlert raises Zoom's own emergency alert in an EMERGENCY
// broadcast's rooms, through every connection whose grant allows it, after
// the broadcast committed (Zoom is not called inside a transaction). What
// fails is recorded on the broadcast (zoom_alert_error) and does not fail
// startBroadcast: the screens already show the broadcast. It returns the
// broadcast as recorded.
func (s *Service) raiseZoomAlert(ctx context.Context, actor string, b Broadcast, roomIDs []string) Broadcast {
	if b.Severity != SeverityEmergency || s.cfg.Connections == nil {
		return b
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), zoomAlertTimeout)
	defer cancel()
	out, err := s.raiseZoomAlertErr(ctx, actor, b, roomIDs)
	if err != nil {
		s.log.ErrorContext(ctx, "raising Zoom's emergency alert failed", "broadcast", b.ID, "error", err)
		return b
	}
	return out
}

func (s *Service) raiseZoomAlertErr(ctx context.Context, actor string, b Broadcast, roomIDs []string) (Broadcast, error) {
	if b.TargetAll {
		ids, err := s.cfg.Rooms.ActivatedRoomIDs(ctx, b.TenantID)
		if err != nil {
			return b, err
		}
		roomIDs = ids
	}
	found, err := s.cfg.Rooms.RoomsByID(ctx, b.TenantID, roomIDs)
	if err != nil {
		return b, err
	}
	targets := zoomTargets{rooms: map[string][]string{}}
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if r := found[id]; r.ZoomRoomID != "" && r.ConnectionID != "" {
			targets.add(r.ConnectionID, r.ZoomRoomID)
		}
	}
	slices.Sort(targets.connections)
	type raised struct {
		connection string
		rooms      []string
	}
	var done []raised
	var problems []string
	for _, conn := range targets.connections {
		zids := targets.rooms[conn]
		ac, err := s.cfg.Connections.EmergencyAlertClient(ctx, b.TenantID, conn)
		if err != nil {
			problems = append(problems, fmt.Sprintf("connection %s: not raised in %d rooms: %s", conn, len(zids), alertProblem(err)))
			continue
		}
		ok, err := ac.RaiseEmergencyAlert(ctx, zoom.AlertTargetRoom, zids, b.Message)
		if len(ok) > 0 {
			done = append(done, raised{conn, ok})
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("connection %s: not raised in %d of %d rooms: %s", conn, len(zids)-len(ok), len(zids), alertProblem(err)))
		}
	}
	var problem *string
	if len(problems) > 0 {
		p := strings.Join(problems, "; ")
		problem = &p
	}
	var ended bool
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		for _, r := range done {
			for _, zid := range r.rooms {
				if _, err := tx.Exec(ctx, sqlInsertZoomAlert, b.ID, r.connection, zid); err != nil {
					return err
				}
			}
		}
		rows, err := tx.Query(ctx, sqlRecordZoomAlert, b.ID, problem)
		if err != nil {
			return err
		}
		b, err = pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (Broadcast, error) {
			return scanBroadcastWith(row, &ended)
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: b.TenantID, Actor: actor, Action: "broadcast.zoom_alert_raised",
			TargetType: "broadcast", TargetID: b.ID, Details: map[string]any{"rooms": b.ZoomAlertRooms, "error": problem}})
	})
	if err != nil {
		return b, fmt.Errorf("screens.raiseZoomAlert: %w", err)
	}
	if ended {
		// Ended while Zoom was being called: the end's removal may have
		// run before these rows existed.
		return s.removeZoomAlertErr(ctx, actor, b)
	}
	return b, nil
}

// alertProblem is the client-safe text of why Zoom's alert failed.
func alertProblem(err error) string {
	if errors.Is(err, ErrNoEmergencyPermission) {
		return "the Zoom app lacks the optional permission " + zoom.EmergencyAlertScope
	}
	if e, ok := apierror.As(zoomerr.APIError(err)); ok {
		return e.Message
	}
	return "Zoom could not be reached or failed"
}

// removeZoomAlert removes Zoom's alert of an ended broadcast wherever it
// was raised, after the end committed; what Zoom refuses stays listed and
// is recorded (zoom_alert_removal_error) for the sweep to try again.
func (s *Service) removeZoomAlert(ctx context.Context, actor string, b Broadcast) Broadcast {
	if b.ZoomAlertRooms == 0 || s.cfg.Connections == nil {
		return b
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), zoomAlertTimeout)
	defer cancel()
	out, err := s.removeZoomAlertErr(ctx, actor, b)
	if err != nil {
		s.log.ErrorContext(ctx, "removing Zoom's emergency alert failed", "broadcast", b.ID, "error", err)
		return b
	}
	return out
}

func (s *Service) removeZoomAlertErr(ctx context.Context, actor string, b Broadcast) (Broadcast, error) {
	rows, err := s.db.Query(ctx, sqlZoomAlertsOf, b.ID)
	if err != nil {
		return b, fmt.Errorf("screens.removeZoomAlert: %w", err)
	}
	targets := zoomTargets{rooms: map[string][]string{}}
	var conn, zid string
	if _, err := pgx.ForEachRow(rows, []any{&conn, &zid}, func() error {
		targets.add(conn, zid)
		return nil
	}); err != nil {
		return b, fmt.Errorf("screens.removeZoomAlert: %w", err)
	}
	if len(targets.connections) == 0 {
		return b, nil
	}
	var problems []string
	removed := 0
	for _, conn := range targets.connections {
		zids := targets.rooms[conn]
		ac, err := s.cfg.Connections.EmergencyAlertClient(ctx, b.TenantID, conn)
		if err != nil {
			problems = append(problems, fmt.Sprintf("connection %s: not removed in %d rooms: %s", conn, len(zids), alertProblem(err)))
			continue
		}
		ok, err := ac.RemoveEmergencyAlert(ctx, zoom.AlertTargetRoom, zids)
		if len(ok) > 0 {
			if _, err := s.db.Exec(ctx, sqlDeleteZoomAlert, b.ID, conn, ok); err != nil {
				return b, fmt.Errorf("screens.removeZoomAlert: %w", err)
			}
			removed += len(ok)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("connection %s: not removed in %d of %d rooms: %s", conn, len(zids)-len(ok), len(zids), alertProblem(err)))
		}
	}
	var problem *string
	if len(problems) > 0 {
		p := strings.Join(problems, "; ")
		problem = &p
	}
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlRecordRemoval, b.ID, problem)
		if err != nil {
			return err
		}
		if b, err = pgx.CollectExactlyOneRow(rows, scanBroadcast); err != nil {
			return err
		}
		if removed == 0 {
			// Nothing changed in Zoom: the sweep's retries of a removal
			// Zoom keeps refusing are not audited each time.
			return nil
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: b.TenantID, Actor: actor, Action: "broadcast.zoom_alert_removed",
			TargetType: "broadcast", TargetID: b.ID, Details: map[string]any{"rooms": removed, "error": problem}})
	})
	if err != nil {
		return b, fmt.Errorf("screens.removeZoomAlert: %w", err)
	}
	return b, nil
}

// removeEndedZoomAlerts removes Zoom's alert of broadcasts that ended by
// endsAt, or whose removal failed or was cut short; the sweep runs it
// after announcing the ends.
func (s *Service) removeEndedZoomAlerts(ctx context.Context) error {
	if s.cfg.Connections == nil {
		return nil
	}
	rows, err := s.db.Query(ctx, sqlEndedWithZoomAlerts, sweepBatch, removalRetryEvery.String(), removalGiveUp.String())
	if err != nil {
		return fmt.Errorf("screens.removeEndedZoomAlerts: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanBroadcast)
	if err != nil {
		return fmt.Errorf("screens.removeEndedZoomAlerts: %w", err)
	}
	for _, b := range list {
		if _, err := s.removeZoomAlertErr(ctx, "system", b); err != nil {
			return fmt.Errorf("screens.removeEndedZoomAlerts: %w", err)
		}
	}
	return nil
}
