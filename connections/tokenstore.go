package connections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/store"
	"zoomsignage/vault"
	"zoomsignage/zoom"
)

// TokenStore is the Postgres zoom.TokenStore: credentials live in
// zoom_connections (this package's table) as Vault ciphertexts bound to the
// tenant, and renewal runs under SELECT … FOR UPDATE on the row, so one
// replica at a time talks to Zoom for a connection. It lives here, not in
// zoom, so the REST client needs neither the database nor Vault and the
// statuses it writes are this package's Status constants.
type TokenStore struct {
	pool   *pgxpool.Pool
	sealer vault.Sealer
}

// NewTokenStore returns a store over pool that seals with sealer.
func NewTokenStore(pool *pgxpool.Pool, sealer vault.Sealer) *TokenStore {
	return &TokenStore{pool: pool, sealer: sealer}
}

// The store is what the zoom client's token sources are given.
var _ zoom.TokenStore = (*TokenStore)(nil)

const (
	sqlLockCredentials = `SELECT kind, zoom_account_id, client_id, status, credential_version,
       access_token_expires_at, sealed_access_token, sealed_refresh_token, sealed_client_secret
  FROM zoom_connections
 WHERE id = $1 AND tenant_id = $2
   FOR UPDATE`
	sqlWriteTokens = `UPDATE zoom_connections
   SET sealed_access_token = $3,
       access_token_expires_at = $4,
       sealed_refresh_token = COALESCE($5::text, sealed_refresh_token),
       refresh_token_updated_at = CASE WHEN $5::text IS NULL THEN refresh_token_updated_at ELSE now() END,
       granted_scopes = COALESCE($6::text[], granted_scopes),
       credential_version = credential_version + 1,
       updated_at = now()
 WHERE id = $1 AND tenant_id = $2
RETURNING credential_version`
	sqlMarkReauth = `UPDATE zoom_connections
   SET status = '` + string(StatusReauthRequired) + `', status_reason = $3, updated_at = now()
 WHERE id = $1 AND tenant_id = $2 AND status <> '` + string(StatusDisconnecting) + `'`
	sqlSaveGrant = `UPDATE zoom_connections
   SET sealed_access_token = $3,
       access_token_expires_at = $4,
       sealed_refresh_token = COALESCE($5::text, sealed_refresh_token),
       refresh_token_updated_at = now(),
       granted_scopes = COALESCE($6::text[], granted_scopes),
       status = '` + string(StatusActive) + `', status_reason = NULL,
       credential_version = credential_version + 1,
       updated_at = now()
 WHERE id = $1 AND tenant_id = $2
RETURNING credential_version`
	sqlSaveClientSecret = `UPDATE zoom_connections
   SET sealed_client_secret = $3,
       sealed_access_token = NULL, access_token_expires_at = NULL,
       credential_version = credential_version + 1,
       updated_at = now()
 WHERE id = $1 AND tenant_id = $2
RETURNING credential_version`
	sqlClearCredentials = `UPDATE zoom_connections
   SET sealed_client_secret = NULL, sealed_access_token = NULL, sealed_refresh_token = NULL,
       access_token_expires_at = NULL,
       credential_version = credential_version + 1,
       updated_at = now()
 WHERE id = $1 AND tenant_id = $2`
)

// reauthReason is the status_reason written on invalid_grant; it holds no
// secret.
const reauthReason = "Zoom refused the stored refresh token (invalid_grant); an admin must connect the account again"

// WithLockedConnection implements zoom.TokenStore.
func (s *TokenStore) WithLockedConnection(ctx context.Context, ref zoom.ConnectionRef,
	fn func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error)) (int64, error) {
	var (
		version  int64
		reauth   error
		fnCalled bool
	)
	err := store.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			kind, status                          string
			expires                               *time.Time
			sealedAccess, sealedRefresh, sealedCS *string
			row                                   zoom.LockedConnection
		)
		err := tx.QueryRow(ctx, sqlLockCredentials, ref.ID, ref.TenantID).Scan(&kind, &row.ZoomAccountID, &row.ClientID,
			&status, &row.Version, &expires, &sealedAccess, &sealedRefresh, &sealedCS)
		if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
			return zoom.ErrNoConnection
		}
		if err != nil {
			return fmt.Errorf("lock row: %w", err)
		}
		row.Kind, row.ReauthRequired = zoom.ConnectionKind(kind), Status(status) == StatusReauthRequired
		if expires != nil {
			row.AccessTokenExpiresAt = *expires
		}
		row.HasAccessToken = sealedAccess != nil && expires != nil
		row.HasRefreshToken = sealedRefresh != nil
		row.HasClientSecret = sealedCS != nil
		row.Secrets = &pgSecrets{s: s, tenantID: ref.TenantID, access: sealedAccess, refresh: sealedRefresh, clientSecret: sealedCS}
		version = row.Version
		fnCalled = true
		w, err := fn(ctx, &row)
		if err != nil {
			if errors.Is(err, zoom.ErrReauthorizationRequired) && Status(status) != StatusReauthRequired {
				if _, uerr := tx.Exec(ctx, sqlMarkReauth, ref.ID, ref.TenantID, reauthReason); uerr != nil {
					return fmt.Errorf("mark reauthorization required: %w (after %w)", uerr, err)
				}
				reauth = err
				return nil // commit the status change
			}
			return err
		}
		if w == nil {
			return nil
		}
		v, err := s.writeTokens(ctx, tx, sqlWriteTokens, ref, *w)
		if err != nil {
			return err
		}
		version = v
		return nil
	})
	if err != nil {
		if fnCalled {
			return 0, err
		}
		return 0, fmt.Errorf("connections.TokenStore: %w", err)
	}
	if reauth != nil {
		return 0, reauth
	}
	return version, nil
}

