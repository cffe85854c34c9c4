package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"zoomsignage/auth"
	"zoomsignage/server"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
)

// ackWith opens an acknowledged connection on protocol with credential,
// sent in connection_init.
func (s *wsServer) ackWith(t *testing.T, protocol, credential string) *websocket.Conn {
	t.Helper()
	c := s.dial(t, protocol)
	send(t, c, initMsg(credential))
	if m := read(t, c); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

// ackWithHeader opens an acknowledged connection on protocol authenticated
// by the upgrade request's Authorization header, with an empty
// connection_init (what server-side clients do).
func (s *wsServer) ackWithHeader(t *testing.T, protocol, credential string) *websocket.Conn {
	t.Helper()
	c := s.dialWithHeader(t, protocol, http.Header{"Authorization": {"Bearer " + credential}})
	send(t, c, map[string]any{"type": "connection_init"})
	if m := read(t, c); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

// authentication opens an acknowledged connection one way.
type authentication struct {
	name string
	ack  func(s *wsServer, t *testing.T, protocol, credential string) *websocket.Conn
}

// authenticating names the two places a websocket's credential travels:
// every check of a credential's lifetime must hold for both.
var authenticating = []authentication{
	{"in connection_init", (*wsServer).ackWith},
	{"in the upgrade header", (*wsServer).ackWithHeader},
}

// receives publishes an event for tenant and reads it on c: the connection
// is alive and subscribed.
func (s *wsServer) receives(t *testing.T, c *websocket.Conn, tenant, room string) {
	t.Helper()
	if err := s.bus.Publish(context.Background(), roomEvent(tenant, room, "OFFLINE")); err != nil {
		t.Fatal(err)
	}
	if m := read(t, c); (m.Type != "next" && m.Type != "data") || !strings.Contains(string(m.Payload), `"`+room+`"`) {
		t.Fatalf("got %s %s, want the event of %s", m.Type, m.Payload, room)
	}
}

func TestWebsocketClosedWhenTheJWTExpires(t *testing.T) {
	for _, how := range authenticating {
		t.Run(how.name, func(t *testing.T) {
			s := newWSServer(t, server.Config{})
			short, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": "user-1", "tenant": tenantA, "role": "viewer", "exp": time.Now().Add(2 * time.Second).Unix(),
			}).SignedString([]byte(jwtSecret))
			if err != nil {
				t.Fatal(err)
			}
			expiring := how.ack(s, t, "graphql-transport-ws", short)
			lasting := how.ack(s, t, "graphql-transport-ws", token(t, tenantA, "viewer"))
			send(t, expiring, subscribeMsg("1", statusSubscription))
			send(t, lasting, subscribeMsg("1", statusSubscription))
			s.subscribed(t, tenantA, 2)
			s.receives(t, expiring, tenantA, "before-exp")

			// The JWT verifier's leeway would accept the token for 30 s
			// more; the socket is closed at exp all the same.
			if code, reason := closeCode(t, expiring); code != 4403 {
				t.Fatalf("closed with %d %q, want 4403", code, reason)
			}
			s.subscribed(t, tenantA, 1)
			read(t, lasting) // the event published before
			s.receives(t, lasting, tenantA, "after-exp")
		})
	}
}

