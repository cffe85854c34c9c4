package zoomsim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Error values the authorize endpoint puts in the redirect's "error"
// parameter (with "error_description").
const (
	// AuthorizeErrDenied: the user pressed Deny.
	AuthorizeErrDenied = "access_denied"
	// AuthorizeErrNotAllowed: the approving user is not an admin of the
	// account and the app is account-level ("not allowed to install").
	AuthorizeErrNotAllowed = "unauthorized_client"
	// AuthorizeErrInvalidRequest: bad response_type or PKCE method.
	AuthorizeErrInvalidRequest = "invalid_request"
)

// Decisions for AuthorizeRequest.Decision and the sim_decision parameter.
const (
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
)

// AuthorizeRequest is one pass through the consent page: the query the
// client sent to /oauth/authorize plus who answered and how.
type AuthorizeRequest struct {
	ResponseType        string `json:"response_type"` // "code"; empty means "code"
	ClientID            string `json:"client_id"`
	RedirectURI         string `json:"redirect_uri"`
	State               string `json:"state"`
	CodeChallenge       string `json:"code_challenge"`
	CodeChallengeMethod string `json:"code_challenge_method"` // "S256", "plain" or ""
	// UserID approves or denies; Decision is DecisionApprove (default) or
	// DecisionDeny.
	UserID   string `json:"user_id"`
	Decision string `json:"decision"`
}

// errNoRedirect marks authorize errors that must not redirect (unknown
// client, unregistered redirect_uri), per RFC 6749 section 4.1.2.1.
var errNoRedirect = errors.New("zoomsim: authorize request cannot be redirected")

// Authorize runs the consent decision without the HTML page and returns
// the URL the browser would be redirected to (with code and state, or with
// error and error_description). It fails only when no redirect is possible.
func (s *Sim) Authorize(ctx context.Context, req AuthorizeRequest) (string, error) {
	if err := ctxDone(ctx); err != nil {
		return "", err
	}
	app, target, err := s.checkAuthorize(req)
	if err != nil {
		return "", err
	}
	q := target.Query()
	if req.State != "" {
		q.Set("state", req.State)
	}
	if code, kind, desc := s.decide(app, req); kind != "" {
		q.Set("error", kind)
		q.Set("error_description", desc)
	} else {
		q.Set("code", code)
	}
	target.RawQuery = q.Encode()
	return target.String(), nil
}

// checkAuthorize validates the client and redirect_uri.
func (s *Sim) checkAuthorize(req AuthorizeRequest) (App, *url.URL, error) {
	s.mu.RLock()
	app, ok := s.apps[req.ClientID]
	var a App
	if ok {
		a = *app
	}
	s.mu.RUnlock()
	if !ok {
		return App{}, nil, fmt.Errorf("%w: invalid client_id %q", errNoRedirect, req.ClientID)
	}
	if a.Kind != AppMarketplace {
		return App{}, nil, fmt.Errorf("%w: client %q is not an OAuth (Marketplace) app", errNoRedirect, req.ClientID)
	}
	target, err := url.Parse(req.RedirectURI)
	if err != nil || !target.IsAbs() {
		return App{}, nil, fmt.Errorf("%w: invalid redirect_uri %q", errNoRedirect, req.RedirectURI)
	}
	if len(a.RedirectURIs) > 0 && !slices.Contains(a.RedirectURIs, req.RedirectURI) {
		return App{}, nil, fmt.Errorf("%w: redirect_uri %q is not registered", errNoRedirect, req.RedirectURI)
	}
	return a, target, nil
}

// decide returns a new code, or an error kind and description.
func (s *Sim) decide(app App, req AuthorizeRequest) (code, kind, desc string) {
	if req.ResponseType != "" && req.ResponseType != "code" {
		return "", AuthorizeErrInvalidRequest, "Unsupported response_type."
	}
	switch req.CodeChallengeMethod {
	case "", "plain", "S256":
	default:
		return "", AuthorizeErrInvalidRequest, "Unsupported code_challenge_method."
	}
	if req.Decision == DecisionDeny {
		return "", AuthorizeErrDenied, "The user denied the authorization request."
	}
	s.mu.RLock()
	u, ok := s.users[req.UserID]
	var user User
	if ok {
		user = *u
	}
	s.mu.RUnlock()
	if !ok {
		return "", AuthorizeErrDenied, "Unknown user."
	}
	if !app.UserLevel && !user.Admin {
		return "", AuthorizeErrNotAllowed, "You are not allowed to install this app. Ask an admin of your account to install it."
	}
	code = "simc." + newSecret()
	method := req.CodeChallengeMethod
	if method == "" && req.CodeChallenge != "" {
		method = "plain"
	}
	s.tokens.mu.Lock()
	s.tokens.codes[code] = &authCode{
		clientID: app.ClientID, redirectURI: req.RedirectURI,
		challenge: req.CodeChallenge, challengeMethod: method,
		userID: user.ID, accountID: user.AccountID, scopes: slices.Clone(app.Scopes),
		expires: s.now().Add(s.opts.CodeTTL),
	}
	s.tokens.mu.Unlock()
	return code, "", ""
}

