package connections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/store"
	"zoomsignage/store/storetest"
	"zoomsignage/vault"
	"zoomsignage/vault/vaulttest"
	"zoomsignage/zoom"
)

// countingSealer counts Vault round trips.
type countingSealer struct {
	vault.Sealer
	calls atomic.Int64
}

func (s *countingSealer) Seal(ctx context.Context, tenantID string, p []byte) (string, error) {
	s.calls.Add(1)
	return s.Sealer.Seal(ctx, tenantID, p)
}

func (s *countingSealer) Open(ctx context.Context, tenantID, c string) ([]byte, error) {
	s.calls.Add(1)
	return s.Sealer.Open(ctx, tenantID, c)
}

func (s *countingSealer) SealBatch(ctx context.Context, items []vault.Plain) ([]string, error) {
	s.calls.Add(1)
	return s.Sealer.SealBatch(ctx, items)
}

func (s *countingSealer) OpenBatch(ctx context.Context, items []vault.Sealed) ([][]byte, error) {
	s.calls.Add(1)
	return s.Sealer.OpenBatch(ctx, items)
}

// tokenWorld is a fresh database with one tenant, the shared dev Vault
// behind a counting sealer, and a TokenStore over both.
type tokenWorld struct {
	pool   *pgxpool.Pool
	sealer *countingSealer
	store  *TokenStore
	tenant string

	accounts atomic.Int64
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	w := &tokenWorld{pool: storetest.New(t), sealer: &countingSealer{Sealer: vaulttest.New(t)}}
	w.store = NewTokenStore(w.pool, w.sealer)
	if err := w.pool.QueryRow(context.Background(),
		`INSERT INTO tenants (name, license_limit) VALUES ('t', 10) RETURNING id`).Scan(&w.tenant); err != nil {
		t.Fatal(err)
	}
	return w
}

// connection inserts a connection row of kind, for an account of its own,
// without credentials.
func (w *tokenWorld) connection(t *testing.T, kind zoom.ConnectionKind) zoom.ConnectionRef {
	t.Helper()
	ref := zoom.ConnectionRef{TenantID: w.tenant}
	account := fmt.Sprintf("acct-%d", w.accounts.Add(1))
	if err := w.pool.QueryRow(context.Background(),
		`INSERT INTO zoom_connections (tenant_id, kind, zoom_account_id, client_id) VALUES ($1, $2, $3, 'client') RETURNING id`,
		w.tenant, string(kind), account).Scan(&ref.ID); err != nil {
		t.Fatal(err)
	}
	return ref
}

// grant stores a Marketplace grant as the connect flow does.
func (w *tokenWorld) grant(ref zoom.ConnectionRef, tok zoom.OAuthToken) error {
	return store.InTx(context.Background(), w.pool, func(tx pgx.Tx) error {
		return w.store.SaveGrant(context.Background(), tx, ref, tok)
	})
}

// row reads the non-secret state of a connection row.
func (w *tokenWorld) row(t *testing.T, ref zoom.ConnectionRef) (version int64, status Status, reason string) {
	t.Helper()
	var r *string
	if err := w.pool.QueryRow(context.Background(),
		`SELECT credential_version, status, status_reason FROM zoom_connections WHERE id = $1`, ref.ID).Scan(&version, &status, &r); err != nil {
		t.Fatal(err)
	}
	if r != nil {
		reason = *r
	}
	return version, status, reason
}

// locked runs WithLockedConnection with fn and returns what the row showed.
func (w *tokenWorld) locked(ref zoom.ConnectionRef, fn func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error)) (zoom.LockedConnection, int64, error) {
	var seen zoom.LockedConnection
	v, err := w.store.WithLockedConnection(context.Background(), ref, func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error) {
		seen = *row
		return fn(ctx, row)
	})
	return seen, v, err
}

