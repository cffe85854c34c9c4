package idempotency

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
)

func TestIsMutation(t *testing.T) {
	cases := []struct {
		name, body string
		want       bool
	}{
		{"anonymous mutation", `{"query":"mutation{restartZoomRoom(roomId:\"1\"){roomId}}"}`, true},
		{"query", `{"query":"{rooms{totalCount}}"}`, false},
		{"named mutation selected", `{"query":"query A{rooms{totalCount}} mutation B{x}","operationName":"B"}`, true},
		{"named query selected", `{"query":"query A{rooms{totalCount}} mutation B{x}","operationName":"A"}`, false},
		{"several operations, none selected", `{"query":"query A{a} mutation B{x}"}`, false},
		{"subscription", `{"query":"subscription{roomChanged{id}}"}`, false},
		{"not a document", `{"query":"mutation {"}`, false},
		{"not JSON", `mutation{x}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := isMutation([]byte(tc.body)); got != tc.want {
				t.Fatalf("isMutation(%s) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// Prune deletes keys past the retention and keeps the rest.
func TestPruneDeletesExpiredKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{Retention: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for key, age := range map[string]time.Duration{"old": 2 * time.Hour, "fresh": time.Minute} {
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, created_at) VALUES ($1, $2, '\x00', now() - $3 * interval '1 second')`,
			tn.ID, key, age.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	var left []string
	rows, err := db.Query(ctx, `SELECT key FROM idempotency_keys ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		left = append(left, k)
	}
	if len(left) != 1 || left[0] != "fresh" {
		t.Fatalf("left %v, want [fresh]", left)
	}
}