// routeOAuth registers the OAuth endpoints at the server root.
func (s *Sim) routeOAuth() {
	s.mux.HandleFunc("GET /oauth/authorize", s.handleAuthorizePage)
	s.mux.HandleFunc("POST /oauth/authorize", s.handleAuthorizeForm)
	s.mux.Handle("POST /oauth/token", s.oauthEndpoint(RouteToken, s.handleToken))
	s.mux.Handle("POST /oauth/revoke", s.oauthEndpoint(RouteRevoke, s.handleRevoke))
}

// oauthEndpoint counts calls and applies faults to a token-side endpoint.
func (s *Sim) oauthEndpoint(name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.stats.countCall("", name)
		if s.applyFault(w, r, name, "", func(w http.ResponseWriter) { h(w, r) }) {
			return
		}
		h(w, r)
	})
}

func authorizeRequestFrom(v url.Values) AuthorizeRequest {
	return AuthorizeRequest{
		ResponseType: v.Get("response_type"), ClientID: v.Get("client_id"),
		RedirectURI: v.Get("redirect_uri"), State: v.Get("state"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
	}
}

// handleAuthorizePage serves the consent page, or decides at once when the
// query carries sim_user_id (non-interactive approval for tests).
func (s *Sim) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	s.stats.countCall("", RouteAuthorize)
	q := r.URL.Query()
	req := authorizeRequestFrom(q)
	if uid := q.Get("sim_user_id"); uid != "" {
		req.UserID, req.Decision = uid, q.Get("sim_decision")
		s.redirectAuthorize(w, r, req)
		return
	}
	app, _, err := s.checkAuthorize(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.writeConsentPage(w, app, req)
}

// handleAuthorizeForm receives the consent page's Approve/Deny post.
func (s *Sim) handleAuthorizeForm(w http.ResponseWriter, r *http.Request) {
	s.stats.countCall("", RouteAuthorize)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	req := authorizeRequestFrom(r.PostForm)
	req.UserID, req.Decision = r.PostForm.Get("user_id"), r.PostForm.Get("decision")
	s.redirectAuthorize(w, r, req)
}

func (s *Sim) redirectAuthorize(w http.ResponseWriter, r *http.Request, req AuthorizeRequest) {
	target, err := s.Authorize(r.Context(), req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	APIURL       string `json:"api_url"`
}

// clientAuth checks HTTP Basic client credentials.
func (s *Sim) clientAuth(r *http.Request) (App, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return App{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	app, found := s.apps[id]
	if !found || subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(secret)) != 1 {
		return App{}, false
	}
	return *app, true
}

// handleToken serves POST /oauth/token.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request body")
		return
	}
	gt := r.PostForm.Get("grant_type")
	s.stats.countGrant(gt)
	app, ok := s.clientAuth(r)
	if !ok {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client_id or client_secret")
		return
	}
	var (
		resp tokenResponse
		kind string
		why  string
	)
	switch gt {
	case "authorization_code":
		resp, kind, why = s.exchangeCode(app, r.PostForm)
	case "refresh_token":
		resp, kind, why = s.refresh(app, r.PostForm.Get("refresh_token"))
	case "account_credentials":
		resp, kind, why = s.accountCredentials(app, r.PostForm.Get("account_id"))
	case "":
		kind, why = "invalid_request", "Missing grant_type"
	default:
		kind, why = "invalid_request", "Unsupported grant_type"
	}
	if kind != "" {
		writeOAuthError(w, http.StatusBadRequest, kind, why)
		return
	}
	resp.TokenType = "bearer"
	resp.ExpiresIn = int((s.opts.AccessTokenTTL - time.Second) / time.Second)
	resp.APIURL = s.opts.APIURL
	if resp.APIURL == "" {
		resp.APIURL = requestOrigin(r)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// exchangeCode redeems a single-use authorization code.
func (s *Sim) exchangeCode(app App, form url.Values) (tokenResponse, string, string) {
	code := form.Get("code")
	ts := &s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ac, ok := ts.codes[code]
	delete(ts.codes, code) // single use, even when the exchange fails
	switch {
	case !ok || ac.clientID != app.ClientID:
		return tokenResponse{}, "invalid_grant", "Invalid authorization code " + code
	case !s.now().Before(ac.expires):
		return tokenResponse{}, "invalid_grant", "Authorization code is expired"
	case form.Get("redirect_uri") != ac.redirectURI:
		return tokenResponse{}, "invalid_grant", "Redirect URI mismatch."
	case !pkceOK(ac, form.Get("code_verifier")):
		return tokenResponse{}, "invalid_grant", "Invalid code_verifier."
	}
	g := &grant{clientID: app.ClientID, accountID: ac.accountID, userID: ac.userID, scopes: ac.scopes, access: map[string]struct{}{}}
	ts.grants[g] = struct{}{}
	return tokenResponse{
		AccessToken:  ts.issueAccess(g, s.now(), s.opts.AccessTokenTTL),
		RefreshToken: ts.rotateRefresh(g),
		Scope:        strings.Join(g.scopes, " "),
	}, "", ""
}

// pkceOK verifies a code_verifier against the code's challenge.
func pkceOK(ac *authCode, verifier string) bool {
	switch ac.challengeMethod {
	case "":
		return true
	case "plain":
		return subtle.ConstantTimeCompare([]byte(verifier), []byte(ac.challenge)) == 1
	default: // S256
		sum := sha256.Sum256([]byte(verifier))
		want := base64.RawURLEncoding.EncodeToString(sum[:])
		return verifier != "" && subtle.ConstantTimeCompare([]byte(want), []byte(ac.challenge)) == 1
	}
}

// refresh rotates a refresh token: the old one stops working at once.
func (s *Sim) refresh(app App, rt string) (tokenResponse, string, string) {
	ts := &s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.refresh[rt]
	if !ok || g.clientID != app.ClientID {
		return tokenResponse{}, "invalid_grant", "Invalid Token!"
	}
	return tokenResponse{
		AccessToken:  ts.issueAccess(g, s.now(), s.opts.AccessTokenTTL),
		RefreshToken: ts.rotateRefresh(g),
		Scope:        strings.Join(g.scopes, " "),
	}, "", ""
}

// accountCredentials issues a Server-to-Server token.
func (s *Sim) accountCredentials(app App, accountID string) (tokenResponse, string, string) {
	if app.Kind != AppServer {
		return tokenResponse{}, "invalid_client", "The client is not a Server-to-Server OAuth app."
	}
	if accountID == "" || accountID != app.AccountID {
		return tokenResponse{}, "invalid_request", "Invalid account_id."
	}
	owner := s.ownerID(accountID) // before ts.mu: s.mu is never taken under it
	ts := &s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	key := [2]string{app.ClientID, accountID}
	g, ok := ts.s2s[key]
	if !ok {
		g = &grant{clientID: app.ClientID, accountID: accountID, userID: owner, scopes: slices.Clone(app.Scopes), access: map[string]struct{}{}}
		ts.s2s[key] = g
		ts.grants[g] = struct{}{}
	}
	if app.SingleToken {
		for tok := range g.access {
			delete(ts.access, tok)
			delete(g.access, tok)
		}
	}
	return tokenResponse{
		AccessToken: ts.issueAccess(g, s.now(), s.opts.AccessTokenTTL),
		Scope:       strings.Join(g.scopes, " "),
	}, "", ""
}

// ownerID returns the account's first admin (the "me" of an S2S token).
func (s *Sim) ownerID(accountID string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return ""
	}
	for _, u := range a.users {
		if u.Admin {
			return u.ID
		}
	}
	if len(a.users) > 0 {
		return a.users[0].ID
	}
	return ""
}

// handleRevoke serves POST /oauth/revoke: it revokes the grant behind the
// token (all its access and refresh tokens). Like RFC 7009, an unknown or
// already revoked token also answers success.
func (s *Sim) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request body")
		return
	}
	app, ok := s.clientAuth(r)
	if !ok {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client_id or client_secret")
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing token")
		return
	}
	ts := &s.tokens
	ts.mu.Lock()
	g := ts.refresh[tok]
	if at, ok := ts.access[tok]; ok {
		g = at.g
	}
	if g != nil && g.clientID == app.ClientID {
		ts.revokeLocked(g)
	}
	ts.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}
