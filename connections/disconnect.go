package connections

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/store"
)

// DisconnectReport is what a disconnect did, or has done so far.
type DisconnectReport struct {
	ConnectionID string
	// Done is false while the cleanup job still runs (the connection is
	// DISCONNECTING); calling Disconnect again returns the newer report.
	Done             bool
	Revoked          bool
	RoomsCleaned     int
	LicensesReleased int
	Leftovers        []Leftover
}

// Leftover is something on Zoom's side the cleanup could not remove.
type Leftover struct {
	ZoomRoomID string `json:"zoomRoomId"`
	Name       string `json:"name"`
	Reason     string `json:"reason"`
}

// Reasons a disconnect starts.
const (
	reasonDisconnect   = "disconnect"
	reasonDeauthorized = "deauthorized"
)

const (
	sqlMarkDisconnecting = `UPDATE zoom_connections
   SET status = 'DISCONNECTING', reported_status = 'DISCONNECTING', status_reason = $3, updated_at = now()
 WHERE id = $1 AND tenant_id = $2`
	sqlInsertDisconnect = `INSERT INTO zoom_disconnects
       (connection_id, tenant_id, kind, zoom_account_id, label, reason, actor, previous_status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (connection_id) DO NOTHING`
	sqlGetReport = `SELECT state = 'DONE', revoked, rooms_cleaned, licenses_released, leftovers
  FROM zoom_disconnects
 WHERE connection_id = $1 AND tenant_id = $2`
)

// Disconnect starts the cleanup of a connection and waits for it, at most
// Deps.DisconnectWait. The connection turns DISCONNECTING at once, in the
// same transaction as the audit event and the River job
// (CleanupWorker), so a disconnect is never lost. If the job finishes in
// time the report is final (Done); otherwise it is the progress so far and
// the job carries on. Calling Disconnect again is safe: it never starts a
// second cleanup, and after the cleanup it returns the final report for
// as long as it is kept.
func (s *Service) Disconnect(ctx context.Context, p *auth.Principal, id string) (DisconnectReport, error) {
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		c, err := lockConnection(ctx, tx, p.TenantID, id)
		if err != nil {
			if _, rerr := readReport(ctx, tx, p.TenantID, id); rerr == nil {
				return nil // already cleaned up: report below
			}
			return err
		}
		if _, rerr := readReport(ctx, tx, p.TenantID, id); rerr == nil || c.Status == StatusDisconnecting {
			return s.enqueueCleanup(ctx, tx, c.TenantID, c.ID) // a lost job is re-created; unique otherwise
		}
		if err := s.beginDisconnect(ctx, tx, c, reasonDisconnect, p.Actor); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return DisconnectReport{}, fmt.Errorf("connections.Disconnect: %w", err)
	}
	return s.waitReport(ctx, p.TenantID, id)
}

// beginDisconnect marks c DISCONNECTING, records the disconnect, its audit
// event and status event and enqueues the cleanup, all in tx.
func (s *Service) beginDisconnect(ctx context.Context, tx pgx.Tx, c Connection, reason, actor string) error {
	why := "disconnect requested"
	if reason == reasonDeauthorized {
		why = "the app was uninstalled in Zoom"
	}
	if _, err := tx.Exec(ctx, sqlMarkDisconnecting, c.ID, c.TenantID, why); err != nil {
		return fmt.Errorf("mark disconnecting: %w", err)
	}
	if _, err := tx.Exec(ctx, sqlInsertDisconnect, c.ID, c.TenantID, c.Kind, c.ZoomAccountID, c.Label, reason, actor, c.Status); err != nil {
		return fmt.Errorf("record disconnect: %w", err)
	}
	action := "connection.disconnect_started"
	if reason == reasonDeauthorized {
		action = "connection.deauthorization_received"
	}
	if err := audit.Record(ctx, tx, audit.Event{
		TenantID: c.TenantID, Actor: actor, Action: action, TargetType: "zoom_connection", TargetID: c.ID,
		Details: map[string]any{"kind": string(c.Kind), "zoomAccountId": c.ZoomAccountID, "label": c.Label, "previousStatus": string(c.Status)},
	}); err != nil {
		return err
	}
	if err := s.enqueueCleanup(ctx, tx, c.TenantID, c.ID); err != nil {
		return err
	}
	c.Status, c.StatusReason = StatusDisconnecting, why
	return s.emitStatus(ctx, tx, c)
}

func lockConnection(ctx context.Context, tx pgx.Tx, tenantID, id string) (Connection, error) {
	rows, err := tx.Query(ctx, sqlLockForUpdate, id, tenantID)
	if err != nil {
		return Connection{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanConnection)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return Connection{}, errNotFound()
	}
	return c, err
}

// waitReport polls the disconnect's progress until it is done, the bounded
// wait is over or the caller gives up, and returns the report as it is then.
func (s *Service) waitReport(ctx context.Context, tenantID, id string) (DisconnectReport, error) {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.DisconnectWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := readReport(ctx, s.db, tenantID, id)
		if err != nil {
			return DisconnectReport{}, fmt.Errorf("connections.Disconnect: %w", err)
		}
		if r.Done {
			return r, nil
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return DisconnectReport{}, fmt.Errorf("connections.Disconnect: %w", ctx.Err())
			}
			return r, nil
		case <-tick.C:
		}
	}
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readReport(ctx context.Context, q rowQuerier, tenantID, id string) (DisconnectReport, error) {
	r := DisconnectReport{ConnectionID: id}
	var leftovers []byte
	err := q.QueryRow(ctx, sqlGetReport, id, tenantID).Scan(&r.Done, &r.Revoked, &r.RoomsCleaned, &r.LicensesReleased, &leftovers)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return r, errNotFound()
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(leftovers, &r.Leftovers); err != nil {
		return r, fmt.Errorf("leftovers: %w", err)
	}
	// Recorded in cleanup order (rooms, revoke, late activations); shown
	// in a stable order whatever the retries did.
	slices.SortStableFunc(r.Leftovers, func(a, b Leftover) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ZoomRoomID, b.ZoomRoomID))
	})
	return r, nil
}
