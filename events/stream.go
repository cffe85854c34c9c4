package events

import (
	"context"
	"errors"
	"sync"
)

// ErrSlowConsumer ends a stream whose reader fell a whole buffer behind: it
// is dropped rather than allowed to block the other subscribers or to make
// the replica hold an unbounded backlog for it.
var ErrSlowConsumer = errors.New("events: the subscriber fell too far behind and was dropped")

// subscriber is what a hub fans out to: a Stream of any element type.
type subscriber interface {
	tenant() string
	// offer hands ev to the subscriber without blocking; false means its
	// buffer is full.
	offer(ev *Event) bool
	// end closes the subscriber's channel after recording why.
	end(err error)
}

// Stream is one live subscription: the events of one tenant that its
// convert function accepts, already converted, in a bounded buffer.
type Stream[T any] struct {
	tenantID string
	convert  func(*Event) (T, bool)
	onEnd    func(error)
	c        chan T
	once     sync.Once
	err      error
}

// Subscribe starts a stream of tenantID's events. convert runs on the bus's
// read goroutine for every event of the tenant: it must be quick, must not
// modify the event (it is shared by every subscriber), and returns false to
// skip an event (another kind, another connection). onEnd, when not nil, is
// called once with the reason just before C is closed: nil after cancel or
// ctx's end, ErrSlowConsumer, or ErrClosed. The stream ends when ctx ends.
//
// When Subscribe returns, the tenant's Redis subscription is confirmed:
// every event published from then on reaches the stream.
func Subscribe[T any](ctx context.Context, b *Bus, tenantID string, convert func(*Event) (T, bool), onEnd func(error)) (*Stream[T], error) {
	if tenantID == "" {
		return nil, errors.New("events.Subscribe: a tenant is required")
	}
	s := &Stream[T]{tenantID: tenantID, convert: convert, onEnd: onEnd, c: make(chan T, b.opts.Buffer)}
	if err := b.attach(ctx, s); err != nil {
		return nil, err
	}
	// AfterFunc instead of a goroutine per stream: an idle subscription
	// costs no stack.
	context.AfterFunc(ctx, func() {
		if b.detach(s) {
			s.end(nil)
		}
	})
	return s, nil
}

// C delivers the stream's events; it is closed when the stream ends.
func (s *Stream[T]) C() <-chan T { return s.c }

// Err reports why the stream ended (valid once C is closed).
func (s *Stream[T]) Err() error { return s.err }

func (s *Stream[T]) tenant() string { return s.tenantID }

func (s *Stream[T]) offer(ev *Event) bool {
	v, ok := s.convert(ev)
	if !ok {
		return true
	}
	select {
	case s.c <- v:
		return true
	default:
		return false
	}
}

// end runs only after the stream was detached from its hub (so no offer can
// race with the close), and only once.
func (s *Stream[T]) end(err error) {
	s.once.Do(func() {
		s.err = err
		if s.onEnd != nil {
			s.onEnd(err)
		}
		close(s.c)
	})
}

// hub is one tenant's subscribers on this replica.
type hub struct {
	ready     chan struct{} // closed once Redis confirmed the tenant's subscription
	readyOnce sync.Once

	mu   sync.RWMutex
	subs map[subscriber]struct{}

	// seen dedupes by event id for every subscriber of the tenant on this
	// replica (one set per tenant, not per stream, so a thousand streams
	// cost one); last is the newest id delivered, where a catch-up after a
	// reconnect starts.
	seenMu sync.Mutex
	seen   *idSet
	last   int64
	known  bool
}

func newHub() *hub {
	return &hub{ready: make(chan struct{}), subs: make(map[subscriber]struct{}), seen: newIDSet(dedupeWindow)}
}

func (h *hub) markReady() { h.readyOnce.Do(func() { close(h.ready) }) }

func (h *hub) isReady() bool {
	select {
	case <-h.ready:
		return true
	default:
		return false
	}
}

// firstSight records id and reports whether it was new.
func (h *hub) firstSight(id int64) bool {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	if !h.seen.add(id) {
		return false
	}
	if id > h.last {
		h.last = id
	}
	h.known = true
	return true
}

func (h *hub) raiseCursor(id int64) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	h.last, h.known = max(h.last, id), true
}

func (h *hub) cursorKnown() bool {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return h.known
}

func (h *hub) cursor() (int64, bool) {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return h.last, h.known
}

// dedupeWindow is how many recent event ids a hub remembers: more than a
// relay batch and a catch-up's overlap with live delivery.
const dedupeWindow = 4096

// idSet remembers the last n ids added (oldest forgotten first). It grows
// as ids arrive, so a quiet tenant's hub costs next to nothing.
type idSet struct {
	n    int
	ring []int64
	next int
	in   map[int64]struct{}
}

func newIDSet(n int) *idSet { return &idSet{n: n, in: make(map[int64]struct{})} }

// add reports whether id was new, remembering it.
func (s *idSet) add(id int64) bool {
	if _, ok := s.in[id]; ok {
		return false
	}
	s.in[id] = struct{}{}
	if len(s.ring) < s.n {
		s.ring = append(s.ring, id)
		return true
	}
	delete(s.in, s.ring[s.next])
	s.ring[s.next] = id
	s.next = (s.next + 1) % s.n
	return true
}
func (h *hub) add(s subscriber) {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(s subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return false
	}
	delete(h.subs, s)
	return true
}

func (h *hub) removeAll() []subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]subscriber, 0, len(h.subs))
	for s := range h.subs {
		out = append(out, s)
	}
	clear(h.subs)
	return out
}

func (h *hub) size() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// offer gives ev to every subscriber and returns those whose buffer was
// full.
func (h *hub) offer(ev *Event) (slow []subscriber) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if !s.offer(ev) {
			slow = append(slow, s)
		}
	}
	return slow
}
