package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/internal/testutil/clocktest"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
)

// TestRevocationHonouredWithinAMinute: replica B caches a key; replica A
// revokes it. B keeps accepting it only until its cache entry expires,
// which is well within the minute the contract promises.
func TestRevocationHonouredWithinAMinute(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.At(time.Now())
	replicaA := auth.NewAPIKeys(db, clock.Now)
	replicaB := auth.NewAPIKeys(db, clock.Now)

	key, secret, err := replicaA.Create(ctx, db, tn.ID, "partner", []auth.Scope{auth.ScopeRoomsRead}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replicaB.Verify(ctx, secret); err != nil {
		t.Fatalf("fresh key refused: %v", err)
	}
	if _, err := replicaA.Revoke(ctx, db, tn.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := replicaA.Verify(ctx, secret); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("revoking replica: err = %v, want ErrInvalidCredentials", err)
	}
	clock.Advance(59 * time.Second)
	if _, err := replicaB.Verify(ctx, secret); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("other replica 59 s after revocation: err = %v, want ErrInvalidCredentials", err)
	}
}

func TestKeysAreStoredHashed(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tn, _ := tenants.Create(ctx, db, "Acme", 1)
	keys := auth.NewAPIKeys(db, nil)
	_, secret, err := keys.Create(ctx, db, tn.ID, "k", []auth.Scope{auth.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// Every column of the row as text (bytea as hex and as escaped bytes):
	// the random part of the key must appear in none of them.
	var row string
	if err := db.QueryRow(ctx, `SELECT a::text || encode(a.key_hash, 'escape') FROM api_keys a`).Scan(&row); err != nil {
		t.Fatal(err)
	}
	randomPart := secret[12:]
	for _, probe := range []string{secret, randomPart, randomPart[:16], randomPart[len(randomPart)-16:]} {
		if strings.Contains(row, probe) {
			t.Fatalf("the stored row contains part of the secret key (%q)", probe)
		}
	}
	if len(secret) < 40 {
		t.Fatalf("key %d chars: want 32 random bytes", len(secret))
	}
}

// TestUnknownKeysAreAnsweredFromTheNegativeCache: a key found unknown is
// remembered for a while, so hammering wrong keys costs no statement: with
// the pool closed, the same wrong key is still refused as invalid (not as a
// database failure).
func TestUnknownKeysAreAnsweredFromTheNegativeCache(t *testing.T) {
	pool := storetest.New(t)
	keys := auth.NewAPIKeys(pool, nil)
	wrong := "zsk_" + strings.Repeat("n", 43)
	if _, err := keys.Verify(context.Background(), wrong); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("first try: %v, want invalid credentials", err)
	}
	pool.Close()
	if _, err := keys.Verify(context.Background(), wrong); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("second try with Postgres gone: %v, want invalid credentials from the cache", err)
	}
}

// TestKeysAreAuditedInTheirTransaction: CreateAudited and RevokeAudited
// (the API's and the CLI's one way to make and revoke keys) record their
// audit event with the change, and a refused change records nothing.
func TestKeysAreAuditedInTheirTransaction(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	tn, err := tenants.Create(ctx, pool, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewAPIKeys(pool, nil)
	events := func(action string) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = $2`, tn.ID, action).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, _, err := keys.CreateAudited(ctx, tn.ID, "", []auth.Scope{auth.ScopeRoomsRead}, "user:1"); err == nil {
		t.Fatal("a key without a name was created")
	}
	if n := events("apikey.create"); n != 0 {
		t.Fatalf("a refused create was audited %d times", n)
	}
	key, secret, err := keys.CreateAudited(ctx, tn.ID, "partner", []auth.Scope{auth.ScopeRoomsRead}, "user:1")
	if err != nil || secret == "" {
		t.Fatalf("create: %v", err)
	}
	if n := events("apikey.create"); n != 1 {
		t.Fatalf("create audited %d times, want 1", n)
	}
	if _, err := keys.RevokeAudited(ctx, "00000000-0000-4000-8000-000000000000", key.ID, "user:2"); err == nil {
		t.Fatal("another tenant revoked the key")
	}
	if _, err := keys.RevokeAudited(ctx, "", key.ID, "cli"); err != nil {
		t.Fatal(err)
	}
	if n := events("apikey.revoke"); n != 1 {
		t.Fatalf("revoke audited %d times, want 1 (the refused one not at all)", n)
	}
}

// TestKeyUseIsRecorded: a key's lastUsedAt is null until it authenticates,
// then set (it was never written).
func TestKeyUseIsRecorded(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewAPIKeys(db, time.Now)
	key, secret, err := keys.Create(ctx, db, tn.ID, "partner", []auth.Scope{auth.ScopeRoomsRead}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if key.LastUsedAt != nil {
		t.Fatalf("a new key was last used at %v", key.LastUsedAt)
	}
	if _, err := keys.Verify(ctx, secret); err != nil {
		t.Fatal(err)
	}
	list, err := keys.List(ctx, tn.ID)
	if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || time.Since(*list[0].LastUsedAt) > time.Minute {
		t.Fatalf("after a verification: %+v (%v), want lastUsedAt now", list, err)
	}
}
