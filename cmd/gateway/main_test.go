package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"zoomsignage/store/storetest"
)

// TestOperatorCommands runs the CLI the way an operator does: each command
// prints only what the next one needs.
func TestOperatorCommands(t *testing.T) {
	pool, dbURL := storetest.NewWithURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	ctx := context.Background()

	var out bytes.Buffer
	if err := run([]string{"migrate"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	out.Reset()
	if err := run([]string{"tenant", "create", "--name", "Acme", "--licenses", "25"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("tenant create: %v", err)
	}
	tenantID := strings.TrimSpace(out.String())
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(tenantID) {
		t.Fatalf("tenant create printed %q, want only the id", out.String())
	}
	var limit int
	if err := pool.QueryRow(ctx, `SELECT license_limit FROM tenants WHERE id = $1`, tenantID).Scan(&limit); err != nil || limit != 25 {
		t.Fatalf("tenant row: limit %d, %v", limit, err)
	}

	out.Reset()
	if err := run([]string{"apikey", "create", "--tenant", tenantID, "--name", "partner", "--scopes", "rooms:read,rooms:write"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, "zsk_") || strings.ContainsAny(key, " \n") {
		t.Fatalf("apikey create printed %q, want only the key", out.String())
	}
	var keyID string
	var scopes []string
	if err := pool.QueryRow(ctx, `SELECT id, scopes FROM api_keys WHERE tenant_id = $1`, tenantID).Scan(&keyID, &scopes); err != nil {
		t.Fatal(err)
	}
	if strings.Join(scopes, ",") != "rooms:read,rooms:write" {
		t.Fatalf("scopes = %v", scopes)
	}

	out.Reset()
	if err := run([]string{"apikey", "revoke", "--id", keyID}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("apikey revoke: %v", err)
	}
	var revoked bool
	if err := pool.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1`, keyID).Scan(&revoked); err != nil || !revoked {
		t.Fatalf("revoked = %v, %v", revoked, err)
	}

	var audited int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND actor = 'cli'`, tenantID).Scan(&audited); err != nil || audited != 3 {
		t.Fatalf("audit events of the CLI = %d, %v; want tenant.create, apikey.create, apikey.revoke", audited, err)
	}

	bad := []struct {
		name string
		args []string
	}{
		{"unknown scope", []string{"apikey", "create", "--tenant", tenantID, "--name", "x", "--scopes", "rooms:delete"}},
		{"unknown tenant", []string{"apikey", "create", "--tenant", "00000000-0000-0000-0000-000000000000", "--name", "x", "--scopes", "admin"}},
		{"negative licenses", []string{"tenant", "create", "--name", "x", "--licenses", "-1"}},
		{"unknown key", []string{"apikey", "revoke", "--id", "00000000-0000-0000-0000-000000000000"}},
		{"unknown command", []string{"frobnicate"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			if err := run(tc.args, &out, &bytes.Buffer{}); err == nil {
				t.Fatalf("%v succeeded, printed %q", tc.args, out.String())
			}
			if out.Len() != 0 {
				t.Fatalf("a failed command printed to stdout: %q", out.String())
			}
		})
	}
}

func TestServeRefusesProductionWithoutVault(t *testing.T) {
	_, dbURL := storetest.NewWithURL(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("GATEWAY_ENV", "production")
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("JWT_HS256_SECRET", "a-secret-of-at-least-thirty-two-bytes!!")
	err := run([]string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "VAULT_ADDR") {
		t.Fatalf("serve without Vault in production: err = %v", err)
	}
}
