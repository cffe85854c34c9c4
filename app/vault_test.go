package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/vault/vaulttest"
)

// readyzVault polls /readyz until the vault check reads want (or fails t
// after a few seconds) and returns the status code and body.
func readyzVault(t *testing.T, g *gateway, want string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		code, body := get(t, g.url+"/readyz")
		var r struct {
			Checks map[string]string `json:"checks"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		if r.Checks["vault"] == want {
			return code, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz vault = %q, want %q: %d %s", r.Checks["vault"], want, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestReadyzTellsARefusedVaultToken runs the real gateway with AppRole
// configured through its variables: /readyz says "refused" (not
// "unreachable") once its token is revoked and its secret id destroyed, and
// recovers by itself when an operator writes a new secret id into
// VAULT_SECRET_ID_FILE (issue 11 item 7).
func TestReadyzTellsARefusedVaultToken(t *testing.T) {
	root := vaulttest.Root(t)
	key := "test-" + vaulttest.Suffix()
	role := vaulttest.NewAppRole(t, root, time.Hour, 2*time.Hour, vaulttest.TransitPolicy(t, root, "", key))
	secretID := role.SecretID(t)
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte(secretID), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfigEnv(t, map[string]string{
		"VAULT_AUTH_METHOD": "approle", "VAULT_AUTH_MOUNT": role.Mount,
		"VAULT_ROLE_ID": role.RoleID, "VAULT_SECRET_ID_FILE": file,
	})
	cfg.VaultToken, cfg.VaultTransitKey = "", key // AppRole alone: no root token to fall back on
	g := newGateway(t, &cfg)
	if code, body := readyzVault(t, g, "ok"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}

	role.RevokeTokens(t)
	role.DestroySecretID(t, secretID)
	code, body := readyzVault(t, g, "refused")
	if code != 503 || !strings.Contains(body, `"failed":["vault"]`) || strings.Contains(body, cfg.VaultAddr) {
		t.Fatalf("/readyz with a refused token = %d %s", code, body)
	}

	if err := os.WriteFile(file, []byte(role.SecretID(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := readyzVault(t, g, "ok"); code != 200 {
		t.Fatalf("/readyz after a new secret id = %d %s", code, body)
	}
}

// TestReadyzTellsARevokedToken: with token auth a revoked VAULT_TOKEN
// cannot be replaced, and /readyz says so as "refused".
func TestReadyzTellsARevokedToken(t *testing.T) {
	root := vaulttest.Root(t)
	cfg := testConfig(t)
	cfg.VaultToken = vaulttest.ChildToken(t, root, time.Hour, vaulttest.TransitPolicy(t, root, "", cfg.VaultTransitKey))
	g := newGateway(t, &cfg)
	readyzVault(t, g, "ok")
	if err := root.Auth().Token().RevokeOrphan(cfg.VaultToken); err != nil {
		t.Fatal(err)
	}
	if code, _ := readyzVault(t, g, "refused"); code != 503 {
		t.Fatalf("/readyz = %d", code)
	}
}

// TestConnectWhenVaultIsDown stops the gateway's own Vault (never the
// shared one): connecting a Zoom account, which must seal its secret,
// answers SERVICE_UNAVAILABLE naming Vault (never its address) instead of
// INTERNAL, and writes nothing; /readyz says vault "unreachable".
func TestConnectWhenVaultIsDown(t *testing.T) {
	own := vaulttest.Start(t)
	w := newZoomWorld(t, 2, func(c *app.Config) { c.VaultAddr, c.VaultToken = own.Addr, own.Token })
	tenant := w.tenant("Acme", 5)
	admin := userJWT(t, tenant, "admin", time.Hour)
	own.Stop()

	r := w.post(admin, connectS2S, s2sInput(w.seed.AccountID, w.seed.Server))
	if r.code() != "SERVICE_UNAVAILABLE" || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, "Vault is unavailable") {
		t.Fatalf("connect with Vault down = %s", r.Raw)
	}
	if strings.Contains(r.Raw, strings.TrimPrefix(own.Addr, "http://")) {
		t.Fatalf("the error names Vault's address: %s", r.Raw)
	}
	if n := w.count(t, `SELECT count(*) FROM zoom_connections WHERE tenant_id = $1`, tenant); n != 0 {
		t.Fatalf("%d connections written with Vault down", n)
	}
	if code, _ := readyzVault(t, w.gateway, "unreachable"); code != 503 {
		t.Fatalf("/readyz = %d", code)
	}
}
