package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/auth"
	"zoomsignage/events"
	"zoomsignage/screens"
	"zoomsignage/webhooks"
)

const createEndpoint = `mutation($in: WebhookEndpointInput!){createWebhookEndpoint(input: $in){secret endpoint{id url events enabled}}}`

// TestPartnerWebhooksEndToEnd: an admin registers an endpoint through
// GraphQL (the secret shown once), a committed room status change reaches
// it through the outbox and River, and webhookDeliveries shows the
// delivery. Viewers are refused, and the secret appears in no later
// response and no log.
func TestPartnerWebhooksEndToEnd(t *testing.T) {
	cfg := testConfigEnv(t, map[string]string{"GATEWAY_ENV": "dev", "WEBHOOKS_ALLOW_LOOPBACK": "true"})
	g := newGateway(t, &cfg)
	g.startJobs(t)
	got := make(chan http.Header, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
	}))
	t.Cleanup(receiver.Close)

	tenant := g.tenant("acme", 0)
	admin := g.apiKey(tenant, auth.ScopeAdmin)
	viewer := g.apiKey(tenant, auth.ScopeRoomsRead)
	in := map[string]any{"in": map[string]any{"url": receiver.URL + "/hooks", "events": []string{"room.status_changed"}}}
	if r := g.post(viewer, createEndpoint, in); r.code() != "FORBIDDEN" {
		t.Fatalf("viewer creating an endpoint: %s", r.Raw)
	}
	r := g.post(admin, createEndpoint, in)
	if len(r.Errors) > 0 {
		t.Fatalf("createWebhookEndpoint: %s", r.Raw)
	}
	created := r.Data["createWebhookEndpoint"].(map[string]any)
	secret := created["secret"].(string)
	endpointID := created["endpoint"].(map[string]any)["id"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}

	if err := g.app.Outbox.AddNow(context.Background(), events.Event{Kind: events.RoomStatusChanged, TenantID: tenant,
		ConnectionID: "c1", Room: &events.RoomSnapshot{ID: "r1", Status: "OFFLINE"}, PreviousStatus: "AVAILABLE"}); err != nil {
		t.Fatal(err)
	}
	var h http.Header
	select {
	case h = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery arrived")
	}
	if h.Get("webhook-id") == "" || !strings.HasPrefix(h.Get("webhook-signature"), "v1,") {
		t.Fatalf("delivery headers %v", h)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := g.post(admin, `query($id: ID!){webhookDeliveries(endpointId: $id){totalCount edges{node{webhookId eventType status attempt responseCode}}}}`,
			map[string]any{"id": endpointID})
		if strings.Contains(r.Raw, `"status":"SUCCEEDED"`) {
			if !strings.Contains(r.Raw, h.Get("webhook-id")) || !strings.Contains(r.Raw, `"eventType":"room.status_changed"`) {
				t.Fatalf("webhookDeliveries: %s", r.Raw)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhookDeliveries: %s", r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	list := g.post(admin, `{webhookEndpoints{id url events enabled}}`, nil)
	if !strings.Contains(list.Raw, endpointID) || strings.Contains(list.Raw, secret) {
		t.Fatalf("webhookEndpoints: %s", list.Raw)
	}
	if strings.Contains(g.logs.String(), secret) || strings.Contains(g.logs.String(), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the webhook secret reached the logs")
	}
}

// TestWebhooksLoopbackOnlyInDevMode: WEBHOOKS_ALLOW_LOOPBACK is ignored in
// production, where a loopback http endpoint is refused with a field error.
func TestWebhooksLoopbackOnlyInDevMode(t *testing.T) {
	cfg := testConfigEnv(t, map[string]string{"WEBHOOKS_ALLOW_LOOPBACK": "true"})
	g := newGateway(t, &cfg)
	admin := g.apiKey(g.tenant("acme", 0), auth.ScopeAdmin)
	r := g.post(admin, createEndpoint, map[string]any{"in": map[string]any{"url": "http://127.0.0.1:9/hooks", "events": []string{"room.status_changed"}}})
	if r.code() != "BAD_USER_INPUT" {
		t.Fatalf("loopback endpoint in production mode: %s", r.Raw)
	}
}

// partnerReceiver is a real HTTP endpoint that checks each delivery's
// Standard Webhooks signature against the endpoint's secret and keeps the
// bodies by type.
type partnerReceiver struct {
	srv    *httptest.Server
	secret atomic.Value // string, set once the endpoint exists
	mu     sync.Mutex
	byType map[string][]json.RawMessage
	bad    []string
}

func newPartnerReceiver(t *testing.T) *partnerReceiver {
	p := &partnerReceiver{byType: map[string][]json.RawMessage{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		secret, _ := p.secret.Load().(string)
		want, err := webhooks.Sign(secret, r.Header.Get("webhook-id"), ts, body)
		var msg struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(body, &msg)
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil || want != r.Header.Get("webhook-signature") {
			p.bad = append(p.bad, string(body))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p.byType[msg.Type] = append(p.byType[msg.Type], msg.Data)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *partnerReceiver) got(typ string) []json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.byType[typ]...)
}

// TestPartnerWebhooksScreenAndBroadcastEvents: a partner endpoint receives,
// signed, screen.online at a screen's first contact and again after it was
// offline, screen.offline once its last contact left the 3-minute window
// (the sweep, run twice), broadcast.started, and broadcast.ended both from
// endBroadcast and from endsAt passing, each exactly once.
func TestPartnerWebhooksScreenAndBroadcastEvents(t *testing.T) {
	w := newScreenWorldWith(t, func(c *app.Config) { c.Dev, c.WebhooksAllowLoopback = true, true })
	ctx := context.Background()
	p := newPartnerReceiver(t)
	r := w.post(w.admin, createEndpoint, map[string]any{"in": map[string]any{"url": p.srv.URL + "/hooks",
		"events": []string{"screen.online", "screen.offline", "broadcast.started", "broadcast.ended"}}})
	if r.code() != "" {
		t.Fatalf("createWebhookEndpoint: %s", r.Raw)
	}
	p.secret.Store(r.Data["createWebhookEndpoint"].(map[string]any)["secret"].(string))
	sweep := func() {
		t.Helper()
		if _, err := w.app.River.Insert(ctx, screens.SweepArgs{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	count := func(typ string, n int) []json.RawMessage {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d %s deliveries", n, typ), func() bool { return len(p.got(typ)) >= n })
		return p.got(typ)
	}

	// First contact: online. More contacts within the window: nothing more.
	for range 3 {
		if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
			t.Fatalf("program: %d", code)
		}
	}
	var online struct {
		Room   struct{ ID, Name string }
		Screen struct{ Online bool }
	}
	if err := json.Unmarshal(count("screen.online", 1)[0], &online); err != nil || online.Room.ID != w.roomID ||
		online.Room.Name != w.roomName || !online.Screen.Online {
		t.Fatalf("screen.online data %+v (%v)", online, err)
	}

	// Silent for longer than the window (its last contact moved back): the
	// sweep announces it offline, once however often it runs.
	if _, err := w.app.DB.Exec(ctx, `UPDATE screen_status SET last_seen_at = last_seen_at - interval '4 minutes' WHERE room_id = $1`, w.roomID); err != nil {
		t.Fatal(err)
	}
	sweep()
	sweep()
	count("screen.offline", 1)
	if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
		t.Fatalf("program: %d", code)
	}
	count("screen.online", 2)

	// A broadcast ended by endBroadcast, one ended by its endsAt.
	cast := id(t, w.post(w.admin, startBroadcast, map[string]any{"in": map[string]any{"message": "Fire drill", "severity": "WARNING",
		"target": map[string]any{"roomIds": []string{w.roomID}}}}), "startBroadcast")
	var started struct{ Broadcast struct{ ID, Message string } }
	if err := json.Unmarshal(count("broadcast.started", 1)[0], &started); err != nil || started.Broadcast.ID != cast ||
		started.Broadcast.Message != "Fire drill" {
		t.Fatalf("broadcast.started data %+v (%v)", started, err)
	}
	for range 2 {
		if r := w.post(w.admin, `mutation($id: ID!){endBroadcast(id: $id){id endedAt}}`, map[string]any{"id": cast}); r.code() != "" {
			t.Fatalf("endBroadcast: %s", r.Raw)
		}
	}
	count("broadcast.ended", 1)
	short := id(t, w.post(w.admin, startBroadcast, map[string]any{"in": map[string]any{"message": "Back soon", "severity": "INFO",
		"endsAt": time.Now().Add(time.Second).Format(time.RFC3339Nano)}}), "startBroadcast")
	count("broadcast.started", 2)
	time.Sleep(1100 * time.Millisecond)
	sweep()
	sweep()
	var ended struct{ Broadcast struct{ ID string } }
	if err := json.Unmarshal(count("broadcast.ended", 2)[1], &ended); err != nil || ended.Broadcast.ID != short {
		t.Fatalf("broadcast.ended data %+v (%v)", ended, err)
	}
	// endBroadcast after endsAt announced it: not announced again.
	if r := w.post(w.admin, `mutation($id: ID!){endBroadcast(id: $id){id}}`, map[string]any{"id": short}); r.code() != "" {
		t.Fatalf("endBroadcast: %s", r.Raw)
	}

	// Everything committed has been handed to the relay; nothing more comes.
	sweep()
	waitFor(t, "the outbox drained", func() bool {
		return w.count(t, `SELECT count(*) FROM event_outbox_pending WHERE consumer = 'webhooks'`) == 0 &&
			w.count(t, `SELECT count(*) FROM river_job WHERE kind IN ('webhooks_deliver', 'screens_sweep') AND finalized_at IS NULL`) == 0
	})
	for typ, n := range map[string]int{"screen.online": 2, "screen.offline": 1, "broadcast.started": 2, "broadcast.ended": 2} {
		if got := len(p.got(typ)); got != n {
			t.Errorf("%d %s deliveries, want %d", got, typ, n)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bad) > 0 {
		t.Fatalf("deliveries with a bad signature: %v", p.bad)
	}
}
