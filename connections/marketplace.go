package connections

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/auth"
	"zoomsignage/store"
	"zoomsignage/syncjob"
	"zoomsignage/zoom"
)

// stateTTL is how long a Marketplace install may take between
// beginZoomMarketplaceInstall and Zoom's redirect.
const stateTTL = 10 * time.Minute

// stateMarkerTTL keeps a trace of issued states past their lifetime, so
// the callback can tell an expired or reused state from a forged one.
const stateMarkerTTL = 24 * time.Hour

// maxStateLength bounds the state a callback may present (ours are 43).
const maxStateLength = 200

// MarketplaceInstall is the start of an install.
type MarketplaceInstall struct {
	AuthorizeURL string
	ExpiresAt    time.Time
	// BrowserCookie binds the install to the browser that started it; the
	// caller must set it on the response (server.SetCookie). It is nil for
	// installs begun with an API key, which are confirmed in the approving
	// browser instead (see BeginMarketplaceInstall).
	BrowserCookie *http.Cookie
}

// installState is what the one-time state stands for, kept in Redis (by
// the state's hash) until the callback consumes it.
type installState struct {
	TenantID  string    `json:"tenant_id"`
	Actor     string    `json:"actor"`
	Verifier  string    `json:"verifier"`
	ReturnTo  string    `json:"return_to"`
	ExpiresAt time.Time `json:"expires_at"`
	// BrowserHash is the SHA-256 of the nonce in the starting browser's
	// install cookie; empty for unbound (API key) installs.
	BrowserHash string `json:"browser_hash,omitempty"`
}

// Callback outcomes (the reason parameter of ?zoom=error).
const (
	ReasonDenied           = "access_denied"
	ReasonNotAllowed       = "not_allowed_to_install"
	ReasonAuthorizeFailed  = "authorization_failed"
	ReasonStateMissing     = "state_missing"
	ReasonStateInvalid     = "state_invalid"
	ReasonStateExpired     = "state_expired"
	ReasonStateReused      = "state_reused"
	ReasonBrowserMismatch  = "state_browser_mismatch"
	ReasonCodeMissing      = "code_missing"
	ReasonExchangeFailed   = "code_exchange_failed"
	ReasonMissingScopes    = "missing_scopes"
	ReasonAlreadyConnected = "account_already_connected"
	ReasonZoomUnavailable  = "zoom_unavailable"
	ReasonInternal         = "internal_error"
)

// BeginMarketplaceInstall returns Zoom's authorize URL for our Marketplace
// app with a one-time state (random, bound to the caller's tenant and
// identity, 10 minutes) and a PKCE S256 challenge. returnTo is where the
// browser lands afterwards; it must be on PUBLIC_BASE_URL's origin or an
// allowed origin (no open redirect). Empty means PUBLIC_BASE_URL.
//
// An install begun by a web-app user (a JWT, so a browser) is bound to that
// browser: BrowserCookie holds a random nonce whose hash is stored with the
// state, and the callback refuses the state without it. Otherwise a user of
// one tenant could start an install and send the authorize URL to an admin
// of someone else's Zoom account, whose approval would link that account to
// the sender's tenant. An install begun with an API key has no browser to
// bind, so its callback links nothing until the person in the approving
// browser confirms, on a page of ours naming the receiving tenant, that the
// account is to be linked to it (confirm.go).
func (s *Service) BeginMarketplaceInstall(ctx context.Context, p *auth.Principal, returnTo string) (MarketplaceInstall, error) {
	if s.app.ClientID == "" || s.app.ClientSecret == "" {
		return MarketplaceInstall{}, apierror.New(apierror.BadUserInput, "Zoom Marketplace installs are not configured on this gateway")
	}
	ret, err := s.checkReturnTo(returnTo)
	if err != nil {
		return MarketplaceInstall{}, err
	}
	state := randomToken()
	pkce := zoom.NewPKCE()
	st := installState{TenantID: p.TenantID, Actor: p.Actor, Verifier: pkce.Verifier, ReturnTo: ret, ExpiresAt: s.now().Add(stateTTL)}
	h := stateHash(state)
	var cookie *http.Cookie
	if p.Kind == auth.KindUser {
		nonce := randomToken()
		st.BrowserHash = stateHash(nonce)
		cookie = s.installCookie(h, nonce, int(stateTTL/time.Second))
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return MarketplaceInstall{}, fmt.Errorf("connections.BeginMarketplaceInstall: %w", err)
	}
	data, err := sealState(state, plain)
	if err != nil {
		return MarketplaceInstall{}, fmt.Errorf("connections.BeginMarketplaceInstall: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, s.stateKey(h), data, stateTTL)
		pipe.Set(ctx, s.stateMarkerKey(h), "issued", stateMarkerTTL)
		return nil
	})
	if err != nil {
		return MarketplaceInstall{}, fmt.Errorf("connections.BeginMarketplaceInstall: store state: %w", err)
	}
	return MarketplaceInstall{
		AuthorizeURL:  s.zoom.AuthorizeURL(s.app.ClientID, s.cfg.RedirectURL, state, pkce.Challenge),
		ExpiresAt:     st.ExpiresAt,
		BrowserCookie: cookie,
	}, nil
}

