package store_test

import (
	"context"
	"fmt"
	"testing"

	"zoomsignage/store"
	"zoomsignage/store/storetest"
	"zoomsignage/vault/vaulttest"
)

// TestRotateThenRewrapEveryCiphertext seals credentials for two tenants,
// rotates the transit key, rewraps in small batches, and checks every
// ciphertext is on the new version and still opens for its own tenant.
func TestRotateThenRewrapEveryCiphertext(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	sealer := vaulttest.New(t)

	type secretRow struct{ id, tenant, secret, access, refresh string }
	var rows []secretRow
	for i := range 7 {
		var tenant string
		if err := db.QueryRow(ctx, `INSERT INTO tenants (name, license_limit) VALUES ($1, 1) RETURNING id`, fmt.Sprintf("t%d", i)).Scan(&tenant); err != nil {
			t.Fatal(err)
		}
		r := secretRow{tenant: tenant, secret: fmt.Sprintf("secret-%d", i), access: fmt.Sprintf("access-%d", i), refresh: fmt.Sprintf("refresh-%d", i)}
		seal := func(p string) *string {
			ct, err := sealer.Seal(ctx, tenant, []byte(p))
			if err != nil {
				t.Fatal(err)
			}
			return &ct
		}
		refresh := seal(r.refresh)
		if i%3 == 0 {
			refresh = nil // S2S connections have no refresh token
		}
		err := db.QueryRow(ctx, `INSERT INTO zoom_connections (tenant_id, kind, zoom_account_id, client_id, sealed_client_secret, sealed_access_token, sealed_refresh_token)
VALUES ($1, 'SERVER_APP', $2, 'cid', $3, $4, $5) RETURNING id`, tenant, fmt.Sprintf("acct-%d", i), seal(r.secret), seal(r.access), refresh).Scan(&r.id)
		if err != nil {
			t.Fatal(err)
		}
		if refresh == nil {
			r.refresh = ""
		}
		rows = append(rows, r)
	}
	if err := sealer.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := store.Rewrap(ctx, db, sealer, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := 7*3 - 3; n != want {
		t.Fatalf("rewrapped %d ciphertexts, want %d", n, want)
	}
	for _, r := range rows {
		var secret, access string
		var refresh *string
		if err := db.QueryRow(ctx, `SELECT sealed_client_secret, sealed_access_token, sealed_refresh_token FROM zoom_connections WHERE id = $1`, r.id).Scan(&secret, &access, &refresh); err != nil {
			t.Fatal(err)
		}
		check := func(ct, want string) {
			if v, err := sealer.KeyVersion(ct); err != nil || v != 2 {
				t.Errorf("row %s: key version %d, %v; want 2", r.id, v, err)
			}
			got, err := sealer.Open(ctx, r.tenant, ct)
			if err != nil || string(got) != want {
				t.Errorf("row %s: opens as %q, %v; want %q", r.id, got, err, want)
			}
		}
		check(secret, r.secret)
		check(access, r.access)
		if (refresh == nil) != (r.refresh == "") {
			t.Errorf("row %s: refresh token presence changed", r.id)
		} else if refresh != nil {
			check(*refresh, r.refresh)
		}
	}
}
