package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// closeGrace is how long a connection whose close frame was sent stays open
// for the client's close reply, so the frame is read before the socket goes.
const closeGrace = time.Second

// wsImplementation accepts websockets with gorilla/websocket for gqlgen.
// gorilla runs no goroutine of its own per connection and, with a shared
// write-buffer pool, an idle connection holds no write buffer: what matters
// with ten thousand idle subscribers per replica.
type wsImplementation struct {
	upgrader         websocket.Upgrader
	initTimeout      time.Duration
	writeTimeout     time.Duration
	maxSubscriptions int
}

// checkOrigin decides which Origins may open a socket (see
// corsOrigins.websocketOriginAllowed).
func newWSImplementation(initTimeout, writeTimeout time.Duration, maxSubscriptions int, checkOrigin func(*http.Request) bool) *wsImplementation {
	return &wsImplementation{
		upgrader: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			// Client messages are small (init, subscribe, pong): a 512-byte
			// read buffer instead of the 4 KiB one net/http leaves behind.
			ReadBufferSize:  512,
			WriteBufferPool: &sync.Pool{},
			// Credentials never ride along implicitly (no cookies: a token in
			// connection_init or the Authorization header), so without a
			// GATEWAY_CORS_ORIGINS list any origin may open a socket; with
			// one, only the listed origins.
			CheckOrigin: checkOrigin,
		},
		initTimeout:      initTimeout,
		writeTimeout:     writeTimeout,
		maxSubscriptions: maxSubscriptions,
	}
}

// Accept implements transport.WebsocketImplementation.
func (i *wsImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	u := i.upgrader
	u.Subprotocols = opts.Subprotocols
	ws, err := u.Upgrade(hijacker(w), r, opts.ResponseHeader)
	if err != nil {
		return nil, err
	}
	c := &wsConn{ws: ws, writeTimeout: i.writeTimeout, strict: ws.Subprotocol() == transportWS}
	c.proto.maxLive = i.maxSubscriptions
	c.initTimer.Store(time.AfterFunc(i.initTimeout, c.initExpired))
	return c, nil
}

// hijacker unwraps middleware's response writers down to the one that can
// be hijacked: gorilla asks the writer it is given, not its Unwrap chain.
func hijacker(w http.ResponseWriter) http.ResponseWriter {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return w
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// wsConn is one websocket as gqlgen sees it, with the protocol rules gqlgen
// lacks (protocolState), the 4408 init timer, write deadlines (a client that
// stops reading is cut off instead of holding a writer forever), and the
// keep-alive state the tracker's pinger uses.
type wsConn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	strict       bool // graphql-transport-ws: all rules; legacy graphql-ws: the init timeout only
	proto        protocolState
	initTimer    atomic.Pointer[time.Timer]

	writeMu   sync.Mutex
	closeOnce sync.Once
	closing   atomic.Bool
	awaiting  atomic.Bool // a keep-alive ping is unanswered
}

// NextReader implements transport.WebsocketConn: it reads whole messages,
// applies the protocol rules, and hands gqlgen only what it should see.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) || c.closing.Load() {
				return typ, nil, transport.ErrWebsocketClosed
			}
			return typ, nil, err
		}
		c.awaiting.Store(false) // any message proves the client alive
		if !c.strict {
			if v := c.proto.inspectLegacy(data); v.reply != nil {
				_ = c.write(v.reply)
				continue
			}
			if c.proto.initialised() {
				c.stopInitTimer()
			}
			return typ, bytes.NewReader(data), nil
		}
		v := c.proto.inspect(data)
		for v.wait != nil {
			select {
			case <-v.wait:
			case <-time.After(c.writeTimeout):
			}
			v = c.proto.inspect(data)
		}
		switch {
		case v.close != 0:
			_ = c.WriteClose(v.close, v.why)
			return typ, nil, transport.ErrWebsocketClosed
		case v.pong:
			_ = c.write([]byte(`{"type":"pong"}`))
		case v.reply != nil:
			_ = c.write(v.reply)
		case v.pass:
			if c.proto.initialised() {
				c.stopInitTimer()
			}
			return typ, bytes.NewReader(data), nil
		}
	}
}

func (c *wsConn) stopInitTimer() {
	if t := c.initTimer.Load(); t != nil {
		t.Stop()
	}
}

// initExpired closes a connection that sent no connection_init in time.
func (c *wsConn) initExpired() {
	if !c.proto.initialised() {
		_ = c.WriteClose(closeInitTimeout, reasonInitTimeout)
	}
}

// WriteJSON implements transport.WebsocketConn.
func (c *wsConn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.proto.sent(data) {
		return nil
	}
	return c.write(data)
}

func (c *wsConn) write(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// ping sends a keep-alive unless a write is under way (a busy writer has
// its own deadline); it reports false when the previous ping went
// unanswered, and the caller then drops the connection.
func (c *wsConn) ping() bool {
	if c.closing.Load() || !c.proto.initialised() { // the init timeout bounds a connection until then
		return true
	}
	if c.strict && c.awaiting.Load() {
		return false
	}
	if !c.writeMu.TryLock() {
		return true
	}
	defer c.writeMu.Unlock()
	msg := []byte(`{"type":"ka"}`)
	if c.strict {
		msg = []byte(`{"type":"ping"}`)
		c.awaiting.Store(true)
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, msg) == nil
}

// WriteClose implements transport.WebsocketConn. The first close wins:
// gqlgen closes again with its own code after a rule of ours closed the
// connection. The socket itself goes after closeGrace, or at once once the
// client answers.
func (c *wsConn) WriteClose(code int, reason string) error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.stopInitTimer()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(c.writeTimeout))
		time.AfterFunc(closeGrace, func() { _ = c.ws.Close() })
	})
	return nil
}

// Close implements transport.WebsocketConn: after a close frame the socket
// lingers for closeGrace; otherwise it goes at once.
func (c *wsConn) Close() error {
	c.stopInitTimer()
	if c.closing.Load() {
		return nil
	}
	c.closing.Store(true)
	return c.ws.Close()
}

// terminate drops the connection without a close frame, as the reference
// server does with a peer that stopped answering pings.
func (c *wsConn) terminate() {
	c.closing.Store(true)
	c.stopInitTimer()
	_ = c.ws.Close()
}

// Subprotocol implements transport.WebsocketConn.
func (c *wsConn) Subprotocol() string { return c.ws.Subprotocol() }

// SetReadLimit implements transport.WebsocketReadLimiter.
func (c *wsConn) SetReadLimit(limit int64) { c.ws.SetReadLimit(limit) }

// SetReadDeadline implements transport.WebsocketReadDeadliner.
func (c *wsConn) SetReadDeadline(t time.Time) error { return c.ws.SetReadDeadline(t) }
