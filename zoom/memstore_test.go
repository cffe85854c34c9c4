package zoom_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"zoomsignage/zoom"
)

// memStore is a zoom.TokenStore in process memory for the client's own
// tests: it keeps the contract (one renewal at a time per connection, a
// write bumps the version, invalid_grant marks the connection) so the token
// sources can be tested without the connections domain. The Postgres store
// that ships (connections.TokenStore) is tested against real Postgres and
// Vault beside it. Every opening of a secret and every write counts as one
// sealer round trip, as they are one Vault call each in the real store.
type memStore struct {
	mu     sync.Mutex
	rows   map[string]*memRow
	nextID int

	vaultCalls atomic.Int64
}

// memRow is one stored connection; lock is held for the whole renewal.
type memRow struct {
	lock sync.Mutex

	tenantID, clientID, accountID string
	kind                          zoom.ConnectionKind
	version                       int64
	reauth                        bool
	reauthReason                  string
	access, refresh, clientSecret string
	expiresAt                     time.Time
	scopes                        []string
}

func newMemStore() *memStore { return &memStore{rows: map[string]*memRow{}} }

// insert adds a connection without credentials.
func (s *memStore) insert(tenantID string, kind zoom.ConnectionKind, accountID, clientID string) zoom.ConnectionRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := fmt.Sprintf("conn-%d", s.nextID)
	s.rows[id] = &memRow{tenantID: tenantID, kind: kind, accountID: accountID, clientID: clientID, version: 1}
	return zoom.ConnectionRef{ID: id, TenantID: tenantID}
}

// row returns the stored connection of ref, or ErrNoConnection.
func (s *memStore) row(ref zoom.ConnectionRef) (*memRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[ref.ID]
	if !ok || r.tenantID != ref.TenantID {
		return nil, zoom.ErrNoConnection
	}
	return r, nil
}

// WithLockedConnection implements zoom.TokenStore.
func (s *memStore) WithLockedConnection(ctx context.Context, ref zoom.ConnectionRef,
	fn func(ctx context.Context, row *zoom.LockedConnection) (*zoom.TokenWrite, error)) (int64, error) {
	r, err := s.row(ref)
	if err != nil {
		return 0, err
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	lc := &zoom.LockedConnection{
		Kind: r.kind, ZoomAccountID: r.accountID, ClientID: r.clientID, ReauthRequired: r.reauth,
		Version: r.version, AccessTokenExpiresAt: r.expiresAt,
		HasAccessToken: r.access != "", HasRefreshToken: r.refresh != "", HasClientSecret: r.clientSecret != "",
		Secrets: memSecrets{s: s, access: r.access, refresh: r.refresh, clientSecret: r.clientSecret},
	}
	w, err := fn(ctx, lc)
	if err != nil {
		if errors.Is(err, zoom.ErrReauthorizationRequired) && !r.reauth {
			r.reauth, r.reauthReason = true, "invalid_grant"
		}
		return 0, err
	}
	if w == nil {
		return r.version, nil
	}
	r.write(s, *w)
	return r.version, nil
}

// write stores a token pair as the real store's one sealing round trip.
func (r *memRow) write(s *memStore, w zoom.TokenWrite) {
	s.vaultCalls.Add(1)
	r.access, r.expiresAt = w.AccessToken, w.ExpiresAt
	if w.RefreshToken != "" {
		r.refresh = w.RefreshToken
	}
	if w.Scopes != nil {
		r.scopes = w.Scopes
	}
	r.version++
}

// saveGrant stores a Marketplace grant and makes the connection usable.
func (s *memStore) saveGrant(ref zoom.ConnectionRef, tok zoom.OAuthToken) error {
	r, err := s.row(ref)
	if err != nil {
		return err
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	r.write(s, zoom.TokenWrite{AccessToken: tok.AccessToken, ExpiresAt: tok.ExpiresAt, RefreshToken: tok.RefreshToken, Scopes: tok.Scopes})
	r.reauth, r.reauthReason = false, ""
	return nil
}

// saveClientSecret stores a Server-to-Server secret and drops the token
// that belonged to the previous one.
func (s *memStore) saveClientSecret(ref zoom.ConnectionRef, secret string) error {
	r, err := s.row(ref)
	if err != nil {
		return err
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	s.vaultCalls.Add(1)
	r.clientSecret, r.access, r.expiresAt = secret, "", time.Time{}
	r.version++
	return nil
}

// state reads a connection's version and reauthorization mark.
func (s *memStore) state(ref zoom.ConnectionRef) (version int64, reauth bool, reason string, err error) {
	r, err := s.row(ref)
	if err != nil {
		return 0, false, "", err
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	return r.version, r.reauth, r.reauthReason, nil
}

// memSecrets opens a locked row's secrets, counting each as a Vault call.
type memSecrets struct {
	s                             *memStore
	access, refresh, clientSecret string
}

func (m memSecrets) open(v string) (string, error) {
	if v != "" {
		m.s.vaultCalls.Add(1)
	}
	return v, nil
}

func (m memSecrets) AccessToken(context.Context) (string, error)  { return m.open(m.access) }
func (m memSecrets) RefreshToken(context.Context) (string, error) { return m.open(m.refresh) }
func (m memSecrets) ClientSecret(context.Context) (string, error) { return m.open(m.clientSecret) }
