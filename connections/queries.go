package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/store"
	"zoomsignage/zoom"
)

// connectionColumns are the non-secret columns of zoom_connections, in the
// order scanConnection reads them, and whether a disconnect is under way
// (a zoom_disconnects row): that, not the status column alone, is what
// makes a connection DISCONNECTING, since other writers (the token store
// on invalid_grant) may have changed its status since.
const connectionColumns = `id, tenant_id, kind, zoom_account_id, client_id, label, plan, status,
       COALESCE(status_reason, ''), granted_scopes, missing_scopes, admin_user_id, admin_name,
       admin_email, created_by, created_at, updated_at, last_health_check_at,
       EXISTS (SELECT 1 FROM zoom_disconnects d
                WHERE d.connection_id = zoom_connections.id AND d.tenant_id = zoom_connections.tenant_id)`

const (
	sqlGetConnection = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE id = $1 AND tenant_id = $2`
	sqlListConnections = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE tenant_id = $1
 ORDER BY created_at, id`
	// sqlListSyncable is not scoped by tenant on purpose: the sync
	// scheduler serves every tenant. Each row carries its own tenant_id,
	// which every later query and job for it filters by, and nothing from
	// it reaches a caller.
	sqlListSyncable = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE status IN ('ACTIVE', 'MISSING_SCOPE') AND ` + notDisconnecting + `
 ORDER BY id`
	// notDisconnecting excludes connections with a disconnect under way
	// even if the token store flipped their status (invalid_grant met by
	// the cleanup's own Zoom calls). LiveConnectionSQL is the same test for
	// other domains' statements.
	notDisconnecting = `NOT EXISTS (SELECT 1 FROM zoom_disconnects d
  WHERE d.connection_id = zoom_connections.id AND d.tenant_id = zoom_connections.tenant_id)`
)

// LiveConnectionSQL is the one SQL test, for other domains' statements,
// that the zoom_connections row aliased c is not being disconnected: no
// zoom_disconnects row (what makes a connection DISCONNECTING, whatever its
// status column says since) and not marked DISCONNECTING. Statements that
// must refuse such a connection atomically with their own write (rooms'
// push lease, its reservation lock, the screen token lookup) concatenate
// it, so the table and the status name stay this package's.
const LiveConnectionSQL = `c.status <> '` + string(StatusDisconnecting) + `'
  AND NOT EXISTS (SELECT 1 FROM zoom_disconnects d WHERE d.connection_id = c.id AND d.tenant_id = c.tenant_id)`

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func scanConnection(row pgx.CollectableRow) (Connection, error) {
	var c Connection
	var kind, plan, status string
	var disconnecting bool
	err := row.Scan(&c.ID, &c.TenantID, &kind, &c.ZoomAccountID, &c.ClientID, &c.Label, &plan, &status,
		&c.StatusReason, &c.GrantedScopes, &c.MissingScopes, &c.AdminUserID, &c.AdminName,
		&c.AdminEmail, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt, &c.LastHealthCheckAt, &disconnecting)
	c.Kind, c.Plan, c.Status = zoom.ConnectionKind(kind), zoom.Plan(plan), Status(status)
	if disconnecting {
		// Every check of Status (storeGrant, checkUpdatable, ZoomClient,
		// the health cycle) then refuses to revive or reuse it.
		c.Status = StatusDisconnecting
	}
	return c, err
}

// errNotFound is the one answer for unknown ids, malformed ids and other
// tenants' ids, so ids cannot be probed across tenants.
func errNotFound() error { return apierror.NotFoundf("Zoom connection not found") }

// Get returns one connection of the tenant (apierror NOT_FOUND for unknown
// ids, malformed ids or other tenants' ids).
func (s *Service) Get(ctx context.Context, tenantID, connectionID string) (Connection, error) {
	c, err := getConnection(ctx, s.db, tenantID, connectionID)
	if err != nil {
		return Connection{}, fmt.Errorf("connections.Get: %w", err)
	}
	return c, nil
}

func getConnection(ctx context.Context, q querier, tenantID, connectionID string) (Connection, error) {
	rows, err := q.Query(ctx, sqlGetConnection, connectionID, tenantID)
	if err != nil {
		return Connection{}, err
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanConnection)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return Connection{}, errNotFound()
	}
	return c, err
}

// List returns the tenant's connections, oldest first.
func (s *Service) List(ctx context.Context, tenantID string) ([]Connection, error) {
	rows, err := s.db.Query(ctx, sqlListConnections, tenantID)
	if err != nil {
		return nil, fmt.Errorf("connections.List: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("connections.List: %w", err)
	}
	return out, nil
}

// ListSyncable returns the connections whose rooms should be synced now
// (status ACTIVE or MISSING_SCOPE), across tenants, ordered by id. Syncing
// pauses while a connection needs reauthorization, is in error or is being
// disconnected, and resumes when it is connected again.
func (s *Service) ListSyncable(ctx context.Context) ([]Connection, error) {
	rows, err := s.db.Query(ctx, sqlListSyncable)
	if err != nil {
		return nil, fmt.Errorf("connections.ListSyncable: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("connections.ListSyncable: %w", err)
	}
	return out, nil
}
