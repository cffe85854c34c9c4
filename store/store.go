// Package store owns the gateway's Postgres: the connection pool, the
// embedded schema migrations (River's job tables included) and a transaction
// helper. Domain packages keep their own queries; store keeps what they share.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is the pool size unless DATABASE_URL sets pool_max_conns.
const DefaultMaxConns = 32

// Open connects a pool to databaseURL and checks that the server answers.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgx echoes the URL (password included) in parse errors; don't.
		return nil, errors.New("store.Open: DATABASE_URL is not a valid Postgres URL")
	}
	// pgx defaults to max(4, cores) connections, too few for River's workers
	// plus HTTP traffic; a pool_max_conns in the URL still wins.
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store.Open: ping: %w", err)
	}
	return pool, nil
}

// Beginner is what InTx needs: a pool, or a connection.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs fn in a transaction: committed when fn returns nil, rolled back
// when it returns an error or panics, so a failed operation leaves nothing
// half-written.
func InTx(ctx context.Context, db Beginner, fn func(tx pgx.Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store.InTx: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store.InTx: commit: %w", err)
	}
	return nil
}

// Postgres error codes the domain packages map to user-facing errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeInvalidText         = "22P02"
)

// ConstraintError reports which constraint a statement violated, or "" when
// err is not a constraint violation. Domain packages turn the name into a
// field error ("zoom_connections_account" → "this Zoom account is already
// connected").
func ConstraintError(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	switch pgErr.Code {
	case codeUniqueViolation, codeForeignKeyViolation, codeCheckViolation:
		return pgErr.ConstraintName
	}
	return ""
}

// IsInvalidText reports whether Postgres refused a value's text form, such as
// a malformed uuid: callers treat that as "not found", never as an internal error.
func IsInvalidText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeInvalidText
}

// CreateDatabase creates the database named in databaseURL by connecting to
// the server's "postgres" database. Dev mode uses it so `make run` works on a
// fresh machine.
func CreateDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return errors.New("store.CreateDatabase: DATABASE_URL is not a valid Postgres URL")
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store.CreateDatabase: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("store.CreateDatabase: %w", err)
	}
	return nil
}

// IsUnavailable reports whether err says Postgres itself could not serve
// the statement (no connection, the server shutting down or refusing
// connections, a pool that is closed) rather than refusing the statement.
// Callers report such a failure as our database being unavailable, never
// as an internal error or as Zoom's.
func IsUnavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up (context errors are net.Errors too)
	}
	// A connection lost mid-statement surfaces as a network error or an
	// unexpected EOF from pgconn.
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF)
}
