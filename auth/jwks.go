package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"sync"
	"time"
)

// JWKS holds the public keys that verify RS256 and ES256 JWTs, read from a
// file once or from a URL and refreshed periodically (and on an unknown kid,
// at most once per minRefetch) so the identity provider can rotate keys.
type JWKS struct {
	url        string
	client     *http.Client
	refresh    time.Duration
	minRefetch time.Duration
	now        func() time.Time

	mu        sync.Mutex     // guards keys and fetchedAt, never held during a fetch
	keys      map[string]jwk // by kid
	fetchedAt time.Time      // when the last fetch started
}

type jwk struct {
	kty string
	key any
}

// LoadJWKSFile reads a JWKS document from a file.
func LoadJWKSFile(path string) (*JWKS, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth.LoadJWKSFile: %w", err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("auth.LoadJWKSFile: %w", err)
	}
	return &JWKS{keys: keys, now: time.Now}, nil
}

// JWKSOptions tune a JWKS fetched from a URL; zero values take defaults.
type JWKSOptions struct {
	Client     *http.Client     // 10 s timeout by default
	Refresh    time.Duration    // refetch period, 15 min by default
	MinRefetch time.Duration    // least time between refetches on an unknown kid, 1 min by default
	Now        func() time.Time // time.Now by default
}

// NewJWKSURL fetches a JWKS from url now and keeps it fresh: refetched every
// Refresh, and on an unknown kid at most once per MinRefetch so forged
// tokens cannot make the gateway hammer the identity provider. When the
// provider is down, the keys already fetched keep working.
func NewJWKSURL(ctx context.Context, url string, opts JWKSOptions) (*JWKS, error) {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 15 * time.Minute
	}
	if opts.MinRefetch <= 0 {
		opts.MinRefetch = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	j := &JWKS{url: url, client: opts.Client, refresh: opts.Refresh, minRefetch: opts.MinRefetch, now: opts.Now}
	j.fetchedAt = j.now()
	if err := j.fetch(ctx); err != nil {
		return nil, fmt.Errorf("auth.NewJWKSURL: %w", err)
	}
	return j, nil
}

// Key returns the key with kid (or the only key of type kty when the token
// names no kid). Fetches happen outside the lock and detached from the
// caller's request, so a slow identity provider delays only the request
// that triggered the refetch, never every login.
func (j *JWKS) Key(ctx context.Context, kid, kty string) (any, error) {
	if j.due(j.refresh) {
		_ = j.fetch(ctx) // keep serving the old keys if the IdP is down
	}
	if k, ok := j.lookup(kid, kty); ok {
		return k, nil
	}
	if j.due(j.minRefetch) {
		if err := j.fetch(ctx); err == nil {
			if k, ok := j.lookup(kid, kty); ok {
				return k, nil
			}
		}
	}
	return nil, errors.New("no matching key in JWKS")
}

// due reports whether a fetch is due after period, and if so claims it (by
// moving fetchedAt) so concurrent callers do not all fetch at once.
func (j *JWKS) due(period time.Duration) bool {
	if j.url == "" {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.now().Sub(j.fetchedAt) <= period {
		return false
	}
	j.fetchedAt = j.now()
	return true
}

func (j *JWKS) lookup(kid, kty string) (any, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if kid != "" {
		k, ok := j.keys[kid]
		return k.key, ok && k.kty == kty
	}
	var found any
	n := 0
	for _, k := range j.keys {
		if k.kty == kty {
			found, n = k.key, n+1
		}
	}
	return found, n == 1
}

// fetch downloads the JWKS and swaps the keys in. It runs without the lock
// and on its own deadline, detached from the caller's cancellation.
func (j *JWKS) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fmt.Errorf("auth.JWKS.fetch: %w", err)
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("auth.JWKS.fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("auth.JWKS.fetch: JWKS answered %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("auth.JWKS.fetch: %w", err)
	}
	keys, err := parseJWKS(data)
	if err != nil {
		return fmt.Errorf("auth.JWKS.fetch: %w", err)
	}
	j.mu.Lock()
	j.keys = keys
	j.mu.Unlock()
	return nil
}

type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads the RSA and P-256 signing keys of a JWKS document and
// ignores others.
func parseJWKS(data []byte) (map[string]jwk, error) {
	var doc struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.New("JWKS is not valid JSON")
	}
	keys := make(map[string]jwk)
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		kid := k.Kid
		if kid == "" {
			kid = fmt.Sprintf("#%d", i)
		}
		// A key we cannot use (another curve, a short RSA key) is skipped:
		// an identity provider publishing one extra key must not lock every
		// user out.
		switch k.Kty {
		case "RSA":
			if pub, err := rsaKey(k); err == nil {
				keys[kid] = jwk{kty: "RSA", key: pub}
			}
		case "EC":
			if pub, err := ecKey(k); err == nil {
				keys[kid] = jwk{kty: "EC", key: pub}
			}
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no usable RS256 (RSA ≥ 2048 bits) or ES256 (P-256) signing key")
	}
	return keys, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

func rsaKey(k rawJWK) (*rsa.PublicKey, error) {
	n, err := b64int(k.N)
	if err != nil {
		return nil, err
	}
	e, err := b64int(k.E)
	if err != nil || !e.IsInt64() {
		return nil, errors.New("bad exponent")
	}
	if n.BitLen() < 2048 {
		return nil, errors.New("RSA key shorter than 2048 bits")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func ecKey(k rawJWK) (*ecdsa.PublicKey, error) {
	if k.Crv != "P-256" {
		return nil, errors.New("only P-256 is supported")
	}
	x, errX := base64.RawURLEncoding.DecodeString(k.X)
	y, errY := base64.RawURLEncoding.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("bad P-256 coordinates")
	}
	// ParseUncompressedPublicKey also checks that the point is on the curve.
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, errors.New("point not on curve")
	}
	return pub, nil
}
