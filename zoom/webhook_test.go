package zoom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomsignage/internal/testutil/redistest"
	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
	"zoomsignage/zoom/zoomspec"
)

const webhookSecret = "whsec-planted-4f1c9a7e"

// recorder collects the events a webhook handler passed on.
type recorder struct {
	mu     sync.Mutex
	events []*zoom.WebhookEvent
	fail   error
}

func (r *recorder) handle(_ context.Context, ev *zoom.WebhookEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		err := r.fail
		r.fail = nil
		return err
	}
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func TestWebhookHandler(t *testing.T) {
	clk := newClock()
	body := []byte(`{"event":"zoomroom.alert","event_ts":1772618400000,"payload":{"account_id":"acc1","object":{"id":"r1","room_name":"R","issue":"Zoom room is offline","alert_type":1,"component":1,"alert_kind":1,"alert_time":"2026-03-04T10:00:00Z"}}}`)
	now := strconv.FormatInt(clk.Now().Unix(), 10)
	signed := func(ts string, b []byte) http.Header {
		h := http.Header{}
		h.Set("x-zm-request-timestamp", ts)
		h.Set("x-zm-signature", zoom.Sign(webhookSecret, ts, b))
		h.Set("Content-Type", "application/json")
		return h
	}
	type delivery struct {
		method string
		header http.Header
		body   []byte
		status int
	}
	validation := []byte(`{"event":"endpoint.url_validation","event_ts":1772618400000,"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}`)
	tests := []struct {
		name       string
		failFirst  bool
		deliveries []delivery
		wantEvents int
		check      func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{name: "valid event", deliveries: []delivery{{"POST", signed(now, body), body, 200}}, wantEvents: 1},
		{name: "bad signature", deliveries: []delivery{{"POST", func() http.Header {
			h := signed(now, body)
			h.Set("x-zm-signature", "v0="+strings.Repeat("ab", 32))
			return h
		}(), body, 401}}},
		{name: "signature of another body", deliveries: []delivery{{"POST", signed(now, []byte(`{"event":"x"}`)), body, 401}}},
		{name: "signature with another secret", deliveries: []delivery{{"POST", func() http.Header {
			h := signed(now, body)
			h.Set("x-zm-signature", zoom.Sign("other-secret", now, body))
			return h
		}(), body, 401}}},
		{name: "missing headers", deliveries: []delivery{{"POST", http.Header{}, body, 401}}},
		{name: "stale timestamp", deliveries: []delivery{{"POST", signed(strconv.FormatInt(clk.Now().Add(-6*time.Minute).Unix(), 10), body), body, 401}}},
		{name: "timestamp from the future", deliveries: []delivery{{"POST", signed(strconv.FormatInt(clk.Now().Add(6*time.Minute).Unix(), 10), body), body, 401}}},
		{name: "timestamp at the edge of the window", deliveries: []delivery{{"POST", signed(strconv.FormatInt(clk.Now().Add(-4*time.Minute).Unix(), 10), body), body, 200}}, wantEvents: 1},
		{name: "replayed delivery", deliveries: []delivery{{"POST", signed(now, body), body, 200}, {"POST", signed(now, body), body, 409}}, wantEvents: 1},
		{name: "malformed body", deliveries: []delivery{{"POST", signed(now, []byte("not json")), []byte("not json"), 400}}},
		{name: "body too large", deliveries: []delivery{{"POST", signed(now, bytes.Repeat([]byte("a"), 2<<20)), bytes.Repeat([]byte("a"), 2<<20), 413}}},
		{name: "wrong method", deliveries: []delivery{{"GET", signed(now, nil), nil, 405}}},
		{name: "callback failure answers 500 and Zoom's retry is accepted", failFirst: true,
			deliveries: []delivery{{"POST", signed(now, body), body, 500}, {"POST", signed(now, body), body, 200}}, wantEvents: 1},
		{name: "url validation", deliveries: []delivery{{"POST", signed(now, validation), validation, 200}},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var got map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				want := zoomsim.EncryptToken(webhookSecret, "qgg8vlvZRS6UYooatFL8Aw")
				if got["plainToken"] != "qgg8vlvZRS6UYooatFL8Aw" || got["encryptedToken"] != want {
					t.Fatalf("validation answer %v, want encryptedToken %s", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, prefix := redistest.New(t)
			logs := &syncBuffer{}
			v, err := zoom.NewWebhookVerifier(zoom.WebhookOptions{SecretToken: webhookSecret, Redis: rdb, KeyPrefix: prefix,
				Now: clk.Now, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			if tt.failFirst {
				rec.fail = errors.New("queue unavailable")
			}
			h := v.Handler(rec.handle)
			var last *httptest.ResponseRecorder
			for i, d := range tt.deliveries {
				req := httptest.NewRequest(d.method, "/webhooks/zoom", bytes.NewReader(d.body))
				req.Header = d.header.Clone()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != d.status {
					t.Fatalf("delivery %d: status %d, want %d (%s)", i, w.Code, d.status, w.Body)
				}
				last = w
			}
			if rec.count() != tt.wantEvents {
				t.Fatalf("callback got %d events, want %d", rec.count(), tt.wantEvents)
			}
			if tt.check != nil {
				tt.check(t, last)
			}
			if strings.Contains(logs.String(), webhookSecret) {
				t.Fatal("the webhook secret appears in the logs")
			}
		})
	}
}

// TestWebhooksFromSimulator receives the simulator's real signed deliveries
// over HTTP: the endpoint validation and an app_deauthorized event.
func TestWebhooksFromSimulator(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	clk := newClock()
	v, err := zoom.NewWebhookVerifier(zoom.WebhookOptions{SecretToken: webhookSecret, Redis: rdb, KeyPrefix: prefix, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	hook := httptest.NewServer(v.Handler(rec.handle))
	defer hook.Close()
	sim := zoomsim.New(zoomsim.Options{Now: clk.Now, WebhookURL: hook.URL, WebhookSecret: webhookSecret})
	defer sim.Close()
	seed, err := sim.Seed(ctx, zoomsim.SeedOptions{Rooms: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("endpoint validation", func(t *testing.T) {
		if err := sim.ValidateEndpoint(ctx, seed.Marketplace.ClientID); err != nil {
			t.Fatalf("simulator rejected our validation answer: %v", err)
		}
		if rec.count() != 0 {
			t.Fatal("url_validation reached the callback")
		}
	})
	t.Run("app_deauthorized", func(t *testing.T) {
		if err := sim.Deauthorize(ctx, seed.Marketplace.ClientID, seed.AccountID, ""); err != nil {
			t.Fatal(err)
		}
		if rec.count() != 1 {
			t.Fatalf("callback got %d events, want 1", rec.count())
		}
		ev := rec.events[0]
		var p struct {
			AccountID string `json:"account_id"`
			ClientID  string `json:"client_id"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if ev.Event != "app_deauthorized" || p.AccountID != seed.AccountID || p.ClientID != seed.Marketplace.ClientID {
			t.Fatalf("event %s payload %+v", ev.Event, p)
		}
		if err := zoomspec.ValidateWebhook(ev.Raw); err != nil {
			t.Fatalf("delivery does not match Zoom's schema: %v", err)
		}
	})
	t.Run("the simulator saw every delivery accepted", func(t *testing.T) {
		d := sim.Deliveries()
		if len(d) != 2 {
			t.Fatalf("%d deliveries, want 2", len(d))
		}
		for _, x := range d {
			if x.Status != http.StatusOK {
				t.Fatalf("delivery %s got %d (%s)", x.Event, x.Status, x.Err)
			}
		}
	})
}