// TestTokenStoreRenewsOnceUnderLock: four renewals of one connection start
// together (as goroutines of two replicas would); the row lock lets one
// write a token, and the others, let in after its commit, see that token
// and its version instead of writing their own.
func TestTokenStoreRenewsOnceUnderLock(t *testing.T) {
	w := newTokenWorld(t)
	ref := w.connection(t, zoom.KindMarketplace)
	if err := w.grant(ref, zoom.OAuthToken{AccessToken: "access-0", RefreshToken: "refresh-0", ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	v0, _, _ := w.row(t, ref)
	stores := []*TokenStore{w.store, NewTokenStore(w.pool, w.sealer)} // two replicas
	var (
		wg     sync.WaitGroup
		writes atomic.Int32
		start  = make(chan struct{})
		got    = make([]string, 4)
		errs   = make([]error, 4)
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = stores[i%2].WithLockedConnection(context.Background(), ref,
				func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error) {
					if row.Version != v0 { // renewed by whoever held the lock first
						tok, err := row.Secrets.AccessToken(ctx)
						got[i] = tok
						return nil, err
					}
					writes.Add(1)
					time.Sleep(100 * time.Millisecond) // the Zoom call, under the lock
					got[i] = fmt.Sprintf("access-%d", i+1)
					return &zoom.TokenWrite{AccessToken: got[i], ExpiresAt: time.Now().Add(time.Hour), RefreshToken: fmt.Sprintf("refresh-%d", i+1)}, nil
				})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("renewal %d: %v", i, err)
		}
	}
	if n := writes.Load(); n != 1 {
		t.Fatalf("%d renewals wrote a token, want 1", n)
	}
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("renewals ended with different tokens: %q", got)
		}
	}
	if v1, status, _ := w.row(t, ref); v1 != v0+1 || status != StatusActive {
		t.Fatalf("version %d → %d, status %s; want one bump, ACTIVE", v0, v1, status)
	}
}

