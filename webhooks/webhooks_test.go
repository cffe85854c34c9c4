package webhooks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"zoomsignage/apierror"
	"zoomsignage/events"
	"zoomsignage/store"
	"zoomsignage/store/storetest"
	"zoomsignage/tenants"
	"zoomsignage/vault/vaulttest"
	"zoomsignage/webhooks"
)

const wait = 30 * time.Second

// captured is one request the receiver got.
type captured struct {
	headers http.Header
	body    []byte
}

// receiver is a real HTTP endpoint on 127.0.0.1 that answers each request
// with the next scripted status (the last one repeats).
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []captured
	arrived  chan struct{}
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, captured{headers: req.Header.Clone(), body: b})
		status := r.statuses[min(len(r.got)-1, len(r.statuses)-1)]
		r.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", r.srv.URL+"/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 10_000)) // longer than anything kept
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]captured(nil), r.got...)
}

func (r *receiver) await(t *testing.T, n int) []captured {
	t.Helper()
	deadline := time.After(wait)
	for len(r.requests()) < n {
		select {
		case <-r.arrived:
		case <-deadline:
			t.Fatalf("the receiver got %d requests, want %d", len(r.requests()), n)
		}
	}
	return r.requests()
}

// env is the webhooks service with River working its jobs and the outbox
// relay of the webhooks consumer feeding it.
type env struct {
	ctx    context.Context
	db     *pgxpool.Pool
	svc    *webhooks.Service
	outbox *events.Outbox
	tenant string
	river  *river.Client[pgx.Tx]
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

func newEnvWith(t *testing.T, configure func(*webhooks.Config)) *env {
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	// River first, its workers added once the service exists, as the app
	// wires it.
	workers := river.NewWorkers()
	rc, err := river.NewClient(riverpgxv5.New(db), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
		Workers:           workers,
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
		TestOnly:          true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := webhooks.Config{DB: db, Sealer: vaulttest.New(t), River: rc, AllowLoopback: true,
		RetryBase: 10 * time.Millisecond, Timeout: 2 * time.Second}
	if configure != nil {
		configure(&cfg)
	}
	svc, err := webhooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc.AddWorkers(workers)
	if err := rc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.StopAndCancel(sctx)
	})
	outbox := events.NewOutbox(db, events.ConsumerWebhooks)
	relay := outbox.Relay(events.ConsumerWebhooks, svc.HandleEvents, events.RelayOptions{Poll: 50 * time.Millisecond})
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	return &env{ctx: ctx, db: db, svc: svc, outbox: outbox, tenant: tn.ID, river: rc}
}

// endpoint registers url for room status events and returns it with its
// secret.
func (e *env) endpoint(t *testing.T, url string) (webhooks.Endpoint, string) {
	t.Helper()
	ep, secret, err := e.svc.CreateEndpoint(e.ctx, e.tenant, "user:admin", webhooks.EndpointInput{
		URL: url, Events: []string{"room.status_changed"}})
	if err != nil {
		t.Fatal(err)
	}
	return ep, secret
}

