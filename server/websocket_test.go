package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/auth"
	"zoomsignage/events"
	"zoomsignage/graph"
	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/resolvers"
	"zoomsignage/server"
)

// Tenants are UUIDs, as the JWT verifier requires.
const (
	tenantA   = "0a000000-0000-4000-8000-00000000000a"
	tenantB   = "0b000000-0000-4000-8000-00000000000b"
	tenantC   = "0c000000-0000-4000-8000-00000000000c"
	tenantDup = "0d000000-0000-4000-8000-00000000000d"
)

const jwtSecret = "websocket-test-secret-of-32-bytes!!!!!"

// wait only turns a hang into a failure.
const wait = 10 * time.Second

const statusSubscription = `subscription { roomStatusChanged { previousStatus status at room { id name status health } } }`

// wsServer is a gateway server without Postgres: JWT authentication only,
// and the subscription resolvers on a real event bus.
type wsServer struct {
	url string
	bus *events.Bus
}

func newWSServer(t *testing.T, cfg server.Config) *wsServer {
	t.Helper()
	return newWSServerWithKeys(t, cfg, nil)
}

// newWSServerWithKeys is newWSServer that also accepts keys' API keys.
func newWSServerWithKeys(t *testing.T, cfg server.Config, keys *auth.APIKeys) *wsServer {
	t.Helper()
	rdb, prefix := redistest.New(t)
	bus, err := events.NewBus(events.BusOptions{Redis: rdb, Prefix: prefix, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	verifier, err := auth.NewJWTVerifier([]byte(jwtSecret), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := graph.NewExecutableSchema(resolvers.Config(&resolvers.Resolver{Bus: bus, Logger: slog.New(slog.DiscardHandler)}))
	srv := server.New(cfg, server.Deps{Schema: schema, Auth: &auth.Authenticator{JWT: verifier, Keys: keys}, Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &wsServer{url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/graphql", bus: bus}
}

func token(t *testing.T, tenant, role string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "tenant": tenant, "role": role, "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *wsServer) dial(t *testing.T, subprotocol string) *websocket.Conn {
	t.Helper()
	return s.dialWithHeader(t, subprotocol, nil)
}

// dialWithHeader is dial with header sent on the upgrade request.
func (s *wsServer) dialWithHeader(t *testing.T, subprotocol string, header http.Header) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{subprotocol}}
	c, _, err := d.Dial(s.url, header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if c.Subprotocol() != subprotocol {
		t.Fatalf("negotiated %q, want %q", c.Subprotocol(), subprotocol)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	return c
}

// message is a protocol message as the client sees it.
type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func send(t *testing.T, c *websocket.Conn, msg any) {
	t.Helper()
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
}

func initMsg(credential string) map[string]any {
	return map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + credential}}
}

func subscribeMsg(id, query string) map[string]any {
	return map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}}
}

// read returns the next message that is not a keep-alive.
func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	for {
		var m message
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("reading: %v", err)
		}
		if m.Type != "ka" && m.Type != "ping" {
			return m
		}
	}
}

// closeCode reads until the server closes and returns the code and reason.
func closeCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

// ack opens an acknowledged graphql-transport-ws connection for tenant.
func (s *wsServer) ack(t *testing.T, tenant string) *websocket.Conn {
	t.Helper()
	c := s.dial(t, "graphql-transport-ws")
	send(t, c, initMsg(token(t, tenant, "viewer")))
	if m := read(t, c); m.Type != "connection_ack" {
		t.Fatalf("got %s, want connection_ack", m.Type)
	}
	return c
}

// subscribed waits until the bus has n streams of tenant: the protocol has
// no message for "subscription started".
func (s *wsServer) subscribed(t *testing.T, tenant string, n int) {
	t.Helper()
	for deadline := time.Now().Add(wait); s.bus.Subscribers(tenant) != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams of %s, want %d", s.bus.Subscribers(tenant), tenant, n)
		}
	}
}

