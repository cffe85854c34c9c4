package server

import (
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// closeGoingAway is RFC 6455's "going away": a server shutting down.
const closeGoingAway = 1001

// wsTracker wraps gqlgen's websocket implementation to remember every open
// connection, because http.Server.Shutdown forgets hijacked connections:
// at shutdown the server closes each one with 1001 so clients reconnect to
// another replica instead of seeing an abnormal drop.
type wsTracker struct {
	inner transport.WebsocketImplementation

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func newWSTracker() *wsTracker {
	return &wsTracker{inner: transport.CoderWebsocketImplementation{}, conns: make(map[*trackedConn]struct{})}
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
	tc := &trackedConn{WebsocketConn: conn, tracker: t}
	t.mu.Lock()
	t.conns[tc] = struct{}{}
	t.mu.Unlock()
	return tc, nil
}

// Open reports how many websocket connections are open.
func (t *wsTracker) Open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// CloseAll refuses new connections and closes every open one with 1001.
func (t *wsTracker) CloseAll(reason string) {
	t.mu.Lock()
	t.closed = true
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.WebsocketConn.WriteClose(closeGoingAway, reason)
		_ = c.Close()
	}
}

type trackedConn struct {
	transport.WebsocketConn
	tracker *wsTracker
	once    sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.tracker.mu.Lock()
		delete(c.tracker.conns, c)
		c.tracker.mu.Unlock()
	})
	return c.WebsocketConn.Close()
}

// SetReadLimit forwards gqlgen's optional read-limit interface.
func (c *trackedConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline forwards gqlgen's optional deadline interface.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
