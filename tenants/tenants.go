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
	sqlConsume = `UPDATE tenants SET licenses_used = licenses_used + $2
WHERE id = $1 AND licenses_used + $2 <= license_limit
RETURNING license_limit, licenses_used`
	sqlRelease = `UPDATE tenants SET licenses_used = greatest(licenses_used - $2, 0) WHERE id = $1
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

// ConsumeLicenses takes n licenses from the pool, or none at all with a
// LICENSE_LIMIT_REACHED error when fewer than n are left. Call it in the
// same transaction that records the activations, so a failure returns them.
func ConsumeLicenses(ctx context.Context, db DB, id string, n int) (Usage, error) {
	var total, used int
	err := db.QueryRow(ctx, sqlConsume, id, n).Scan(&total, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		current, gerr := LicenseUsage(ctx, db, id)
		if gerr != nil {
			return Usage{}, gerr
		}
		return Usage{}, &apierror.Error{
			Code:    apierror.LicenseLimitReached,
			Message: fmt.Sprintf("no license left: %d of %d in use", current.Used, current.Total),
			Extra:   map[string]any{"total": current.Total, "used": current.Used},
		}
	}
	if err != nil {
		return Usage{}, fmt.Errorf("tenants.ConsumeLicenses: %w", err)
	}
	return usage(total, used), nil
}

// ReleaseLicenses returns n licenses to the pool.
func ReleaseLicenses(ctx context.Context, db DB, id string, n int) (Usage, error) {
	var total, used int
	if err := db.QueryRow(ctx, sqlRelease, id, n).Scan(&total, &used); err != nil {
		return Usage{}, fmt.Errorf("tenants.ReleaseLicenses: %w", err)
	}
	return usage(total, used), nil
}

func usage(total, used int) Usage {
	return Usage{Total: total, Used: used, Available: max(total-used, 0)}
}
