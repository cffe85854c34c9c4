package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"zoomsignage/auth"
	"zoomsignage/internal/testutil/clocktest"
)

// jwksServer serves a JWKS whose keys the test can replace (an identity
// provider rotating its signing key) or break (the IdP being down).
type jwksServer struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	down    bool
	fetches atomic.Int32
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range s.keys {
		doc.Keys = append(doc.Keys, map[string]string{
			"kty": "RSA", "kid": kid, "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	_ = json.NewEncoder(w).Encode(doc)
}

func (s *jwksServer) set(keys map[string]*rsa.PrivateKey, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys, s.down = keys, down
}

func TestJWKSURLFollowsKeyRotation(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	idp := &jwksServer{keys: map[string]*rsa.PrivateKey{"k1": k1}}
	srv := httptest.NewServer(idp)
	defer srv.Close()

	ctx := context.Background()
	clock := clocktest.At(time.Now())
	jwks, err := auth.NewJWKSURL(ctx, srv.URL, auth.JWKSOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(nil, jwks, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := func(kid string, key *rsa.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"sub": "u", "tenant": "7bfdfcde-9e73-482b-acb5-c6589e992c77", "role": "viewer",
			"exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if _, err := v.Verify(ctx, token("k1", k1)); err != nil {
		t.Fatalf("k1: %v", err)
	}
	// The IdP rotates to k2; the verifier has not fetched since start, and
	// refetches on an unknown kid only once a minute: the first k2 token is
	// refused until then (a forger cannot make us hammer the IdP).
	idp.set(map[string]*rsa.PrivateKey{"k2": k2}, false)
	if _, err := v.Verify(ctx, token("k2", k2)); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("k2 before the refetch window: err = %v", err)
	}
	if n := idp.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (no refetch inside the window)", n)
	}
	clock.Advance(61 * time.Second)
	if _, err := v.Verify(ctx, token("k2", k2)); err != nil {
		t.Fatalf("k2 after the refetch window: %v", err)
	}
	if _, err := v.Verify(ctx, token("k1", k1)); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("k1 after the IdP dropped it: err = %v", err)
	}
	// The IdP goes down: the keys already fetched keep working through the
	// periodic refresh.
	idp.set(nil, true)
	clock.Advance(16 * time.Minute)
	if _, err := v.Verify(ctx, token("k2", k2)); err != nil {
		t.Fatalf("k2 while the IdP is down: %v", err)
	}
}

func TestJWKSURLRequiresAReachableIdPAtStart(t *testing.T) {
	idp := &jwksServer{down: true}
	srv := httptest.NewServer(idp)
	defer srv.Close()
	if _, err := auth.NewJWKSURL(context.Background(), srv.URL, auth.JWKSOptions{}); err == nil {
		t.Fatal("NewJWKSURL succeeded against a failing IdP")
	}
}
