package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Authenticator turns presented credentials into a Principal. Anything that
// starts with the API-key marker is an API key; anything else a JWT.
type Authenticator struct {
	JWT  *JWTVerifier // nil when no JWT keys are configured
	Keys *APIKeys
}

// Authenticate checks one credential: a bearer token or an API key.
func (a *Authenticator) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	credential = strings.TrimSpace(credential)
	if strings.HasPrefix(credential, keyPrefix) {
		return a.Keys.Verify(ctx, credential)
	}
	if a.JWT == nil {
		return nil, fmt.Errorf("%w: JWTs are not accepted: no JWT key is configured", ErrInvalidCredentials)
	}
	return a.JWT.Verify(ctx, credential)
}

// FromRequest reads the credential of an HTTP request: `Authorization:
// Bearer <jwt or key>` or `X-API-Key: <key>`. It returns ("", false) when
// the request carries none.
func FromRequest(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return h, true // present but unusable: Authenticate rejects it
		}
		return token, true
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k, true
	}
	return "", false
}

// FromInitPayload reads the credential of a websocket connection_init
// payload: {"authorization": "Bearer ..."} (any case; GraphiQL sends its
// headers editor's headers flat like this), {"apiKey": "..."},
// {"token": "..."}, {"authToken": "..."} (Apollo's documented example) or
// {"headers": {"Authorization": "Bearer ..."}} (urql's shape, the HTTP
// headers carried in the payload).
func FromInitPayload(payload map[string]any) (string, bool) {
	if credential, ok := fromPayloadKeys(payload); ok {
		return credential, true
	}
	for k, v := range payload {
		if headers, ok := v.(map[string]any); ok && strings.EqualFold(k, "headers") {
			return fromPayloadKeys(headers)
		}
	}
	return "", false
}

// fromPayloadKeys finds a credential among one level of payload keys.
func fromPayloadKeys(payload map[string]any) (string, bool) {
	for k, v := range payload {
		s, ok := v.(string)
		if !ok || s == "" {
			continue
		}
		switch strings.ToLower(k) {
		case "authorization", "apikey", "x-api-key", "token", "authtoken":
			// Clients put "Bearer " before a token under any of these keys.
			if scheme, token, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "Bearer") {
				return token, true
			}
			return s, true
		}
	}
	return "", false
}