// statusChange commits a room status event as a sync would.
func (e *env) statusChange(t *testing.T, room string) {
	t.Helper()
	err := store.InTx(e.ctx, e.db, func(tx pgx.Tx) error {
		return e.outbox.Add(e.ctx, tx, events.Event{Kind: events.RoomStatusChanged, TenantID: e.tenant, ConnectionID: "conn-1",
			Room: &events.RoomSnapshot{ID: room, Name: "Room " + room, Status: "IN_MEETING"}, PreviousStatus: "AVAILABLE"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// delivery waits until the newest node of the endpoint's deliveries list
// (notices aside) is at status, and returns it.
func (e *env) delivery(t *testing.T, endpointID, status string) webhooks.Delivery {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		// One page, one snapshot: deliveries are still being written, so
		// the whole list read page by page (e.list, which checks its
		// totalCount) may span two moments.
		page, err := e.svc.Deliveries(e.ctx, e.tenant, endpointID, webhooks.MaxPageSize, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Deliveries {
			if d.EventType == webhooks.NoticeEndpointDisabled {
				continue
			}
			if d.Status == status {
				return d
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries = %+v, want the newest %s", e.list(t, endpointID), status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// list is the endpoint's whole deliveries list, newest first, read a page
// of two at a time (so the cursor is exercised).
func (e *env) list(t *testing.T, endpointID string) []webhooks.Delivery {
	t.Helper()
	var out []webhooks.Delivery
	after := ""
	for {
		page, err := e.svc.Deliveries(e.ctx, e.tenant, endpointID, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Deliveries...)
		if !page.HasNext {
			if page.Total != len(out) {
				t.Fatalf("totalCount %d, listed %d", page.Total, len(out))
			}
			return out
		}
		after = webhooks.Cursor(page.Deliveries[len(page.Deliveries)-1])
	}
}

// jobFinalized waits until every delivery job has ended, in River's terms.
func (e *env) jobsFinalized(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		var n int
		if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'webhooks_deliver' AND finalized_at IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d delivery jobs still running", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifyWithReference checks a captured delivery with the standardwebhooks
// npm package (test/webhooks, installed from its lock file by .ci/run).
func verifyWithReference(t *testing.T, secret string, c captured) error {
	t.Helper()
	dir := filepath.Join("..", "test", "webhooks")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		t.Fatalf("run `npm ci` in %s first (.ci/run does): %v", dir, err)
	}
	in, _ := json.Marshal(map[string]any{"secret": secret, "body": string(c.body), "headers": map[string]string{
		"webhook-id": c.headers.Get("webhook-id"), "webhook-timestamp": c.headers.Get("webhook-timestamp"),
		"webhook-signature": c.headers.Get("webhook-signature")}})
	cmd := exec.Command("node", "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &verifyError{string(out)}
	}
	return nil
}

type verifyError struct{ out string }

func (e *verifyError) Error() string { return e.out }

// TestDeliverySignatureVerifiesWithTheReferenceLibrary: a delivery carries
// the Standard Webhooks headers and body, and its signature verifies with
// the standardwebhooks npm package; a tampered body does not.
func TestDeliverySignatureVerifiesWithTheReferenceLibrary(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 200)
	ep, secret := e.endpoint(t, r.srv.URL+"/hooks")
	if len(secret) != len("whsec_")+44 || secret[:6] != "whsec_" {
		t.Fatalf("secret %q is not whsec_ + base64 of 32 bytes", secret)
	}
	e.statusChange(t, "room-1")
	c := r.await(t, 1)[0]
	if err := verifyWithReference(t, secret, c); err != nil {
		t.Fatalf("the reference library refused the delivery: %v", err)
	}
	var body struct {
		Type      string
		Timestamp time.Time
		Data      struct{ Room struct{ ID, Status string } }
	}
	if err := json.Unmarshal(c.body, &body); err != nil || body.Type != "room.status_changed" || body.Data.Room.ID != "room-1" ||
		body.Data.Room.Status != "IN_MEETING" || body.Timestamp.IsZero() {
		t.Fatalf("body %s: %v", c.body, err)
	}
	tampered := c
	tampered.body = bytes.Replace(c.body, []byte("IN_MEETING"), []byte("AVAILABLE"), 1)
	if err := verifyWithReference(t, secret, tampered); err == nil {
		t.Fatal("the reference library accepted a tampered body: the check proves nothing")
	}
	d := e.delivery(t, ep.ID, webhooks.StatusSucceeded)
	if d.Attempt != 1 || d.ResponseCode == nil || *d.ResponseCode != 200 || d.WebhookID != c.headers.Get("webhook-id") {
		t.Fatalf("delivery = %+v", d)
	}
}

// TestRetriesAfter500ThenSucceeds: a 5xx is retried with backoff, with the
// same webhook-id and body, and the deliveries list shows both attempts
// (newest first, one webhook-id, one delivery), each with its code and
// duration; either attempt's id redelivers the message.
func TestRetriesAfter500ThenSucceeds(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 500, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	e.statusChange(t, "room-1")
	got := r.await(t, 2)
	if got[0].headers.Get("webhook-id") != got[1].headers.Get("webhook-id") || !bytes.Equal(got[0].body, got[1].body) {
		t.Fatal("the retry is not the same message")
	}
	d := e.delivery(t, ep.ID, webhooks.StatusSucceeded)
	if d.Attempt != 2 || *d.ResponseCode != 200 {
		t.Fatalf("delivery = %+v, want succeeded at attempt 2", d)
	}
	list := e.list(t, ep.ID)
	if len(list) != 2 {
		t.Fatalf("deliveries list %+v, want two attempts", list)
	}
	second, first := list[0], list[1]
	if first.Attempt != 1 || first.Status != webhooks.StatusRetrying || first.ResponseCode == nil || *first.ResponseCode != 500 ||
		first.LastError != "the endpoint answered 500" || first.NextAttemptAt == nil {
		t.Fatalf("first attempt %+v, want attempt 1 retrying after a 500", first)
	}
	if second.LastError != "" || second.NextAttemptAt != nil || second.CreatedAt.Before(first.CreatedAt) {
		t.Fatalf("second attempt %+v after %+v", second, first)
	}
	for _, a := range list {
		if a.WebhookID != got[0].headers.Get("webhook-id") || a.DeliveryID != first.DeliveryID || a.DeliveryID == "" ||
			a.ID == a.DeliveryID || a.Duration <= 0 {
			t.Fatalf("attempt %+v: want the one delivery's webhook-id, its own id and a duration", a)
		}
	}
	p, err := e.svc.Redeliver(e.ctx, e.tenant, "user:admin", first.ID)
	if err != nil || p.ID != first.DeliveryID || p.Status != webhooks.StatusPending || p.Attempt != 2 {
		t.Fatalf("redelivering by the first attempt's id: %+v, %v", p, err)
	}
	r.await(t, 3)
	e.delivery(t, ep.ID, webhooks.StatusSucceeded)
	if list := e.list(t, ep.ID); len(list) != 3 || list[0].Attempt != 3 || list[0].DeliveryID != first.DeliveryID {
		t.Fatalf("after the redelivery: %+v, want a third attempt of the delivery on top", list)
	}
}

// TestNoRetryAfter400: a 4xx other than 429 fails the delivery for good.
func TestNoRetryAfter400(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 400, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	e.statusChange(t, "room-1")
	r.await(t, 1)
	d := e.delivery(t, ep.ID, webhooks.StatusFailed)
	e.jobsFinalized(t)
	if n := len(r.requests()); n != 1 || d.Attempt != 1 || *d.ResponseCode != 400 {
		t.Fatalf("%d requests, delivery %+v; want one attempt answered 400", n, d)
	}
}

// TestRedirectsAreNotFollowed: a 3xx is a failed delivery; the redirect's
// target is never called.
func TestRedirectsAreNotFollowed(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 302)
	ep, _ := e.endpoint(t, r.srv.URL+"/hooks")
	e.statusChange(t, "room-1")
	e.delivery(t, ep.ID, webhooks.StatusFailed)
	e.jobsFinalized(t)
	got := r.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests: the redirect was followed", len(got))
	}
}

// TestRedeliverKeepsTheWebhookID: redeliverWebhook sends the same message
// again, so a receiver that processed it can tell.
func TestRedeliverKeepsTheWebhookID(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	e.statusChange(t, "room-1")
	r.await(t, 1)
	d := e.delivery(t, ep.ID, webhooks.StatusSucceeded)
	if _, err := e.svc.Redeliver(e.ctx, e.tenant, "user:admin", d.ID); err != nil {
		t.Fatal(err)
	}
	got := r.await(t, 2)
	if got[1].headers.Get("webhook-id") != got[0].headers.Get("webhook-id") || !bytes.Equal(got[0].body, got[1].body) {
		t.Fatalf("redelivery webhook-id %q, first %q", got[1].headers.Get("webhook-id"), got[0].headers.Get("webhook-id"))
	}
	if _, err := e.svc.Redeliver(e.ctx, "00000000-0000-0000-0000-000000000000", "user:x", d.ID); apierror.CodeOf(err) != apierror.NotFound {
		t.Fatalf("another tenant redelivering: %v, want NOT_FOUND", err)
	}
}

// TestOneDeliveryPerEventPerEndpoint: events of other types or tenants are
// not delivered, and a batch offered again never sends twice.
func TestOneDeliveryPerEventPerEndpoint(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	err := store.InTx(e.ctx, e.db, func(tx pgx.Tx) error {
		return e.outbox.Add(e.ctx, tx,
			events.Event{Kind: events.RoomHealthChanged, TenantID: e.tenant, Room: &events.RoomSnapshot{ID: "r"}},
			events.Event{Kind: events.RoomStatusChanged, TenantID: "00000000-0000-0000-0000-000000000000", Room: &events.RoomSnapshot{ID: "r"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.statusChange(t, "room-1")
	r.await(t, 1)
	// Offer the delivered event again, as a relay whose commit was lost would.
	var id int64
	if err := e.db.QueryRow(e.ctx, `SELECT max(id) FROM event_outbox`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	evs, err := e.outbox.Since(e.ctx, e.tenant, id-1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InTx(e.ctx, e.db, func(tx pgx.Tx) error { return e.svc.HandleEvents(e.ctx, tx, evs) }); err != nil {
		t.Fatal(err)
	}
	e.jobsFinalized(t)
	if n := len(r.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	e.delivery(t, ep.ID, webhooks.StatusSucceeded)
}

// TestEndpointURLsMustBePublicHTTPS: private, link-local and loopback
// addresses and plain http are refused when registering (production
// policy), with a field error.
func TestEndpointURLsMustBePublicHTTPS(t *testing.T) {
	ctx := context.Background()
	db := storetest.New(t)
	tn, err := tenants.Create(ctx, db, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := webhooks.New(webhooks.Config{DB: db, Sealer: vaulttest.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{
		"https://10.1.2.3/hook", "https://192.168.0.10/hook", "https://172.16.5.5/hook",
		"https://169.254.169.254/latest/meta-data", "https://127.0.0.1/hook", "https://[::1]/hook",
		"https://[fe80::1]/hook", "https://localhost/hook", "http://127.0.0.1:8080/hook", "http://93.184.215.14/hook",
		"https://user:pw@93.184.215.14/hook", "ftp://93.184.215.14/", "not a url",
	} {
		_, _, err := svc.CreateEndpoint(ctx, tn.ID, "user:admin", webhooks.EndpointInput{URL: url, Events: []string{"room.status_changed"}})
		if e, ok := apierror.As(err); !ok || e.Code != apierror.BadUserInput || e.Field != "input.url" {
			t.Errorf("%s: %v, want BAD_USER_INPUT on input.url", url, err)
		}
	}
	_, _, err = svc.CreateEndpoint(ctx, tn.ID, "user:admin", webhooks.EndpointInput{URL: "https://93.184.215.14/hook", Events: []string{"room.nope"}})
	if apierror.CodeOf(err) != apierror.BadUserInput {
		t.Errorf("unknown event type: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM webhook_endpoints`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d endpoints written by refused inputs (%v)", n, err)
	}
}

// TestDeliveriesAreOrderedPerRoom: while a room's earlier event is being
// retried, its later event waits, so the endpoint sees them in order.
func TestDeliveriesAreOrderedPerRoom(t *testing.T) {
	// The retry waits long enough for the later event to be ready meanwhile.
	e := newEnvWith(t, func(c *webhooks.Config) { c.RetryBase = 2 * time.Second })
	r := newReceiver(t, 500, 200)
	e.endpoint(t, r.srv.URL)
	e.statusChange(t, "room-1") // answered 500 first, then retried
	r.await(t, 1)
	err := store.InTx(e.ctx, e.db, func(tx pgx.Tx) error {
		return e.outbox.Add(e.ctx, tx, events.Event{Kind: events.RoomStatusChanged, TenantID: e.tenant,
			Room: &events.RoomSnapshot{ID: "room-1", Status: "OFFLINE"}, PreviousStatus: "IN_MEETING"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.await(t, 3)
	var order []string
	for _, c := range got {
		var b struct {
			Data struct{ Room struct{ Status string } }
		}
		_ = json.Unmarshal(c.body, &b)
		order = append(order, b.Data.Room.Status)
	}
	if order[0] != "IN_MEETING" || order[1] != "IN_MEETING" || order[2] != "OFFLINE" {
		t.Fatalf("the endpoint saw %v, want the first event (twice) before the second", order)
	}
}

// TestEndpointFailing24HoursIsDisabled: once every attempt failed for 24
// hours straight (a fake clock), the endpoint is disabled and audited, and
// its deliveries stop.
func TestEndpointFailing24HoursIsDisabled(t *testing.T) {
	var offset atomic.Int64
	e := newEnvWith(t, func(c *webhooks.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	r := newReceiver(t, 503)
	ep, _ := e.endpoint(t, r.srv.URL)
	e.statusChange(t, "room-1")
	e.delivery(t, ep.ID, webhooks.StatusRetrying) // the first failure is recorded: the streak starts
	offset.Store(int64(25 * time.Hour))
	d := e.delivery(t, ep.ID, webhooks.StatusFailed)
	e.jobsFinalized(t)
	list, err := e.svc.Endpoints(e.ctx, e.tenant)
	if err != nil || len(list) != 1 || list[0].Enabled {
		t.Fatalf("endpoints %+v (%v), want it disabled", list, err)
	}
	var audited int
	if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM audit_events WHERE action = 'webhook.endpoint_disabled' AND target_id = $1`, ep.ID).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("%d audit events (%v), want 1", audited, err)
	}
	if d.LastError != "the endpoint is disabled" {
		t.Fatalf("delivery %+v; want it failed as disabled", d)
	}
	// The notice sits in the deliveries list, above the attempt that
	// disabled the endpoint, and is no delivery to send again.
	var notices []webhooks.Delivery
	all := e.list(t, ep.ID)
	for i, n := range all {
		if n.EventType == webhooks.NoticeEndpointDisabled {
			notices = append(notices, n)
			if i+1 >= len(all) || all[i+1].Status != webhooks.StatusRetrying || all[i+1].ResponseCode == nil || *all[i+1].ResponseCode != 503 {
				t.Fatalf("deliveries list %+v: the notice is not above the failure that disabled the endpoint", all)
			}
		}
	}
	if len(notices) != 1 || notices[0].Status != webhooks.StatusFailed || notices[0].DeliveryID != "" ||
		!strings.Contains(notices[0].LastError, "disabled: every delivery failed for 24 hours straight") {
		t.Fatalf("notices %+v in %+v, want one endpoint.disabled", notices, all)
	}
	if _, err := e.svc.Redeliver(e.ctx, e.tenant, "user:admin", notices[0].ID); apierror.CodeOf(err) != apierror.NotFound {
		t.Fatalf("redelivering a notice: %v, want NOT_FOUND", err)
	}
	n := len(r.requests())
	e.statusChange(t, "room-2")
	time.Sleep(300 * time.Millisecond)
	if len(r.requests()) != n {
		t.Fatal("a disabled endpoint still receives new events")
	}
}

// TestSuccessDoesNotQueueOnTheEndpointRow: recording a success touches the
// endpoint's row only to end a failure streak, so deliveries to one
// endpoint never wait on each other: here the row is held as another
// success's UPDATE holds it (FOR NO KEY UPDATE) for the whole delivery,
// which still succeeds.
func TestSuccessDoesNotQueueOnTheEndpointRow(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	tx, err := e.db.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(e.ctx) }()
	if _, err := tx.Exec(e.ctx, `SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR NO KEY UPDATE`, ep.ID); err != nil {
		t.Fatal(err)
	}
	e.statusChange(t, "room-1")
	e.delivery(t, ep.ID, webhooks.StatusSucceeded)
}

// TestDeliveriesRefuseCursorsOfNoList: a cursor that is not one of this
// list's (garbage, another list's base64, a non-positive sequence) is
// BAD_USER_INPUT on after, never an empty page or a database error.
func TestDeliveriesRefuseCursorsOfNoList(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 200)
	ep, _ := e.endpoint(t, r.srv.URL)
	enc := base64.RawURLEncoding.EncodeToString
	for _, after := range []string{"not base64!", enc([]byte("2026-12-04T20:00:00Z|x")), enc([]byte("s0")), enc([]byte("s-1")), enc([]byte("sabc"))} {
		_, err := e.svc.Deliveries(e.ctx, e.tenant, ep.ID, 10, after)
		if ae, ok := apierror.As(err); !ok || ae.Code != apierror.BadUserInput || ae.Field != "after" {
			t.Errorf("after %q: %v, want BAD_USER_INPUT on after", after, err)
		}
	}
}