func TestWebsocketClosedWhenTheAPIKeyIsRevoked(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	tn, err := tenants.Create(ctx, pool, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewAPIKeys(pool, nil)
	newKey := func() (string, string) {
		k, secret, err := keys.Create(ctx, pool, tn.ID, "ws", []auth.Scope{auth.ScopeRoomsRead}, "test")
		if err != nil {
			t.Fatal(err)
		}
		return k.ID, secret
	}
	_, kept := newKey()
	s := newWSServerWithKeys(t, server.Config{WebsocketRecheckInterval: 100 * time.Millisecond}, keys)

	type protocolAuth struct {
		protocol string
		how      authentication
	}
	var cases []protocolAuth
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		for _, how := range authenticating {
			cases = append(cases, protocolAuth{protocol, how})
		}
	}
	for _, tc := range cases {
		protocol, how := tc.protocol, tc.how
		t.Run(protocol+" "+how.name, func(t *testing.T) {
			start := map[string]string{"graphql-transport-ws": "subscribe", "graphql-ws": "start"}[protocol]
			subscribe := func(c *websocket.Conn) {
				send(t, c, map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": statusSubscription}})
			}
			revokedID, revoked := newKey()
			doomed := how.ack(s, t, protocol, revoked)
			lasting := how.ack(s, t, protocol, kept)
			subscribe(doomed)
			subscribe(lasting)
			s.subscribed(t, tn.ID, 2)
			s.receives(t, doomed, tn.ID, "before-revocation")
			read(t, lasting)
			if _, err := keys.Revoke(ctx, pool, tn.ID, revokedID); err != nil {
				t.Fatal(err)
			}
			if code, reason := closeCode(t, doomed); code != 4403 {
				t.Fatalf("closed with %d %q, want 4403", code, reason)
			}
			s.subscribed(t, tn.ID, 1)
			s.receives(t, lasting, tn.ID, "after-revocation")
			_ = lasting.Close()
			s.subscribed(t, tn.ID, 0)
		})
	}
}

func TestWebsocketCapsSubscriptionsPerConnection(t *testing.T) {
	const limit = 3
	s := newWSServer(t, server.Config{WebsocketMaxSubscriptions: limit})
	tests := []struct {
		protocol, start, stop, tenant string
	}{
		{"graphql-transport-ws", "subscribe", "complete", tenantA},
		{"graphql-ws", "start", "stop", tenantB},
	}
	for _, tt := range tests {
		t.Run(tt.protocol, func(t *testing.T) {
			c := s.ackWith(t, tt.protocol, token(t, tt.tenant, "viewer"))
			op := func(typ, id string) {
				send(t, c, map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": statusSubscription}})
			}
			for i := range limit {
				op(tt.start, string(rune('a'+i)))
			}
			s.subscribed(t, tt.tenant, limit)
			op(tt.start, "over")
			m := read(t, c)
			var errs []struct {
				Message    string
				Extensions map[string]any
			}
			if m.Type != "error" || m.ID != "over" || json.Unmarshal(m.Payload, &errs) != nil || len(errs) != 1 ||
				errs[0].Extensions["code"] != "RATE_LIMITED" || !strings.Contains(errs[0].Message, "at most 3") {
				t.Fatalf("subscribe over the cap: got %s %s %s", m.Type, m.ID, m.Payload)
			}
			s.subscribed(t, tt.tenant, limit) // the others live on

			// Ending one makes room again.
			send(t, c, map[string]any{"id": "a", "type": tt.stop})
			s.subscribed(t, tt.tenant, limit-1)
			if tt.protocol == "graphql-ws" {
				if m := read(t, c); m.Type != "complete" || m.ID != "a" {
					t.Fatalf("got %s %s, want complete of a", m.Type, m.ID)
				}
			}
			op(tt.start, "over")
			s.subscribed(t, tt.tenant, limit)
			s.receives(t, c, tt.tenant, "still-delivered")
		})
	}
}

// TestWebsocketRefusesOperationsOnARevokedKey is the attack of a revoked
// admin key on a socket opened before the revocation: between two timed
// re-checks (an hour apart here) any operation it sends is refused and the
// socket closed, however the socket was authenticated.
func TestWebsocketRefusesOperationsOnARevokedKey(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	tn, err := tenants.Create(ctx, pool, "Acme", 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewAPIKeys(pool, nil)
	s := newWSServerWithKeys(t, server.Config{WebsocketRecheckInterval: time.Hour}, keys)
	for _, how := range authenticating {
		t.Run(how.name, func(t *testing.T) {
			k, secret, err := keys.Create(ctx, pool, tn.ID, "ws", []auth.Scope{auth.ScopeRoomsRead}, "test")
			if err != nil {
				t.Fatal(err)
			}
			c := how.ack(s, t, "graphql-transport-ws", secret)
			send(t, c, subscribeMsg("before", `{ __typename }`))
			if m := read(t, c); m.Type != "next" || strings.Contains(string(m.Payload), "errors") {
				t.Fatalf("before revocation: got %s %s, want data", m.Type, m.Payload)
			}
			if _, err := keys.Revoke(ctx, pool, tn.ID, k.ID); err != nil {
				t.Fatal(err)
			}
			send(t, c, subscribeMsg("after", `{ __typename }`))
			for {
				_, raw, err := c.ReadMessage()
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code == 4403 {
					return
				}
				if err != nil {
					t.Fatalf("after revocation: connection ended with %v, want 4403", err)
				}
				var m message
				if json.Unmarshal(raw, &m) == nil && m.ID == "after" && m.Type != "complete" &&
					!strings.Contains(string(m.Payload), "UNAUTHENTICATED") {
					t.Fatalf("after revocation: got %s %s, want UNAUTHENTICATED", m.Type, m.Payload)
				}
			}
		})
	}
}
