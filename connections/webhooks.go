package connections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"zoomsignage/store"
	"zoomsignage/zoom"
)

// WebhookHandler handles one verified Zoom event inside the transaction
// that records the delivery in webhook_events: whatever it writes or
// enqueues (River's InsertTx) commits with the idempotency key, or not at
// all, in which case Zoom is answered 500 and retries. It must return fast
// (Zoom wants an answer within 3 s): store and enqueue, never call Zoom.
type WebhookHandler func(ctx context.Context, tx pgx.Tx, ev *zoom.WebhookEvent) error

// RegisterWebhookHandler routes Zoom events named event (for example
// "zoomroom.alert") arriving at /webhooks/zoom to h. Domains register their
// handlers while the app is wired, before it serves; registering an event
// twice replaces the handler. Duplicate deliveries never reach h: the route
// records every delivery in webhook_events first.
func (s *Service) RegisterWebhookHandler(event string, h WebhookHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[event] = h
}

func (s *Service) webhookHandler(event string) (WebhookHandler, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.handlers[event]
	return h, ok
}

// EventAppDeauthorized is Zoom's uninstall notification.
const EventAppDeauthorized = "app_deauthorized"

// webhookBudget bounds the handling of one delivery: Zoom wants an answer
// within 3 s.
const webhookBudget = 2500 * time.Millisecond

const (
	sqlRecordDelivery = `INSERT INTO webhook_events (event_key, event) VALUES ($1, $2)
ON CONFLICT (event_key) DO NOTHING`
	// sqlRouteDeauthorization finds the Marketplace connection a
	// deauthorization is for, unless its grant was authorized after the
	// deauthorization (a late event about an earlier grant). It is not
	// scoped by tenant on purpose: the tenant is what it finds, from the
	// Zoom account (linked to at most one connection) in a verified Zoom
	// delivery, and nothing is returned to any caller.
	sqlRouteDeauthorization = `SELECT ` + connectionColumns + `
  FROM zoom_connections
 WHERE zoom_account_id = $1 AND client_id = $2 AND kind = 'MARKETPLACE'
   AND (authorized_at IS NULL OR authorized_at <= $3)
 ORDER BY id
   FOR UPDATE`
)

// WebhookRoute returns the handler of POST /webhooks/zoom, or nil when no
// webhook secret is configured. It verifies the signature and timestamp
// (zoom.WebhookVerifier: 401 for bad ones, url_validation answered), then
// records the delivery in webhook_events and runs the event's registered
// handler in that transaction. Duplicates are answered 200 and ignored;
// unknown events are recorded and answered 200.
func (s *Service) WebhookRoute() (http.Handler, error) {
	if s.cfg.WebhookSecret == "" {
		return nil, nil
	}
	v, err := zoom.NewWebhookVerifier(zoom.WebhookOptions{
		SecretToken: s.cfg.WebhookSecret, Redis: s.rdb, KeyPrefix: s.prefix, Logger: s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("connections.WebhookRoute: %w", err)
	}
	return v.Handler(s.dispatchWebhook), nil
}

// dispatchWebhook handles one verified delivery exactly once.
func (s *Service) dispatchWebhook(ctx context.Context, ev *zoom.WebhookEvent) error {
	ctx, cancel := context.WithTimeout(ctx, webhookBudget)
	defer cancel()
	key := deliveryKey(ev)
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sqlRecordDelivery, key, ev.Event)
		if err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		if tag.RowsAffected() == 0 {
			s.log.InfoContext(ctx, "duplicate zoom webhook ignored", "event", ev.Event)
			return nil
		}
		h, ok := s.webhookHandler(ev.Event)
		if !ok {
			s.log.InfoContext(ctx, "zoom webhook event has no handler", "event", ev.Event)
			return nil
		}
		return h(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("connections.dispatchWebhook(%s): %w", ev.Event, err)
	}
	return nil
}

// deliveryKey identifies a delivery for idempotency: for app_deauthorized
// the payload's signature (Zoom's id of that uninstall) with its time, so a
// retry whose body differs in any other byte is still a duplicate, and two
// uninstalls of one account months apart (the signature may be derived
// from the account, user and app) are not; otherwise, or without a
// signature, the body's SHA-256.
func deliveryKey(ev *zoom.WebhookEvent) string {
	if ev.Event == EventAppDeauthorized {
		var p deauthorizedPayload
		if json.Unmarshal(ev.Payload, &p) == nil && p.Signature != "" {
			sum := sha256.Sum256([]byte(p.Signature + "\x00" + p.DeauthorizationTime))
			return ev.Event + ":sig:" + hex.EncodeToString(sum[:])
		}
	}
	sum := sha256.Sum256(ev.Raw)
	return ev.Event + ":" + hex.EncodeToString(sum[:])
}

// deauthorizedPayload is the payload of app_deauthorized.
type deauthorizedPayload struct {
	AccountID           string `json:"account_id"`
	UserID              string `json:"user_id"`
	ClientID            string `json:"client_id"`
	Signature           string `json:"signature"`
	DeauthorizationTime string `json:"deauthorization_time"`
}

// at is when the app was uninstalled: deauthorization_time, else the
// envelope's event_ts; zero when neither is usable.
func (p deauthorizedPayload) at(ev *zoom.WebhookEvent) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, p.DeauthorizationTime); err == nil {
		return t
	}
	if ev.EventTS > 0 {
		return time.UnixMilli(ev.EventTS)
	}
	return time.Time{}
}

// handleDeauthorized starts the cleanup of the Marketplace connection the
// uninstalled app served, without a revoke (Zoom revoked the grant) and
// with the audit actor "zoom". Ignored: another app's client id (only our
// Marketplace app's uninstalls concern us; a customer's Server-to-Server
// app is not uninstalled this way), an unknown account, a payload without
// a time, and an event older than the connection's current grant (a
// retried delivery about a grant since replaced by a reinstall).
func (s *Service) handleDeauthorized(ctx context.Context, tx pgx.Tx, ev *zoom.WebhookEvent) error {
	var p deauthorizedPayload
	if err := json.Unmarshal(ev.Payload, &p); err != nil || p.AccountID == "" || p.ClientID == "" {
		s.log.WarnContext(ctx, "app_deauthorized without account_id or client_id ignored")
		return nil
	}
	if s.app.ClientID == "" || p.ClientID != s.app.ClientID {
		s.log.WarnContext(ctx, "app_deauthorized for another app than our Marketplace app ignored")
		return nil
	}
	at := p.at(ev)
	if at.IsZero() {
		s.log.WarnContext(ctx, "app_deauthorized without a deauthorization time ignored")
		return nil
	}
	rows, err := tx.Query(ctx, sqlRouteDeauthorization, p.AccountID, p.ClientID, at)
	if err != nil {
		return fmt.Errorf("route deauthorization: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanConnection)
	if err != nil {
		return fmt.Errorf("route deauthorization: %w", err)
	}
	if len(list) == 0 {
		s.log.InfoContext(ctx, "app_deauthorized for an account with no connection, or older than its current grant, ignored")
		return nil
	}
	for _, c := range list {
		if c.Status == StatusDisconnecting {
			if err := s.enqueueCleanup(ctx, tx, c.TenantID, c.ID); err != nil {
				return err
			}
			continue
		}
		if err := s.beginDisconnect(ctx, tx, c, reasonDeauthorized, "zoom"); err != nil {
			return err
		}
	}
	return nil
}
