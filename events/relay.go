package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Defaults of RelayOptions.
const (
	DefaultRelayBatch = 500
	DefaultRelayPoll  = time.Second
	DefaultRetryMin   = 100 * time.Millisecond
	DefaultRetryMax   = 5 * time.Second
)

const (
	// sqlRelayLock lets one relay of a consumer work at a time across
	// replicas (the others stand by and take over when its transaction
	// ends), so events reach the consumer in the order they were
	// committed rather than in interleaved batches.
	sqlRelayLock = `SELECT pg_try_advisory_xact_lock($1)`
	// sqlClaimEvents takes the consumer's oldest pending events. SKIP
	// LOCKED keeps a relay that lost its lock race from waiting on rows.
	sqlClaimEvents = `SELECT e.id, e.payload FROM event_outbox_pending p JOIN event_outbox e ON e.id = p.event_id
WHERE p.consumer = $1 ORDER BY p.event_id LIMIT $2 FOR UPDATE OF p SKIP LOCKED`
	sqlDoneEvents  = `DELETE FROM event_outbox_pending WHERE consumer = $1 AND event_id = ANY($2::bigint[])`
	sqlListen      = `LISTEN event_outbox`
	relayLockSpace = "zoomsignage:events:relay:"
)

// Handler receives a batch of a consumer's events, oldest first, inside the
// transaction that marks them handled: an error rolls the claim back and the
// batch is offered again after a backoff. A handler may write in tx (enqueue
// River jobs) so its own effects commit exactly with the claim; effects
// outside tx (a Redis publish) happen at least once, and consumers dedupe
// by event id.
type Handler func(ctx context.Context, tx pgx.Tx, evs []Event) error

// PublishTo is the handler of ConsumerSubscriptions: it publishes each
// batch to p (the Redis bus).
func PublishTo(p Publisher) Handler {
	return func(ctx context.Context, _ pgx.Tx, evs []Event) error { return p.Publish(ctx, evs...) }
}

// RelayOptions configure a Relay.
type RelayOptions struct {
	Logger *slog.Logger
	// Batch is the most events one claim takes (default DefaultRelayBatch).
	Batch int
	// Poll is how often the relay looks without a notification (default
	// DefaultRelayPoll): a lost LISTEN connection or another replica's
	// lock delays events by at most this long.
	Poll time.Duration
	// RetryMin and RetryMax bound the exponential backoff after a handler
	// error (defaults DefaultRetryMin, DefaultRetryMax).
	RetryMin, RetryMax time.Duration
}

// Relay moves one consumer's events from the outbox to its handler. Run
// one per consumer per replica.
type Relay struct {
	o        *Outbox
	consumer string
	handle   Handler
	opts     RelayOptions
	log      *slog.Logger
	lockKey  int64
}

// Relay builds the relay of one consumer.
func (o *Outbox) Relay(consumer string, handle Handler, opts RelayOptions) *Relay {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Batch = cmpOr(opts.Batch, DefaultRelayBatch)
	opts.Poll = cmpOr(opts.Poll, DefaultRelayPoll)
	opts.RetryMin = cmpOr(opts.RetryMin, DefaultRetryMin)
	opts.RetryMax = cmpOr(opts.RetryMax, DefaultRetryMax)
	h := fnv.New64a()
	_, _ = h.Write([]byte(relayLockSpace + consumer))
	return &Relay{o: o, consumer: consumer, handle: handle, opts: opts, lockKey: int64(h.Sum64()),
		log: opts.Logger.With("component", "events_relay", "consumer", consumer)}
}

// Run relays until ctx ends: it drains the pending events, then waits for
// a notification or the poll interval. Handler errors are retried with
// backoff for as long as they last (Redis down): the events wait in
// Postgres meanwhile.
func (r *Relay) Run(ctx context.Context) {
	if r.o.db == nil {
		r.log.Error("relay not started", "error", errNoDB.Error())
		return
	}
	wake := make(chan struct{}, 1)
	lctx, stop := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		r.listen(lctx, wake)
	}()
	defer func() { stop(); <-listening }()

	backoff := time.Duration(0)
	for ctx.Err() == nil {
		n, err := r.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			backoff = min(max(2*backoff, r.opts.RetryMin), r.opts.RetryMax)
			r.log.WarnContext(ctx, "relaying events failed; retrying", "retry_in", backoff.String(), "error", err.Error())
			sleep(ctx, backoff)
			continue
		case err != nil:
			return
		}
		backoff = 0
		if n >= r.opts.Batch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(r.opts.Poll):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Once claims one batch, hands it to the handler and marks it handled, in
// one transaction. It reports how many events it handled (0 when none was
// pending or another replica's relay holds the consumer).
func (r *Relay) Once(ctx context.Context) (int, error) {
	tx, err := r.o.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("events.Relay.Once: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var locked bool
	if err := tx.QueryRow(ctx, sqlRelayLock, r.lockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("events.Relay.Once: lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	rows, err := tx.Query(ctx, sqlClaimEvents, r.consumer, r.opts.Batch)
	if err != nil {
		return 0, fmt.Errorf("events.Relay.Once: claim: %w", err)
	}
	evs, err := collectEvents(rows)
	if err != nil {
		return 0, fmt.Errorf("events.Relay.Once: claim: %w", err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	if err := r.handle(ctx, tx, evs); err != nil {
		return 0, fmt.Errorf("events.Relay.Once: %s: %w", r.consumer, err)
	}
	ids := make([]int64, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	if _, err := tx.Exec(ctx, sqlDoneEvents, r.consumer, ids); err != nil {
		return 0, fmt.Errorf("events.Relay.Once: done: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("events.Relay.Once: commit: %w", err)
	}
	return len(evs), nil
}

// listen holds a LISTEN connection and signals wake on every notification,
// reconnecting after errors; the poll covers the gaps.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.log.DebugContext(ctx, "outbox listener lost; polling until it is back", "error", fmt.Sprint(err))
		sleep(ctx, r.opts.Poll)
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := r.o.db.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries a LISTEN: it is closed, never returned to the
	// pool for someone else's statements.
	defer func() {
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, sqlListen); err != nil {
		return err
	}
	for {
		_, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}
