package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/vault"
)

// Rewrapper re-encrypts ciphertexts under the newest key version.
type Rewrapper interface {
	Rewrap(ctx context.Context, items []vault.Sealed) ([]string, error)
}

// The sealed columns of zoom_connections. Every table that gains a sealed
// column must be added to Rewrap, or `gateway rewrap` would leave it on an
// old key version.
const (
	sqlSealedConnections = `SELECT id, tenant_id, sealed_client_secret, sealed_access_token, sealed_refresh_token, credential_version
FROM zoom_connections
WHERE id > $1
ORDER BY id
LIMIT $2`
	// sqlUpdateSealed writes the rewrapped values only if nobody changed the
	// credentials meanwhile (a refresh seals new values on the new key anyway).
	sqlUpdateSealed = `UPDATE zoom_connections
SET sealed_client_secret = $3, sealed_access_token = $4, sealed_refresh_token = $5
WHERE id = $1 AND credential_version = $2`
)

type sealedRow struct {
	id, tenantID string
	cols         [3]*string
	version      int64
}

// Rewrap moves every stored ciphertext onto the newest key version, batch
// rows at a time, and returns how many ciphertexts it rewrapped. Plaintext
// never leaves Vault. It is safe to run while the gateway serves.
func Rewrap(ctx context.Context, pool *pgxpool.Pool, r Rewrapper, batch int) (int, error) {
	total := 0
	after := "00000000-0000-0000-0000-000000000000"
	for {
		rows, err := pool.Query(ctx, sqlSealedConnections, after, batch)
		if err != nil {
			return total, fmt.Errorf("store.Rewrap: %w", err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealedRow, error) {
			var s sealedRow
			err := row.Scan(&s.id, &s.tenantID, &s.cols[0], &s.cols[1], &s.cols[2], &s.version)
			return s, err
		})
		if err != nil {
			return total, fmt.Errorf("store.Rewrap: %w", err)
		}
		if len(page) == 0 {
			return total, nil
		}
		n, err := rewrapPage(ctx, pool, r, page)
		total += n
		if err != nil {
			return total, err
		}
		after = page[len(page)-1].id
	}
}

// rewrapPage rewraps one page of rows in a single transit batch.
func rewrapPage(ctx context.Context, pool *pgxpool.Pool, r Rewrapper, page []sealedRow) (int, error) {
	var items []vault.Sealed
	for _, row := range page {
		for _, c := range row.cols {
			if c != nil {
				items = append(items, vault.Sealed{TenantID: row.tenantID, Ciphertext: *c})
			}
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	out, err := r.Rewrap(ctx, items)
	if err != nil {
		return 0, fmt.Errorf("store.Rewrap: %w", err)
	}
	i := 0
	for _, row := range page {
		var next [3]*string
		for j, c := range row.cols {
			if c != nil {
				next[j] = &out[i]
				i++
			}
		}
		if _, err := pool.Exec(ctx, sqlUpdateSealed, row.id, row.version, next[0], next[1], next[2]); err != nil {
			return 0, fmt.Errorf("store.Rewrap: %w", err)
		}
	}
	return len(items), nil
}
