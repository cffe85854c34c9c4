package zoomsim

import (
	"context"
	"slices"
	"sync"
	"time"
)

// grant is one installation of an app on an account (authorization code)
// or one Server-to-Server app's standing permission. Revoking it kills its
// access and refresh tokens.
type grant struct {
	clientID, accountID, userID string
	scopes                      []string
	refresh                     string // current refresh token; "" for S2S
	access                      map[string]struct{}
}

type accessToken struct {
	c       caller
	expires time.Time
	g       *grant
}

type authCode struct {
	clientID, redirectURI      string
	challenge, challengeMethod string
	userID, accountID          string
	scopes                     []string
	expires                    time.Time
}

// tokenStore holds OAuth state under its own lock so token checks do not
// contend with the world state.
type tokenStore struct {
	mu      sync.Mutex
	access  map[string]*accessToken
	refresh map[string]*grant
	codes   map[string]*authCode
	grants  map[*grant]struct{}
	// s2s holds each Server-to-Server app's grant per account.
	s2s map[[2]string]*grant
}

func newTokenStore() tokenStore {
	return tokenStore{
		access:  map[string]*accessToken{},
		refresh: map[string]*grant{},
		codes:   map[string]*authCode{},
		grants:  map[*grant]struct{}{},
		s2s:     map[[2]string]*grant{},
	}
}

// lookupAccess resolves an access token; expired reports a known token
// past its expiry.
func (ts *tokenStore) lookupAccess(tok string, now time.Time) (c *caller, expired bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	at, ok := ts.access[tok]
	if !ok {
		return nil, false
	}
	if !now.Before(at.expires) {
		return nil, true
	}
	cc := at.c
	return &cc, false
}

// issueAccess mints an access token for g; caller holds ts.mu.
func (ts *tokenStore) issueAccess(g *grant, now time.Time, ttl time.Duration) string {
	tok := "sim." + newSecret() + newSecret()
	ts.access[tok] = &accessToken{
		c:       caller{accountID: g.accountID, clientID: g.clientID, userID: g.userID, scopes: g.scopes},
		expires: now.Add(ttl),
		g:       g,
	}
	g.access[tok] = struct{}{}
	return tok
}

// rotateRefresh gives g a new refresh token, killing the old one; caller
// holds ts.mu.
func (ts *tokenStore) rotateRefresh(g *grant) string {
	if g.refresh != "" {
		delete(ts.refresh, g.refresh)
	}
	g.refresh = "simr." + newSecret() + newSecret()
	ts.refresh[g.refresh] = g
	return g.refresh
}

// revokeLocked deletes g and all its tokens; caller holds ts.mu.
func (ts *tokenStore) revokeLocked(g *grant) {
	for tok := range g.access {
		delete(ts.access, tok)
	}
	g.access = map[string]struct{}{}
	if g.refresh != "" {
		delete(ts.refresh, g.refresh)
		g.refresh = ""
	}
	delete(ts.grants, g)
	for k, v := range ts.s2s {
		if v == g {
			delete(ts.s2s, k)
		}
	}
}

// revokeWhere revokes every grant matching keep; it returns how many.
func (ts *tokenStore) revokeWhere(match func(*grant) bool) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for g := range ts.grants {
		if match(g) {
			ts.revokeLocked(g)
			n++
		}
	}
	return n
}

// RevokeGrants revokes every grant of the app on the account (all of its
// access and refresh tokens), as when an admin removes the app. An empty
// accountID means every account. It returns how many grants were revoked.
func (s *Sim) RevokeGrants(ctx context.Context, clientID, accountID string) (int, error) {
	if err := ctxDone(ctx); err != nil {
		return 0, err
	}
	n := s.tokens.revokeWhere(func(g *grant) bool {
		return g.clientID == clientID && (accountID == "" || g.accountID == accountID)
	})
	return n, nil
}

// ExpireTokens makes access tokens expired now: the given one, or all of
// them when token is "". Refresh tokens keep working.
func (s *Sim) ExpireTokens(ctx context.Context, token string) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	past := s.now().Add(-time.Second)
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	for tok, at := range s.tokens.access {
		if token == "" || tok == token {
			at.expires = past
		}
	}
	return nil
}

// Grant describes a live grant, for tests that check what was installed.
type Grant struct {
	ClientID, AccountID, UserID string
	Scopes                      []string
	AccessTokens                int
	HasRefreshToken             bool
}

// Grants lists the live grants of an account.
func (s *Sim) Grants(ctx context.Context, accountID string) ([]Grant, error) {
	if err := ctxDone(ctx); err != nil {
		return nil, err
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	var out []Grant
	for g := range s.tokens.grants {
		if g.accountID == accountID {
			out = append(out, Grant{g.clientID, g.accountID, g.userID, slices.Clone(g.scopes), len(g.access), g.refresh != ""})
		}
	}
	return out, nil
}
