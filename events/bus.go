package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Defaults of BusOptions.
const (
	DefaultBuffer         = 64
	DefaultPublishTimeout = 2 * time.Second
	DefaultReadyTimeout   = 5 * time.Second
)

// ErrClosed ends the streams of a bus that is shutting down.
var ErrClosed = errors.New("events: the event bus is closed")

// BusOptions configure a Bus. Redis is required.
type BusOptions struct {
	Redis  *redis.Client
	Prefix string // Redis key prefix; the tenant channel is Prefix+"events:"+tenantID
	Logger *slog.Logger
	// Registerer receives the bus metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Buffer is how many events a subscriber may fall behind before it is
	// dropped as a slow consumer (default DefaultBuffer).
	Buffer int
	// PublishTimeout bounds one Publish, so a stalled Redis never holds up
	// the work that produced the events (default DefaultPublishTimeout).
	PublishTimeout time.Duration
	// ReadyTimeout bounds how long Subscribe waits for Redis to confirm a
	// new tenant subscription (default DefaultReadyTimeout).
	ReadyTimeout time.Duration
	// Replay, when set, is where events are read back after the pub/sub
	// connection to Redis was lost and restored: anything published while
	// it was down would otherwise never reach this replica's subscribers.
	// Normally the Outbox.
	Replay Replayer
}

// Replayer reads a tenant's recorded events back (the Outbox does).
type Replayer interface {
	// Since returns up to limit of the tenant's events with ids above
	// afterID, oldest first.
	Since(ctx context.Context, tenantID string, afterID int64, limit int) ([]Event, error)
	// Latest is the id of the tenant's newest event.
	Latest(ctx context.Context, tenantID string) (int64, error)
}

// replayLimit bounds one catch-up after a reconnect.
const replayLimit = 10_000

// Bus is the Redis-backed Publisher plus the in-process fan-out that
// subscriptions read from. A replica holds one Redis subscription (on one
// shared pub/sub connection) per tenant that has at least one live
// subscriber, reference counted: the first subscriber of a tenant subscribes
// its channel, the last one to leave unsubscribes it. One goroutine reads
// Redis and offers each event to the tenant's subscribers without ever
// blocking on one of them.
type Bus struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
	m      *metrics
	opts   BusOptions

	ps        *redis.PubSub
	startOnce sync.Once
	done      chan struct{} // closed when the read loop ends

	mu      sync.Mutex
	hubs    map[string]*hub // by tenant id
	pending map[string]int  // SUBSCRIBE commands not yet confirmed, by channel
	closed  bool
}

