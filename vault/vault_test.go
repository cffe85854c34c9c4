package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"zoomsignage/vault"
	"zoomsignage/vault/vaulttest"
)

// sealers returns every Sealer implementation, each on a fresh key.
func sealers(t *testing.T) map[string]vault.Sealer {
	t.Helper()
	keyring, err := vault.NewDevKeyring(true, filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]vault.Sealer{"transit": vaulttest.New(t), "keyring": keyring}
}

func TestRoundTripIsBoundToTenant(t *testing.T) {
	ctx := context.Background()
	for name, s := range sealers(t) {
		t.Run(name, func(t *testing.T) {
			secret := []byte("zoom-client-secret-1234")
			ct, err := s.Seal(ctx, "tenant-a", secret)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(ct, string(secret)) {
				t.Fatal("ciphertext contains the plaintext")
			}
			got, err := s.Open(ctx, "tenant-a", ct)
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Open as owner = %q, %v; want the secret", got, err)
			}
			_, err = s.Open(ctx, "tenant-b", ct)
			if !errors.Is(err, vault.ErrOpen) {
				t.Fatalf("Open as another tenant: err = %v, want ErrOpen", err)
			}
			if err != nil && strings.Contains(err.Error(), ct) {
				t.Fatal("error quotes the ciphertext")
			}
			_, err = s.Open(ctx, "tenant-a", ct[:len(ct)-4]+"AAAA")
			if !errors.Is(err, vault.ErrOpen) {
				t.Fatalf("Open of a tampered ciphertext: err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestBatchKeepsOrder(t *testing.T) {
	ctx := context.Background()
	for name, s := range sealers(t) {
		t.Run(name, func(t *testing.T) {
			var plains []vault.Plain
			for i := range 5 {
				plains = append(plains, vault.Plain{TenantID: fmt.Sprintf("t%d", i%2), Plaintext: []byte(fmt.Sprintf("secret-%d", i))})
			}
			cts, err := s.SealBatch(ctx, plains)
			if err != nil {
				t.Fatal(err)
			}
			sealed := make([]vault.Sealed, len(cts))
			for i, ct := range cts {
				sealed[i] = vault.Sealed{TenantID: plains[i].TenantID, Ciphertext: ct}
			}
			opened, err := s.OpenBatch(ctx, sealed)
			if err != nil {
				t.Fatal(err)
			}
			for i := range plains {
				if !bytes.Equal(opened[i], plains[i].Plaintext) {
					t.Errorf("item %d opened as %q, want %q", i, opened[i], plains[i].Plaintext)
				}
			}
			sealed[1].TenantID = "intruder"
			if _, err := s.OpenBatch(ctx, sealed); !errors.Is(err, vault.ErrOpen) {
				t.Fatalf("batch with a wrong tenant: err = %v, want ErrOpen", err)
			}
		})
	}
}

func TestRotateThenRewrap(t *testing.T) {
	ctx := context.Background()
	for name, s := range sealers(t) {
		t.Run(name, func(t *testing.T) {
			old, err := s.Seal(ctx, "tenant-a", []byte("refresh-token"))
			if err != nil {
				t.Fatal(err)
			}
			v1, _ := s.KeyVersion(old)
			if err := s.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Open(ctx, "tenant-a", old); err != nil || string(got) != "refresh-token" {
				t.Fatalf("old ciphertext after rotate: %q, %v", got, err)
			}
			rewrapped, err := s.Rewrap(ctx, []vault.Sealed{{TenantID: "tenant-a", Ciphertext: old}})
			if err != nil {
				t.Fatal(err)
			}
			v2, err := s.KeyVersion(rewrapped[0])
			if err != nil || v2 != v1+1 {
				t.Fatalf("rewrapped version = %d, %v; want %d", v2, err, v1+1)
			}
			if got, err := s.Open(ctx, "tenant-a", rewrapped[0]); err != nil || string(got) != "refresh-token" {
				t.Fatalf("rewrapped ciphertext opens as %q, %v", got, err)
			}
		})
	}
}

func TestDevKeyringRefusedOutsideDevMode(t *testing.T) {
	_, err := vault.NewDevKeyring(false, filepath.Join(t.TempDir(), "k.json"))
	if !errors.Is(err, vault.ErrDevOnly) {
		t.Fatalf("NewDevKeyring(dev=false) err = %v, want ErrDevOnly", err)
	}
}

func TestDevKeyringSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.json")
	k1, err := vault.NewDevKeyring(true, path)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := k1.Seal(ctx, "t", []byte("x"))
	k2, err := vault.NewDevKeyring(true, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(ctx, "t", ct); err != nil || string(got) != "x" {
		t.Fatalf("reopened keyring: %q, %v", got, err)
	}
}

func TestTransitRefusesNonDerivedKey(t *testing.T) {
	cfg := vaulttest.Config(t)
	// A plain (non-derived) key would accept any context; NewTransit must refuse it.
	if err := createPlainKey(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.NewTransit(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "not derived") {
		t.Fatalf("NewTransit on a non-derived key: err = %v", err)
	}
}