// writeTokens seals a token pair in one Vault round trip and writes it.
func (s *TokenStore) writeTokens(ctx context.Context, q pgx.Tx, sql string, ref zoom.ConnectionRef, w zoom.TokenWrite) (int64, error) {
	items := []vault.Plain{{TenantID: ref.TenantID, Plaintext: []byte(w.AccessToken)}}
	if w.RefreshToken != "" {
		items = append(items, vault.Plain{TenantID: ref.TenantID, Plaintext: []byte(w.RefreshToken)})
	}
	sealed, err := s.sealer.SealBatch(ctx, items)
	if err != nil {
		return 0, fmt.Errorf("seal tokens: %w", err)
	}
	var refresh *string
	if len(sealed) > 1 {
		refresh = &sealed[1]
	}
	var version int64
	if err := q.QueryRow(ctx, sql, ref.ID, ref.TenantID, sealed[0], w.ExpiresAt, refresh, w.Scopes).Scan(&version); err != nil {
		return 0, fmt.Errorf("write tokens: %w", err)
	}
	return version, nil
}

// SaveGrant stores a Marketplace grant from ExchangeCode (or a reconnect):
// the sealed pair, its expiry and scopes, status ACTIVE, version+1. It runs
// in tx so the connect flow can insert the row and its grant atomically.
func (s *TokenStore) SaveGrant(ctx context.Context, tx pgx.Tx, ref zoom.ConnectionRef, tok zoom.OAuthToken) error {
	w := zoom.TokenWrite{AccessToken: tok.AccessToken, ExpiresAt: tok.ExpiresAt, RefreshToken: tok.RefreshToken, Scopes: tok.Scopes}
	if _, err := s.writeTokens(ctx, tx, sqlSaveGrant, ref, w); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("connections.TokenStore.SaveGrant: %w", zoom.ErrNoConnection)
		}
		return fmt.Errorf("connections.TokenStore.SaveGrant: %w", err)
	}
	return nil
}

// SaveClientSecret stores a Server-to-Server client secret sealed, dropping
// any stored token (it belonged to the old secret). Run it in tx with the
// rest of a connect or credential change.
func (s *TokenStore) SaveClientSecret(ctx context.Context, tx pgx.Tx, ref zoom.ConnectionRef, secret string) error {
	sealed, err := s.sealer.Seal(ctx, ref.TenantID, []byte(secret))
	if err != nil {
		return fmt.Errorf("connections.TokenStore.SaveClientSecret: seal: %w", err)
	}
	var v int64
	if err := tx.QueryRow(ctx, sqlSaveClientSecret, ref.ID, ref.TenantID, sealed).Scan(&v); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("connections.TokenStore.SaveClientSecret: %w", zoom.ErrNoConnection)
		}
		return fmt.Errorf("connections.TokenStore.SaveClientSecret: %w", err)
	}
	return nil
}

// ClearCredentials deletes every sealed credential of the connection (the
// disconnect cleanup).
func (s *TokenStore) ClearCredentials(ctx context.Context, db Execer, ref zoom.ConnectionRef) error {
	if _, err := db.Exec(ctx, sqlClearCredentials, ref.ID, ref.TenantID); err != nil {
		return fmt.Errorf("connections.TokenStore.ClearCredentials: %w", err)
	}
	return nil
}

// Execer is a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pgSecrets opens a locked row's ciphertexts on demand.
type pgSecrets struct {
	s                             *TokenStore
	tenantID                      string
	access, refresh, clientSecret *string
}

func (p *pgSecrets) open(ctx context.Context, what string, sealed *string) (string, error) {
	if sealed == nil {
		return "", nil
	}
	b, err := p.s.sealer.Open(ctx, p.tenantID, *sealed)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", what, err)
	}
	return string(b), nil
}

func (p *pgSecrets) AccessToken(ctx context.Context) (string, error) {
	return p.open(ctx, "access token", p.access)
}

func (p *pgSecrets) RefreshToken(ctx context.Context) (string, error) {
	return p.open(ctx, "refresh token", p.refresh)
}

func (p *pgSecrets) ClientSecret(ctx context.Context) (string, error) {
	return p.open(ctx, "client secret", p.clientSecret)
}
