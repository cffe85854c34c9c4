package app

import (
	"context"
	"fmt"

	"zoomsignage/events"
	"zoomsignage/webhooks"
)

// wireWebhooks builds the partner webhooks service (issue 15), registers
// its delivery worker, and runs the outbox relay of the webhooks consumer,
// which turns every committed event into deliveries in one transaction.
// Loopback endpoints are allowed only in dev mode with
// WEBHOOKS_ALLOW_LOOPBACK.
func (a *App) wireWebhooks(_ context.Context, w *wiring) error {
	svc, err := webhooks.New(webhooks.Config{
		DB: a.DB, Sealer: a.Sealer, River: a.River, Logger: a.Logger,
		AllowLoopback: a.Config.Dev && a.Config.WebhooksAllowLoopback,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Webhooks = svc
	svc.AddWorkers(w.workers)
	a.runRelay(events.ConsumerWebhooks, svc.HandleEvents)
	return nil
}