// installCookie is the cookie binding the install of state hash h to the
// browser: named after the state (parallel installs in one browser do not
// overwrite each other), sent only to the callback path, never readable by
// scripts, Secure when the web app is served over https, and SameSite=Lax
// so Zoom's top-level redirect to the callback carries it. maxAge < 0
// clears it.
func (s *Service) installCookie(h, nonce string, maxAge int) *http.Cookie {
	path := "/oauth/zoom/callback"
	if u, err := url.Parse(s.cfg.RedirectURL); err == nil && u.Path != "" {
		path = u.Path
	}
	base, _ := url.Parse(s.cfg.PublicBaseURL)
	return &http.Cookie{
		Name: installCookieName(h), Value: nonce, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: base != nil && base.Scheme == "https", SameSite: http.SameSiteLaxMode,
	}
}

func installCookieName(h string) string { return "zs_install_" + h[:16] }

// checkReturnTo resolves returnTo against PUBLIC_BASE_URL and accepts it
// only on that origin or an allowed one.
func (s *Service) checkReturnTo(returnTo string) (string, error) {
	base, err := url.Parse(s.cfg.PublicBaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return "", errors.New("connections: PUBLIC_BASE_URL is not an absolute URL")
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/" // PUBLIC_BASE_URL with or without a trailing slash
	}
	base.RawQuery, base.Fragment = "", ""
	returnTo = strings.TrimSpace(returnTo)
	if returnTo == "" {
		return base.String(), nil
	}
	u, err := url.Parse(returnTo)
	if err != nil || strings.HasPrefix(returnTo, "//") || strings.ContainsAny(returnTo, "\\\r\n") {
		return "", apierror.Invalid("returnTo", "returnTo must be a URL of the web app")
	}
	u = base.ResolveReference(u)
	origin := u.Scheme + "://" + u.Host
	if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil ||
		(origin != base.Scheme+"://"+base.Host && !slices.Contains(s.cfg.ReturnOrigins, origin)) {
		return "", apierror.Invalid("returnTo", "returnTo must be on the web app's origin")
	}
	u.Fragment = ""
	return u.String(), nil
}

// CallbackRoute returns the handler of GET /oauth/zoom/callback.
func (s *Service) CallbackRoute() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		q := r.URL.Query()
		browser := ""
		if state := q.Get("state"); state != "" && len(state) <= maxStateLength {
			name := installCookieName(stateHash(state))
			if c, err := r.Cookie(name); err == nil {
				browser = c.Value
			}
			http.SetCookie(w, s.installCookie(stateHash(state), "", -1)) // one use, like the state
		}
		target, confirm := s.completeInstall(r.Context(), q, browser)
		if confirm != nil {
			s.writeConfirmPage(w, confirm)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
}

// completeInstall runs the callback and returns where to send the browser:
// the install's return URL with ?zoom=connected&connection=ID, or with
// ?zoom=error&reason=… (the default return URL when the state is not ours,
// or not this browser's). An install bound to no browser links nothing
// yet: it returns the confirmation page to answer instead (see
// confirm.go). browser is the install cookie's value, if any.
func (s *Service) completeInstall(ctx context.Context, q url.Values, browser string) (string, *confirmPage) {
	fallback, _ := s.checkReturnTo("")
	st, reason := s.consumeState(ctx, q.Get("state"))
	if reason != "" {
		return withQuery(fallback, "zoom", "error", "reason", reason), nil
	}
	if st.BrowserHash != "" && subtle.ConstantTimeCompare([]byte(stateHash(browser)), []byte(st.BrowserHash)) != 1 {
		s.log.WarnContext(ctx, "Marketplace install callback from another browser than the one that started it refused")
		return withQuery(fallback, "zoom", "error", "reason", ReasonBrowserMismatch), nil
	}
	if e := q.Get("error"); e != "" {
		reason := ReasonAuthorizeFailed
		switch e {
		case "access_denied":
			reason = ReasonDenied
		case "unauthorized_client":
			reason = ReasonNotAllowed
		}
		return withQuery(st.ReturnTo, "zoom", "error", "reason", reason), nil
	}
	code := q.Get("code")
	if code == "" {
		return withQuery(st.ReturnTo, "zoom", "error", "reason", ReasonCodeMissing), nil
	}
	g, reason := s.authorizeGrant(ctx, st, code)
	if reason != "" {
		return withQuery(st.ReturnTo, "zoom", "error", "reason", reason), nil
	}
	if st.BrowserHash == "" {
		page, err := s.parkGrant(ctx, st, g)
		if err != nil {
			s.log.ErrorContext(ctx, "parking an install for its confirmation failed", "error", err.Error())
			s.revokeUnused(ctx, &g.Token, g.User.AccountID)
			return withQuery(st.ReturnTo, "zoom", "error", "reason", ReasonInternal), nil
		}
		return "", page
	}
	id, reason := s.linkGrant(ctx, st, g)
	if reason != "" {
		return withQuery(st.ReturnTo, "zoom", "error", "reason", reason), nil
	}
	return withQuery(st.ReturnTo, "zoom", "connected", "connection", id), nil
}

