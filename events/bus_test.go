package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"zoomsignage/events"
	"zoomsignage/internal/testutil/redistest"
)

// wait bounds how long a test waits for something that should happen at
// once; it only turns a hang into a failure.
const wait = 10 * time.Second

func newBus(t *testing.T, rdb *redis.Client, prefix string, buffer int) *events.Bus {
	t.Helper()
	b, err := events.NewBus(events.BusOptions{Redis: rdb, Prefix: prefix, Buffer: buffer, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// all accepts every event.
func all(ev *events.Event) (*events.Event, bool) { return ev, true }

// ofConnection accepts room status events of one connection.
func ofConnection(id string) func(*events.Event) (*events.Event, bool) {
	return func(ev *events.Event) (*events.Event, bool) {
		return ev, ev.Kind == events.RoomStatusChanged && ev.ConnectionID == id
	}
}

func subscribe(t testing.TB, b *events.Bus, tenant string, convert func(*events.Event) (*events.Event, bool)) *events.Stream[*events.Event] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := events.Subscribe(ctx, b, tenant, convert, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func statusEvent(tenant, connection, room string) events.Event {
	return events.Event{Kind: events.RoomStatusChanged, TenantID: tenant, ConnectionID: connection,
		Room: &events.RoomSnapshot{ID: room, ConnectionID: connection, Status: "IN_MEETING"}, PreviousStatus: "AVAILABLE"}
}

// next receives one event or fails.
func next(t testing.TB, s *events.Stream[*events.Event]) *events.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C():
		if !ok {
			t.Fatalf("stream ended: %v", s.Err())
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event arrived")
		return nil
	}
}

// ended waits for the stream's channel to close, draining it, and returns
// how many events were still buffered and why it ended.
func ended(t *testing.T, s *events.Stream[*events.Event]) (int, error) {
	t.Helper()
	n := 0
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return n, s.Err()
			}
			n++
		case <-deadline:
			t.Fatal("stream did not end")
		}
	}
}

func TestPublishReachesOnlyMatchingSubscribersOfTheTenant(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	ctx := context.Background()

	allA := subscribe(t, b, "tenant-a", all)
	conn1A := subscribe(t, b, "tenant-a", ofConnection("conn-1"))
	allB := subscribe(t, b, "tenant-b", all)

	if err := b.Publish(ctx, statusEvent("tenant-a", "conn-2", "room-x"), statusEvent("tenant-a", "conn-1", "room-y")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, statusEvent("tenant-b", "conn-9", "room-b")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		s     *events.Stream[*events.Event]
		rooms []string
	}{
		{"all of tenant A, in order", allA, []string{"room-x", "room-y"}},
		{"tenant A filtered by connection", conn1A, []string{"room-y"}},
		{"tenant B", allB, []string{"room-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, want := range tt.rooms {
				ev := next(t, tt.s)
				if ev.Room.ID != want {
					t.Fatalf("room %s, want %s", ev.Room.ID, want)
				}
				if ev.At.IsZero() {
					t.Fatal("At was not set at publish")
				}
			}
		})
	}
	// A marker published last proves nothing else was queued for B.
	if err := b.Publish(ctx, statusEvent("tenant-b", "conn-9", "marker")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, allB); ev.Room.ID != "marker" || ev.TenantID != "tenant-b" {
		t.Fatalf("tenant B received %s of %s before its marker", ev.Room.ID, ev.TenantID)
	}
}

func TestEventsOnAnotherTenantsChannelAreDropped(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	ctx := context.Background()
	s := subscribe(t, b, "tenant-a", all)

	forged, _ := json.Marshal([]events.Event{statusEvent("tenant-b", "c", "forged")})
	for _, payload := range []string{string(forged), "not json", `[{"kind": 5}]`} {
		if err := rdb.Publish(ctx, b.Channel("tenant-a"), payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, statusEvent("tenant-a", "c", "real")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s); ev.Room.ID != "real" {
		t.Fatalf("received %s of tenant %s", ev.Room.ID, ev.TenantID)
	}
}

func TestOneRedisSubscriptionPerTenantReferenceCounted(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	ctx := context.Background()
	channel := b.Channel("tenant-a")
	numsub := func() int64 {
		t.Helper()
		n, err := rdb.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel]
	}

	ctx1, cancel1 := context.WithCancel(ctx)
	s1, err := events.Subscribe(ctx1, b, "tenant-a", all, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(ctx)
	s2, err := events.Subscribe(ctx2, b, "tenant-a", all, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := numsub(); got != 1 {
		t.Fatalf("two subscribers: %d Redis subscriptions, want 1", got)
	}
	if got := b.Subscribers("tenant-a"); got != 2 {
		t.Fatalf("Subscribers = %d, want 2", got)
	}

	cancel1()
	if _, err := ended(t, s1); err != nil {
		t.Fatalf("cancelled stream ended with %v, want nil", err)
	}
	if got := numsub(); got != 1 {
		t.Fatalf("one subscriber left: %d Redis subscriptions, want 1", got)
	}
	if err := b.Publish(ctx, statusEvent("tenant-a", "c", "still")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s2); ev.Room.ID != "still" {
		t.Fatalf("got %s", ev.Room.ID)
	}

	cancel2()
	if _, err := ended(t, s2); err != nil {
		t.Fatal(err)
	}
	// UNSUBSCRIBE is sent before detach returns; NUMSUB answers after Redis
	// processed it on the pub/sub connection, which may trail by a moment.
	for deadline := time.Now().Add(wait); numsub() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the last subscriber left but the Redis subscription stayed")
		}
	}

	// Resubscribing after the count fell to zero works again.
	s3 := subscribe(t, b, "tenant-a", all)
	if err := b.Publish(ctx, statusEvent("tenant-a", "c", "again")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s3); ev.Room.ID != "again" {
		t.Fatalf("got %s", ev.Room.ID)
	}
}

