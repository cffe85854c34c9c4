package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"zoomsignage/auth"
)

func writeJWKS(t *testing.T, keys ...map[string]string) string {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"keys": keys})
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func rsaJWK(kid string, k *rsa.PrivateKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func TestJWKSParsing(t *testing.T) {
	good, _ := rsa.GenerateKey(rand.Reader, 2048)
	short, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384pt, _ := p384.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name    string
		keys    []map[string]string
		wantErr bool
	}{
		{"one good key", []map[string]string{rsaJWK("a", good)}, false},
		{"a short RSA key is skipped", []map[string]string{rsaJWK("a", good), rsaJWK("s", short)}, false},
		{"a P-384 key is skipped", []map[string]string{rsaJWK("a", good), {"kty": "EC", "kid": "p", "crv": "P-384", "x": b64(p384pt[1:49]), "y": b64(p384pt[49:])}}, false},
		{"an off-curve point is skipped", []map[string]string{rsaJWK("a", good), {"kty": "EC", "kid": "o", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))}}, false},
		{"bad base64 is skipped", []map[string]string{rsaJWK("a", good), {"kty": "RSA", "kid": "b", "n": "!!!", "e": "AQAB"}}, false},
		{"only a short key", []map[string]string{rsaJWK("s", short)}, true},
		{"no keys", nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.LoadJWKSFile(writeJWKS(t, tc.keys...))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestJWTIssuerAndAudience(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, err := auth.LoadJWKSFile(writeJWKS(t, rsaJWK("a", key)))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewJWTVerifier(nil, jwks, nil)
	v = v.WithPolicy(auth.JWTClaimsPolicy{Issuer: "https://idp.example", Audience: "zoomsignage"})
	sign := func(iss, aud string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"sub": "u", "tenant": "7bfdfcde-9e73-482b-acb5-c6589e992c77", "role": "admin",
			"exp": time.Now().Add(time.Hour).Unix(), "iss": iss, "aud": aud,
		})
		s, _ := tok.SignedString(key)
		return s
	}
	cases := []struct {
		name, iss, aud string
		ok             bool
	}{
		{"right issuer and audience", "https://idp.example", "zoomsignage", true},
		{"token for another app", "https://idp.example", "billing", false},
		{"another issuer", "https://evil.example", "zoomsignage", false},
		{"no audience", "https://idp.example", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), sign(tc.iss, tc.aud))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("err %v is not ErrInvalidCredentials", err)
			}
		})
	}
}
