package store_test

import (
	"context"
	"fmt"
	"testing"

	"zoomsignage/store"
	"zoomsignage/store/storetest"
	"zoomsignage/vault"
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

// refreshingRewrapper simulates a token refresh that lands between Rewrap
// reading a row and writing it back.
type refreshingRewrapper struct {
	store.Rewrapper
	during func()
}

func (r refreshingRewrapper) Rewrap(ctx context.Context, items []vault.Sealed) ([]string, error) {
	out, err := r.Rewrapper.Rewrap(ctx, items)
	r.during()
	return out, err
}

func TestRewrapKeepsAConcurrentRefresh(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	sealer := vaulttest.New(t)
	var tenant, id string
	if err := db.QueryRow(ctx, `INSERT INTO tenants (name, license_limit) VALUES ('t', 1) RETURNING id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	secret, _ := sealer.Seal(ctx, tenant, []byte("secret"))
	access, _ := sealer.Seal(ctx, tenant, []byte("old-access"))
	if err := db.QueryRow(ctx, `INSERT INTO zoom_connections (tenant_id, kind, zoom_account_id, client_id, sealed_client_secret, sealed_access_token)
VALUES ($1, 'SERVER_APP', 'acct', 'cid', $2, $3) RETURNING id`, tenant, secret, access).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := sealer.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, _ := sealer.Seal(ctx, tenant, []byte("new-access"))
	r := refreshingRewrapper{Rewrapper: sealer, during: func() {
		if _, err := db.Exec(ctx, `UPDATE zoom_connections SET sealed_access_token = $2, credential_version = credential_version + 1 WHERE id = $1`, id, fresh); err != nil {
			t.Fatal(err)
		}
	}}
	n, err := store.Rewrap(ctx, db, r, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("rewrapped %d, want 1 (the client secret; the access token changed meanwhile)", n)
	}
	var gotSecret, gotAccess string
	if err := db.QueryRow(ctx, `SELECT sealed_client_secret, sealed_access_token FROM zoom_connections WHERE id = $1`, id).Scan(&gotSecret, &gotAccess); err != nil {
		t.Fatal(err)
	}
	if gotAccess != fresh {
		t.Fatal("rewrap overwrote a token refreshed meanwhile")
	}
	if v, _ := sealer.KeyVersion(gotSecret); v != 2 {
		t.Fatalf("client secret on key version %d, want 2", v)
	}
}
