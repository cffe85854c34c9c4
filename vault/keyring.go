package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrDevOnly is returned when the local keyring is asked for outside dev
// mode: production must seal with Vault.
var ErrDevOnly = errors.New("vault: the local keyring is for dev mode only; set VAULT_ADDR and VAULT_TOKEN")

// Keyring is a local AES-256-GCM sealer for dev mode. Each tenant gets its
// own subkey derived with HKDF from the master key, so the tenant binding
// matches Transit. Keys are versioned so Rotate and Rewrap behave like
// transit's. The key file is plain on disk: never use it in production.
type Keyring struct {
	path string

	mu       sync.RWMutex
	versions [][]byte // versions[i] is key version i+1
}

type keyringFile struct {
	Keys []string `json:"keys"` // base64, oldest first
}

// NewDevKeyring opens (or creates) the keyring file at path. dev must be
// true: the constructor itself refuses production so no wiring mistake can
// put real customer secrets under a key on local disk.
func NewDevKeyring(dev bool, path string) (*Keyring, error) {
	if !dev {
		return nil, ErrDevOnly
	}
	k := &Keyring{path: path}
	if err := k.load(); err != nil {
		return nil, fmt.Errorf("vault.NewDevKeyring: %w", err)
	}
	return k, nil
}

func (k *Keyring) load() error {
	data, err := os.ReadFile(k.path)
	if errors.Is(err, os.ErrNotExist) {
		return k.addVersion()
	}
	if err != nil {
		return err
	}
	var f keyringFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("keyring file %s is corrupt", k.path)
	}
	for _, s := range f.Keys {
		key, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(key) != 32 {
			return fmt.Errorf("keyring file %s holds a bad key", k.path)
		}
		k.versions = append(k.versions, key)
	}
	if len(k.versions) == 0 {
		return k.addVersion()
	}
	return nil
}

// addVersion makes a fresh random key, persists the file atomically, and
// only then starts sealing with the key: a key that was never saved would
// make its ciphertexts unopenable after a restart. Callers hold mu.
func (k *Keyring) addVersion() error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	next := append(k.versions[:len(k.versions):len(k.versions)], key)
	f := keyringFile{}
	for _, v := range next {
		f.Keys = append(f.Keys, base64.StdEncoding.EncodeToString(v))
	}
	data, _ := json.Marshal(f)
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, k.path); err != nil {
		return err
	}
	k.versions = next
	return nil
}

func (k *Keyring) aead(version int, tenantID string) (cipher.AEAD, error) {
	if version < 1 || version > len(k.versions) {
		return nil, ErrOpen
	}
	sub, err := hkdf.Key(sha256.New, k.versions[version-1], nil, "zoomsignage tenant "+tenantID, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal implements Sealer.
func (k *Keyring) Seal(_ context.Context, tenantID string, plaintext []byte) (string, error) {
	if tenantID == "" {
		return "", errors.New("vault.Seal: tenant id is required")
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.sealLocked(tenantID, plaintext)
}

func (k *Keyring) sealLocked(tenantID string, plaintext []byte) (string, error) {
	version := len(k.versions)
	gcm, err := k.aead(version, tenantID)
	if err != nil {
		return "", fmt.Errorf("vault.Seal: %w", err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("vault.Seal: %w", err)
	}
	sealed := gcm.Seal(nonce, nonce, plaintext, nil)
	return "local:v" + strconv.Itoa(version) + ":" + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open implements Sealer.
func (k *Keyring) Open(_ context.Context, tenantID, ciphertext string) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.openLocked(tenantID, ciphertext)
}

func (k *Keyring) openLocked(tenantID, ciphertext string) ([]byte, error) {
	version, err := k.KeyVersion(ciphertext)
	if err != nil {
		return nil, err
	}
	gcm, err := k.aead(version, tenantID)
	if err != nil {
		return nil, fmt.Errorf("vault.Open: %w", ErrOpen)
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext[strings.LastIndex(ciphertext, ":")+1:])
	if err != nil || len(raw) < gcm.NonceSize() {
		return nil, fmt.Errorf("vault.Open: %w", ErrOpen)
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("vault.Open: %w", ErrOpen)
	}
	return plain, nil
}

// SealBatch implements Sealer.
func (k *Keyring) SealBatch(ctx context.Context, items []Plain) ([]string, error) {
	out := make([]string, len(items))
	for i, it := range items {
		s, err := k.Seal(ctx, it.TenantID, it.Plaintext)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// OpenBatch implements Sealer.
func (k *Keyring) OpenBatch(ctx context.Context, items []Sealed) ([][]byte, error) {
	out := make([][]byte, len(items))
	for i, it := range items {
		p, err := k.Open(ctx, it.TenantID, it.Ciphertext)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Rewrap implements Sealer.
func (k *Keyring) Rewrap(_ context.Context, items []Sealed) ([]string, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]string, len(items))
	for i, it := range items {
		plain, err := k.openLocked(it.TenantID, it.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("vault.Rewrap: %w", err)
		}
		if out[i], err = k.sealLocked(it.TenantID, plain); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rotate implements Sealer.
func (k *Keyring) Rotate(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.addVersion(); err != nil {
		return fmt.Errorf("vault.Rotate: %w", err)
	}
	return nil
}

// KeyVersion implements Sealer by reading the "local:vN:" prefix.
func (k *Keyring) KeyVersion(ciphertext string) (int, error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || parts[0] != "local" || !strings.HasPrefix(parts[1], "v") {
		return 0, fmt.Errorf("vault.KeyVersion: %w", ErrOpen)
	}
	v, err := strconv.Atoi(strings.TrimPrefix(parts[1], "v"))
	if err != nil {
		return 0, fmt.Errorf("vault.KeyVersion: %w", ErrOpen)
	}
	return v, nil
}

// Ping implements Sealer; a local keyring is always reachable.
func (k *Keyring) Ping(context.Context) error { return nil }
