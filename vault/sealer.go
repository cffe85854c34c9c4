// Package vault seals credentials (Zoom client secrets, access and refresh
// tokens) before they touch Postgres. Every ciphertext is bound to the tenant
// that owns it: a ciphertext sealed for tenant A does not open for tenant B,
// so a bug that mixes up rows cannot leak one customer's Zoom grant to another.
//
// Two implementations share the Sealer interface: Transit (HashiCorp Vault's
// transit engine, for production and tests) and Keyring (a local AES-256-GCM
// key, for dev mode only).
package vault

import (
	"context"
	"errors"
)

// Sealer seals and opens secrets bound to a tenant id.
type Sealer interface {
	// Seal encrypts plaintext for tenantID and returns an opaque ciphertext.
	Seal(ctx context.Context, tenantID string, plaintext []byte) (string, error)
	// Open decrypts a ciphertext that was sealed for tenantID.
	Open(ctx context.Context, tenantID, ciphertext string) ([]byte, error)
	// SealBatch seals many secrets in one round trip; results keep the order of items.
	SealBatch(ctx context.Context, items []Plain) ([]string, error)
	// OpenBatch opens many ciphertexts in one round trip; results keep the order of items.
	OpenBatch(ctx context.Context, items []Sealed) ([][]byte, error)
	// Rewrap re-encrypts ciphertexts under the newest key version without
	// exposing the plaintext; results keep the order of items.
	Rewrap(ctx context.Context, items []Sealed) ([]string, error)
	// Rotate adds a new key version; new seals use it, old ciphertexts still open.
	Rotate(ctx context.Context) error
	// KeyVersion reports which key version sealed a ciphertext.
	KeyVersion(ciphertext string) (int, error)
	// Ping checks that the sealer's backend is reachable (for /readyz).
	Ping(ctx context.Context) error
}

// Plain is one secret to seal for a tenant.
type Plain struct {
	TenantID  string
	Plaintext []byte
}

// Sealed is one ciphertext with the tenant it is bound to.
type Sealed struct {
	TenantID   string
	Ciphertext string
}

// ErrOpen is returned (wrapped) when a ciphertext cannot be opened: it was
// tampered with, sealed for another tenant, or is not a ciphertext at all.
// The message never contains the ciphertext or the plaintext.
var ErrOpen = errors.New("vault: ciphertext cannot be opened")

// ErrRefused is returned (wrapped) when Vault refuses the gateway's token
// (403) and no new token can be had: the token expired or was revoked and
// the auth method cannot log in again, or a login was refused. /readyz
// reports it apart from ErrUnavailable because the fix differs: new
// credentials, not a Vault restart.
var ErrRefused = errors.New("vault: Vault refused our token")

// ErrUnavailable is returned (wrapped) when Vault cannot be reached or
// cannot serve (network error, timeout, 5xx, sealed). Transit marks both
// errors as apierror.Unavailable(apierror.Vault), so clients get
// SERVICE_UNAVAILABLE naming Vault; the wrapped detail (with Vault's
// address) is for logs only.
var ErrUnavailable = errors.New("vault: unavailable")