func roomEvent(tenant, room, status string) events.Event {
	return events.Event{Kind: events.RoomStatusChanged, TenantID: tenant, ConnectionID: "conn-1",
		Room: &events.RoomSnapshot{ID: room, ConnectionID: "conn-1", Name: "Room " + room, Type: "ZoomRoom", Status: status, Health: "OK"}, PreviousStatus: "AVAILABLE"}
}

func TestWebsocketCloseCodes(t *testing.T) {
	s := newWSServer(t, server.Config{WebsocketInitTimeout: 300 * time.Millisecond})
	tests := []struct {
		name     string
		protocol string
		script   func(t *testing.T, c *websocket.Conn)
		code     int
	}{
		{"bad credentials", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) { send(t, c, initMsg("not-a-jwt")) }, 4403},
		{"bad credentials, legacy protocol", "graphql-ws", func(t *testing.T, c *websocket.Conn) { send(t, c, initMsg("not-a-jwt")) }, 4403},
		{"no credentials", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, map[string]any{"type": "connection_init"})
		}, 4403},
		{"JWT signed with another key", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "tenant": tenantA, "role": "admin", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("another-secret-of-at-least-32-bytes!!"))
			send(t, c, initMsg(forged))
		}, 4403},
		{"no connection_init in time", "graphql-transport-ws", func(*testing.T, *websocket.Conn) {}, 4408},
		{"no connection_init in time, legacy protocol", "graphql-ws", func(*testing.T, *websocket.Conn) {}, 4408},
		{"second connection_init", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, initMsg(token(t, tenantA, "viewer")))
			if m := read(t, c); m.Type != "connection_ack" {
				t.Fatalf("got %s", m.Type)
			}
			send(t, c, initMsg(token(t, tenantA, "viewer")))
		}, 4429},
		{"subscribe before connection_init", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, subscribeMsg("1", statusSubscription))
		}, 4401},
		{"invalid JSON", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			if err := c.WriteMessage(websocket.TextMessage, []byte("{nope")); err != nil {
				t.Fatal(err)
			}
		}, 4400},
		{"a message over 64 KiB", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, initMsg(token(t, tenantA, "viewer")))
			read(t, c)
			send(t, c, subscribeMsg("1", statusSubscription+"#"+strings.Repeat("x", 64<<10)))
		}, websocket.CloseMessageTooBig},
		{"unknown message type", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, initMsg(token(t, tenantA, "viewer")))
			read(t, c)
			send(t, c, map[string]any{"type": "start", "id": "1"})
		}, 4400},
		{"subscribe without an id", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, initMsg(token(t, tenantA, "viewer")))
			read(t, c)
			send(t, c, map[string]any{"type": "subscribe", "payload": map[string]any{"query": statusSubscription}})
		}, 4400},
		{"duplicate subscription id", "graphql-transport-ws", func(t *testing.T, c *websocket.Conn) {
			send(t, c, initMsg(token(t, tenantDup, "viewer")))
			read(t, c)
			send(t, c, subscribeMsg("1", statusSubscription))
			s.subscribed(t, tenantDup, 1)
			send(t, c, subscribeMsg("1", statusSubscription))
		}, 4409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.dial(t, tt.protocol)
			tt.script(t, c)
			if code, reason := closeCode(t, c); code != tt.code {
				t.Fatalf("closed with %d %q, want %d", code, reason, tt.code)
			}
		})
	}
}

func TestWebsocketPingPong(t *testing.T) {
	s := newWSServer(t, server.Config{})
	c := s.dial(t, "graphql-transport-ws")
	// Before connection_init a ping is answered too (gqlgen alone would
	// close the connection).
	send(t, c, map[string]any{"type": "ping"})
	if m := read(t, c); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
	send(t, c, initMsg(token(t, tenantA, "viewer")))
	read(t, c)
	send(t, c, map[string]any{"type": "ping", "payload": map[string]any{"n": 1}})
	if m := read(t, c); m.Type != "pong" {
		t.Fatalf("got %s, want pong", m.Type)
	}
}

