package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/events"
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
