package server

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// closeGoingAway is RFC 6455's "going away": a server shutting down.
const closeGoingAway = 1001

// pingSlots is how many slices the keep-alive loop spreads pings over.
const pingSlots = 16

// wsTracker wraps the websocket implementation to remember every open
// connection, because http.Server.Shutdown forgets hijacked connections:
// at shutdown the server closes each one with 1001 so clients reconnect to
// another replica instead of seeing an abnormal drop. It also runs the one
// keep-alive loop of the replica: every interval each connection gets a
// ping (graphql-transport-ws) or a "ka" (graphql-ws), and a
// graphql-transport-ws client that left the previous ping unanswered is
// dropped. One loop instead of a ticker goroutine per connection keeps idle
// subscribers cheap.
type wsTracker struct {
	inner *wsImplementation

	pingInterval time.Duration
	startOnce    sync.Once
	accepted     uint64 // guarded by mu; gives each connection its ping slot

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
	stop   chan struct{}
}

func newWSTracker(cfg Config) *wsTracker {
	return &wsTracker{
		inner:        newWSImplementation(cfg.WebsocketInitTimeout, cfg.WebsocketWriteTimeout, cfg.WebsocketMaxSubscriptions, corsOrigins(cfg.CORSOrigins).websocketOriginAllowed),
		pingInterval: cfg.WebsocketPingInterval,
		conns:        make(map[*trackedConn]struct{}),
		stop:         make(chan struct{}),
	}
}

// Accept implements transport.WebsocketImplementation.
func (t *wsTracker) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, errShuttingDown
	}
	conn, err := t.inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{wsConn: conn.(*wsConn), tracker: t}
	t.mu.Lock()
	if t.closed {
		// CloseAll ran during the upgrade: it could not see this
		// connection, so it gets its 1001 here.
		t.mu.Unlock()
		_ = tc.WriteClose(closeGoingAway, "server shutting down")
		_ = tc.wsConn.Close()
		return nil, errShuttingDown
	}
	tc.slot = int(t.accepted % pingSlots)
	t.accepted++
	t.conns[tc] = struct{}{}
	t.mu.Unlock()
	t.startOnce.Do(func() { go t.keepAlive(t.pingInterval) })
	signalAccepted(r, tc)
	return tc, nil
}

// Open reports how many websocket connections are open.
func (t *wsTracker) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// CloseAll refuses new connections, stops the keep-alive loop and closes
// every open connection with 1001.
func (t *wsTracker) CloseAll(reason string) {
	t.mu.Lock()
	if !t.closed {
		close(t.stop)
	}
	t.closed = true
	conns := t.snapshot()
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.WriteClose(closeGoingAway, reason)
		_ = c.Close()
	}
}

// snapshot lists the open connections; t.mu must be held.
func (t *wsTracker) snapshot() []*trackedConn {
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	return conns
}

func (t *wsTracker) keepAlive(interval time.Duration) {
	ticker := time.NewTicker(max(interval/pingSlots, time.Millisecond))
	defer ticker.Stop()
	for slot := 0; ; slot = (slot + 1) % pingSlots {
		select {
		case <-t.stop:
			return
		case <-ticker.C:
		}
		t.mu.Lock()
		conns := make([]*trackedConn, 0, len(t.conns)/pingSlots+1)
		for c := range t.conns {
			if c.slot == slot {
				conns = append(conns, c)
			}
		}
		t.mu.Unlock()
		for _, c := range conns {
			if !c.ping() {
				c.terminate()
			}
		}
	}
}

// trackedConn leaves the tracker when gqlgen closes it.
type trackedConn struct {
	*wsConn
	tracker *wsTracker
	slot    int // the keep-alive slice it is pinged in
	once    sync.Once
	watch   atomic.Pointer[credentialWatch] // set on connection_init
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		if w := c.watch.Load(); w != nil {
			w.stop()
		}
		c.tracker.mu.Lock()
		delete(c.tracker.conns, c)
		c.tracker.mu.Unlock()
	})
	return c.wsConn.Close()
}
