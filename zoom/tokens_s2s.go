package zoom

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// ServerAppTokenSource returns the token source of a stored Server-to-Server
// connection. Zoom may invalidate an account's previous S2S token when it
// issues a new one, so the token is shared by every replica: it is kept
// sealed in the connection row, and a replica that needs one locks the row,
// reuses the stored token while it is good, and fetches a new one
// (account_credentials, with the row's client id and sealed secret) only when
// it is missing, inside the refresh margin, or the one Zoom just refused with
// code 124. Sources are memoized per connection id.
func (c *Client) ServerAppTokenSource(store TokenStore, ref ConnectionRef) TokenSource {
	return c.storedSourceFor(store, ref, KindServerApp, AppCredentials{})
}

// StaticServerAppCredentials returns a source for Server-to-Server
// credentials that are not stored anywhere yet: the connect flow validates
// what the user typed (get a token, list rooms) before sealing it. The token
// lives in this source's memory only; drop the source when done.
func (c *Client) StaticServerAppCredentials(accountID string, app AppCredentials) TokenSource {
	return &staticS2S{c: c, accountID: accountID, app: app}
}

// staticS2S fetches and caches a Server-to-Server token in memory.
type staticS2S struct {
	c         *Client
	accountID string
	app       AppCredentials

	mu      sync.Mutex
	token   string
	expires time.Time
	flight  singleflight.Group
}

func (s *staticS2S) String() string { return "StaticServerAppCredentials(" + s.app.String() + ")" }

// Token implements TokenSource.
func (s *staticS2S) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	if s.token != "" && s.c.now().Before(s.expires.Add(-s.c.margin)) {
		tok := s.token
		s.mu.Unlock()
		return tok, nil
	}
	s.mu.Unlock()
	v, err, _ := s.flight.Do("token", func() (any, error) {
		t, err := s.c.ServerAppToken(ctx, s.app, s.accountID)
		if err != nil {
			return "", err
		}
		s.mu.Lock()
		s.token, s.expires = t.AccessToken, t.ExpiresAt
		s.mu.Unlock()
		return t.AccessToken, nil
	})
	if err != nil {
		return "", fmt.Errorf("zoom.StaticServerAppCredentials: %w", err)
	}
	return v.(string), nil
}

// Invalidate implements TokenSource.
func (s *staticS2S) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}
