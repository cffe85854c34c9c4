package rooms

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/audit"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// The reconciler: Postgres saying a room's signage is ACTIVE is only true
// while Zoom still holds it. A settings PATCH that Zoom answered with a
// malformed 200, an admin switching signage off in Zoom's portal, or our
// content list deleted there all leave ACTIVE rows with nothing behind
// them, which no sync noticed. So each sync also reads the signage
// settings of a few ACTIVE rooms, the least recently verified first, within
// the push budget, and re-pushes a room whose signage is off or whose
// play list no longer holds our item. Every repair is audited
// (signage.repaired) and counted (zoomsignage_signage_repairs_total).

// Repair reasons (the audit detail and the metric's label).
const (
	driftDisabled     = "signage_disabled_in_zoom"
	driftContentGone  = "content_missing_in_zoom"
	verifyCallsPerRun = 50 // at most this many reads a run, however large the budget
)

const (
	// sqlToVerify are the connection's ACTIVE assignments no push holds,
	// least recently verified first.
	sqlToVerify = `SELECT ` + assignmentColumns + ` FROM signage_assignments
WHERE tenant_id = $1 AND connection_id = $2 AND state = 'ACTIVE'
  AND (push_owner IS NULL OR push_started_at < now() - $4::interval)
ORDER BY verified_at NULLS FIRST, room_id
LIMIT $3`
	sqlMarkVerified = `UPDATE signage_assignments SET verified_at = now() WHERE tenant_id = $1 AND room_id = $2`
	// sqlReopenPush turns an ACTIVE assignment Zoom lost back into a push
	// (forgetting its list id, which Zoom may no longer have), unless it
	// changed or a push took it meanwhile.
	sqlReopenPush = `UPDATE signage_assignments SET state = 'PUSHING', zoom_content_list_id = NULL, last_error = $3,
  push_attempts = greatest(push_attempts, 1), updated_at = now()
WHERE tenant_id = $1 AND room_id = $2 AND state = 'ACTIVE'
  AND (push_owner IS NULL OR push_started_at < now() - $4::interval)
RETURNING ` + assignmentColumns
)

// reconcileMetrics counts repairs by reason.
type reconcileMetrics struct {
	repairs *prometheus.CounterVec
}

func newReconcileMetrics(reg prometheus.Registerer) *reconcileMetrics {
	m := &reconcileMetrics{repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zoomsignage_signage_repairs_total",
		Help: "ACTIVE signage the reconciler found missing in Zoom and pushed again, by reason.",
	}, []string{"reason"})}
	if reg != nil {
		reg.MustRegister(m.repairs)
	}
	return m
}

// verifyActive compares up to budget ACTIVE assignments of the connection
// with Zoom and re-pushes the ones Zoom lost. It returns the Zoom calls it
// made and stops at a rate limit.
func (s *Service) verifyActive(ctx context.Context, ac *zoom.AccountClient, tenantID, connectionID string, budget int) (int, error) {
	rows, err := s.db.Query(ctx, sqlToVerify, tenantID, connectionID, min(max(budget, 1), verifyCallsPerRun), pushLease.String())
	if err != nil {
		return 0, fmt.Errorf("rooms.verifyActive: %w", err)
	}
	active, err := collectAssignments(rows)
	if err != nil {
		return 0, fmt.Errorf("rooms.verifyActive: %w", err)
	}
	if len(active) == 0 {
		return 0, nil
	}
	ids := make([]string, len(active))
	for i, a := range active {
		ids[i] = a.RoomID
	}
	rooms, err := s.RoomsByID(ctx, tenantID, ids)
	if err != nil {
		return 0, fmt.Errorf("rooms.verifyActive: %w", err)
	}
	calls := 0
	for _, a := range active {
		if calls >= budget {
			break
		}
		room, ok := rooms[a.RoomID]
		if !ok {
			continue
		}
		n, err := s.verifyOne(ctx, ac, room, a)
		calls += n
		if zoom.IsRateLimited(err) {
			break
		}
	}
	return calls, nil
}

// verifyOne reads the room's signage settings and repairs what Zoom lost.
// A read that fails leaves the row unverified, to be tried first next time.
func (s *Service) verifyOne(ctx context.Context, ac *zoom.AccountClient, room Room, a Assignment) (int, error) {
	st, err := ac.GetSignageSettings(ctx, room.ZoomRoomID)
	if err != nil {
		s.log.WarnContext(ctx, "reading a room's signage to verify it failed", "room_id", room.ID, "error", err.Error())
		return 1, err
	}
	if _, err := s.db.Exec(ctx, sqlMarkVerified, a.TenantID, a.RoomID); err != nil {
		return 1, fmt.Errorf("rooms.verifyOne: %w", err)
	}
	reason := drift(st, a.ZoomContentID)
	if reason == "" {
		return 1, nil
	}
	return 1 + s.repair(ctx, ac, room, a, reason), nil
}

// drift tells why Zoom no longer shows our signage ("" when it does).
func drift(st *zoom.SignageSettings, contentID string) string {
	if st.EnableDigitalSignage == nil || !*st.EnableDigitalSignage {
		return driftDisabled
	}
	for _, l := range st.PlayList {
		for _, c := range l.Contents {
			if c.ContentID == contentID {
				return ""
			}
		}
	}
	return driftContentGone
}

// repair reopens the assignment as a push (PUSHING, with the reason, and a
// signage event: the product says so while it is repaired) and pushes it
// as an interrupted push is: the push looks for our list and adds it when
// Zoom no longer has it. It returns the Zoom calls the push made.
func (s *Service) repair(ctx context.Context, ac *zoom.AccountClient, room Room, a Assignment, reason string) int {
	s.log.WarnContext(ctx, "ACTIVE signage missing in Zoom: pushing it again", "room_id", room.ID, "reason", reason)
	var reopened Assignment
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		reopened, err = oneAssignment(ctx, tx, sqlReopenPush, a.TenantID, a.RoomID, "missing in Zoom ("+reason+"): pushed again", pushLease.String())
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Event{TenantID: a.TenantID, Actor: SystemActor, Action: "signage.repaired",
			TargetType: "room", TargetID: room.ID, Details: map[string]any{"reason": reason, "zoomRoomId": room.ZoomRoomID}}); err != nil {
			return err
		}
		// Like every signage change: its event, and the room's health
		// (a dark screen counts only while signage is ACTIVE).
		return s.emitSignage(ctx, tx, room, &reopened)
	})
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) {
			s.log.WarnContext(ctx, "reopening lost signage failed", "room_id", room.ID, "error", err.Error())
		}
		return 0 // changed meanwhile: whoever changed it owns it now
	}
	s.metrics.repairs.WithLabelValues(reason).Inc()
	_, calls, err := s.pushAndRecord(ctx, ac, room, reopened)
	if err != nil {
		s.log.WarnContext(ctx, "re-pushing lost signage failed; later syncs retry it", "room_id", room.ID, "error", err.Error())
	}
	return calls
}