// NewBus builds a bus on a Redis client. Close it to end every stream.
func NewBus(opts BusOptions) (*Bus, error) {
	if opts.Redis == nil {
		return nil, errors.New("events.NewBus: a Redis client is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Buffer = cmpOr(opts.Buffer, DefaultBuffer)
	opts.PublishTimeout = cmpOr(opts.PublishTimeout, DefaultPublishTimeout)
	opts.ReadyTimeout = cmpOr(opts.ReadyTimeout, DefaultReadyTimeout)
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("events.NewBus: %w", err)
	}
	return &Bus{
		rdb:     opts.Redis,
		prefix:  opts.Prefix + "events:",
		log:     opts.Logger.With("component", "events"),
		m:       m,
		opts:    opts,
		ps:      opts.Redis.Subscribe(context.Background()),
		done:    make(chan struct{}),
		hubs:    make(map[string]*hub),
		pending: make(map[string]int),
	}, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Channel is the Redis channel of a tenant's events.
func (b *Bus) Channel(tenantID string) string { return b.prefix + tenantID }

// Publish sends events to every replica's subscribers of their tenants: one
// PUBLISH per tenant per call (a JSON array of that tenant's events), all in
// one round trip. Events without a tenant or kind are refused; a zero At is
// set to now.
func (b *Bus) Publish(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	byTenant := make(map[string][]Event, 1)
	var order []string
	now := time.Now()
	for _, ev := range evs {
		if ev.TenantID == "" || ev.Kind == "" {
			return fmt.Errorf("events.Publish: event without tenant or kind (%q, %q)", ev.TenantID, ev.Kind)
		}
		if ev.At.IsZero() {
			ev.At = now
		}
		if _, ok := byTenant[ev.TenantID]; !ok {
			order = append(order, ev.TenantID)
		}
		byTenant[ev.TenantID] = append(byTenant[ev.TenantID], ev)
	}
	ctx, cancel := context.WithTimeout(ctx, b.opts.PublishTimeout)
	defer cancel()
	pipe := b.rdb.Pipeline()
	for _, tenant := range order {
		payload, err := json.Marshal(byTenant[tenant])
		if err != nil {
			return fmt.Errorf("events.Publish: %w", err)
		}
		pipe.Publish(ctx, b.Channel(tenant), payload)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.m.publishErrors.Inc()
		return fmt.Errorf("events.Publish: %w", err)
	}
	for _, ev := range evs {
		b.m.published.WithLabelValues(string(ev.Kind)).Inc()
	}
	return nil
}

// Close ends every stream with ErrClosed and releases the pub/sub
// connection. Publish keeps working (it uses the shared client).
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	hubs := b.hubs
	b.hubs = make(map[string]*hub)
	b.mu.Unlock()
	for _, h := range hubs {
		for _, s := range h.removeAll() {
			s.end(ErrClosed)
		}
	}
	_ = b.ps.Close()
}

// Subscribers reports how many streams of tenantID are live on this replica.
func (b *Bus) Subscribers(tenantID string) int {
	b.mu.Lock()
	h := b.hubs[tenantID]
	b.mu.Unlock()
	if h == nil {
		return 0
	}
	return h.size()
}

// attach adds s to its tenant's hub, subscribing the tenant's Redis channel
// if s is the first subscriber, and waits until Redis confirmed that
// subscription, so an event published after attach returns is delivered.
func (b *Bus) attach(ctx context.Context, s subscriber) error {
	tenant := s.tenant()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	h := b.hubs[tenant]
	if h == nil {
		h = newHub()
		channel := b.Channel(tenant)
		b.pending[channel]++
		if err := b.ps.Subscribe(ctx, channel); err != nil {
			b.pending[channel]--
			_ = b.ps.Unsubscribe(context.WithoutCancel(ctx), channel)
			b.mu.Unlock()
			return fmt.Errorf("events.Subscribe: redis: %w", err)
		}
		b.hubs[tenant] = h
		b.m.redisSubscriptions.Inc()
		b.startOnce.Do(func() { go b.read() })
	}
	h.add(s)
	b.m.subscribers.Inc()
	b.mu.Unlock()

	wait, cancel := context.WithTimeout(ctx, b.opts.ReadyTimeout)
	defer cancel()
	select {
	case <-h.ready:
		b.initCursor(ctx, tenant, h)
		return nil
	case <-wait.Done():
		b.detach(s)
		return fmt.Errorf("events.Subscribe: redis did not confirm the subscription: %w", wait.Err())
	}
}

// detach removes s; the last subscriber of a tenant unsubscribes its Redis
// channel. It reports whether s was still attached.
func (b *Bus) detach(s subscriber) bool {
	tenant := s.tenant()
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hubs[tenant]
	if h == nil || !h.remove(s) {
		return false
	}
	b.m.subscribers.Dec()
	if h.size() == 0 {
		delete(b.hubs, tenant)
		b.m.redisSubscriptions.Dec()
		if err := b.ps.Unsubscribe(context.Background(), b.Channel(tenant)); err != nil {
			b.log.Warn("unsubscribing a tenant channel failed", "tenant_id", tenant, "error", err.Error())
		}
	}
	return true
}

// read is the one goroutine that receives from Redis: confirmations mark a
// tenant's hub ready, messages are fanned out.
func (b *Bus) read() {
	defer close(b.done)
	for msg := range b.ps.ChannelWithSubscriptions(redis.WithChannelSize(1024)) {
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirmed(m.Channel)
			}
		case *redis.Message:
			b.dispatch(m.Channel, m.Payload)
		}
	}
}

