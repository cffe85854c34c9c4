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
	sqlSealedConnections = `SELECT id, tenant_id, sealed_client_secret, sealed_access_token, sealed_refresh_token
FROM zoom_connections
WHERE id > $1
ORDER BY id
LIMIT $2`
	// sqlUpdateSealed swaps each column only if it still holds the
	// ciphertext that was rewrapped: a token refresh running meanwhile may
	// have replaced some columns (already on the new key) and not others.
	// It reports how many columns it swapped.
	sqlUpdateSealed = `WITH old AS (
    SELECT sealed_client_secret AS s, sealed_access_token AS a, sealed_refresh_token AS r
    FROM zoom_connections WHERE id = $1 FOR UPDATE
), upd AS (
    UPDATE zoom_connections c SET
        sealed_client_secret = CASE WHEN c.sealed_client_secret = $2 THEN $3 ELSE c.sealed_client_secret END,
        sealed_access_token  = CASE WHEN c.sealed_access_token  = $4 THEN $5 ELSE c.sealed_access_token END,
        sealed_refresh_token = CASE WHEN c.sealed_refresh_token = $6 THEN $7 ELSE c.sealed_refresh_token END
    FROM old WHERE c.id = $1
    RETURNING (old.s IS NOT DISTINCT FROM $2 AND $2::text IS NOT NULL)::int
            + (old.a IS NOT DISTINCT FROM $4 AND $4::text IS NOT NULL)::int
            + (old.r IS NOT DISTINCT FROM $6 AND $6::text IS NOT NULL)::int AS swapped
)
SELECT coalesce((SELECT swapped FROM upd), 0)`
)

type sealedRow struct {
	id, tenantID string
	cols         [3]*string
}

// Rewrap moves every stored ciphertext onto the newest key version, batch
// rows at a time, and returns how many ciphertexts it rewrapped. Plaintext
// never leaves Vault. It is safe to run while the gateway serves: a column
// changed meanwhile keeps its newer value (sealed under the new key anyway)
// and is not counted.
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
			err := row.Scan(&s.id, &s.tenantID, &s.cols[0], &s.cols[1], &s.cols[2])
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
	swappedTotal, i := 0, 0
	for _, row := range page {
		var args [6]*string // old/new pairs for the three columns
		for j, c := range row.cols {
			if c != nil {
				args[2*j], args[2*j+1] = c, &out[i]
				i++
			}
		}
		var swapped int
		if err := pool.QueryRow(ctx, sqlUpdateSealed, row.id, args[0], args[1], args[2], args[3], args[4], args[5]).Scan(&swapped); err != nil {
			return swappedTotal, fmt.Errorf("store.Rewrap: %w", err)
		}
		swappedTotal += swapped
	}
	return swappedTotal, nil
}
