package tenants

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/audit"
	"zoomsignage/store"
)

// CreateAudited creates a tenant and records tenant.create by actor in the
// same transaction.
func CreateAudited(ctx context.Context, db store.Beginner, name string, licenses int, actor string) (Tenant, error) {
	var t Tenant
	err := store.InTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		if t, err = Create(ctx, tx, name, licenses); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: t.ID, Actor: actor, Action: "tenant.create",
			TargetType: "tenant", TargetID: t.ID, Details: map[string]any{"name": t.Name, "licenses": t.LicenseLimit}})
	})
	if err != nil {
		return Tenant{}, fmt.Errorf("tenants.CreateAudited: %w", err)
	}
	return t, nil
}

// SetLicenseLimitAudited sets the tenant's license limit and records
// licenses.set_limit by actor in the same transaction.
func SetLicenseLimitAudited(ctx context.Context, db store.Beginner, id string, limit int, actor string) (Usage, error) {
	var usage Usage
	err := store.InTx(ctx, db, func(tx pgx.Tx) error {
		var err error
		if usage, err = SetLicenseLimit(ctx, tx, id, limit); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: id, Actor: actor, Action: "licenses.set_limit",
			TargetType: "tenant", TargetID: id, Details: map[string]any{"limit": limit}})
	})
	if err != nil {
		return Usage{}, fmt.Errorf("tenants.SetLicenseLimitAudited: %w", err)
	}
	return usage, nil
}
