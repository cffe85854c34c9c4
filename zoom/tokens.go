package zoom

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// TokenSource gives access tokens for one Zoom account.
type TokenSource interface {
	// Token returns an access token valid for at least the refresh margin,
	// fetching or refreshing one when needed.
	Token(ctx context.Context) (string, error)
	// Invalidate tells the source that Zoom refused token (code 124), so
	// the next Token call gets a fresh one even though it has not expired.
	// A token other than the current one is ignored.
	Invalidate(token string)
}

// ConnectionKind is the kind of a stored connection (zoom_connections.kind in
// the connections domain).
type ConnectionKind string

// Connection kinds (zoom_connections.kind).
const (
	KindMarketplace ConnectionKind = "MARKETPLACE"
	KindServerApp   ConnectionKind = "SERVER_APP"
)

// ConnectionRef identifies a stored connection; the store filters every
// query by both ids.
type ConnectionRef struct {
	ID, TenantID string
}

// memToken is a decrypted access token held in process memory only.
type memToken struct {
	token     string
	version   int64
	expiresAt time.Time
}

// storedSource is the token source of a stored connection (both kinds): a
// token in memory until the refresh margin, and behind it the connection
// row, locked while it is read and, if needed, renewed, so that every
// replica ends up with the same token and only one of them talks to Zoom.
type storedSource struct {
	c     *Client
	store TokenStore
	ref   ConnectionRef
	kind  ConnectionKind
	app   AppCredentials // Marketplace app; Server-to-Server reads its own from the row

	mu  sync.Mutex
	mem *memToken
	bad int64 // credential version Zoom refused (0: none)

	flight singleflight.Group
}

// Token implements TokenSource.
func (s *storedSource) Token(ctx context.Context) (string, error) {
	if tok, ok := s.cached(); ok {
		return tok, nil
	}
	ch := s.flight.DoChan("token", func() (any, error) {
		rctx := context.WithoutCancel(ctx)
		cancel := context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			rctx, cancel = context.WithDeadline(rctx, dl)
		}
		defer cancel()
		return s.renew(rctx)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cached returns the in-memory token while it is outside the refresh margin.
func (s *storedSource) cached() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem != nil && s.c.now().Before(s.mem.expiresAt.Add(-s.c.margin)) {
		return s.mem.token, true
	}
	s.mem = nil // past the margin: plaintext leaves memory
	return "", false
}

// Invalidate implements TokenSource.
func (s *storedSource) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem != nil && s.mem.token == token {
		s.bad = s.mem.version
		s.mem = nil
	}
}

// Refresh replaces the token now even if it is still valid: the daily job
// that keeps idle Marketplace refresh tokens alive calls it.
func (s *storedSource) Refresh(ctx context.Context) error {
	s.mu.Lock()
	if s.mem != nil {
		s.bad = s.mem.version
		s.mem = nil
	} else {
		s.bad = -1 // any stored token: renew whatever the row holds
	}
	s.mu.Unlock()
	_, err := s.Token(ctx)
	return err
}

// renew locks the row; uses the stored token if another replica (or an
// earlier run) already put a good one there; otherwise gets a new one from
// Zoom and stores it sealed before anyone uses it.
func (s *storedSource) renew(ctx context.Context) (string, error) {
	s.mu.Lock()
	bad := s.bad
	s.mu.Unlock()
	var out memToken
	version, err := s.store.WithLockedConnection(ctx, s.ref, func(ctx context.Context, row *LockedConnection) (*TokenWrite, error) {
		if row.Kind != s.kind {
			return nil, fmt.Errorf("connection is %s, not %s", row.Kind, s.kind)
		}
		if row.ReauthRequired {
			return nil, fmt.Errorf("%w: connection is marked as needing reauthorization", ErrReauthorizationRequired)
		}
		now := s.c.now()
		if row.HasAccessToken && bad != -1 && row.Version != bad && now.Before(row.AccessTokenExpiresAt.Add(-s.c.margin)) {
			tok, err := row.Secrets.AccessToken(ctx)
			if err != nil {
				return nil, err
			}
			out = memToken{token: tok, version: row.Version, expiresAt: row.AccessTokenExpiresAt}
			return nil, nil
		}
		t, err := s.fetch(ctx, row)
		if err != nil {
			return nil, err
		}
		out = memToken{token: t.AccessToken, expiresAt: t.ExpiresAt}
		return &TokenWrite{AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt, RefreshToken: t.RefreshToken, Scopes: t.Scopes}, nil
	})
	if err != nil {
		return "", fmt.Errorf("zoom.TokenSource(%s): %w", s.kind, err)
	}
	if out.version == 0 {
		out.version = version
	}
	s.mu.Lock()
	s.mem = &out
	if s.bad == bad {
		s.bad = 0
	}
	s.mu.Unlock()
	return out.token, nil
}

// fetch asks Zoom for a new token for the locked row.
func (s *storedSource) fetch(ctx context.Context, row *LockedConnection) (*OAuthToken, error) {
	switch s.kind {
	case KindServerApp:
		secret, err := row.Secrets.ClientSecret(ctx)
		if err != nil {
			return nil, err
		}
		if secret == "" {
			return nil, fmt.Errorf("%w: no client secret stored", ErrCredentialsRejected)
		}
		return s.c.ServerAppToken(ctx, AppCredentials{ClientID: row.ClientID, ClientSecret: secret}, row.ZoomAccountID)
	default:
		if !row.HasRefreshToken {
			return nil, fmt.Errorf("%w: no refresh token stored", ErrReauthorizationRequired)
		}
		rt, err := row.Secrets.RefreshToken(ctx)
		if err != nil {
			return nil, err
		}
		t, err := s.c.RefreshToken(ctx, s.app, rt)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}

// storedSourceFor returns the memoized source of a connection, so that every
// call site in the process shares one in-memory token per connection.
func (c *Client) storedSourceFor(store TokenStore, ref ConnectionRef, kind ConnectionKind, app AppCredentials) *storedSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sources[ref.ID].(*storedSource); ok && s.kind == kind && s.ref == ref && s.store == store && s.app == app {
		return s
	}
	s := &storedSource{c: c, store: store, ref: ref, kind: kind, app: app}
	c.sources[ref.ID] = s
	return s
}

// ForgetConnection drops the process's token source (and its in-memory
// token) of a connection, after a disconnect or a credential change.
func (c *Client) ForgetConnection(connectionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sources, connectionID)
}

// StaticToken returns a source for a token the caller already holds (the
// connect flow right after ExchangeCode, before the row exists). It never
// renews, and it does not show the token when printed.
func StaticToken(token string) TokenSource { return &staticToken{token: token} }

type staticToken struct{ token string }

func (t *staticToken) Token(context.Context) (string, error) { return t.token, nil }
func (t *staticToken) Invalidate(string)                     {}
func (t *staticToken) String() string                        { return "StaticToken(REDACTED)" }
