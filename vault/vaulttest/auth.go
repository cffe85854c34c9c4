package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// Root returns a client of the test Vault with its root token, for tests
// that set up auth methods, policies and tokens.
func Root(t testing.TB) *vaultapi.Client {
	t.Helper()
	cfg := Config(t)
	return client(t, cfg.Address, cfg.Token)
}

func client(t testing.TB, addr, token string) *vaultapi.Client {
	t.Helper()
	vcfg := vaultapi.DefaultConfig()
	vcfg.Address = addr
	c, err := vaultapi.NewClient(vcfg)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	c.SetToken(token)
	return c
}

// Suffix returns a fresh name part, so tests sharing one Vault never touch
// each other's mounts, policies and keys.
func Suffix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TransitPolicy writes a policy allowing what the gateway does with the
// transit key (and nothing else) and returns its name.
func TransitPolicy(t testing.TB, root *vaultapi.Client, mount, key string) string {
	t.Helper()
	if mount == "" {
		mount = "transit"
	}
	name := "transit-" + key
	rules := fmt.Sprintf(`path "%[1]s/keys/%[2]s" { capabilities = ["create", "read", "update"] }
path "%[1]s/keys/%[2]s/rotate" { capabilities = ["update"] }
path "%[1]s/encrypt/%[2]s" { capabilities = ["update"] }
path "%[1]s/decrypt/%[2]s" { capabilities = ["update"] }
path "%[1]s/rewrap/%[2]s" { capabilities = ["update"] }
`, mount, key)
	if err := root.Sys().PutPolicy(name, rules); err != nil {
		t.Fatalf("vaulttest: policy: %v", err)
	}
	return name
}

// ChildToken creates a renewable token with the given policies and TTL
// (and no max TTL beyond Vault's), like an operator's short-lived token.
func ChildToken(t testing.TB, root *vaultapi.Client, ttl time.Duration, policies ...string) string {
	t.Helper()
	s, err := root.Auth().Token().Create(&vaultapi.TokenCreateRequest{
		Policies: policies, TTL: ttl.String(), Renewable: ptr(true), NoParent: true,
	})
	if err != nil {
		t.Fatalf("vaulttest: token: %v", err)
	}
	return s.Auth.ClientToken
}

func ptr[T any](v T) *T { return &v }

// AppRole is an AppRole auth method of its own mount with one role.
type AppRole struct {
	Mount, Role, RoleID string
	root                *vaultapi.Client
}

// NewAppRole enables AppRole at a fresh mount (removed at cleanup) with a
// role issuing tokens of ttl and maxTTL with policies.
func NewAppRole(t testing.TB, root *vaultapi.Client, ttl, maxTTL time.Duration, policies ...string) *AppRole {
	t.Helper()
	mount := "approle-" + Suffix()
	if err := root.Sys().EnableAuthWithOptions(mount, &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("vaulttest: enable approle: %v", err)
	}
	t.Cleanup(func() { _ = root.Sys().DisableAuth(mount) })
	a := &AppRole{Mount: mount, Role: "gateway", root: root}
	_, err := root.Logical().Write("auth/"+mount+"/role/"+a.Role, map[string]any{
		"token_ttl": int(ttl.Seconds()), "token_max_ttl": int(maxTTL.Seconds()),
		"token_policies": strings.Join(policies, ","),
	})
	if err != nil {
		t.Fatalf("vaulttest: approle role: %v", err)
	}
	s, err := root.Logical().Read("auth/" + mount + "/role/" + a.Role + "/role-id")
	if err != nil || s == nil {
		t.Fatalf("vaulttest: role id: %v", err)
	}
	a.RoleID, _ = s.Data["role_id"].(string)
	return a
}

// SecretID issues a new secret id for the role.
func (a *AppRole) SecretID(t testing.TB) string {
	t.Helper()
	s, err := a.root.Logical().Write("auth/"+a.Mount+"/role/"+a.Role+"/secret-id", nil)
	if err != nil || s == nil {
		t.Fatalf("vaulttest: secret id: %v", err)
	}
	id, _ := s.Data["secret_id"].(string)
	return id
}

// DestroySecretID makes a secret id unusable for further logins.
func (a *AppRole) DestroySecretID(t testing.TB, secretID string) {
	t.Helper()
	if _, err := a.root.Logical().Write("auth/"+a.Mount+"/role/"+a.Role+"/secret-id/destroy", map[string]any{"secret_id": secretID}); err != nil {
		t.Fatalf("vaulttest: destroy secret id: %v", err)
	}
}

// RevokeTokens revokes every token the role's logins issued so far, as an
// operator revoking a leaked credential does.
func (a *AppRole) RevokeTokens(t testing.TB) {
	t.Helper()
	if err := a.root.Sys().RevokePrefix("auth/" + a.Mount + "/login"); err != nil {
		t.Fatalf("vaulttest: revoke: %v", err)
	}
}

// Server is a Vault dev server of one test, on a free port: a test may stop
// it, which it must never do to the shared test Vault.
type Server struct {
	Addr, Token string
	cmd         *exec.Cmd
}

// Start runs a Vault dev server with transit enabled for t (stopped at
// cleanup). TEST_VAULT_BIN (set by scripts/with-vault.sh) names the binary.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := os.Getenv("TEST_VAULT_BIN")
	if bin == "" {
		t.Fatal("vaulttest: TEST_VAULT_BIN must name the dev Vault binary; run the tests with scripts/with-vault.sh")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Addr: "http://" + addr, Token: "root-" + Suffix()}
	s.cmd = exec.Command(bin, "server", "-dev", "-dev-root-token-id="+s.Token, "-dev-listen-address="+addr)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("vaulttest: start Vault: %v", err)
	}
	t.Cleanup(s.Stop)
	c := client(t, s.Addr, s.Token)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h, err := c.Sys().HealthWithContext(ctx)
		cancel()
		if err == nil && h.Initialized && !h.Sealed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaulttest: Vault at %s did not come up: %v", s.Addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.Sys().Mount("transit", &vaultapi.MountInput{Type: "transit"}); err != nil {
		t.Fatalf("vaulttest: enable transit: %v", err)
	}
	return s
}

// Stop stops the server (idempotent).
func (s *Server) Stop() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}
