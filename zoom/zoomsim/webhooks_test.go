package zoomsim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

const secret = "whsec-test"

// receiver verifies signatures like the gateway must and records events.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []map[string]any
	// answerWrong makes url validation answers wrong.
	answerWrong bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("x-zm-request-timestamp")
	if r.Header.Get("x-zm-signature") != zoomsim.Sign(secret, ts, body) || ts == "" {
		rc.t.Errorf("bad signature on %s", body)
		w.WriteHeader(401)
		return
	}
	var ev map[string]any
	json.Unmarshal(body, &ev)
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	if ev["event"] == "endpoint.url_validation" {
		plain := ev["payload"].(map[string]any)["plainToken"].(string)
		enc := zoomsim.EncryptToken(secret, plain)
		if rc.answerWrong {
			enc = "00"
		}
		json.NewEncoder(w).Encode(map[string]string{"plainToken": plain, "encryptedToken": enc})
		return
	}
	if err := zoomspec.ValidateWebhook(body); err != nil {
		rc.t.Errorf("webhook violates the spec: %v", err)
	}
}

func TestWebhooks(t *testing.T) {
	rc := &receiver{t: t}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	e := newEnv(t, zoomsim.Options{WebhookURL: hook.URL, WebhookSecret: secret}, zoomsim.SeedOptions{Rooms: 1})
	ctx := context.Background()
	room := e.seed.RoomIDs[0]

	if err := e.sim.RaiseAlert(ctx, room, zoomsim.Alert{Issue: "Controller disconnected", AlertType: 1, Component: 2}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.ClearAlert(ctx, room, zoomsim.Alert{Issue: "Controller disconnected", AlertType: 1, Component: 2}); err != nil {
		t.Fatal(err)
	}
	if len(rc.events) != 2 {
		t.Fatalf("alert events = %d (S2S app holds the alert scope)", len(rc.events))
	}
	kinds := []float64{}
	for _, ev := range rc.events {
		kinds = append(kinds, ev["payload"].(map[string]any)["object"].(map[string]any)["alert_kind"].(float64))
	}
	if kinds[0] != 1 || kinds[1] != 2 {
		t.Fatalf("alert kinds %v", kinds)
	}
	tok := e.s2sToken()
	if err := e.sim.Deauthorize(ctx, e.seed.Server.ClientID, e.seed.AccountID, ""); err != nil {
		t.Fatal(err)
	}
	last := rc.events[len(rc.events)-1]
	if last["event"] != "app_deauthorized" || last["payload"].(map[string]any)["client_id"] != e.seed.Server.ClientID {
		t.Fatalf("deauthorization event %v", last)
	}
	status, body, _ := e.call(tok, "GET", "/rooms", nil)
	wantZoomError(t, status, body, 401, zoomsim.CodeInvalidToken)
	if err := e.sim.ValidateEndpoint(ctx, e.seed.Server.ClientID); err != nil {
		t.Fatalf("url validation: %v", err)
	}
	rc.answerWrong = true
	if err := e.sim.ValidateEndpoint(ctx, e.seed.Server.ClientID); err == nil {
		t.Fatal("wrong url validation answer accepted")
	}
	if d := e.sim.Deliveries(); len(d) != 5 || d[0].Status != 200 {
		t.Fatalf("deliveries %+v", d)
	}
}

func TestWebhookAlertNeedsScope(t *testing.T) {
	rc := &receiver{t: t}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	e := newEnv(t, zoomsim.Options{WebhookURL: hook.URL, WebhookSecret: secret}, zoomsim.SeedOptions{Rooms: 1, Scopes: []string{"zoom_rooms:read:list_rooms:admin"}})
	if err := e.sim.RaiseAlert(context.Background(), e.seed.RoomIDs[0], zoomsim.Alert{AlertType: 1}); err != nil {
		t.Fatal(err)
	}
	if len(rc.events) != 0 {
		t.Fatalf("alert sent to an app without %s", zoomsim.AlertScope)
	}
}
