package server

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// acceptedKey carries the connection's *acceptance.
type acceptedKey struct{}

// acceptance is how Accept tells detachWebsockets that the connection was
// hijacked (done is closed), and how connection_init finds the connection
// it authenticated (conn, set before done is closed).
type acceptance struct {
	done chan struct{}
	conn *trackedConn
}

// detachWebsockets runs each websocket on its own goroutine and lets the
// HTTP handler return as soon as the connection is upgraded. net/http keeps
// a connection's 4 KiB read and write buffers, its request and response
// for as long as the handler runs; for a socket that lives for hours, next
// to ten thousand others, that is most of what an idle subscriber would
// cost. The websocket's context is the request's without its cancellation
// (the request is over once the handler returns); shutdown closes sockets
// through the tracker.
func detachWebsockets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		accepted := &acceptance{done: make(chan struct{})}
		done := make(chan struct{})
		ctx := context.WithValue(context.WithoutCancel(r.Context()), acceptedKey{}, accepted)
		dw := &detachedWriter{w: w}
		go func() {
			defer close(done)
			next.ServeHTTP(dw, r.WithContext(ctx))
		}()
		select {
		case <-accepted.done: // hijacked: w is no longer net/http's
		case <-done: // refused: the response was written
		}
	})
}

// signalAccepted tells detachWebsockets that r's connection was hijacked,
// and records the connection for acceptedConn.
func signalAccepted(r *http.Request, c *trackedConn) {
	if a, ok := r.Context().Value(acceptedKey{}).(*acceptance); ok {
		a.conn = c
		close(a.done)
	}
}

// acceptedConn returns the websocket whose request context ctx derives
// from (nil outside a detached websocket).
func acceptedConn(ctx context.Context) *trackedConn {
	if a, ok := ctx.Value(acceptedKey{}).(*acceptance); ok {
		select {
		case <-a.done:
			return a.conn
		default:
		}
	}
	return nil
}

// detachedWriter lets go of net/http's response writer once the connection
// is hijacked: the websocket's goroutine holds this writer for its whole
// life, and through the real one net/http's per-connection buffers.
type detachedWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter // nil once hijacked
}

var errDetached = errors.New("server: the connection was hijacked")

func (d *detachedWriter) writer() http.ResponseWriter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w
}

func (d *detachedWriter) Header() http.Header {
	if w := d.writer(); w != nil {
		return w.Header()
	}
	return http.Header{}
}

func (d *detachedWriter) Write(p []byte) (int, error) {
	if w := d.writer(); w != nil {
		return w.Write(p)
	}
	return 0, errDetached
}

func (d *detachedWriter) WriteHeader(code int) {
	if w := d.writer(); w != nil {
		w.WriteHeader(code)
	}
}

// Hijack hands the connection over and forgets the response writer.
func (d *detachedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := hijacker(d.writer()).(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("server: the response writer cannot be hijacked")
	}
	conn, brw, err := h.Hijack()
	if err == nil {
		d.mu.Lock()
		d.w = nil
		d.mu.Unlock()
	}
	return conn, brw, err
}