// confirmed marks the channel's hub ready once every SUBSCRIBE sent for it
// has been confirmed (a quick unsubscribe and resubscribe sends two).
func (b *Bus) confirmed(channel string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := b.pending[channel]; n > 1 {
		b.pending[channel] = n - 1
		return
	}
	_, sent := b.pending[channel]
	delete(b.pending, channel)
	tenant := strings.TrimPrefix(channel, b.prefix)
	h := b.hubs[tenant]
	if h == nil {
		return
	}
	if !sent && h.isReady() && b.opts.Replay != nil {
		// Nobody asked for this confirmation: go-redis resubscribed after
		// reconnecting, and events published meanwhile were lost to us.
		go b.replay(tenant, h)
	}
	h.markReady()
}

// initCursor records, when the hub does not know it yet, the newest event
// id of the tenant: a catch-up after a reconnect starts there.
func (b *Bus) initCursor(ctx context.Context, tenant string, h *hub) {
	if b.opts.Replay == nil || h.cursorKnown() {
		return
	}
	id, err := b.opts.Replay.Latest(ctx, tenant)
	if err != nil {
		b.log.Warn("reading the latest event id failed; no catch-up after a Redis reconnect", "tenant_id", tenant, "error", err.Error())
		return
	}
	h.raiseCursor(id)
}

// replay delivers the tenant's events recorded after the newest one the hub
// saw. Those that did arrive are dropped as duplicates.
func (b *Bus) replay(tenant string, h *hub) {
	after, known := h.cursor()
	if !known {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.ReadyTimeout)
	defer cancel()
	evs, err := b.opts.Replay.Since(ctx, tenant, after, replayLimit)
	if err != nil {
		b.log.Warn("catching up after a Redis reconnect failed", "tenant_id", tenant, "error", err.Error())
		return
	}
	b.m.replayed.Add(float64(len(evs)))
	for i := range evs {
		if evs[i].TenantID == tenant {
			b.deliver(tenant, h, &evs[i])
		}
	}
}

// dispatch decodes one Redis message and offers its events to the tenant's
// subscribers. Subscribers that cannot keep up are dropped after the pass.
func (b *Bus) dispatch(channel, payload string) {
	tenant, ok := strings.CutPrefix(channel, b.prefix)
	if !ok {
		return
	}
	var evs []Event
	if err := json.Unmarshal([]byte(payload), &evs); err != nil {
		b.m.malformed.Inc()
		b.log.Warn("dropping a malformed event message", "tenant_id", tenant, "error", err.Error())
		return
	}
	b.mu.Lock()
	h := b.hubs[tenant]
	b.mu.Unlock()
	if h == nil {
		return
	}
	for i := range evs {
		ev := &evs[i]
		if ev.TenantID != tenant { // never cross tenants, whatever was published
			b.m.malformed.Inc()
			b.log.Warn("dropping an event published on another tenant's channel", "channel_tenant_id", tenant)
			continue
		}
		b.m.received.Inc()
		b.deliver(tenant, h, ev)
	}
}

// deliver offers one event to the tenant's subscribers unless the hub saw
// its id already. Subscribers that cannot keep up are dropped.
func (b *Bus) deliver(tenant string, h *hub, ev *Event) {
	if ev.ID != 0 && !h.firstSight(ev.ID) {
		b.m.duplicates.Inc()
		return
	}
	for _, s := range h.offer(ev) {
		if b.detach(s) {
			b.m.slowDropped.Inc()
			b.log.Info("dropping a slow subscriber", "tenant_id", tenant, "buffer", b.opts.Buffer)
			s.end(ErrSlowConsumer)
		}
	}
}
