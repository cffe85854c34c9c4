package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// ErrInvalidCredentials is returned for any credential that does not
// authenticate. Callers show one message for all causes so a forger learns
// nothing about which check failed; the cause is wrapped for logs.
var ErrInvalidCredentials = errors.New("auth: invalid credentials")

// userClaims are the web app's JWT claims.
type userClaims struct {
	jwt.RegisteredClaims
	Tenant string `json:"tenant"`
	Role   string `json:"role"`
	Email  string `json:"email"`
}

// JWTVerifier checks web-app JWTs: HS256 with a shared secret, and RS256 or
// ES256 with public keys from a JWKS. Only the algorithms whose keys are
// configured are accepted, and a key is used only with its own algorithm,
// so an RS256 public key can never be replayed as an HS256 secret.
type JWTVerifier struct {
	hsSecret []byte
	jwks     *JWKS
	now      func() time.Time
	issuer   string
	audience string
}

// JWTClaimsPolicy names the issuer and audience a token must carry; empty
// fields are not checked. Set them whenever the identity provider also
// issues tokens for other applications.
type JWTClaimsPolicy struct {
	Issuer   string
	Audience string
}

// WithPolicy returns v requiring the policy's issuer and audience.
func (v *JWTVerifier) WithPolicy(p JWTClaimsPolicy) *JWTVerifier {
	c := *v
	c.issuer, c.audience = p.Issuer, p.Audience
	return &c
}

// NewJWTVerifier returns a verifier; hsSecret or jwks (or both) must be set.
func NewJWTVerifier(hsSecret []byte, jwks *JWKS, now func() time.Time) (*JWTVerifier, error) {
	if len(hsSecret) == 0 && jwks == nil {
		return nil, errors.New("auth.NewJWTVerifier: set JWT_HS256_SECRET or a JWKS")
	}
	if len(hsSecret) > 0 && len(hsSecret) < 32 {
		return nil, errors.New("auth.NewJWTVerifier: JWT_HS256_SECRET must be at least 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &JWTVerifier{hsSecret: hsSecret, jwks: jwks, now: now}, nil
}

func (v *JWTVerifier) methods() []string {
	var m []string
	if len(v.hsSecret) > 0 {
		m = append(m, "HS256")
	}
	if v.jwks != nil {
		m = append(m, "RS256", "ES256")
	}
	return m
}

// Verify parses and checks a JWT and returns its principal.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (*Principal, error) {
	var claims userClaims
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods()),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now),
		jwt.WithLeeway(30 * time.Second),
	}
	if v.issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.issuer))
	}
	if v.audience != "" {
		opts = append(opts, jwt.WithAudience(v.audience))
	}
	parser := jwt.NewParser(opts...)
	_, err := parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		return v.key(ctx, t)
	})
	if err != nil {
		return nil, fmt.Errorf("%w: jwt: %w", ErrInvalidCredentials, err)
	}
	return claims.principal()
}

// key picks the verification key for t's algorithm.
func (v *JWTVerifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	switch t.Method.Alg() {
	case "HS256":
		return v.hsSecret, nil
	case "RS256":
		k, err := v.jwks.Key(ctx, kid, "RSA")
		if err != nil {
			return nil, err
		}
		if _, ok := k.(*rsa.PublicKey); !ok {
			return nil, errors.New("key type does not match alg")
		}
		return k, nil
	case "ES256":
		k, err := v.jwks.Key(ctx, kid, "EC")
		if err != nil {
			return nil, err
		}
		if _, ok := k.(*ecdsa.PublicKey); !ok {
			return nil, errors.New("key type does not match alg")
		}
		return k, nil
	}
	return nil, errors.New("unsupported alg")
}

func (c *userClaims) principal() (*Principal, error) {
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: jwt: missing sub", ErrInvalidCredentials)
	}
	if _, err := uuid.Parse(c.Tenant); err != nil {
		return nil, fmt.Errorf("%w: jwt: missing or malformed tenant", ErrInvalidCredentials)
	}
	scopes, ok := roleScopes(c.Role)
	if !ok {
		return nil, fmt.Errorf("%w: jwt: role must be admin or viewer", ErrInvalidCredentials)
	}
	return &Principal{
		TenantID: c.Tenant,
		Actor:    "user:" + c.Subject,
		Scopes:   scopes,
		Kind:     KindUser,
		Email:    c.Email,
		Role:     c.Role,
	}, nil
}
