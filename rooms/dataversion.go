package rooms

import (
	"context"
	"fmt"
)

// sqlDataVersion reads the tenant's data version: a counter that triggers
// bump in the same transaction as every write to the tenant's rooms,
// devices, alerts, signage assignments and connections (migration
// 0006_tenant_data_versions.sql). A tenant never written has version 0.
const sqlDataVersion = `SELECT coalesce((SELECT version FROM tenant_data_versions WHERE tenant_id = $1), 0)`

// DataVersion returns the tenant's data version. Anything built from the
// tenant's room data after reading version v reflects at least every write
// committed before v was read, so a cached result may be served for as long
// as the version it was stored under is still the current one.
func (s *Service) DataVersion(ctx context.Context, tenantID string) (int64, error) {
	var v int64
	if err := s.db.QueryRow(ctx, sqlDataVersion, tenantID).Scan(&v); err != nil {
		return 0, fmt.Errorf("rooms.DataVersion: %w", err)
	}
	return v, nil
}
