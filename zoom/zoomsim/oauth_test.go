package zoomsim_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zoomsignage/zoom/zoomsim"
)

const redirect = "https://gateway.example.com/oauth/zoom/callback"

// authorize drives /oauth/authorize non-interactively and returns the
// redirect's query.
func (e *env) authorize(q url.Values) url.Values {
	e.t.Helper()
	resp, err := e.client.Get(e.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		e.t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func authQuery(e *env, user, challenge, method string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {e.seed.Marketplace.ClientID}, "redirect_uri": {redirect},
		"state": {"st8"}, "sim_user_id": {user}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", method)
	}
	return q
}

func TestOAuthAuthorizationCode(t *testing.T) {
	const verifier = "a-verifier-of-sufficient-length-0123456789abcdef"
	tests := []struct {
		name         string
		challenge    string
		method       string
		sentVerifier string
		sentRedirect string
		wantStatus   int
		wantError    string
	}{
		{"S256", s256(verifier), "S256", verifier, redirect, 200, ""},
		{"plain", verifier, "plain", verifier, redirect, 200, ""},
		{"no PKCE", "", "", "", redirect, 200, ""},
		{"S256 wrong verifier", s256(verifier), "S256", "wrong", redirect, 400, "invalid_grant"},
		{"S256 missing verifier", s256(verifier), "S256", "", redirect, 400, "invalid_grant"},
		{"plain wrong verifier", verifier, "plain", "wrong", redirect, 400, "invalid_grant"},
		{"redirect mismatch", "", "", "", redirect + "/x", 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
			q := e.authorize(authQuery(e, e.seed.Admin.ID, tt.challenge, tt.method))
			if q.Get("state") != "st8" || q.Get("code") == "" {
				t.Fatalf("redirect query %v", q)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {tt.sentRedirect}}
			if tt.sentVerifier != "" {
				form.Set("code_verifier", tt.sentVerifier)
			}
			body, status := e.token(e.seed.Marketplace, form)
			if status != tt.wantStatus || (tt.wantError != "" && body["error"] != tt.wantError) {
				t.Fatalf("token: %d %v", status, body)
			}
			if status != 200 {
				return
			}
			if body["token_type"] != "bearer" || body["refresh_token"] == "" || body["api_url"] != e.srv.URL ||
				!strings.Contains(body["scope"].(string), "zoom_rooms:read:list_rooms:admin") || body["expires_in"].(float64) != 3599 {
				t.Fatalf("token body %v", body)
			}
			// Single use.
			again, status := e.token(e.seed.Marketplace, form)
			if status != 400 || again["error"] != "invalid_grant" {
				t.Fatalf("code reuse: %d %v", status, again)
			}
			status, me, _ := e.call(body["access_token"].(string), "GET", "/users/me", nil)
			if status != 200 || me["id"] != e.seed.Admin.ID {
				t.Fatalf("me: %d %v", status, me)
			}
		})
	}
}

func TestOAuthAuthorizeOutcomes(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	deny := authQuery(e, e.seed.Admin.ID, "", "")
	deny.Set("sim_decision", "deny")
	tests := []struct {
		name      string
		q         url.Values
		wantError string
	}{
		{"denied", deny, zoomsim.AuthorizeErrDenied},
		{"member not allowed", authQuery(e, e.seed.Member.ID, "", ""), zoomsim.AuthorizeErrNotAllowed},
		{"bad challenge method", authQuery(e, e.seed.Admin.ID, "x", "md5"), zoomsim.AuthorizeErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.authorize(tt.q)
			if q.Get("error") != tt.wantError || q.Get("code") != "" || q.Get("state") != "st8" || q.Get("error_description") == "" {
				t.Fatalf("redirect query %v", q)
			}
		})
	}
	// A user-level app lets a member install it.
	app, err := e.sim.CreateApp(context.Background(), zoomsim.App{Kind: zoomsim.AppMarketplace, UserLevel: true, Scopes: []string{"user:read:user"}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.sim.Authorize(context.Background(), zoomsim.AuthorizeRequest{ClientID: app.ClientID, RedirectURI: redirect, UserID: e.seed.Member.ID})
	if err != nil || !strings.Contains(u, "code=") {
		t.Fatalf("user-level install: %q %v", u, err)
	}
	// Unknown client: no redirect.
	resp, err := e.client.Get(e.srv.URL + "/oauth/authorize?client_id=nope&redirect_uri=" + url.QueryEscape(redirect))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown client status %d", resp.StatusCode)
	}
}

func TestOAuthConsentPage(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	q := authQuery(e, "", "", "")
	q.Del("sim_user_id")
	resp, err := e.client.Get(e.srv.URL + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Approve", "Deny", e.seed.Admin.ID, `action="/oauth/authorize"`} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	form := url.Values{"client_id": {e.seed.Marketplace.ClientID}, "redirect_uri": {redirect}, "state": {"s"}, "user_id": {e.seed.Admin.ID}, "decision": {"approve"}}
	resp, err = e.client.PostForm(e.srv.URL+"/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || loc.Query().Get("code") == "" {
		t.Fatalf("form post: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestOAuthCodeExpires(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	q := e.authorize(authQuery(e, e.seed.Admin.ID, "", ""))
	e.clock.Advance(5 * time.Minute)
	body, status := e.token(e.seed.Marketplace, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect}})
	if status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", status, body)
	}
}

