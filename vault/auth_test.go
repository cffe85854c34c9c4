package vault_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"zoomsignage/vault"
	"zoomsignage/vault/vaulttest"
)

// sealWorks seals and opens one secret, failing t with what Vault said.
func sealWorks(t *testing.T, tr *vault.Transit, when string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ct, err := tr.Seal(ctx, "tenant-a", []byte("secret"))
	if err != nil {
		t.Fatalf("%s: Seal: %v", when, err)
	}
	if got, err := tr.Open(ctx, "tenant-a", ct); err != nil || string(got) != "secret" {
		t.Fatalf("%s: Open = %q, %v", when, got, err)
	}
}

// TestTokenRenewedPastItsTTL gives the sealer a renewable token of 3 s:
// without renewal it expires and Vault answers 403 (issue 11 item 7).
func TestTokenRenewedPastItsTTL(t *testing.T) {
	root := vaulttest.Root(t)
	cfg := vaulttest.Config(t)
	cfg.Token = vaulttest.ChildToken(t, root, 3*time.Second, vaulttest.TransitPolicy(t, root, "", cfg.Key))
	tr, err := vault.NewTransit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sealWorks(t, tr, "at once")
	time.Sleep(8 * time.Second) // well past the 3 s TTL
	sealWorks(t, tr, "after 8 s")
	if err := tr.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after 8 s: %v", err)
	}
}

// TestRefusedTokenIsToldFromUnreachableVault: a revoked token (token auth
// cannot log in again) is ErrRefused; a stopped Vault is ErrUnavailable.
func TestRefusedTokenIsToldFromUnreachableVault(t *testing.T) {
	ctx := context.Background()
	root := vaulttest.Root(t)
	cfg := vaulttest.Config(t)
	cfg.Token = vaulttest.ChildToken(t, root, time.Hour, vaulttest.TransitPolicy(t, root, "", cfg.Key))
	tr, err := vault.NewTransit(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := root.Auth().Token().RevokeOrphan(cfg.Token); err != nil {
		t.Fatal(err)
	}
	err = tr.Ping(ctx)
	if !errors.Is(err, vault.ErrRefused) || errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("Ping with a revoked token = %v, want ErrRefused", err)
	}
	if _, err := tr.Seal(ctx, "tenant-a", []byte("x")); !errors.Is(err, vault.ErrRefused) {
		t.Fatalf("Seal with a revoked token = %v, want ErrRefused", err)
	}

	own := vaulttest.Start(t)
	ocfg := vault.TransitConfig{Address: own.Addr, Token: own.Token, Key: "k"}
	otr, err := vault.NewTransit(ctx, ocfg)
	if err != nil {
		t.Fatal(err)
	}
	defer otr.Close()
	own.Stop()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = otr.Ping(pctx)
	if !errors.Is(err, vault.ErrUnavailable) || errors.Is(err, vault.ErrRefused) {
		t.Fatalf("Ping of a stopped Vault = %v, want ErrUnavailable", err)
	}
	if _, err := otr.Seal(pctx, "tenant-a", []byte("x")); !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("Seal on a stopped Vault = %v, want ErrUnavailable", err)
	}
}

