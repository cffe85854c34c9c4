package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"zoomsignage/server"
)

const (
	allowedOrigin = "https://app.example.com"
	refusedOrigin = "https://evil.example.net"
)

func TestCORSPreflightAndResponses(t *testing.T) {
	t.Parallel()
	ws := newWSServer(t, server.Config{CORSOrigins: []string{allowedOrigin, "http://localhost:3000"}})
	httpURL := "http" + strings.TrimPrefix(ws.url, "ws")

	preflight := func(t *testing.T, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, httpURL, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, idempotency-key, apollographql-client-name")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	post := func(t *testing.T, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, httpURL, strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		resp := preflight(t, allowedOrigin)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d, want 204", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Fatalf("Allow-Origin %q, want %q", got, allowedOrigin)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") || !strings.Contains(got, "GET") {
			t.Fatalf("Allow-Methods %q", got)
		}
		allowHeaders := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "idempotency-key", "apollographql-client-name", "apollographql-client-version", "apollo-require-preflight", "x-apollo-operation-name"} {
			if !strings.Contains(allowHeaders, h) {
				t.Errorf("Allow-Headers %q lacks %s", allowHeaders, h)
			}
		}
		if resp.Header.Get("Access-Control-Max-Age") == "" {
			t.Error("no Access-Control-Max-Age")
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Error("Allow-Credentials sent; credentials are bearer tokens, never cookies")
		}
	})
	t.Run("preflight from a refused origin", func(t *testing.T) {
		resp := preflight(t, refusedOrigin)
		for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
			if got := resp.Header.Get(h); got != "" {
				t.Errorf("%s = %q for a refused origin", h, got)
			}
		}
	})
	for _, tc := range []struct {
		name, origin, want string
	}{
		{"POST from an allowed origin", allowedOrigin, allowedOrigin},
		{"POST from the second allowed origin", "http://localhost:3000", "http://localhost:3000"},
		{"POST from a refused origin", refusedOrigin, ""},
		{"POST without Origin", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Anonymous, so refused with 401: the refusal carries the CORS
			// headers too, or the web app could not read why it failed.
			resp := post(t, tc.origin)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Fatalf("Allow-Origin %q, want %q", got, tc.want)
			}
			if tc.origin != "" && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Fatalf("Vary %q lacks Origin", resp.Header.Values("Vary"))
			}
		})
	}
}

func TestCORSNoOriginsByDefault(t *testing.T) {
	t.Parallel()
	ws := newWSServer(t, server.Config{})
	httpURL := "http" + strings.TrimPrefix(ws.url, "ws")
	req, _ := http.NewRequest(http.MethodOptions, httpURL, nil)
	req.Header.Set("Origin", allowedOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("Allow-Origin %q with no GATEWAY_CORS_ORIGINS", got)
	}
	// Without a list, websockets from any origin are still accepted.
	conn := dialOrigin(t, ws.url, refusedOrigin, http.StatusSwitchingProtocols)
	if conn != nil {
		conn.Close()
	}
}

func TestWebsocketOrigin(t *testing.T) {
	t.Parallel()
	ws := newWSServer(t, server.Config{CORSOrigins: []string{allowedOrigin}})
	for _, tc := range []struct {
		name, origin string
		status       int
	}{
		{"allowed origin", allowedOrigin, http.StatusSwitchingProtocols},
		{"refused origin", refusedOrigin, http.StatusForbidden},
		{"no origin (not a browser)", "", http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dialOrigin(t, ws.url, tc.origin, tc.status)
			if conn == nil {
				return
			}
			defer conn.Close()
			// The accepted socket works: it is authenticated and acknowledged.
			if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token(t, tenantA, "viewer")}}); err != nil {
				t.Fatal(err)
			}
			var msg struct{ Type string }
			if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
				t.Fatalf("got %q, %v; want connection_ack", msg.Type, err)
			}
		})
	}
}

// dialOrigin opens a graphql-transport-ws socket with origin and checks the
// handshake's status; it returns the connection when it was accepted.
func dialOrigin(t *testing.T, url, origin string, status int) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: wait}
	conn, resp, err := d.Dial(url, h)
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.StatusCode != status {
		t.Fatalf("handshake status %d, want %d (%v)", resp.StatusCode, status, err)
	}
	if err != nil {
		return nil
	}
	return conn
}
