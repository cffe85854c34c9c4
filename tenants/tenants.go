// Package tenants holds the signage product's customers and their license
// pool. A license is consumed by each room with signage activated; the pool
// is checked and changed in single UPDATE statements so concurrent
// activations on any number of replicas never exceed the limit.
package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/apierror"
	"zoomsignage/store"
)

// DB is what this package needs: a pool or a transaction.
type DB interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Tenant is one customer of the signage product.
type Tenant struct {
	ID           string
	Name         string
	LicenseLimit int
	LicensesUsed int
	CreatedAt    time.Time
}

// Usage is a tenant's license pool.
type Usage struct {
	Total     int
	Used      int
	Available int
}

const (
	sqlCreate = `INSERT INTO tenants (name, license_limit) VALUES ($1, $2)
RETURNING id, name, license_limit, licenses_used, created_at`
	sqlGet = `SELECT id, name, license_limit, licenses_used, created_at FROM tenants WHERE id = $1`
	// sqlSetLimit refuses a limit below what is in use in the same statement.
	sqlSetLimit = `UPDATE tenants SET license_limit = $2 WHERE id = $1 AND licenses_used <= $2
RETURNING license_limit, licenses_used`
)

// ErrNotFound is returned for an unknown tenant id.
var ErrNotFound = apierror.NotFoundf("tenant not found")

// Create adds a tenant with a license limit.
func Create(ctx context.Context, db DB, name string, licenses int) (Tenant, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Tenant{}, apierror.Invalid("name", "name must be 1 to 200 characters")
	}
	if licenses < 0 {
		return Tenant{}, apierror.Invalid("licenses", "the license limit cannot be negative")
	}
	var t Tenant
	err := db.QueryRow(ctx, sqlCreate, name, licenses).Scan(&t.ID, &t.Name, &t.LicenseLimit, &t.LicensesUsed, &t.CreatedAt)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenants.Create: %w", err)
	}
	return t, nil
}

// Get returns a tenant.
func Get(ctx context.Context, db DB, id string) (Tenant, error) {
	var t Tenant
	err := db.QueryRow(ctx, sqlGet, id).Scan(&t.ID, &t.Name, &t.LicenseLimit, &t.LicensesUsed, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("tenants.Get: %w", err)
	}
	return t, nil
}

// LicenseUsage returns the tenant's license pool.
func LicenseUsage(ctx context.Context, db DB, id string) (Usage, error) {
	t, err := Get(ctx, db, id)
	if err != nil {
		return Usage{}, err
	}
	return usage(t.LicenseLimit, t.LicensesUsed), nil
}

// SetLicenseLimit changes the pool size. It refuses a limit below the
// licenses in use: deactivate signage on rooms first.
func SetLicenseLimit(ctx context.Context, db DB, id string, limit int) (Usage, error) {
	if limit < 0 || limit > 1_000_000 {
		return Usage{}, apierror.Invalid("limit", "the license limit must be between 0 and 1000000")
	}
	var total, used int
	err := db.QueryRow(ctx, sqlSetLimit, id, limit).Scan(&total, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		current, gerr := LicenseUsage(ctx, db, id)
		if gerr != nil {
			return Usage{}, gerr
		}
		return Usage{}, apierror.Invalid("limit", "%d licenses are in use; deactivate signage on %d rooms before lowering the limit to %d",
			current.Used, current.Used-limit, limit)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("tenants.SetLicenseLimit: %w", err)
	}
	return usage(total, used), nil
}

// constraintLicenseLimit is the CHECK that keeps licenses_used within
// license_limit. licenses_used is kept by triggers on signage_assignments
// (one license per assignment row; migration 0013), so an assignment
// inserted past the limit fails with this constraint, and every deletion,
// cascades included, returns its license.
const constraintLicenseLimit = "tenants_licenses_within_limit"

// LimitReached turns err into LICENSE_LIMIT_REACHED, with the tenant's
// current usage read from db, when err is an assignment refused for want of
// a license; any other err is returned as is. Call it after the failed
// transaction has ended (db is the pool, not the aborted transaction).
func LimitReached(ctx context.Context, db DB, id string, err error) error {
	if store.ConstraintError(err) != constraintLicenseLimit {
		return err
	}
	current, gerr := LicenseUsage(ctx, db, id)
	if gerr != nil {
		return gerr
	}
	return &apierror.Error{
		Code:    apierror.LicenseLimitReached,
		Message: fmt.Sprintf("no license left: %d of %d in use", current.Used, current.Total),
		Extra:   map[string]any{"total": current.Total, "used": current.Used},
	}
}

func usage(total, used int) Usage {
	return Usage{Total: total, Used: used, Available: max(total-used, 0)}
}