func TestWebsocketKeepAliveDropsSilentClients(t *testing.T) {
	// 250 ms leaves a loaded machine (race detector, parallel packages) time
	// to answer each ping before the next: 50 ms made the first case flaky.
	s := newWSServer(t, server.Config{WebsocketPingInterval: 250 * time.Millisecond})

	t.Run("a client that answers pings stays", func(t *testing.T) {
		c := s.ack(t, tenantA)
		pings := 0
		for pings < 5 {
			var m message
			if err := c.ReadJSON(&m); err != nil {
				t.Fatalf("after %d pings: %v", pings, err)
			}
			if m.Type == "ping" {
				pings++
				send(t, c, map[string]any{"type": "pong"})
			}
		}
		send(t, c, subscribeMsg("1", statusSubscription))
		s.subscribed(t, tenantA, 1)
	})
	t.Run("a client that ignores pings is dropped", func(t *testing.T) {
		c := s.ack(t, tenantB)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
					t.Fatalf("dropped with a close frame %d; the reference server terminates", ce.Code)
				}
				return
			}
		}
	})
	t.Run("legacy clients get keep-alive messages", func(t *testing.T) {
		c := s.dial(t, "graphql-ws")
		send(t, c, initMsg(token(t, tenantC, "viewer")))
		seen := map[string]bool{}
		for !seen["ka"] || !seen["connection_ack"] {
			var m message
			if err := c.ReadJSON(&m); err != nil {
				t.Fatal(err)
			}
			seen[m.Type] = true
		}
	})
}

func TestWebsocketSubscriptionDeliversOnlyTheTenantsEvents(t *testing.T) {
	s := newWSServer(t, server.Config{})
	ctx := context.Background()
	a := s.ack(t, tenantA)
	b := s.ack(t, tenantB)
	send(t, a, subscribeMsg("a1", statusSubscription))
	send(t, b, subscribeMsg("b1", statusSubscription))
	s.subscribed(t, tenantA, 1)
	s.subscribed(t, tenantB, 1)

	if err := s.bus.Publish(ctx, roomEvent(tenantA, "r1", "IN_MEETING"), roomEvent(tenantB, "b-marker", "OFFLINE")); err != nil {
		t.Fatal(err)
	}
	m := read(t, a)
	if m.Type != "next" || m.ID != "a1" {
		t.Fatalf("got %s %s: %s", m.Type, m.ID, m.Payload)
	}
	var next struct {
		Data struct {
			RoomStatusChanged struct {
				PreviousStatus string
				Status         string
				At             time.Time
				Room           struct{ ID, Name, Status, Health string }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(m.Payload, &next); err != nil || len(next.Errors) > 0 {
		t.Fatalf("payload %s: %v", m.Payload, err)
	}
	ev := next.Data.RoomStatusChanged
	if ev.Room.ID != "r1" || ev.Status != "IN_MEETING" || ev.PreviousStatus != "AVAILABLE" || ev.Room.Health != "OK" || ev.At.IsZero() {
		t.Fatalf("event %+v", ev)
	}
	if m := read(t, b); !strings.Contains(string(m.Payload), "b-marker") {
		t.Fatalf("tenant B's first event is not its own: %s", m.Payload)
	}

	// complete ends the stream (the server does not answer it); the id may
	// be used again at once. When the new stream starts is not observable,
	// so the event is published until it arrives.
	send(t, a, map[string]any{"type": "complete", "id": "a1"})
	send(t, a, subscribeMsg("a1", statusSubscription))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			_ = s.bus.Publish(ctx, roomEvent(tenantA, "r2", "OFFLINE"))
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	if m := read(t, a); m.ID != "a1" || m.Type != "next" || !strings.Contains(string(m.Payload), `"r2"`) {
		t.Fatalf("after resubscribing: %s %s %s", m.ID, m.Type, m.Payload)
	}
}
