package zoom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// AppCredentials are an OAuth app's client id and secret. The secret is
// redacted when the value is printed or logged.
type AppCredentials struct {
	ClientID     string
	ClientSecret string
}

// String never shows the secret.
func (a AppCredentials) String() string {
	return "AppCredentials{ClientID:" + a.ClientID + ", ClientSecret:REDACTED}"
}

// GoString never shows the secret (%#v).
func (a AppCredentials) GoString() string { return a.String() }

// LogValue never logs the secret.
func (a AppCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", a.ClientID))
}

// OAuthToken is an answer of Zoom's token endpoint. Its tokens are redacted
// when the value is printed or logged.
type OAuthToken struct {
	AccessToken  string
	RefreshToken string // empty for Server-to-Server tokens
	TokenType    string
	ExpiresAt    time.Time
	Scopes       []string
	APIURL       string
}

// String never shows the tokens.
func (t OAuthToken) String() string {
	return fmt.Sprintf("OAuthToken{ExpiresAt:%s, Scopes:%v, AccessToken:REDACTED, RefreshToken:REDACTED}",
		t.ExpiresAt.UTC().Format(time.RFC3339), t.Scopes)
}

// GoString never shows the tokens (%#v).
func (t OAuthToken) GoString() string { return t.String() }

// LogValue never logs the tokens.
func (t OAuthToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires_at", t.ExpiresAt), slog.Any("scopes", t.Scopes))
}

// PKCE is a code verifier and its S256 challenge for one authorization.
type PKCE struct {
	Verifier  string // kept server-side with the state until the callback
	Challenge string // sent in the authorize URL
}

// NewPKCE returns a fresh verifier and challenge (RFC 7636, S256).
func NewPKCE() PKCE {
	v := oauth2.GenerateVerifier()
	return PKCE{Verifier: v, Challenge: oauth2.S256ChallengeFromVerifier(v)}
}

// AuthorizeURL returns the admin consent URL of a Marketplace install with
// state and a PKCE S256 challenge.
func (c *Client) AuthorizeURL(clientID, redirectURI, state, codeChallenge string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"state":                 {state},
		"code_challenge":        {codeChallenge},
		"code_challenge_method": {"S256"},
	}
	return c.oauthBase + "/oauth/authorize?" + q.Encode()
}

// ExchangeCode trades an authorization code (with its PKCE verifier) for a
// token pair. Codes are single-use, so it is never retried.
func (c *Client) ExchangeCode(ctx context.Context, app AppCredentials, code, redirectURI, verifier string) (*OAuthToken, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
	tok, err := c.tokenRequest(ctx, app, form)
	if err != nil {
		return nil, fmt.Errorf("zoom.ExchangeCode: %w", err)
	}
	return tok, nil
}

// RefreshToken trades a refresh token for a new pair. Zoom rotates refresh
// tokens: the one passed in is dead once this succeeds, so the caller must
// persist the new pair before using it (MarketplaceTokenSource does, under
// the row lock). Never retried: a lost answer would leave no valid token
// either way, and invalid_grant means reauthorization.
func (c *Client) RefreshToken(ctx context.Context, app AppCredentials, refreshToken string) (*OAuthToken, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	tok, err := c.tokenRequest(ctx, app, form)
	if err != nil {
		return nil, fmt.Errorf("zoom.RefreshToken: %w", err)
	}
	return tok, nil
}

// ServerAppToken gets a Server-to-Server token (account_credentials). Zoom
// may invalidate the account's previous token when it issues a new one, so
// callers share one token per account (ServerAppTokenSource).
func (c *Client) ServerAppToken(ctx context.Context, app AppCredentials, accountID string) (*OAuthToken, error) {
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {accountID}}
	tok, err := c.tokenRequest(ctx, app, form)
	if err != nil {
		return nil, fmt.Errorf("zoom.ServerAppToken: %w", err)
	}
	return tok, nil
}

// RevokeToken revokes a Marketplace grant (access or refresh token).
func (c *Client) RevokeToken(ctx context.Context, app AppCredentials, token string) error {
	status, body, err := c.postForm(ctx, "/oauth/revoke", app, url.Values{"token": {token}})
	if err != nil {
		return fmt.Errorf("zoom.RevokeToken: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("zoom.RevokeToken: %w", parseOAuthError(status, body))
	}
	return nil
}

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	APIURL       string `json:"api_url"`
}

// tokenRequest posts a grant to /oauth/token and decodes the answer.
func (c *Client) tokenRequest(ctx context.Context, app AppCredentials, form url.Values) (*OAuthToken, error) {
	grant := form.Get("grant_type")
	status, body, err := c.postForm(ctx, "/oauth/token", app, form)
	if err != nil {
		c.metrics.tokens.WithLabelValues(grant, "error").Inc()
		return nil, err
	}
	if status != http.StatusOK {
		oe := parseOAuthError(status, body)
		result := oe.Kind
		if result == "" {
			result = "error"
		}
		c.metrics.tokens.WithLabelValues(grant, result).Inc()
		return nil, oe
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		c.metrics.tokens.WithLabelValues(grant, "error").Inc()
		return nil, fmt.Errorf("%w: token response", ErrMalformedResponse)
	}
	c.metrics.tokens.WithLabelValues(grant, "ok").Inc()
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &OAuthToken{
		AccessToken:  tr.AccessToken,
		RefreshToken: tr.RefreshToken,
		TokenType:    tr.TokenType,
		ExpiresAt:    c.now().Add(ttl),
		Scopes:       strings.Fields(tr.Scope),
		APIURL:       tr.APIURL,
	}, nil
}

// postForm sends a form with the app's Basic credentials. Errors carry no
// form values (they hold codes and tokens).
func (c *Client) postForm(ctx context.Context, path string, app AppCredentials, form url.Values) (int, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.oauthBase+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(app.ClientID, app.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: POST %s: %w", ErrUnavailable, path, scrubURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: POST %s: read body: %w", ErrMalformedResponse, path, err)
	}
	return resp.StatusCode, body, nil
}

// parseOAuthError reads {"reason","error"}; anything else keeps the status.
func parseOAuthError(status int, body []byte) *OAuthError {
	var b struct {
		Reason string `json:"reason"`
		Error  string `json:"error"`
	}
	oe := &OAuthError{HTTPStatus: status}
	if err := json.Unmarshal(body, &b); err == nil && (b.Error != "" || b.Reason != "") {
		oe.Kind, oe.Reason = b.Error, b.Reason
	} else {
		oe.Reason = http.StatusText(status)
	}
	return oe
}