// consumeState takes the state out of Redis (GETDEL: one use only) and
// tells why it is refused when it is.
func (s *Service) consumeState(ctx context.Context, state string) (installState, string) {
	if state == "" {
		return installState{}, ReasonStateMissing
	}
	if len(state) > maxStateLength {
		return installState{}, ReasonStateInvalid
	}
	h := stateHash(state)
	data, err := s.rdb.GetDel(ctx, s.stateKey(h)).Bytes()
	if err == nil {
		if err := s.rdb.Set(ctx, s.stateMarkerKey(h), "used", stateMarkerTTL).Err(); err != nil {
			// Only the reason a reuse is reported with suffers: GETDEL
			// already made the state single-use.
			s.log.WarnContext(ctx, "marking a Marketplace install state used failed", "error", err.Error())
		}
		var st installState
		plain, err := openState(state, data)
		if err != nil || json.Unmarshal(plain, &st) != nil {
			return installState{}, ReasonStateInvalid
		}
		if !s.now().Before(st.ExpiresAt) {
			return installState{}, ReasonStateExpired
		}
		return st, ""
	}
	if !errors.Is(err, redis.Nil) {
		s.log.ErrorContext(ctx, "reading a Marketplace install state failed", "error", err.Error())
		return installState{}, ReasonInternal
	}
	switch marker, _ := s.rdb.Get(ctx, s.stateMarkerKey(h)).Result(); marker {
	case "used":
		return installState{}, ReasonStateReused
	case "issued":
		return installState{}, ReasonStateExpired
	}
	return installState{}, ReasonStateInvalid
}

// authorizeGrant exchanges the code and learns who installed the app; a
// grant lacking required scopes is given back.
func (s *Service) authorizeGrant(ctx context.Context, st installState, code string) (grant, string) {
	tok, err := s.zoom.ExchangeCode(ctx, s.app, code, s.cfg.RedirectURL, st.Verifier)
	if err != nil {
		s.log.WarnContext(ctx, "Zoom refused a Marketplace authorization code", "error", err.Error())
		return grant{}, ReasonExchangeFailed
	}
	me, err := s.zoom.For(zoom.Account{Tokens: zoom.StaticToken(tok.AccessToken), NoCache: true}).Me(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reading the installing Zoom user failed", "error", err.Error())
		// Whose account the grant is for is unknown: it may be one a live
		// connection uses, so it is discarded, never revoked.
		if errors.Is(err, zoom.ErrUnavailable) {
			return grant{}, ReasonZoomUnavailable
		}
		return grant{}, ReasonAuthorizeFailed
	}
	required, optional := missingScopes(tok.Scopes)
	if len(required) > 0 || me.AccountID == "" {
		s.revokeUnused(ctx, tok, me.AccountID)
		return grant{}, ReasonMissingScopes
	}
	return grant{User: *me, Token: *tok, Optional: optional}, ""
}

// linkGrant stores the connection of an authorized grant (a reinstall of
// the same Zoom account in the same tenant reuses and reactivates its
// connection).
func (s *Service) linkGrant(ctx context.Context, st installState, g grant) (string, string) {
	id, err := s.storeGrant(ctx, st, &g.User, &g.Token, g.Optional)
	if err != nil {
		if e, ok := apierror.As(err); ok && e.Field == "zoomAccountId" {
			s.revokeUnused(ctx, &g.Token, g.User.AccountID)
			return "", ReasonAlreadyConnected
		}
		s.log.ErrorContext(ctx, "storing a Marketplace install failed", "error", err.Error())
		return "", ReasonInternal
	}
	return id, ""
}

// sqlAccountHasMarketplace tells whether any Marketplace connection (of
// any tenant, any status) uses a Zoom account. It is not scoped by tenant on
// purpose: revoking deauthorizes our app for the whole Zoom account, so the
// question is about every tenant; only a boolean comes back.
const sqlAccountHasMarketplace = `SELECT EXISTS (
  SELECT 1 FROM zoom_connections WHERE zoom_account_id = $1 AND kind = 'MARKETPLACE')`

