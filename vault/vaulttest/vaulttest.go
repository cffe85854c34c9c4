// Package vaulttest connects tests to the real Vault dev server that
// `make test` starts (scripts/with-vault.sh). Each call gets its own transit
// key, so tests that rotate keys never disturb each other.
//
// TEST_VAULT_ADDR and TEST_VAULT_TOKEN must be set; a test that needs Vault
// fails loudly when they are not, it never skips.
package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"zoomsignage/vault"
)

// Config returns the transit configuration of the test Vault with a fresh
// key name, failing t when no test Vault is configured.
func Config(t testing.TB) vault.TransitConfig {
	t.Helper()
	addr, token := os.Getenv("TEST_VAULT_ADDR"), os.Getenv("TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		t.Fatal("vaulttest: TEST_VAULT_ADDR and TEST_VAULT_TOKEN must point at a Vault dev server with transit enabled; run the tests with `make test` (scripts/with-vault.sh starts one)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return vault.TransitConfig{Address: addr, Token: token, Key: "test-" + hex.EncodeToString(b)}
}

// New returns a Transit sealer on a fresh key of the test Vault.
func New(t testing.TB) *vault.Transit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := vault.NewTransit(ctx, Config(t))
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	return tr
}
