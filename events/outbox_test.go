package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"zoomsignage/events"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/store"
	"zoomsignage/store/storetest"
)

// relayed is an outbox, a bus on rdb that catches up from it, and the
// subscriptions relay between them, running until the test ends.
type relayed struct {
	db     *pgxpool.Pool
	outbox *events.Outbox
	bus    *events.Bus
}

func newRelayed(t testing.TB, db *pgxpool.Pool, rdb *redis.Client, prefix string) *relayed {
	t.Helper()
	outbox := events.NewOutbox(db)
	bus, err := events.NewBus(events.BusOptions{Redis: rdb, Prefix: prefix, Registerer: prometheus.NewRegistry(),
		Buffer: 10_000, Replay: outbox, PublishTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	relay := outbox.Relay(events.ConsumerSubscriptions, events.PublishTo(bus),
		events.RelayOptions{Poll: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		relay.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &relayed{db: db, outbox: outbox, bus: bus}
}

// commit records one room status change per room, each in its own
// transaction, as the sync does.
func (r *relayed) commit(t testing.TB, tenant string, rooms ...string) {
	t.Helper()
	for _, room := range rooms {
		err := store.InTx(context.Background(), r.db, func(tx pgx.Tx) error {
			return r.outbox.Add(context.Background(), tx, statusEvent(tenant, "conn-1", room))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (r *relayed) pending(t testing.TB) int {
	t.Helper()
	var n int
	if err := r.db.QueryRow(context.Background(), `SELECT count(*) FROM event_outbox_pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// receive collects events until one for room stop arrives, failing after
// wait.
func receive(t testing.TB, s *events.Stream[*events.Event], stop string) []*events.Event {
	t.Helper()
	var got []*events.Event
	for {
		ev := next(t, s)
		got = append(got, ev)
		if ev.Room != nil && ev.Room.ID == stop {
			return got
		}
	}
}

func rooms(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// TestCommittedEventsSurviveARedisOutageExactlyOnce is issue 11 item 5:
// status changes committed while Redis is down used to be lost for good.
// With the outbox they wait in Postgres, the relay retries, the
// subscriber's bus catches up after its pub/sub reconnect, and every event
// arrives exactly once, in commit order.
func TestCommittedEventsSurviveARedisOutageExactlyOnce(t *testing.T) {
	srv := redistest.StartServer(t)
	r := newRelayed(t, storetest.New(t), srv.Client(), "outage:")
	s := subscribe(t, r.bus, "tenant-a", all)

	before := rooms("before", 5)
	r.commit(t, "tenant-a", before...)
	receive(t, s, before[len(before)-1])

	srv.Stop()
	during := rooms("during", 40)
	r.commit(t, "tenant-a", during...)
	// Nothing could be published: every event waits in the outbox.
	time.Sleep(300 * time.Millisecond)
	if n := r.pending(t); n != len(during) {
		t.Fatalf("pending events while Redis is down = %d, want %d", n, len(during))
	}
	srv.Start()

	got := receive(t, s, during[len(during)-1])
	// A sentinel committed after the outage flushes anything still coming
	// (a duplicate from a retried batch or from the catch-up).
	r.commit(t, "tenant-a", "sentinel")
	got = append(got, receive(t, s, "sentinel")...)

	seen := map[string]int{}
	var order []string
	for _, ev := range got {
		seen[ev.Room.ID]++
		if ev.Room.ID != "sentinel" {
			order = append(order, ev.Room.ID)
		}
		if ev.ID == 0 {
			t.Errorf("event for %s has no id", ev.Room.ID)
		}
	}
	for _, room := range during {
		if seen[room] != 1 {
			t.Errorf("%s delivered %d times, want exactly once", room, seen[room])
		}
	}
	if len(got) != len(during)+1 {
		t.Errorf("received %d events after the outage, want %d (each committed one once)", len(got), len(during)+1)
	}
	for i := 1; i < len(order); i++ {
		if order[i] < order[i-1] {
			t.Fatalf("events out of commit order: %s after %s", order[i], order[i-1])
		}
	}
	// The relay marks a batch only after Redis took it.
	deadline := time.Now().Add(wait)
	for r.pending(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pending events after the outage = %d, want 0", r.pending(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRolledBackEventsAreNeverPublished: an event exists exactly when its
// change committed.
func TestRolledBackEventsAreNeverPublished(t *testing.T) {
	rdb, prefix := redistest.New(t)
	r := newRelayed(t, storetest.New(t), rdb, prefix)
	s := subscribe(t, r.bus, "tenant-a", all)
	ctx := context.Background()

	err := store.InTx(ctx, r.db, func(tx pgx.Tx) error {
		if err := r.outbox.Add(ctx, tx, statusEvent("tenant-a", "conn-1", "rolled-back")); err != nil {
			return err
		}
		return fmt.Errorf("the change failed")
	})
	if err == nil {
		t.Fatal("the transaction should have failed")
	}
	r.commit(t, "tenant-a", "committed")
	got := receive(t, s, "committed")
	if len(got) != 1 {
		t.Fatalf("received %v, want only the committed event", got)
	}
}

// TestBusDropsDuplicateEventIDs: a batch published twice (a relay whose
// mark-published commit was lost) reaches each subscriber once.
func TestBusDropsDuplicateEventIDs(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	s1 := subscribe(t, b, "tenant-a", all)
	s2 := subscribe(t, b, "tenant-a", all)
	ctx := context.Background()

	ev := statusEvent("tenant-a", "conn-1", "room-1")
	ev.ID = 41
	last := statusEvent("tenant-a", "conn-1", "last")
	last.ID = 42
	for _, batch := range [][]events.Event{{ev}, {ev}, {last}} {
		if err := b.Publish(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*events.Stream[*events.Event]{s1, s2} {
		if got := receive(t, s, "last"); len(got) != 2 {
			t.Errorf("received %d events, want 2 (the duplicate dropped)", len(got))
		}
	}
}

// TestOutboxKeepsOrderWithinATransaction: a sync's page of events arrives
// in the order it was added.
func TestOutboxKeepsOrderWithinATransaction(t *testing.T) {
	rdb, prefix := redistest.New(t)
	r := newRelayed(t, storetest.New(t), rdb, prefix)
	s := subscribe(t, r.bus, "tenant-a", all)
	ctx := context.Background()
	names := []string{"c", "a", "b", "z", "y"}
	err := store.InTx(ctx, r.db, func(tx pgx.Tx) error {
		evs := make([]events.Event, len(names))
		for i, n := range names {
			evs[i] = statusEvent("tenant-a", "conn-1", n)
		}
		return r.outbox.Add(ctx, tx, evs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := receive(t, s, "y")
	for i, ev := range got {
		if ev.Room.ID != names[i] {
			t.Fatalf("event %d is %s, want %s", i, ev.Room.ID, names[i])
		}
	}
}

// TestPruneKeepsPendingAndRecentEvents: pruning forgets only old events
// every consumer took.
func TestPruneKeepsPendingAndRecentEvents(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	outbox := events.NewOutbox(db, events.ConsumerSubscriptions, events.ConsumerWebhooks)
	err := store.InTx(ctx, db, func(tx pgx.Tx) error {
		return outbox.Add(ctx, tx, statusEvent("t", "c", "old-done"), statusEvent("t", "c", "old-pending"), statusEvent("t", "c", "new-done"))
	})
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `UPDATE event_outbox SET created_at = now() - interval '2 days' WHERE payload->'room'->>'id' LIKE 'old-%'`)
	mustExec(t, db, `DELETE FROM event_outbox_pending p USING event_outbox e WHERE e.id = p.event_id
AND (e.payload->'room'->>'id' <> 'old-pending' OR p.consumer = 'subscriptions')`)
	n, err := outbox.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("pruned %d events, want 1", n)
	}
	var left []string
	rows, _ := db.Query(ctx, `SELECT payload->'room'->>'id' FROM event_outbox ORDER BY id`)
	left, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(left) != "[old-pending new-done]" {
		t.Errorf("left %v, want [old-pending new-done]", left)
	}
}

func mustExec(t *testing.T, db *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// TestPublishedAfterCommitSurviveARedisOutage: code that reports its
// changes after their commit (screens) publishes through the outbox, so an
// event published while Redis is down waits there and is delivered once
// Redis is back; published to the bus directly, it was lost.
func TestPublishedAfterCommitSurviveARedisOutage(t *testing.T) {
	srv := redistest.StartServer(t)
	r := newRelayed(t, storetest.New(t), srv.Client(), "publish:")
	s := subscribe(t, r.bus, "tenant-a", all)
	var publisher events.Publisher = r.outbox

	srv.Stop()
	if err := publisher.Publish(context.Background(), statusEvent("tenant-a", "conn-1", "while-down")); err != nil {
		t.Fatalf("publishing with Redis down: %v (it should only need Postgres)", err)
	}
	srv.Start()
	receive(t, s, "while-down")
}
