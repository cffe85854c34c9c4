package audit_test

import (
	"context"
	"strings"
	"testing"

	"zoomsignage/audit"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
)

// TestSecretsNeverStored: detail keys that name secrets are dropped at any
// depth, whatever a caller passes.
func TestSecretsNeverStored(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	err = audit.Record(ctx, db, audit.Event{TenantID: tn.ID, Actor: "test", Action: "x", Details: map[string]any{
		"label":         "kept",
		"clientSecret":  "PLANTED-1",
		"nested":        map[string]any{"access_token": "PLANTED-2", "ok": "kept"},
		"list":          []any{map[string]any{"apiKey": "PLANTED-3"}},
		"key":           "PLANTED-4",
		"Authorization": "PLANTED-5",
	}})
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.QueryRow(ctx, `SELECT details::text FROM audit_events WHERE tenant_id = $1`, tn.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "PLANTED") {
		t.Fatalf("a secret reached the audit log: %s", stored)
	}
	if strings.Count(stored, "kept") != 2 {
		t.Fatalf("non-secret details were dropped: %s", stored)
	}
}
