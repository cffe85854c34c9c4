package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"

	"zoomsignage/apierror"
)

// Transit seals with HashiCorp Vault's transit engine. The key is created
// with derived=true and every call passes the tenant id as the derivation
// context, so each tenant effectively has its own key: a ciphertext of
// tenant A fails to open as tenant B even though both use one named key.
//
// Its token is kept alive by a session (login.go): renewed before it
// expires, and replaced by a new login (AppRole, Kubernetes) when it cannot
// be renewed or Vault refuses it. Close stops the renewal.
type Transit struct {
	client *vaultapi.Client
	sess   *session
	mount  string
	key    string
}

// TransitConfig says where the transit engine and key live, and how to
// authenticate.
type TransitConfig struct {
	Address string // VAULT_ADDR
	Token   string // VAULT_TOKEN (the token auth method)
	Mount   string // transit mount path, default "transit"
	Key     string // VAULT_TRANSIT_KEY
	Auth    AuthConfig
	Logger  *slog.Logger // renewals and logins; nil discards
}

// NewTransit logs in to Vault, starts renewing the token, and makes sure
// the transit key exists (creating it with derived=true when absent). It
// refuses an existing key that is not derived, because then the tenant
// binding would silently not hold.
func NewTransit(ctx context.Context, cfg TransitConfig) (*Transit, error) {
	if cfg.Address == "" || cfg.Key == "" {
		return nil, errors.New("vault.NewTransit: address and key are required")
	}
	if err := cfg.Auth.Check(cfg.Token); err != nil {
		return nil, fmt.Errorf("vault.NewTransit: %w", err)
	}
	if cfg.Mount == "" {
		cfg.Mount = "transit"
	}
	vcfg := vaultapi.DefaultConfig()
	vcfg.Address = cfg.Address
	// Vault's client retries 5xx on its own; keep that short so /readyz and
	// request paths fail fast instead of hanging on a dead Vault.
	vcfg.MaxRetries = 1
	client, err := vaultapi.NewClient(vcfg)
	if err != nil {
		return nil, fmt.Errorf("vault.NewTransit: %w", err)
	}
	if cfg.Auth.method() == AuthToken {
		client.SetToken(cfg.Token)
	} else {
		client.ClearToken() // never VAULT_TOKEN of the process environment
	}
	t := &Transit{client: client, sess: newSession(client, cfg.Auth, cfg.Logger), mount: strings.Trim(cfg.Mount, "/"), key: cfg.Key}
	if err := t.sess.start(ctx); err != nil {
		return nil, fmt.Errorf("vault.NewTransit: %w", err)
	}
	if err := t.ensureKey(ctx); err != nil {
		t.Close()
		return nil, fmt.Errorf("vault.NewTransit: %w", err)
	}
	return t, nil
}

// Close stops renewing the token (it is left to expire, not revoked, so a
// replica shutting down never cuts off a token another process shares).
func (t *Transit) Close() { t.sess.close() }

// read and write are the client's calls through the session, so a token
// that lapsed is replaced and the call retried once.
func (t *Transit) read(ctx context.Context, path string) (*vaultapi.Secret, error) {
	var secret *vaultapi.Secret
	err := t.sess.do(ctx, func() (err error) {
		secret, err = t.client.Logical().ReadWithContext(ctx, path)
		return err
	})
	return secret, markUnavailable(err)
}

func (t *Transit) write(ctx context.Context, path string, data map[string]any) (*vaultapi.Secret, error) {
	var secret *vaultapi.Secret
	err := t.sess.do(ctx, func() (err error) {
		secret, err = t.client.Logical().WriteWithContext(ctx, path, data)
		return err
	})
	return secret, markUnavailable(err)
}

// markUnavailable marks Vault being down or refusing our token as our own
// dependency's failure (apierror.Unavailable): wherever it surfaces in a
// request (a connect sealing a secret, a sync opening a token) the client
// gets SERVICE_UNAVAILABLE naming Vault, never its address, instead of
// INTERNAL. errors.Is(err, ErrRefused / ErrUnavailable) still holds.
func markUnavailable(err error) error {
	if errors.Is(err, ErrRefused) || errors.Is(err, ErrUnavailable) {
		return apierror.Unavailable(apierror.Vault, err)
	}
	return err
}

// classify marks Vault's answers by what the caller can do about them:
// ErrRefused when Vault refused the token (403), ErrUnavailable when Vault
// could not be reached or could not serve (network errors, 5xx, sealed).
// Other errors (400s of bad input) are returned as they are.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrRefused) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrOpen) {
		return err
	}
	var re *vaultapi.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrRefused, err)
		case re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

func (t *Transit) path(op string) string {
	return t.mount + "/" + op + "/" + t.key
}

// ensureKey creates the derived key when absent and checks an existing one.
func (t *Transit) ensureKey(ctx context.Context) error {
	secret, err := t.read(ctx, t.path("keys"))
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	if secret == nil {
		_, err := t.write(ctx, t.path("keys"), map[string]any{
			"type":    "aes256-gcm96",
			"derived": true,
		})
		if err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		return nil
	}
	if derived, _ := secret.Data["derived"].(bool); !derived {
		return fmt.Errorf("transit key %q is not derived: tenant binding would not hold", t.key)
	}
	return nil
}

func tenantContext(tenantID string) string {
	return base64.StdEncoding.EncodeToString([]byte(tenantID))
}

