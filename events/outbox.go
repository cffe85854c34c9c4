package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// Consumers of the outbox. Each has its own pending row per event, so one
// consumer's outage (Redis down) never holds back or loses another's.
const (
	// ConsumerSubscriptions publishes to Redis for GraphQL subscriptions.
	ConsumerSubscriptions = "subscriptions"
	// ConsumerWebhooks turns events into partner webhook deliveries.
	ConsumerWebhooks = "webhooks"
)

// DefaultRetention is how long an event stays in the outbox after it was
// written: long enough for a replica's subscriptions to catch up after a
// Redis reconnect and for an operator to look at what was sent.
const DefaultRetention = 24 * time.Hour

const (
	// sqlAddEvents writes the events in the order given (ordinality, so the
	// ids follow it) and one pending row per consumer per event; the
	// statement trigger on event_outbox_pending notifies the relays.
	sqlAddEvents = `WITH ins AS (
  INSERT INTO event_outbox (tenant_id, kind, payload)
  SELECT u.tenant_id, u.kind, u.payload FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY
    AS u(tenant_id, kind, payload, n)
  ORDER BY u.n
  RETURNING id)
INSERT INTO event_outbox_pending (consumer, event_id)
SELECT c.consumer, ins.id FROM ins CROSS JOIN unnest($4::text[]) AS c(consumer)`
	// sqlEventsSince are a tenant's events after an id, for a subscription
	// that reconnected to Redis and may have missed some.
	sqlEventsSince = `SELECT id, payload FROM event_outbox WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`
	// sqlLatestEvent is the newest id of a tenant's events (0 when none).
	sqlLatestEvent = `SELECT coalesce(max(id), 0) FROM event_outbox WHERE tenant_id = $1`
	// sqlPruneOutbox forgets events older than the retention that every
	// consumer has taken.
	sqlPruneOutbox = `DELETE FROM event_outbox e WHERE e.created_at < $1
AND NOT EXISTS (SELECT 1 FROM event_outbox_pending p WHERE p.event_id = e.id)`
)

// Outbox is where domain code records events: Add in the transaction that
// makes the change, so an event exists exactly when its change is
// committed. Relays take the events from there to each consumer.
type Outbox struct {
	db        *pgxpool.Pool
	consumers []string
	retention time.Duration
}

// NewOutbox builds the outbox on db. consumers are the relays that will
// take every event (default: ConsumerSubscriptions alone); an event added
// before a consumer was configured is never offered to it.
func NewOutbox(db *pgxpool.Pool, consumers ...string) *Outbox {
	if len(consumers) == 0 {
		consumers = []string{ConsumerSubscriptions}
	}
	return &Outbox{db: db, consumers: consumers, retention: DefaultRetention}
}

// Consumers are the outbox's consumers.
func (o *Outbox) Consumers() []string { return append([]string(nil), o.consumers...) }

// Add records events in tx; they are relayed once tx commits and never if
// it rolls back. Events without a tenant or kind are refused; a zero At is
// set to now. The events' ids are assigned here (ID is ignored).
func (o *Outbox) Add(ctx context.Context, tx pgx.Tx, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	tenants, kinds, payloads := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	now := time.Now()
	for i, ev := range evs {
		if ev.TenantID == "" || ev.Kind == "" {
			return fmt.Errorf("events.Outbox.Add: event without tenant or kind (%q, %q)", ev.TenantID, ev.Kind)
		}
		if ev.At.IsZero() {
			ev.At = now
		}
		ev.ID = 0
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("events.Outbox.Add: %w", err)
		}
		tenants[i], kinds[i], payloads[i] = ev.TenantID, string(ev.Kind), string(b)
	}
	if _, err := tx.Exec(ctx, sqlAddEvents, tenants, kinds, payloads, o.consumers); err != nil {
		return fmt.Errorf("events.Outbox.Add: %w", err)
	}
	return nil
}

// AddNow records events that report no write of their own (a sync's
// progress counters) in a transaction of their own.
func (o *Outbox) AddNow(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	tx, err := o.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("events.Outbox.AddNow: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := o.Add(ctx, tx, evs...); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("events.Outbox.AddNow: %w", err)
	}
	return nil
}

// Publish records evs of changes already committed elsewhere, in a
// transaction of their own (as AddNow), so the relay delivers them, retried
// while Redis is down, instead of their going straight to Redis, where an
// outage loses them. It makes the outbox the Publisher of code that reports
// its changes after their commit (screens); code that can should Add in its
// own transaction, which also closes the window between commit and record.
func (o *Outbox) Publish(ctx context.Context, evs ...Event) error { return o.AddNow(ctx, evs...) }

var _ Publisher = (*Outbox)(nil)

// Since returns up to limit of a tenant's events with ids above afterID,
// oldest first, ids set.
func (o *Outbox) Since(ctx context.Context, tenantID string, afterID int64, limit int) ([]Event, error) {
	rows, err := o.db.Query(ctx, sqlEventsSince, tenantID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("events.Outbox.Since: %w", err)
	}
	out, err := collectEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("events.Outbox.Since: %w", err)
	}
	return out, nil
}

// Latest is the id of the tenant's newest event (0 when none).
func (o *Outbox) Latest(ctx context.Context, tenantID string) (int64, error) {
	var id int64
	if err := o.db.QueryRow(ctx, sqlLatestEvent, tenantID).Scan(&id); err != nil {
		return 0, fmt.Errorf("events.Outbox.Latest: %w", err)
	}
	return id, nil
}

// Prune deletes events older than the retention that every consumer took.
func (o *Outbox) Prune(ctx context.Context) (int64, error) {
	tag, err := o.db.Exec(ctx, sqlPruneOutbox, time.Now().Add(-o.retention))
	if err != nil {
		return 0, fmt.Errorf("events.Outbox.Prune: %w", err)
	}
	return tag.RowsAffected(), nil
}

// collectEvents decodes (id, payload) rows.
func collectEvents(rows pgx.Rows) ([]Event, error) {
	var out []Event
	var id int64
	var payload []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &payload}, func() error {
		var ev Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return fmt.Errorf("event %d: %w", id, err)
		}
		ev.ID = id
		out = append(out, ev)
		return nil
	})
	return out, err
}

// PruneOutboxArgs is the periodic job that forgets old outbox events.
type PruneOutboxArgs struct{}

// Kind implements river.JobArgs.
func (PruneOutboxArgs) Kind() string { return "events_prune_outbox" }

// PruneOutboxWorker works PruneOutboxArgs.
type PruneOutboxWorker struct {
	river.WorkerDefaults[PruneOutboxArgs]
	Outbox *Outbox
}

// Work implements river.Worker.
func (w *PruneOutboxWorker) Work(ctx context.Context, _ *river.Job[PruneOutboxArgs]) error {
	_, err := w.Outbox.Prune(ctx)
	return err
}

// AddWorkers registers the outbox's River workers.
func (o *Outbox) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &PruneOutboxWorker{Outbox: o})
}

// PeriodicJobs are the outbox's periodic jobs: hourly pruning.
func (o *Outbox) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneOutboxArgs{}, nil },
		&river.PeriodicJobOpts{ID: "events_prune_outbox"})}
}

// errNoDB is returned by relays of an outbox built without a pool.
var errNoDB = errors.New("events: the outbox has no database")