// revokeUnused gives back a grant the gateway will not keep, but only when
// no Marketplace connection of ours uses accountID: with Zoom, revoking
// deauthorizes the app for the account, which would kill that connection's
// grant too. Otherwise (or when the account is unknown) the token is just
// discarded; the live connection's grant is the app's authorization.
func (s *Service) revokeUnused(ctx context.Context, tok *zoom.OAuthToken, accountID string) {
	if accountID == "" {
		return
	}
	var inUse bool
	if err := s.db.QueryRow(ctx, sqlAccountHasMarketplace, accountID).Scan(&inUse); err != nil || inUse {
		if err != nil {
			s.log.WarnContext(ctx, "checking a Zoom account's connections failed; the unused grant is not revoked", "error", err.Error())
		}
		return
	}
	t := tok.RefreshToken
	if t == "" {
		t = tok.AccessToken
	}
	if err := s.zoom.RevokeToken(context.WithoutCancel(ctx), s.app, t); err != nil {
		s.log.WarnContext(ctx, "revoking an unused Zoom grant failed", "error", err.Error())
	}
}

const (
	// sqlFindAccount is not scoped by tenant on purpose: a Zoom account is
	// linked to at most one connection across all tenants, and this finds
	// whether another tenant holds it (only to refuse the install).
	sqlFindAccount = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE zoom_account_id = $1
 ORDER BY id
   FOR UPDATE`
	sqlUpdateMarketplace = `UPDATE zoom_connections
   SET client_id = $3, admin_user_id = $4, admin_name = $5, admin_email = $6,
       status = $7, status_reason = NULLIF($8, ''), reported_status = $7,
       missing_scopes = $9, authorized_at = now(), updated_at = now()
 WHERE id = $1 AND tenant_id = $2`
)

// storeGrant inserts or reactivates the connection with its sealed grant,
// audit event, status event and a sync, in one transaction.
func (s *Service) storeGrant(ctx context.Context, st installState, me *zoom.User, tok *zoom.OAuthToken, optional []string) (string, error) {
	status, reason := scopeStatus(optional)
	var id string
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlFindAccount, me.AccountID)
		if err != nil {
			return err
		}
		existing, err := pgx.CollectRows(rows, scanConnection)
		if err != nil {
			return err
		}
		action := "connection.reauthorized"
		switch {
		case len(existing) == 0:
			action = "connection.connected"
			err = tx.QueryRow(ctx, sqlInsertConnection, st.TenantID, zoom.KindMarketplace, me.AccountID, s.app.ClientID,
				"Zoom account "+me.AccountID, zoom.PlanPro, me.ID, adminName(me), me.Email, status, reason,
				nonNil(tok.Scopes), nonNil(optional), st.Actor).Scan(&id)
			if store.ConstraintError(err) == "zoom_connections_account" {
				return apierror.Invalid("zoomAccountId", "this Zoom account is already connected")
			}
			if err != nil {
				return fmt.Errorf("insert: %w", err)
			}
		case existing[0].TenantID != st.TenantID || existing[0].Kind != zoom.KindMarketplace || existing[0].Status == StatusDisconnecting:
			return apierror.Invalid("zoomAccountId", "this Zoom account is already connected")
		default:
			id = existing[0].ID
		}
		if err := s.tokens.SaveGrant(ctx, tx, zoom.ConnectionRef{ID: id, TenantID: st.TenantID}, *tok); err != nil {
			return err
		}
		// SaveGrant sets ACTIVE; keep MISSING_SCOPE when optional scopes lack.
		if _, err := tx.Exec(ctx, sqlUpdateMarketplace, id, st.TenantID, s.app.ClientID, me.ID, adminName(me), me.Email,
			status, reason, nonNil(optional)); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Event{
			TenantID: st.TenantID, Actor: st.Actor, Action: action, TargetType: "zoom_connection", TargetID: id,
			Details: map[string]any{"kind": string(zoom.KindMarketplace), "zoomAccountId": me.AccountID,
				"admin": me.Email, "missingScopes": nonNil(optional)},
		}); err != nil {
			return err
		}
		if err := s.enqueueSync(ctx, tx, st.TenantID, id, syncjob.TriggerConnect); err != nil {
			return err
		}
		return s.emitStatusOf(ctx, tx, st.TenantID, id)
	})
	if err == nil {
		s.zoom.ForgetConnection(id)
	}
	return id, err
}

func withQuery(base string, kv ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stateHash keys Redis by the state's hash, so a Redis dump holds no usable
// state.
func stateHash(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

func (s *Service) stateKey(h string) string       { return s.prefix + "connections:install:" + h }
func (s *Service) stateMarkerKey(h string) string { return s.prefix + "connections:install-seen:" + h }
