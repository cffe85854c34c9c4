package server_test

import (
	"context"
	"encoding/json"
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

// ackWith opens an acknowledged connection on protocol with credential.
func (s *wsServer) ackWith(t *testing.T, protocol, credential string) *websocket.Conn {
	t.Helper()
	c := s.dial(t, protocol)
	send(t, c, initMsg(credential))
	if m := read(t, c); m.Type != "connection_ack" {
		t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
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
	s := newWSServer(t, server.Config{})
	short, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "tenant": tenantA, "role": "viewer", "exp": time.Now().Add(2 * time.Second).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	expiring := s.ackWith(t, "graphql-transport-ws", short)
	lasting := s.ackWith(t, "graphql-transport-ws", token(t, tenantA, "viewer"))
	send(t, expiring, subscribeMsg("1", statusSubscription))
	send(t, lasting, subscribeMsg("1", statusSubscription))
	s.subscribed(t, tenantA, 2)
	s.receives(t, expiring, tenantA, "before-exp")

	// The JWT verifier's leeway would accept the token for 30 s more; the
	// socket is closed at exp all the same.
	if code, reason := closeCode(t, expiring); code != 4403 {
		t.Fatalf("closed with %d %q, want 4403", code, reason)
	}
	s.subscribed(t, tenantA, 1)
	read(t, lasting) // the event published before
	s.receives(t, lasting, tenantA, "after-exp")
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

	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			start := map[string]string{"graphql-transport-ws": "subscribe", "graphql-ws": "start"}[protocol]
			subscribe := func(c *websocket.Conn) {
				send(t, c, map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": statusSubscription}})
			}
			revokedID, revoked := newKey()
			doomed := s.ackWith(t, protocol, revoked)
			lasting := s.ackWith(t, protocol, kept)
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
