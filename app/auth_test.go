package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"zoomsignage/auth"
)

func TestJWTAuthentication(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("Acme", 5)

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "u1", "tenant": tenant, "role": "admin", "email": "a@b.c", "exp": time.Now().Add(time.Hour).Unix()}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	without := func(key string) jwt.MapClaims { c := valid(); delete(c, key); return c }
	with := func(key string, v any) jwt.MapClaims { c := valid(); c[key] = v; return c }

	cases := []struct {
		name     string
		token    string
		wantCode string
	}{
		{"valid admin", sign(jwt.SigningMethodHS256, []byte(testSecret), valid()), ""},
		{"expired", sign(jwt.SigningMethodHS256, []byte(testSecret), with("exp", time.Now().Add(-time.Hour).Unix())), "UNAUTHENTICATED"},
		{"forged signature", sign(jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!!"), valid()), "UNAUTHENTICATED"},
		{"wrong algorithm HS512", sign(jwt.SigningMethodHS512, []byte(testSecret), valid()), "UNAUTHENTICATED"},
		{"wrong algorithm RS256 without JWKS", sign(jwt.SigningMethodRS256, rsaKey, valid()), "UNAUTHENTICATED"},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid()), "UNAUTHENTICATED"},
		{"missing exp", sign(jwt.SigningMethodHS256, []byte(testSecret), without("exp")), "UNAUTHENTICATED"},
		{"missing tenant", sign(jwt.SigningMethodHS256, []byte(testSecret), without("tenant")), "UNAUTHENTICATED"},
		{"missing sub", sign(jwt.SigningMethodHS256, []byte(testSecret), without("sub")), "UNAUTHENTICATED"},
		{"unknown role", sign(jwt.SigningMethodHS256, []byte(testSecret), with("role", "owner")), "UNAUTHENTICATED"},
		{"garbage", "not.a.jwt", "UNAUTHENTICATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.post(tc.token, `{viewer{tenantId actor role}}`, nil)
			if r.code() != tc.wantCode {
				t.Fatalf("code = %q, want %q (%s)", r.code(), tc.wantCode, r.Raw)
			}
			if tc.wantCode == "UNAUTHENTICATED" && r.Status != 401 {
				t.Fatalf("status = %d, want 401", r.Status)
			}
			if tc.wantCode == "" && r.Data["viewer"].(map[string]any)["tenantId"] != tenant {
				t.Fatalf("viewer = %v", r.Data)
			}
		})
	}
}

