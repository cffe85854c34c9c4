package connections

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/events"
)

// emitStatus records a connection's status event in tx, the transaction
// that changed it: it is relayed to subscribers once tx commits, and never
// if it rolls back, so a Redis outage loses nothing.
func (s *Service) emitStatus(ctx context.Context, tx pgx.Tx, c Connection) error {
	if err := s.outbox.Add(ctx, tx, statusEvent(c, s.now())); err != nil {
		return fmt.Errorf("connections.emitStatus: %w", err)
	}
	return nil
}

// emitStatusOf reads the connection as tx sees it and records its status.
func (s *Service) emitStatusOf(ctx context.Context, tx pgx.Tx, tenantID, id string) error {
	c, err := getConnection(ctx, tx, tenantID, id)
	if err != nil {
		return fmt.Errorf("connections.emitStatusOf: %w", err)
	}
	return s.emitStatus(ctx, tx, c)
}

func statusEvent(c Connection, at time.Time) events.Event {
	return events.Event{
		Kind: events.ConnectionStatusChanged, TenantID: c.TenantID, ConnectionID: c.ID, At: at,
		Connection: &events.ConnectionSnapshot{
			ID: c.ID, Status: string(c.Status), StatusReason: c.StatusReason,
			// The identity too, so subscribers answer without reading a row
			// that a disconnect may already have deleted.
			Kind: string(c.Kind), ZoomAccountID: c.ZoomAccountID, Label: c.Label,
			AdminName: c.AdminName, AdminEmail: c.AdminEmail,
			GrantedScopes: c.GrantedScopes, MissingScopes: c.MissingScopes, CreatedAt: c.CreatedAt,
		},
	}
}