func TestOAuthRefreshRotation(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	q := e.authorize(authQuery(e, e.seed.Admin.ID, "", ""))
	first, _ := e.token(e.seed.Marketplace, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect}})
	rt1 := first["refresh_token"].(string)
	second, status := e.token(e.seed.Marketplace, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	if status != 200 || second["refresh_token"] == rt1 || second["access_token"] == first["access_token"] {
		t.Fatalf("refresh: %d %v", status, second)
	}
	reuse, status := e.token(e.seed.Marketplace, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	if status != 400 || reuse["error"] != "invalid_grant" || reuse["reason"] != "Invalid Token!" {
		t.Fatalf("reuse of rotated token: %d %v", status, reuse)
	}
	// The new refresh token works, with another app's credentials it does not.
	other, _ := e.sim.CreateApp(context.Background(), zoomsim.App{Kind: zoomsim.AppMarketplace})
	if body, status := e.token(other, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second["refresh_token"].(string)}}); status != 400 {
		t.Fatalf("foreign client refresh: %d %v", status, body)
	}
	third, status := e.token(e.seed.Marketplace, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second["refresh_token"].(string)}})
	if status != 200 {
		t.Fatalf("second refresh: %d %v", status, third)
	}
	if calls := e.sim.TokenCalls(); calls["refresh_token"] != 4 || calls["authorization_code"] != 1 {
		t.Fatalf("token calls %v", calls)
	}
}

func TestOAuthRevoke(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	q := e.authorize(authQuery(e, e.seed.Admin.ID, "", ""))
	tok, _ := e.token(e.seed.Marketplace, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirect}})
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok["access_token"].(string)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.seed.Marketplace.ClientID, e.seed.Marketplace.ClientSecret)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"status":"success"}` {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	status, eb, _ := e.call(tok["access_token"].(string), "GET", "/rooms", nil)
	wantZoomError(t, status, eb, 401, zoomsim.CodeInvalidToken)
	if b, status := e.token(e.seed.Marketplace, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}); status != 400 || b["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke: %d %v", status, b)
	}
}

func TestOAuthTokenErrors(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	badSecret := e.seed.Server
	badSecret.ClientSecret = "wrong"
	tests := []struct {
		name       string
		app        zoomsim.App
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"bad secret", badSecret, url.Values{"grant_type": {"account_credentials"}, "account_id": {e.seed.AccountID}}, 401, "invalid_client"},
		{"wrong account", e.seed.Server, url.Values{"grant_type": {"account_credentials"}, "account_id": {"other"}}, 400, "invalid_request"},
		{"marketplace s2s", e.seed.Marketplace, url.Values{"grant_type": {"account_credentials"}, "account_id": {e.seed.AccountID}}, 400, "invalid_client"},
		{"no grant type", e.seed.Server, url.Values{}, 400, "invalid_request"},
		{"unknown grant type", e.seed.Server, url.Values{"grant_type": {"password"}}, 400, "invalid_request"},
		{"unknown code", e.seed.Marketplace, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {redirect}}, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, status := e.token(tt.app, tt.form)
			if status != tt.wantStatus || body["error"] != tt.wantError || body["reason"] == "" {
				t.Fatalf("got %d %v", status, body)
			}
		})
	}
}

func TestOAuthServerToServerSingleToken(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(map[bool]string{false: "shared", true: "single"}[single], func(t *testing.T) {
			e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
			app, err := e.sim.CreateApp(context.Background(), zoomsim.App{AccountID: e.seed.AccountID, Scopes: zoomsim.DefaultScopes(), SingleToken: single})
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{"grant_type": {"account_credentials"}, "account_id": {e.seed.AccountID}}
			first, _ := e.token(app, form)
			if _, ok := first["refresh_token"]; ok {
				t.Fatal("S2S token carries a refresh token")
			}
			e.token(app, form)
			status, _, _ := e.call(first["access_token"].(string), "GET", "/rooms", nil)
			if want := map[bool]int{false: 200, true: 401}[single]; status != want {
				t.Fatalf("first token after second: %d, want %d", status, want)
			}
		})
	}
}

func TestOAuthRevokeGrantsControl(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	tok := e.s2sToken()
	n, err := e.sim.RevokeGrants(context.Background(), e.seed.Server.ClientID, e.seed.AccountID)
	if err != nil || n != 1 {
		t.Fatalf("revoked %d, %v", n, err)
	}
	status, body, _ := e.call(tok, "GET", "/rooms", nil)
	wantZoomError(t, status, body, 401, zoomsim.CodeInvalidToken)
}