// Seal implements Sealer.
func (t *Transit) Seal(ctx context.Context, tenantID string, plaintext []byte) (string, error) {
	out, err := t.SealBatch(ctx, []Plain{{TenantID: tenantID, Plaintext: plaintext}})
	if err != nil {
		return "", err
	}
	return out[0], nil
}

// Open implements Sealer.
func (t *Transit) Open(ctx context.Context, tenantID, ciphertext string) ([]byte, error) {
	out, err := t.OpenBatch(ctx, []Sealed{{TenantID: tenantID, Ciphertext: ciphertext}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// SealBatch implements Sealer with one transit call for all items.
func (t *Transit) SealBatch(ctx context.Context, items []Plain) ([]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	batch := make([]map[string]any, len(items))
	for i, it := range items {
		if it.TenantID == "" {
			return nil, errors.New("vault.SealBatch: tenant id is required")
		}
		batch[i] = map[string]any{
			"plaintext": base64.StdEncoding.EncodeToString(it.Plaintext),
			"context":   tenantContext(it.TenantID),
		}
	}
	results, err := t.batch(ctx, "encrypt", batch)
	if err != nil {
		return nil, fmt.Errorf("vault.SealBatch: %w", err)
	}
	return batchField(results, "ciphertext", "vault.SealBatch")
}

// OpenBatch implements Sealer with one transit call for all items.
func (t *Transit) OpenBatch(ctx context.Context, items []Sealed) ([][]byte, error) {
	if len(items) == 0 {
		return nil, nil
	}
	batch := make([]map[string]any, len(items))
	for i, it := range items {
		batch[i] = map[string]any{"ciphertext": it.Ciphertext, "context": tenantContext(it.TenantID)}
	}
	results, err := t.batch(ctx, "decrypt", batch)
	if err != nil {
		return nil, fmt.Errorf("vault.OpenBatch: %w", err)
	}
	encoded, err := batchField(results, "plaintext", "vault.OpenBatch")
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(encoded))
	for i, e := range encoded {
		if out[i], err = base64.StdEncoding.DecodeString(e); err != nil {
			return nil, fmt.Errorf("vault.OpenBatch: %w", ErrOpen)
		}
	}
	return out, nil
}

// Rewrap implements Sealer: Vault re-encrypts under the newest key version
// without the plaintext ever leaving it.
func (t *Transit) Rewrap(ctx context.Context, items []Sealed) ([]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	batch := make([]map[string]any, len(items))
	for i, it := range items {
		batch[i] = map[string]any{"ciphertext": it.Ciphertext, "context": tenantContext(it.TenantID)}
	}
	results, err := t.batch(ctx, "rewrap", batch)
	if err != nil {
		return nil, fmt.Errorf("vault.Rewrap: %w", err)
	}
	return batchField(results, "ciphertext", "vault.Rewrap")
}

// Rotate implements Sealer.
func (t *Transit) Rotate(ctx context.Context) error {
	if _, err := t.write(ctx, t.path("keys")+"/rotate", nil); err != nil {
		return fmt.Errorf("vault.Rotate: %w", err)
	}
	return nil
}

// KeyVersion implements Sealer by reading the "vault:vN:" prefix.
func (t *Transit) KeyVersion(ciphertext string) (int, error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || !strings.HasPrefix(parts[1], "v") {
		return 0, fmt.Errorf("vault.KeyVersion: %w", ErrOpen)
	}
	v, err := strconv.Atoi(strings.TrimPrefix(parts[1], "v"))
	if err != nil {
		return 0, fmt.Errorf("vault.KeyVersion: %w", ErrOpen)
	}
	return v, nil
}

// Ping implements Sealer: Vault must be unsealed and the key readable.
// The error wraps ErrRefused when Vault refuses our token (and no new one
// can be had), ErrUnavailable when Vault cannot be reached.
func (t *Transit) Ping(ctx context.Context) error {
	if _, err := t.read(ctx, t.path("keys")); err != nil {
		return fmt.Errorf("vault.Ping: %w", err)
	}
	return nil
}

// batch sends one transit batch request. A per-item error (wrong tenant,
// tampered ciphertext) fails the whole batch with ErrOpen; the error text of
// Vault is dropped because it may quote the input.
func (t *Transit) batch(ctx context.Context, op string, items []map[string]any) ([]any, error) {
	secret, err := t.write(ctx, t.path(op), map[string]any{"batch_input": items})
	if err != nil {
		var respErr *vaultapi.ResponseError
		if errors.As(err, &respErr) && respErr.StatusCode == http.StatusBadRequest {
			return nil, ErrOpen
		}
		return nil, fmt.Errorf("transit %s: %w", op, err)
	}
	if secret == nil {
		return nil, fmt.Errorf("transit %s: empty response", op)
	}
	results, _ := secret.Data["batch_results"].([]any)
	if len(results) != len(items) {
		return nil, fmt.Errorf("transit %s: %d results for %d items", op, len(results), len(items))
	}
	for _, r := range results {
		m, _ := r.(map[string]any)
		if e, _ := m["error"].(string); e != "" {
			return nil, ErrOpen
		}
	}
	return results, nil
}

func batchField(results []any, field, op string) ([]string, error) {
	out := make([]string, len(results))
	for i, r := range results {
		m, _ := r.(map[string]any)
		v, _ := m[field].(string)
		if v == "" && field != "plaintext" {
			return nil, fmt.Errorf("%s: result %d has no %s", op, i, field)
		}
		out[i] = v
	}
	return out, nil
}
