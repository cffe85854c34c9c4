package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
	"zoomsignage/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	// The template is already migrated; migrating again must change nothing.
	if err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("schema_migrations has %d rows, want every embedded migration", n)
	}
	var riverTable bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL`).Scan(&riverTable); err != nil {
		t.Fatal(err)
	}
	if !riverTable {
		t.Fatal("River's river_job table is missing after Migrate")
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (name, license_limit) VALUES ('a', 1)`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx error = %v, want boom", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("tenants has %d rows after a rolled-back tx, want 0", n)
	}
}

func TestConstraintError(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO tenants (name, license_limit) VALUES ('a', -1)`)
	if got := store.ConstraintError(err); got != "tenants_license_limit_check" {
		t.Fatalf("ConstraintError = %q, want tenants_license_limit_check (err %v)", got, err)
	}
	_, err = pool.Exec(ctx, `SELECT * FROM tenants WHERE id = $1`, "not-a-uuid")
	if !store.IsInvalidText(err) {
		t.Fatalf("IsInvalidText(%v) = false, want true", err)
	}
}

// TestIsUnavailable tells Postgres being unreachable from Postgres refusing
// a statement, with real errors of both kinds.
func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	_, syntaxErr := pool.Exec(ctx, `SELEC 1`)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, canceledErr := pool.Exec(canceled, `SELECT 1`)
	_, connectErr := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:1/none?connect_timeout=2")
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"no server to connect to", connectErr, true},
		{"a statement Postgres refused", syntaxErr, false},
		{"the caller gave up", canceledErr, false},
		{"no error", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.err == nil && c.want {
				t.Fatal("no error to classify")
			}
			if got := store.IsUnavailable(c.err); got != c.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}