// TestJWKSAlgorithms checks RS256 and ES256 with keys from a JWKS file, and
// that an HS256 token "signed" with the RSA public key is refused (the
// classic algorithm-confusion forgery).
func TestJWKSAlgorithms(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	ecPoint, err := ecKey.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	jwks := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": "r1", "use": "sig", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "crv": "P-256", "x": b64(ecPoint[1:33]), "y": b64(ecPoint[33:])},
	}}
	path := filepath.Join(t.TempDir(), "jwks.json")
	data, _ := json.Marshal(jwks)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.JWTHS256Secret = ""
	cfg.JWTJWKSFile = path
	g := newGateway(t, &cfg)
	tenant := g.tenant("Acme", 1)
	claims := jwt.MapClaims{"sub": "u1", "tenant": tenant, "role": "viewer", "exp": time.Now().Add(time.Hour).Unix()}
	sign := func(method jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name, token, wantCode string
	}{
		{"RS256", sign(jwt.SigningMethodRS256, "r1", rsaKey), ""},
		{"ES256", sign(jwt.SigningMethodES256, "e1", ecKey), ""},
		{"RS256 with the EC kid", sign(jwt.SigningMethodRS256, "e1", rsaKey), "UNAUTHENTICATED"},
		{"RS256 signed by an unknown key", sign(jwt.SigningMethodRS256, "r1", otherRSA), "UNAUTHENTICATED"},
		{"HS256 with the public key as secret", sign(jwt.SigningMethodHS256, "r1", rsaKey.N.Bytes()), "UNAUTHENTICATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.post(tc.token, `{viewer{tenantId role scopes}}`, nil)
			if r.code() != tc.wantCode {
				t.Fatalf("code = %q, want %q (%s)", r.code(), tc.wantCode, r.Raw)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("Acme", 5)
	admin := g.apiKey(tenant, auth.ScopeAdmin)

	created := g.post(admin, `mutation($in: CreateApiKeyInput!){createApiKey(input:$in){key apiKey{id prefix scopes revoked}}}`,
		map[string]any{"in": map[string]any{"name": "partner", "scopes": []string{"rooms:read"}}})
	if created.code() != "" {
		t.Fatalf("createApiKey: %s", created.Raw)
	}
	res := created.Data["createApiKey"].(map[string]any)
	partnerKey := res["key"].(string)
	keyID := res["apiKey"].(map[string]any)["id"].(string)

	t.Run("the new key authenticates with its scopes", func(t *testing.T) {
		r := g.post(partnerKey, `{viewer{scopes kind}}`, nil)
		if r.code() != "" || r.Data["viewer"].(map[string]any)["kind"] != "API_KEY" {
			t.Fatalf("viewer: %s", r.Raw)
		}
	})
	t.Run("listing never returns secrets", func(t *testing.T) {
		r := g.post(admin, `{apiKeys{id name prefix}}`, nil)
		if r.code() != "" {
			t.Fatal(r.Raw)
		}
		if strings.Contains(r.Raw, partnerKey) || strings.Contains(r.Raw, partnerKey[len(partnerKey)-20:]) {
			t.Fatal("apiKeys response contains the secret")
		}
	})
	t.Run("a key without admin cannot create keys", func(t *testing.T) {
		r := g.post(partnerKey, `mutation{createApiKey(input:{name:"x",scopes:["admin"]}){key}}`, nil)
		if r.code() != "FORBIDDEN" {
			t.Fatalf("code = %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("unknown scopes are refused", func(t *testing.T) {
		r := g.post(admin, `mutation{createApiKey(input:{name:"x",scopes:["rooms:delete"]}){key}}`, nil)
		if r.code() != "BAD_USER_INPUT" {
			t.Fatalf("code = %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		r := g.post("zsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `{viewer{tenantId}}`, nil)
		if r.Status != 401 || r.code() != "UNAUTHENTICATED" {
			t.Fatalf("status %d code %q", r.Status, r.code())
		}
	})
	t.Run("a key with a known prefix but wrong secret", func(t *testing.T) {
		forged := partnerKey[:12] + "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
		r := g.post(forged, `{viewer{tenantId}}`, nil)
		if r.Status != 401 {
			t.Fatalf("status %d (%s)", r.Status, r.Raw)
		}
	})
	t.Run("another tenant cannot revoke the key", func(t *testing.T) {
		other := g.apiKey(g.tenant("Other", 1), auth.ScopeAdmin)
		r := g.post(other, `mutation($id: ID!){revokeApiKey(id:$id){id}}`, map[string]any{"id": keyID})
		if r.code() != "NOT_FOUND" {
			t.Fatalf("code = %q (%s)", r.code(), r.Raw)
		}
	})
	t.Run("revoked key", func(t *testing.T) {
		r := g.post(admin, `mutation($id: ID!){revokeApiKey(id:$id){revoked}}`, map[string]any{"id": keyID})
		if r.code() != "" {
			t.Fatal(r.Raw)
		}
		r = g.post(partnerKey, `{viewer{tenantId}}`, nil)
		if r.Status != 401 || r.code() != "UNAUTHENTICATED" {
			t.Fatalf("revoked key: status %d code %q", r.Status, r.code())
		}
	})
	t.Run("malformed ids are not found, not internal", func(t *testing.T) {
		r := g.post(admin, `mutation{revokeApiKey(id:"not-a-uuid"){id}}`, nil)
		if r.code() != "NOT_FOUND" {
			t.Fatalf("code = %q (%s)", r.code(), r.Raw)
		}
	})
}

// TestJWTIssuerAndAudienceFromEnv sets JWT_ISSUER and JWT_AUDIENCE the way
// an operator does (through app.FromEnv) and checks over HTTP that a token
// the same identity provider issued for another application, or by another
// issuer, is refused like a token with a bad key (issue 10 item 7).
func TestJWTIssuerAndAudienceFromEnv(t *testing.T) {
	cfg := testConfigEnv(t, map[string]string{"JWT_ISSUER": "https://idp.example", "JWT_AUDIENCE": "zoomsignage"})
	g := newGateway(t, &cfg)
	tenant := g.tenant("Acme", 5)
	sign := func(claims jwt.MapClaims) string {
		base := jwt.MapClaims{"sub": "u1", "tenant": tenant, "role": "admin", "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range claims {
			if v == nil {
				delete(base, k)
				continue
			}
			base[k] = v
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base).SignedString([]byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name     string
		claims   jwt.MapClaims
		wantCode string
	}{
		{"our issuer and audience", jwt.MapClaims{"iss": "https://idp.example", "aud": "zoomsignage"}, ""},
		{"our audience among others", jwt.MapClaims{"iss": "https://idp.example", "aud": []string{"other-app", "zoomsignage"}}, ""},
		{"wrong issuer", jwt.MapClaims{"iss": "https://evil.example", "aud": "zoomsignage"}, "UNAUTHENTICATED"},
		{"wrong audience (another app of the same provider)", jwt.MapClaims{"iss": "https://idp.example", "aud": "other-app"}, "UNAUTHENTICATED"},
		{"no issuer", jwt.MapClaims{"iss": nil, "aud": "zoomsignage"}, "UNAUTHENTICATED"},
		{"no audience", jwt.MapClaims{"iss": "https://idp.example", "aud": nil}, "UNAUTHENTICATED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.post(sign(tc.claims), `{viewer{tenantId}}`, nil)
			if r.code() != tc.wantCode {
				t.Fatalf("code = %q, want %q (%s)", r.code(), tc.wantCode, r.Raw)
			}
			if tc.wantCode != "" && r.Status != 401 {
				t.Fatalf("status = %d, want 401", r.Status)
			}
			if tc.wantCode == "" && r.Data["viewer"].(map[string]any)["tenantId"] != tenant {
				t.Fatalf("viewer = %v", r.Data)
			}
		})
	}
}