// TestAppRole logs in with AppRole (enabled through the API on a mount of
// its own), keeps working past the role's max TTL (renewal ends, so it logs
// in again), logs in again at once when its token is revoked, and reports
// ErrRefused when the secret id is gone too.
func TestAppRole(t *testing.T) {
	ctx := context.Background()
	root := vaulttest.Root(t)
	cfg := vaulttest.Config(t)
	role := vaulttest.NewAppRole(t, root, 2*time.Second, 4*time.Second, vaulttest.TransitPolicy(t, root, "", cfg.Key))
	secretID := role.SecretID(t)
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte(secretID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Token = "" // AppRole never uses VAULT_TOKEN
	cfg.Auth = vault.AuthConfig{Method: vault.AuthAppRole, Mount: role.Mount, RoleID: role.RoleID, SecretIDFile: file}
	tr, err := vault.NewTransit(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sealWorks(t, tr, "after login")

	time.Sleep(7 * time.Second) // past the 4 s max TTL: only a new login keeps it working
	sealWorks(t, tr, "past the max TTL")

	role.RevokeTokens(t)
	sealWorks(t, tr, "right after the token was revoked")

	role.RevokeTokens(t)
	role.DestroySecretID(t, secretID)
	time.Sleep(1100 * time.Millisecond) // past the login backoff of earlier attempts
	if err := tr.Ping(ctx); !errors.Is(err, vault.ErrRefused) {
		t.Fatalf("Ping with the token revoked and the secret id destroyed = %v, want ErrRefused", err)
	}

	// A new secret id in the file (an operator rotating it) is used at the
	// next login.
	if err := os.WriteFile(file, []byte(role.SecretID(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := tr.Ping(ctx); err != nil {
		t.Fatalf("Ping after a new secret id: %v", err)
	}
	sealWorks(t, tr, "after the new secret id")
}

// TestKubernetesLogin can go only as far as Vault's own checks: there is no
// Kubernetes API here for Vault's TokenReview. It checks the login request
// (role, the service account token read from its file, the mount) and that
// Vault, with the kubernetes method enabled and a role configured, accepts
// the request up to its TokenReview (an unknown role is refused before).
func TestKubernetesLogin(t *testing.T) {
	ctx := context.Background()
	jwtFile := filepath.Join(t.TempDir(), "token")
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	jwt := b64(map[string]any{"alg": "RS256"}) + "." + b64(map[string]any{
		"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:default:gateway",
		"kubernetes.io/serviceaccount/namespace":            "default",
		"kubernetes.io/serviceaccount/service-account.name": "gateway",
		"kubernetes.io/serviceaccount/service-account.uid":  "8a3b0c1e-0000-4000-8000-000000000001",
	}) + ".c2lnbmF0dXJl"
	if err := os.WriteFile(jwtFile, []byte(jwt+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := vault.AuthConfig{Method: vault.AuthKubernetes, Mount: "k8s-" + vaulttest.Suffix(), K8sRole: "gateway", K8sTokenFile: jwtFile}
	path, body, err := auth.LoginRequest()
	if err != nil {
		t.Fatal(err)
	}
	if path != "auth/"+auth.Mount+"/login" || body["role"] != "gateway" || body["jwt"] != jwt {
		t.Fatalf("login request = %s %v", path, body)
	}
	if _, _, err := (vault.AuthConfig{Method: vault.AuthKubernetes, K8sRole: "r", K8sTokenFile: filepath.Join(t.TempDir(), "none")}).LoginRequest(); err == nil || !strings.Contains(err.Error(), "VAULT_K8S_TOKEN_FILE") {
		t.Fatalf("missing token file: %v", err)
	}

	root := vaulttest.Root(t)
	if err := root.Sys().EnableAuthWithOptions(auth.Mount, &vaultapi.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Sys().DisableAuth(auth.Mount) })
	if _, err := root.Logical().Write("auth/"+auth.Mount+"/config", map[string]any{
		"kubernetes_host": "https://127.0.0.1:1", "disable_local_ca_jwt": true,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/"+auth.Mount+"/role/gateway", map[string]any{
		"bound_service_account_names": "gateway", "bound_service_account_namespaces": "default", "token_policies": "default",
	}); err != nil {
		t.Fatal(err)
	}
	cfg := vaulttest.Config(t)
	cfg.Token, cfg.Auth = "", auth
	_, err = vault.NewTransit(ctx, cfg)
	if err == nil {
		t.Fatal("login succeeded without a Kubernetes API to review the token")
	}
	// Vault checked the role and the JWT's service account name and
	// namespace against it ("invalid role name", "service account name not
	// authorized" otherwise), then its TokenReview call had no Kubernetes to
	// ask: "permission denied".
	msg := err.Error()
	if strings.Contains(msg, "invalid role") || strings.Contains(msg, "not authorized") || !strings.Contains(msg, "permission denied") || strings.Contains(msg, jwt) {
		t.Fatalf("login of the configured role: %v (want Vault to reach its TokenReview, and never the JWT in the error)", err)
	}
	bad := cfg
	bad.Auth.K8sRole = "nope"
	if _, err := vault.NewTransit(ctx, bad); !errors.Is(err, vault.ErrRefused) || !strings.Contains(err.Error(), "invalid role") {
		t.Fatalf("login of an unknown role = %v, want ErrRefused naming the role", err)
	}
}

func TestAuthConfigCheck(t *testing.T) {
	cases := []struct {
		name  string
		auth  vault.AuthConfig
		token string
		want  string // "" when valid
	}{
		{"token", vault.AuthConfig{}, "t", ""},
		{"token missing", vault.AuthConfig{Method: vault.AuthToken}, "", "VAULT_TOKEN"},
		{"approle with secret id", vault.AuthConfig{Method: vault.AuthAppRole, RoleID: "r", SecretID: "s"}, "", ""},
		{"approle with file", vault.AuthConfig{Method: vault.AuthAppRole, RoleID: "r", SecretIDFile: "/f"}, "", ""},
		{"approle without secret", vault.AuthConfig{Method: vault.AuthAppRole, RoleID: "r"}, "", "VAULT_SECRET_ID"},
		{"approle with both", vault.AuthConfig{Method: vault.AuthAppRole, RoleID: "r", SecretID: "s", SecretIDFile: "/f"}, "", "VAULT_SECRET_ID_FILE"},
		{"kubernetes", vault.AuthConfig{Method: vault.AuthKubernetes, K8sRole: "gw"}, "", ""},
		{"kubernetes without role", vault.AuthConfig{Method: vault.AuthKubernetes}, "", "VAULT_K8S_ROLE"},
		{"unknown", vault.AuthConfig{Method: "userpass"}, "t", "VAULT_AUTH_METHOD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.auth.Check(tc.token)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}