func TestSlowConsumerIsDroppedWithoutBlockingOthers(t *testing.T) {
	rdb, prefix := redistest.New(t)
	const buffer = 4
	b := newBus(t, rdb, prefix, buffer)
	ctx := context.Background()

	var reason error
	endedCh := make(chan struct{})
	slow, err := events.Subscribe(ctx, b, "tenant-a", all, func(err error) { reason = err; close(endedCh) })
	if err != nil {
		t.Fatal(err)
	}
	fast := subscribe(t, b, "tenant-a", all)

	// Each event is published once the fast subscriber has the previous
	// one, so only the slow subscriber ever falls behind.
	const total = 3 * buffer
	for i := range total {
		if err := b.Publish(ctx, statusEvent("tenant-a", "c", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, fast); ev.Room.ID != fmt.Sprint(i) {
			t.Fatalf("fast subscriber got %s, want %d", ev.Room.ID, i)
		}
	}
	<-endedCh
	if !errors.Is(reason, events.ErrSlowConsumer) {
		t.Fatalf("onEnd reason = %v", reason)
	}
	buffered, err := ended(t, slow)
	if !errors.Is(err, events.ErrSlowConsumer) || buffered != buffer {
		t.Fatalf("slow stream: %d buffered, ended with %v; want %d and ErrSlowConsumer", buffered, err, buffer)
	}
	if n := b.Subscribers("tenant-a"); n != 1 {
		t.Fatalf("Subscribers = %d after the drop, want 1", n)
	}
}

func TestEventsCrossBusesSharingRedis(t *testing.T) {
	rdb, prefix := redistest.New(t)
	replicaA := newBus(t, rdb, prefix, 0)
	replicaB := newBus(t, rdb, prefix, 0)
	s := subscribe(t, replicaB, "tenant-a", all)
	if err := replicaA.Publish(context.Background(), statusEvent("tenant-a", "c", "from-a")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, s); ev.Room.ID != "from-a" {
		t.Fatalf("got %s", ev.Room.ID)
	}
}

func TestPublishBatchesOneMessagePerTenant(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	ctx := context.Background()
	raw := rdb.Subscribe(ctx, b.Channel("tenant-a"))
	defer raw.Close()
	if _, err := raw.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	if err := b.Publish(ctx, statusEvent("tenant-a", "c", "1"), statusEvent("tenant-b", "c", "x"), statusEvent("tenant-a", "c", "2")); err != nil {
		t.Fatal(err)
	}
	msg, err := raw.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var evs []events.Event
	if err := json.Unmarshal([]byte(msg.Payload), &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Room.ID != "1" || evs[1].Room.ID != "2" {
		t.Fatalf("tenant A's message holds %+v, want its two events in order", evs)
	}
}

func TestPublishRefusesEventsWithoutTenantOrKind(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	for _, ev := range []events.Event{
		{Kind: events.RoomStatusChanged},
		{TenantID: "tenant-a"},
	} {
		if err := b.Publish(context.Background(), ev); err == nil {
			t.Errorf("Publish(%+v) = nil, want an error", ev)
		}
	}
}

func TestCloseEndsStreamsAndRefusesNewOnes(t *testing.T) {
	rdb, prefix := redistest.New(t)
	b := newBus(t, rdb, prefix, 0)
	s := subscribe(t, b, "tenant-a", all)
	b.Close()
	if _, err := ended(t, s); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("ended with %v, want ErrClosed", err)
	}
	if _, err := events.Subscribe(context.Background(), b, "tenant-a", all, nil); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func TestSubscribeFailsClearlyWithoutRedis(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	b := newBus(t, rdb, "x:", 0)
	if _, err := events.Subscribe(context.Background(), b, "tenant-a", all, nil); err == nil {
		t.Fatal("Subscribe with Redis down = nil error")
	}
	if n := b.Subscribers("tenant-a"); n != 0 {
		t.Fatalf("a failed Subscribe left %d subscribers", n)
	}
	if err := b.Publish(context.Background(), statusEvent("tenant-a", "c", "r")); err == nil {
		t.Fatal("Publish with Redis down = nil error")
	}
}
