package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/apierror"
	"zoomsignage/store"
)

// keyPrefix marks our API keys so scanners (and people) recognise a leaked one.
const keyPrefix = "zsk_"

// lookupLen is how much of the key is stored in clear to find its row: the
// marker plus 8 characters (48 random bits), far too little to guess the rest.
const lookupLen = len(keyPrefix) + 8

// cacheTTL bounds how long a revoked key may still be accepted by a replica
// that cached it: revocation is honoured within a minute, as promised.
const cacheTTL = 30 * time.Second

// negativeTTL is how long a replica remembers a presented key that does
// not exist (or is revoked): a client hammering wrong keys costs a map
// lookup each, not a Postgres statement. Keys are random, so no key made
// later can be one remembered as unknown.
const negativeTTL = 10 * time.Second

// cacheMax bounds the in-process cache; when full it is simply emptied.
const cacheMax = 10_000

const (
	sqlInsertAPIKey = `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, tenant_id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at`
	sqlAPIKeyByPrefix = `SELECT id, tenant_id, key_hash, scopes, revoked_at FROM api_keys WHERE prefix = $1`
	sqlListAPIKeys    = `SELECT id, tenant_id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at
FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`
	sqlRevokeAPIKey = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)
RETURNING id, tenant_id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at`
)

// Querier is a pool or a transaction, so a key change and its audit event
// can commit together.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// APIKey is a stored key, without its secret.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Prefix     string
	Scopes     []Scope
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// APIKeys creates, lists, revokes and verifies partner API keys. Only the
// SHA-256 of a key is stored; the key itself is returned once, at creation.
type APIKeys struct {
	db  *pgxpool.Pool
	now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedKey
}

type cachedKey struct {
	principal *Principal
	expires   time.Time
}

// NewAPIKeys returns the key service on db.
func NewAPIKeys(db *pgxpool.Pool, now func() time.Time) *APIKeys {
	if now == nil {
		now = time.Now
	}
	return &APIKeys{db: db, now: now, cache: make(map[[32]byte]cachedKey)}
}

// Create makes a key for tenantID in db (a pool or a transaction) and
// returns it with the secret. The secret cannot be read again.
func (k *APIKeys) Create(ctx context.Context, db Querier, tenantID, name string, scopes []Scope, createdBy string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return APIKey{}, "", apierror.Invalid("name", "name must be 1 to 200 characters")
	}
	if len(scopes) == 0 {
		return APIKey{}, "", apierror.Invalid("scopes", "at least one scope is required")
	}
	secret, err := newKey()
	if err != nil {
		return APIKey{}, "", fmt.Errorf("auth.APIKeys.Create: %w", err)
	}
	hash := sha256.Sum256([]byte(secret))
	row, err := db.Query(ctx, sqlInsertAPIKey, tenantID, name, secret[:lookupLen], hash[:], scopeStrings(scopes), createdBy)
	if err != nil {
		return APIKey{}, "", fmt.Errorf("auth.APIKeys.Create: %w", err)
	}
	key, err := pgx.CollectExactlyOneRow(row, scanAPIKey)
	if err != nil {
		if store.ConstraintError(err) == "api_keys_tenant_id_fkey" || store.IsInvalidText(err) {
			return APIKey{}, "", apierror.NotFoundf("tenant %s does not exist", tenantID)
		}
		return APIKey{}, "", fmt.Errorf("auth.APIKeys.Create: %w", err)
	}
	return key, secret, nil
}

// List returns the tenant's keys, oldest first.
func (k *APIKeys) List(ctx context.Context, tenantID string) ([]APIKey, error) {
	rows, err := k.db.Query(ctx, sqlListAPIKeys, tenantID)
	if err != nil {
		return nil, fmt.Errorf("auth.APIKeys.List: %w", err)
	}
	keys, err := pgx.CollectRows(rows, scanAPIKey)
	if err != nil {
		return nil, fmt.Errorf("auth.APIKeys.List: %w", err)
	}
	return keys, nil
}

// Revoke revokes key id of tenantID. Revoking twice is harmless.
func (k *APIKeys) Revoke(ctx context.Context, db Querier, tenantID, id string) (APIKey, error) {
	if tenantID == "" {
		return APIKey{}, apierror.NotFoundf("API key %s not found", id)
	}
	return k.revoke(ctx, db, tenantID, id)
}

// RevokeAny revokes key id whatever its tenant: for the operator CLI only.
func (k *APIKeys) RevokeAny(ctx context.Context, db Querier, id string) (APIKey, error) {
	return k.revoke(ctx, db, nil, id)
}

func (k *APIKeys) revoke(ctx context.Context, db Querier, tenant any, id string) (APIKey, error) {
	rows, err := db.Query(ctx, sqlRevokeAPIKey, id, tenant)
	if err != nil {
		return APIKey{}, fmt.Errorf("auth.APIKeys.Revoke: %w", err)
	}
	key, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return APIKey{}, apierror.NotFoundf("API key %s not found", id)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("auth.APIKeys.Revoke: %w", err)
	}
	k.forget(key.ID)
	return key, nil
}

// Verify returns the principal of a presented key. Results are cached for
// cacheTTL, so a revocation made on another replica takes effect within it.
func (k *APIKeys) Verify(ctx context.Context, presented string) (*Principal, error) {
	if !strings.HasPrefix(presented, keyPrefix) || len(presented) < lookupLen+16 || len(presented) > 128 {
		return nil, fmt.Errorf("%w: malformed API key", ErrInvalidCredentials)
	}
	hash := sha256.Sum256([]byte(presented))
	if p, ok := k.cached(hash); ok {
		if p == nil {
			return nil, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
		}
		return p, nil
	}
	var (
		id, tenantID string
		stored       []byte
		scopes       []string
		revokedAt    *time.Time
	)
	err := k.db.QueryRow(ctx, sqlAPIKeyByPrefix, presented[:lookupLen]).Scan(&id, &tenantID, &stored, &scopes, &revokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		k.remember(hash, nil)
		return nil, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("auth.APIKeys.Verify: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, hash[:]) != 1 {
		k.remember(hash, nil)
		return nil, fmt.Errorf("%w: unknown API key", ErrInvalidCredentials)
	}
	if revokedAt != nil {
		k.remember(hash, nil)
		return nil, fmt.Errorf("%w: revoked API key", ErrInvalidCredentials)
	}
	p := &Principal{TenantID: tenantID, Actor: "apikey:" + id, Scopes: toScopes(scopes), Kind: KindAPIKey, KeyID: id}
	k.recordUse(ctx, id)
	k.remember(hash, p)
	return p, nil
}

// sqlRecordKeyUse sets a key's last use, at most once a minute: it runs on
// every verification that misses the cache (once per cache lifetime per key
// and replica), so lastUsedAt is right to about a minute.
const sqlRecordKeyUse = `UPDATE api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`

// recordUse notes that key id authenticated a request. It is best effort:
// a key that verified must not be refused because its last-use time could
// not be written, and the next verification tries again.
func (k *APIKeys) recordUse(ctx context.Context, id string) {
	_, _ = k.db.Exec(ctx, sqlRecordKeyUse, id)
}

func (k *APIKeys) cached(hash [32]byte) (*Principal, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.cache[hash]
	if !ok || k.now().After(e.expires) {
		return nil, false
	}
	return e.principal, true
}

// remember caches a verified key's principal, or (p nil) a key found
// unknown or revoked, for negativeTTL.
func (k *APIKeys) remember(hash [32]byte, p *Principal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.cache) >= cacheMax {
		clear(k.cache)
	}
	ttl := cacheTTL
	if p == nil {
		ttl = negativeTTL
	}
	k.cache[hash] = cachedKey{principal: p, expires: k.now().Add(ttl)}
}

// forget drops a revoked key from this replica's cache at once.
func (k *APIKeys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, e := range k.cache {
		if e.principal != nil && e.principal.KeyID == id {
			delete(k.cache, h)
		}
	}
}

func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func scanAPIKey(row pgx.CollectableRow) (APIKey, error) {
	var k APIKey
	var scopes []string
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &scopes, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	k.Scopes = toScopes(scopes)
	return k, err
}

func scopeStrings(scopes []Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

func toScopes(names []string) []Scope {
	out := make([]Scope, len(names))
	for i, n := range names {
		out[i] = Scope(n)
	}
	return out
}
