// Package audit records who did what to which target, and when: every
// connect, disconnect, deauthorization, activation, settings push, restart
// and credential change. Events outlive what they describe (a disconnected
// connection's history stays) and are read back through GraphQL.
package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"zoomsignage/apierror"
)

// DB is what this package needs: a pool or a transaction, so an event can be
// written in the same transaction as the change it records.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Event is one audit record.
type Event struct {
	ID         int64
	TenantID   string
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Details    map[string]any
	CreatedAt  time.Time
}

// Filter narrows a listing; zero fields match everything.
type Filter struct {
	Action     string
	Actor      string
	TargetType string
	TargetID   string
	Since      *time.Time
	Until      *time.Time
}

// Page is one page of events, newest first.
type Page struct {
	Events  []Event
	HasNext bool
	// HasPrevious is set by ListBefore when newer events come before the first.
	HasPrevious bool
	EndCursor   string
	StartCursor string
	TotalCount  int
}

const (
	sqlInsert = `INSERT INTO audit_events (tenant_id, actor, action, target_type, target_id, details)
VALUES ($1, $2, $3, $4, $5, $6)`
	// auditColumns and auditFilters are shared by both page directions: the
	// filters are optional parameters $3 to $8, never concatenated SQL.
	auditColumns = `SELECT id, tenant_id, actor, action, target_type, target_id, details, created_at
FROM audit_events
WHERE tenant_id = $1`
	auditFilters = `
  AND ($3 = '' OR action = $3)
  AND ($4 = '' OR actor = $4)
  AND ($5 = '' OR target_type = $5)
  AND ($6 = '' OR target_id = $6)
  AND ($7::timestamptz IS NULL OR created_at >= $7)
  AND ($8::timestamptz IS NULL OR created_at < $8)`
	// sqlList pages newest first with a keyset cursor on id.
	sqlList = auditColumns + `
  AND ($2::bigint IS NULL OR id < $2)` + auditFilters + `
ORDER BY id DESC
LIMIT $9`
	// sqlListBefore is sqlList backwards: the events just newer than the
	// cursor (or the oldest ones), nearest first, so LIMIT keeps those next
	// to it; ListBefore turns them back into newest-first order.
	sqlListBefore = auditColumns + `
  AND ($2::bigint IS NULL OR id > $2)` + auditFilters + `
ORDER BY id ASC
LIMIT $9`
	sqlCount = `SELECT count(*) FROM audit_events
WHERE tenant_id = $1
  AND ($2 = '' OR action = $2)
  AND ($3 = '' OR actor = $3)
  AND ($4 = '' OR target_type = $4)
  AND ($5 = '' OR target_id = $5)
  AND ($6::timestamptz IS NULL OR created_at >= $6)
  AND ($7::timestamptz IS NULL OR created_at < $7)`
)

// MaxPageSize bounds one page.
const MaxPageSize = 500

// isSecretish reports whether a detail key names something that must never
// be stored, whatever a caller passes: a last line of defence against a
// secret reaching the audit log.
func isSecretish(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"secret", "token", "password", "credential", "authorization", "apikey", "api_key", "privatekey", "private_key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "key"
}

// Record writes e.
func Record(ctx context.Context, db DB, e Event) error {
	details, err := json.Marshal(scrub(e.Details))
	if err != nil {
		return fmt.Errorf("audit.Record: details: %w", err)
	}
	if _, err := db.Exec(ctx, sqlInsert, e.TenantID, e.Actor, e.Action, e.TargetType, e.TargetID, details); err != nil {
		return fmt.Errorf("audit.Record: %w", err)
	}
	return nil
}

// scrub drops secret-looking keys at every level of the details.
func scrub(details map[string]any) map[string]any {
	out := make(map[string]any, len(details))
	for k, v := range details {
		if !isSecretish(k) {
			out[k] = scrubValue(v)
		}
	}
	return out
}

func scrubValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return scrub(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = scrubValue(e)
		}
		return out
	}
	return v
}

// List returns up to first events of tenantID after cursor, newest first.
func List(ctx context.Context, db DB, tenantID string, first int, after string, f Filter) (Page, error) {
	events, err := list(ctx, db, sqlList, tenantID, "first", first, "after", after, f)
	if err != nil {
		return Page{}, fmt.Errorf("audit.List: %w", err)
	}
	page := Page{Events: events}
	if len(events) > first {
		page.Events, page.HasNext = events[:first], true
	}
	page.setCursors()
	return page, nil
}

// ListBefore returns up to last events of tenantID just newer than cursor
// (the oldest ones without one), still newest first: Relay's backward
// pagination. HasPrevious says newer events come before the first.
func ListBefore(ctx context.Context, db DB, tenantID string, last int, before string, f Filter) (Page, error) {
	events, err := list(ctx, db, sqlListBefore, tenantID, "last", last, "before", before, f)
	if err != nil {
		return Page{}, fmt.Errorf("audit.ListBefore: %w", err)
	}
	page := Page{Events: events}
	if len(events) > last {
		page.Events, page.HasPrevious = events[:last], true
	}
	slices.Reverse(page.Events)
	page.setCursors()
	return page, nil
}

// list runs one of the keyset queries for up to size+1 events from the
// cursor, in the query's order; the extra event tells whether more follow.
// sizeArg and cursorArg name the arguments in errors.
func list(ctx context.Context, db DB, query, tenantID, sizeArg string, size int, cursorArg, cursor string, f Filter) ([]Event, error) {
	if size < 0 || size > MaxPageSize {
		return nil, apierror.Invalid(sizeArg, "%s must be between 0 and %d", sizeArg, MaxPageSize)
	}
	var cursorID *int64
	if cursor != "" {
		id, err := decodeCursor(cursor)
		if err != nil {
			return nil, apierror.Invalid(cursorArg, "%s is not a cursor of this list", cursorArg)
		}
		cursorID = &id
	}
	rows, err := db.Query(ctx, query, tenantID, cursorID, f.Action, f.Actor, f.TargetType, f.TargetID, f.Since, f.Until, size+1)
	if err != nil {
		return nil, fmt.Errorf("audit.list: %w", err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("audit.list: %w", err)
	}
	return events, nil
}

func (p *Page) setCursors() {
	if n := len(p.Events); n > 0 {
		p.StartCursor = encodeCursor(p.Events[0].ID)
		p.EndCursor = encodeCursor(p.Events[n-1].ID)
	}
}

// Count returns how many events match f.
func Count(ctx context.Context, db DB, tenantID string, f Filter) (int, error) {
	rows, err := db.Query(ctx, sqlCount, tenantID, f.Action, f.Actor, f.TargetType, f.TargetID, f.Since, f.Until)
	if err != nil {
		return 0, fmt.Errorf("audit.Count: %w", err)
	}
	n, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("audit.Count: %w", err)
	}
	return n, nil
}

func scanEvent(row pgx.CollectableRow) (Event, error) {
	var e Event
	var details []byte
	if err := row.Scan(&e.ID, &e.TenantID, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &details, &e.CreatedAt); err != nil {
		return e, err
	}
	if err := json.Unmarshal(details, &e.Details); err != nil {
		return e, err
	}
	return e, nil
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("audit:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutPrefix(string(raw), "audit:")
	if !ok {
		return 0, fmt.Errorf("bad cursor")
	}
	return strconv.ParseInt(s, 10, 64)
}

// Cursor returns the opaque cursor that pages after e.
func Cursor(e Event) string { return encodeCursor(e.ID) }
