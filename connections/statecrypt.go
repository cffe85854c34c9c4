package connections

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// The install state's record (PKCE verifier, return URL, tenant) is kept
// in Redis under the state's hash and encrypted with a key derived from the
// state itself, which only the browser's URL and Zoom ever hold: a Redis
// dump has neither a usable state nor a readable verifier.

const stateKeyInfo = "zoomsignage connections install state v1"

// sealState encrypts plaintext with AES-256-GCM under a key derived from
// state (HKDF-SHA256); the nonce is prepended.
func sealState(state string, plaintext []byte) ([]byte, error) {
	aead, err := stateAEAD(state)
	if err != nil {
		return nil, fmt.Errorf("sealState: %w", err)
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return aead.Seal(nonce, nonce, plaintext, nil), nil
}

// openState decrypts what sealState sealed under the same state.
func openState(state string, sealed []byte) ([]byte, error) {
	aead, err := stateAEAD(state)
	if err != nil {
		return nil, fmt.Errorf("openState: %w", err)
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("openState: too short")
	}
	out, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("openState: %w", err)
	}
	return out, nil
}

func stateAEAD(state string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(state), nil, stateKeyInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