// TestTokenStoreMarksReauth: a renewal failing with invalid_grant marks the
// row REAUTH_REQUIRED with a reason (committed although fn failed), the
// next lock shows it to the token source, and a disconnecting row keeps its
// status; any other failure writes nothing.
func TestTokenStoreMarksReauth(t *testing.T) {
	w := newTokenWorld(t)
	invalidGrant := func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) {
		return nil, fmt.Errorf("refresh: %w", zoom.ErrReauthorizationRequired)
	}
	t.Run("active row is marked", func(t *testing.T) {
		ref := w.connection(t, zoom.KindMarketplace)
		if err := w.grant(ref, zoom.OAuthToken{AccessToken: "access-a", RefreshToken: "refresh-a", ExpiresAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.locked(ref, invalidGrant); !errors.Is(err, zoom.ErrReauthorizationRequired) {
			t.Fatalf("err = %v, want reauthorization required", err)
		}
		if _, status, reason := w.row(t, ref); status != StatusReauthRequired || reason == "" {
			t.Fatalf("status %s (%q), want REAUTH_REQUIRED with a reason", status, reason)
		}
		row, _, err := w.locked(ref, func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) { return nil, nil })
		if err != nil || !row.ReauthRequired {
			t.Fatalf("next lock: ReauthRequired %v, err %v; want true", row.ReauthRequired, err)
		}
		// A reconnect's grant makes it usable again.
		if err := w.grant(ref, zoom.OAuthToken{AccessToken: "access-b", RefreshToken: "refresh-b", ExpiresAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, status, reason := w.row(t, ref); status != StatusActive || reason != "" {
			t.Fatalf("after a new grant: status %s (%q), want ACTIVE", status, reason)
		}
	})
	t.Run("disconnecting row keeps its status", func(t *testing.T) {
		ref := w.connection(t, zoom.KindMarketplace)
		if _, err := w.pool.Exec(context.Background(), `UPDATE zoom_connections SET status = $2 WHERE id = $1`, ref.ID, string(StatusDisconnecting)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.locked(ref, invalidGrant); !errors.Is(err, zoom.ErrReauthorizationRequired) {
			t.Fatalf("err = %v, want reauthorization required", err)
		}
		if _, status, _ := w.row(t, ref); status != StatusDisconnecting {
			t.Fatalf("status %s, want DISCONNECTING", status)
		}
	})
	t.Run("other failures write nothing", func(t *testing.T) {
		ref := w.connection(t, zoom.KindServerApp)
		v0, _, _ := w.row(t, ref)
		boom := errors.New("zoom down")
		if _, _, err := w.locked(ref, func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want fn's", err)
		}
		if v, status, _ := w.row(t, ref); v != v0 || status != StatusActive {
			t.Fatalf("version %d → %d, status %s; want untouched", v0, v, status)
		}
	})
}

// TestTokenStoreSealsCredentials: what the store writes is sealed with
// Vault for the tenant (no plaintext in the row, a token pair in one round
// trip), opened only on demand, and kept or dropped as each write says.
func TestTokenStoreSealsCredentials(t *testing.T) {
	w := newTokenWorld(t)
	ctx := context.Background()
	secrets := []string{"access-plain-1", "refresh-plain-1", "access-plain-2", "client-secret-plain"}
	mp := w.connection(t, zoom.KindMarketplace)
	before := w.sealer.calls.Load()
	if err := w.grant(mp, zoom.OAuthToken{AccessToken: secrets[0], RefreshToken: secrets[1], ExpiresAt: time.Now().Add(time.Hour), Scopes: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if n := w.sealer.calls.Load() - before; n != 1 {
		t.Fatalf("a grant took %d Vault round trips, want 1", n)
	}
	// A write without a refresh token or scopes keeps the stored ones.
	if _, _, err := w.locked(mp, func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) {
		return &zoom.TokenWrite{AccessToken: secrets[2], ExpiresAt: time.Now().Add(time.Hour)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	before = w.sealer.calls.Load()
	row, _, err := w.locked(mp, func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error) {
		access, err := row.Secrets.AccessToken(ctx)
		if err != nil {
			return nil, err
		}
		refresh, err := row.Secrets.RefreshToken(ctx)
		if err != nil {
			return nil, err
		}
		if access != secrets[2] || refresh != secrets[1] {
			return nil, fmt.Errorf("opened %q / %q, want the new access token and the kept refresh token", access, refresh)
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := w.sealer.calls.Load() - before; n != 2 {
		t.Fatalf("two openings took %d Vault round trips, want 2 (none for the lock itself)", n)
	}
	if !row.HasAccessToken || !row.HasRefreshToken || row.HasClientSecret || row.Kind != zoom.KindMarketplace {
		t.Fatalf("locked row = %+v", row)
	}
	var scopes []string
	if err := w.pool.QueryRow(ctx, `SELECT granted_scopes FROM zoom_connections WHERE id = $1`, mp.ID).Scan(&scopes); err != nil {
		t.Fatal(err)
	}
	if strings.Join(scopes, ",") != "a,b" {
		t.Fatalf("scopes = %v, want the grant's kept", scopes)
	}

	// A new client secret drops the token of the old one.
	s2s := w.connection(t, zoom.KindServerApp)
	if err := store.InTx(ctx, w.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE zoom_connections SET sealed_access_token = 'x', access_token_expires_at = now() + interval '1 hour' WHERE id = $1`, s2s.ID); err != nil {
			return err
		}
		return w.store.SaveClientSecret(ctx, tx, s2s, secrets[3])
	}); err != nil {
		t.Fatal(err)
	}
	row, _, err = w.locked(s2s, func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error) {
		cs, err := row.Secrets.ClientSecret(ctx)
		if err == nil && cs != secrets[3] {
			err = fmt.Errorf("client secret %q", cs)
		}
		return nil, err
	})
	if err != nil || row.HasAccessToken || !row.HasClientSecret {
		t.Fatalf("after SaveClientSecret: %+v, %v; want the secret and no token", row, err)
	}

	var hay strings.Builder
	rows, err := w.pool.Query(ctx, `SELECT row_to_json(z)::text FROM zoom_connections z ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		hay.WriteString(s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hay.String(), "vault:") {
		t.Fatalf("no ciphertext in the rows: the scan proves nothing (%s)", hay.String())
	}
	for i, s := range secrets {
		if strings.Contains(hay.String(), s) {
			t.Fatalf("secret %d is stored in plaintext", i)
		}
	}

	// The disconnect's clear leaves nothing to open.
	if err := w.store.ClearCredentials(ctx, w.pool, mp); err != nil {
		t.Fatal(err)
	}
	row, _, err = w.locked(mp, func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) { return nil, nil })
	if err != nil || row.HasAccessToken || row.HasRefreshToken || row.HasClientSecret {
		t.Fatalf("after ClearCredentials: %+v, %v", row, err)
	}
}

// TestTokenStoreUnknownConnection: a missing row, another tenant's row and
// an id that is no UUID are all zoom.ErrNoConnection, and fn never runs.
func TestTokenStoreUnknownConnection(t *testing.T) {
	w := newTokenWorld(t)
	ref := w.connection(t, zoom.KindServerApp)
	for name, r := range map[string]zoom.ConnectionRef{
		"missing":      {ID: "00000000-0000-0000-0000-000000000000", TenantID: w.tenant},
		"other tenant": {ID: ref.ID, TenantID: "00000000-0000-0000-0000-000000000000"},
		"not a uuid":   {ID: "nope", TenantID: w.tenant},
	} {
		t.Run(name, func(t *testing.T) {
			ran := false
			_, err := w.store.WithLockedConnection(context.Background(), r, func(context.Context, *zoom.LockedConnection) (*zoom.TokenWrite, error) {
				ran = true
				return nil, nil
			})
			if !errors.Is(err, zoom.ErrNoConnection) || ran {
				t.Fatalf("err = %v (fn ran: %v), want ErrNoConnection", err, ran)
			}
			if r.ID != "nope" {
				if err := w.grant(r, zoom.OAuthToken{AccessToken: "a-token", ExpiresAt: time.Now()}); !errors.Is(err, zoom.ErrNoConnection) {
					t.Fatalf("SaveGrant: err = %v, want ErrNoConnection", err)
				}
			}
		})
	}
}
