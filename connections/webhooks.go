package connections

import (
	"context"

	"github.com/jackc/pgx/v5"

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
