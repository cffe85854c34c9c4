package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/zoom/zoomsim"
)

const roomStatusSubscription = `subscription($c: ID){roomStatusChanged(connectionId: $c){previousStatus status room{zoomRoomId}}}`

// sseEvent is one server-sent event.
type sseEvent struct{ event, data string }

// eventStream is an open graphql-sse stream (distinct-connections mode).
type eventStream struct {
	resp   *http.Response
	events chan sseEvent // closed at the end of the stream
}

// openEventStream POSTs an operation with Accept: text/event-stream and
// reads its events in the background.
func openEventStream(t *testing.T, gatewayURL, cred, query string, vars map[string]any) *eventStream {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gatewayURL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("event stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &eventStream{resp: resp, events: make(chan sseEvent, 16)}
	go s.read()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

func (s *eventStream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.event != "" || ev.data != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event:"):
			ev.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
}

// next returns the next "next" event's data, failing after wait.
func (s *eventStream) next(t *testing.T, wait time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("the stream ended before an event")
			}
			if ev.event != "next" {
				continue
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
				t.Fatalf("event data %q: %v", ev.data, err)
			}
			return r
		case <-timeout:
			t.Fatalf("no event within %s", wait)
		}
	}
}

// TestSubscriptionsOverServerSentEvents: where websockets are blocked, a
// subscription runs as graphql-sse's event stream (POST with Accept:
// text/event-stream), authenticated like any request and ended when its
// credential lapses; any other HTTP attempt at a subscription is refused
// at once instead of hanging.
func TestSubscriptionsOverServerSentEvents(t *testing.T) {
	w, tenant, admin, conn := roomsWorld(t, 2, nil)
	room := w.seed.RoomIDs[0]

	t.Run("events arrive on the stream", func(t *testing.T) {
		key := w.apiKey(tenant, auth.ScopeRoomsRead)
		s := openEventStream(t, w.url, key, roomStatusSubscription, map[string]any{"c": conn})
		waitSubscribers(t, w.app.Bus, tenant, 1)
		w.flipAndSync(t, admin, conn, room, zoomsim.StatusInMeeting, "IN_MEETING")
		r := s.next(t, 30*time.Second)
		ev, _ := r["data"].(map[string]any)["roomStatusChanged"].(map[string]any)
		if ev == nil || ev["status"] != "IN_MEETING" || ev["previousStatus"] != "AVAILABLE" || ev["room"].(map[string]any)["zoomRoomId"] != room {
			t.Fatalf("event = %v", r)
		}
		s.resp.Body.Close()
		waitSubscribers(t, w.app.Bus, tenant, 0)
	})

	t.Run("a stream ends when its JWT expires", func(t *testing.T) {
		short := userJWT(t, tenant, "admin", 3*time.Second)
		start := time.Now()
		s := openEventStream(t, w.url, short, roomStatusSubscription, map[string]any{"c": conn})
		waitSubscribers(t, w.app.Bus, tenant, 1)
		for range s.events {
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the stream outlived its JWT by %s", d)
		}
		waitSubscribers(t, w.app.Bus, tenant, 0)
	})

	t.Run("other HTTP attempts are refused at once", func(t *testing.T) {
		key := w.apiKey(tenant, auth.ScopeRoomsRead)
		body, _ := json.Marshal(map[string]any{"query": roomStatusSubscription, "variables": map[string]any{"c": conn}})
		get := w.url + "/graphql?query=" + url.QueryEscape(roomStatusSubscription)
		for name, req := range map[string]*http.Request{
			"plain POST":       newRequest(t, http.MethodPost, w.url+"/graphql", body, "application/json"),
			"Apollo multipart": newRequest(t, http.MethodPost, w.url+"/graphql", body, `multipart/mixed;subscriptionSpec="1.0",application/json`),
			"GET":              newRequest(t, http.MethodGet, get, nil, "application/json"),
		} {
			req.Header.Set("Authorization", "Bearer "+key)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := http.DefaultClient.Do(req.WithContext(ctx))
			if err != nil {
				cancel()
				t.Fatalf("%s: %v (a subscription over plain HTTP must be answered at once)", name, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			refused := strings.Contains(string(b), "subscriptions need a websocket") && strings.Contains(string(b), `"BAD_USER_INPUT"`)
			if name == "GET" {
				refused = refused || resp.StatusCode == http.StatusNotAcceptable // GET carries queries only
			}
			if !refused {
				t.Errorf("%s: %d %s", name, resp.StatusCode, b)
			}
		}
	})
}

func newRequest(t *testing.T, method, target string, body []byte, accept string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	return req
}

// TestMissingAndBadCredentialsAreAnsweredAlike: outside dev mode a request
// with no credential is refused like one with a bad credential: the same
// 401, header and body, so a client has one way to learn it must sign in.
func TestMissingAndBadCredentialsAreAnsweredAlike(t *testing.T) {
	g := newGateway(t, nil)
	answer := func(cred string) (int, string, string) {
		req := newRequest(t, http.MethodPost, g.url+"/graphql", []byte(`{"query":"{viewer{tenantId}}"}`), "application/json")
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
	}
	missingStatus, missingHeader, missingBody := answer("")
	for _, bad := range []string{"zsk_not-a-key", "not.a.jwt"} {
		status, header, body := answer(bad)
		if status != missingStatus || header != missingHeader || body != missingBody {
			t.Errorf("%q answered %d %q %s; no credential answered %d %q %s", bad, status, header, body, missingStatus, missingHeader, missingBody)
		}
	}
	if missingStatus != http.StatusUnauthorized || missingHeader == "" || !strings.Contains(missingBody, `"UNAUTHENTICATED"`) {
		t.Errorf("no credential: %d %q %s", missingStatus, missingHeader, missingBody)
	}
}

// TestEventStreamRequestsAreCheckedFirst: a body whose fields have the
// wrong types is refused before any transport sees it (gqlgen's SSE
// transport logged such bodies raw: forged log lines, secrets in logs),
// and an Idempotency-Key on an event stream is refused (its stored
// event-stream answer would be replayed to JSON clients).
func TestEventStreamRequestsAreCheckedFirst(t *testing.T) {
	g := newGateway(t, nil)
	key := g.apiKey(g.tenant("Acme", 1), auth.ScopeAdmin)
	for name, tc := range map[string]struct {
		body    string
		headers map[string]string
	}{
		"query not a string":      {`{"query":1,"variables":{"clientSecret":"TOPSECRET-123"}}`, nil},
		"variables not an object": {`{"query":"{viewer{tenantId}}","variables":"TOPSECRET-123"}`, nil},
		"an idempotency key": {`{"query":"mutation{createApiKey(input:{name:\"x\",scopes:[\"rooms:read\"]}){key}}"}`,
			map[string]string{"Idempotency-Key": "k-sse-1"}},
	} {
		t.Run(name, func(t *testing.T) {
			req := newRequest(t, http.MethodPost, g.url+"/graphql", []byte(tc.body), "text/event-stream")
			req.Header.Set("Authorization", "Bearer "+key)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"BAD_USER_INPUT"`) ||
				strings.Contains(string(b), "TOPSECRET") || strings.Contains(string(b), "Go value") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	var n int
	if err := g.app.DB.QueryRow(context.Background(), `SELECT count(*) FROM api_keys`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d api keys: the refused event-stream mutation ran", n)
	}
}
