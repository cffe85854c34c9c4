package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	eventsmigrations "zoomsignage/events/migrations"
	screensmigrations "zoomsignage/screens/migrations"
	webhooksmigrations "zoomsignage/webhooks/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationSet is one folder of numbered migrations. The store's own set
// (the foundation and the older domains' tables) applies first, then each
// domain that keeps its migrations beside its code, in this order; a set's
// files are recorded under its prefix, so numbers never clash across sets.
type migrationSet struct {
	prefix string
	files  fs.FS
}

// migrationSets lists every folder of migrations the gateway applies.
func migrationSets() []migrationSet {
	own, _ := fs.Sub(migrationFiles, "migrations")
	return []migrationSet{
		{prefix: "", files: own},
		{prefix: "screens/", files: screensmigrations.Files},
		{prefix: "events/", files: eventsmigrations.Files},
		{prefix: "webhooks/", files: webhooksmigrations.Files},
	}
}

// migrationLockID serialises migrations across replicas that start at once.
const migrationLockID = 7_204_311_905

const (
	sqlCreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`
	sqlAppliedMigrations = `SELECT version FROM schema_migrations ORDER BY version`
	sqlRecordMigration   = `INSERT INTO schema_migrations (version) VALUES ($1)`
	sqlLockMigrations    = `SELECT pg_advisory_xact_lock($1)`
	sqlLockSession       = `SELECT pg_advisory_lock($1)`
	sqlUnlockSession     = `SELECT pg_advisory_unlock($1)`
)

// Migrate brings the schema up to date: River's job tables first, then the
// gateway's own embedded migrations, each in its own transaction under an
// advisory lock so concurrent replicas apply each migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := migrateRiver(ctx, pool); err != nil {
		return fmt.Errorf("store.Migrate: river: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return fmt.Errorf("store.Migrate: %w", err)
	}
	for _, name := range names {
		if err := applyMigration(ctx, pool, name); err != nil {
			return fmt.Errorf("store.Migrate: %s: %w", name, err)
		}
	}
	return nil
}

// migrateRiver applies River's migrations. Some of them cannot share one
// transaction (they add enum values), so River runs each in its own, and a
// session advisory lock held on a dedicated connection keeps concurrent
// replicas from racing.
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, sqlLockSession, migrationLockID); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), sqlUnlockSession, migrationLockID) //nolint:errcheck
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// migrationNames lists the embedded migrations in the order they apply,
// each named as schema_migrations records it (its set's prefix + file).
func migrationNames() ([]string, error) {
	var names []string
	for _, set := range migrationSets() {
		entries, err := fs.Glob(set.files, "*.sql")
		if err != nil {
			return nil, err
		}
		sort.Strings(entries)
		for _, e := range entries {
			names = append(names, set.prefix+e)
		}
	}
	return names, nil
}

// migrationBody reads a migration by its recorded name.
func migrationBody(name string) ([]byte, error) {
	sets := migrationSets()
	for i := len(sets) - 1; i >= 0; i-- {
		if set := sets[i]; strings.HasPrefix(name, set.prefix) {
			return fs.ReadFile(set.files, strings.TrimPrefix(name, set.prefix))
		}
	}
	return nil, fmt.Errorf("store: no migration set for %s", name)
}

// applyMigration runs one migration unless it is recorded as applied.
func applyMigration(ctx context.Context, pool *pgxpool.Pool, name string) error {
	body, err := migrationBody(name)
	if err != nil {
		return err
	}
	return InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockMigrations, migrationLockID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlCreateMigrationsTable); err != nil {
			return err
		}
		applied, err := appliedMigrations(ctx, tx)
		if err != nil {
			return err
		}
		if applied[name] {
			return nil
		}
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, sqlRecordMigration, name)
		return err
	})
}

func appliedMigrations(ctx context.Context, tx pgx.Tx) (map[string]bool, error) {
	rows, err := tx.Query(ctx, sqlAppliedMigrations)
	if err != nil {
		return nil, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	applied := make(map[string]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}
