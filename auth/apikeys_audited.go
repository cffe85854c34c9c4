package auth

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"zoomsignage/audit"
	"zoomsignage/store"
)

// CreateAudited creates a key of tenantID and records apikey.create by
// actor in the same transaction: the one way the API and the CLI make keys,
// so neither can make one the audit log misses.
func (k *APIKeys) CreateAudited(ctx context.Context, tenantID, name string, scopes []Scope, actor string) (APIKey, string, error) {
	var key APIKey
	var secret string
	err := store.InTx(ctx, k.db, func(tx pgx.Tx) error {
		var err error
		if key, secret, err = k.Create(ctx, tx, tenantID, name, scopes, actor); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			TenantID: tenantID, Actor: actor, Action: "apikey.create", TargetType: "api_key", TargetID: key.ID,
			Details: map[string]any{"name": key.Name, "prefix": key.Prefix, "scopes": scopeNames(key.Scopes)},
		})
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("auth.APIKeys.CreateAudited: %w", err)
	}
	return key, secret, nil
}

// RevokeAudited revokes a key and records apikey.revoke by actor in the
// same transaction. tenantID "" revokes a key of any tenant (the operator's
// CLI); otherwise another tenant's key is NOT_FOUND.
func (k *APIKeys) RevokeAudited(ctx context.Context, tenantID, id, actor string) (APIKey, error) {
	var key APIKey
	err := store.InTx(ctx, k.db, func(tx pgx.Tx) error {
		var err error
		if tenantID == "" {
			key, err = k.RevokeAny(ctx, tx, id)
		} else {
			key, err = k.Revoke(ctx, tx, tenantID, id)
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			TenantID: key.TenantID, Actor: actor, Action: "apikey.revoke", TargetType: "api_key", TargetID: key.ID,
			Details: map[string]any{"name": key.Name},
		})
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("auth.APIKeys.RevokeAudited: %w", err)
	}
	return key, nil
}

func scopeNames(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}
