package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"zoomsignage/apierror"
	"zoomsignage/auth"
)

// Subscriptions run on a websocket (graphql-transport-ws) or, for
// networks that block websockets, as server-sent events: graphql-sse's
// distinct-connections mode, a POST with Accept: text/event-stream
// answered with one event per result (gqlgen's SSE transport). Every other
// HTTP attempt at a subscription (a plain POST or GET, Apollo's multipart
// protocol) is refused at once instead of hanging until the first event.

// ssePingInterval keeps proxies from closing an idle event stream.
const ssePingInterval = 15 * time.Second

// isEventStream reports whether r asks for a graphql-sse stream.
func isEventStream(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// streamKey marks a request whose transport can carry a subscription.
type streamKey struct{}

// withStreaming marks ctx as a websocket's or an event stream's.
func withStreaming(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamKey{}, true)
}

func streaming(ctx context.Context) bool {
	ok, _ := ctx.Value(streamKey{}).(bool)
	return ok
}

// streamCredentialKey carries the credential of an event stream's request
// to the stream's watch.
type streamCredentialKey struct{}

// sseTransport is gqlgen's SSE transport with what a long-lived stream
// needs here: no request timeout (withTimeout exempts it), its credential
// re-verified while it lives like a websocket's, an end at shutdown, and a
// writer that flushes through our middleware's wrappers.
type sseTransport struct {
	transport.SSE
	s *Server
}

// Do implements graphql.Transport. A caller holds at most
// WebsocketMaxSubscriptions streams on a replica, as a websocket holds at
// most that many subscriptions: each stream is a request of its own, and
// nothing else would bound them.
func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop, err := t.s.streams.add(streamCaller(ctx), cancel, t.s.cfg.WebsocketMaxSubscriptions)
	switch {
	case errors.Is(err, errStreamsClosed):
		writeError(w, http.StatusServiceUnavailable, apierror.ServiceUnavailable, "the gateway is shutting down; reconnect")
		return
	case err != nil:
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, apierror.RateLimited, err.Error())
		return
	}
	defer stop()
	if credential, _ := ctx.Value(streamCredentialKey{}).(string); credential != "" {
		w := t.s.newCredentialWatch(ctx, credential, "event stream", func() bool { return false }, cancel)
		w.arm()
		defer w.stop()
	}
	t.SSE.Do(flushWriter{ResponseWriter: w, timeout: t.s.cfg.WebsocketWriteTimeout}, r.WithContext(ctx), exec)
}

// streamCaller names whom a stream counts against: the credential's
// tenant and actor ("" for dev mode's anonymous callers).
func streamCaller(ctx context.Context) string {
	if p := auth.FromContext(ctx); p != nil {
		return p.TenantID + " " + p.Actor
	}
	return ""
}

// flushWriter flushes through every wrapper that can Unwrap (gqlgen's SSE
// transport asks the writer it is given for http.Flusher directly), and
// bounds each write: a client that stops reading is cut off, as a
// websocket's is, instead of pinning its handler.
type flushWriter struct {
	http.ResponseWriter
	timeout time.Duration
}

func (f flushWriter) Write(b []byte) (int, error) {
	_ = http.NewResponseController(f.ResponseWriter).SetWriteDeadline(time.Now().Add(f.timeout))
	return f.ResponseWriter.Write(b)
}

func (f flushWriter) Flush() { _ = http.NewResponseController(f.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (f flushWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// streamSet holds the cancel functions of open event streams, so shutdown
// can end them (http.Server.Shutdown would otherwise wait for each), and
// counts each caller's.
type streamSet struct {
	mu       sync.Mutex
	next     int
	open     map[int]context.CancelFunc
	byCaller map[string]int
	closed   bool // shutdown began: no new stream
}

var (
	errStreamsClosed  = errors.New("server: the gateway is shutting down")
	errTooManyStreams = errors.New("too many open event streams for this credential; close one, or use one websocket for many subscriptions")
)

// add records an open stream of caller, refusing it past max per caller or
// once shutdown began, and returns the function that forgets it.
func (ss *streamSet) add(caller string, cancel context.CancelFunc, max int) (func(), error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, errStreamsClosed
	}
	if ss.byCaller[caller] >= max {
		return nil, errTooManyStreams
	}
	if ss.open == nil {
		ss.open, ss.byCaller = map[int]context.CancelFunc{}, map[string]int{}
	}
	id := ss.next
	ss.next++
	ss.open[id] = cancel
	ss.byCaller[caller]++
	return func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		delete(ss.open, id)
		if ss.byCaller[caller]--; ss.byCaller[caller] <= 0 {
			delete(ss.byCaller, caller)
		}
	}, nil
}

// closeAll ends every open stream and refuses new ones.
func (ss *streamSet) closeAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closed = true
	for _, cancel := range ss.open {
		cancel()
	}
}

// streamPolicy refuses a subscription on a transport that cannot stream
// it, and bounds a query or mutation sent as an event stream by the
// request timeout (the stream itself is exempt from it).
func (s *Server) streamPolicy(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	isSubscription := op.Operation != nil && op.Operation.Operation == ast.Subscription
	switch {
	case isSubscription && !streaming(ctx):
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message: "subscriptions need a websocket (graphql-transport-ws at /graphql) or server-sent events " +
				"(POST /graphql with Accept: text/event-stream, graphql-sse); this request can carry only queries and mutations",
			Extensions: map[string]any{"code": string(apierror.BadUserInput)},
		}}})
	case !isSubscription && streaming(ctx):
		bounded, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		handler := next(bounded)
		return func(ctx context.Context) *graphql.Response {
			resp := handler(ctx)
			if resp == nil {
				cancel()
			}
			return resp
		}
	}
	return next(ctx)
}
