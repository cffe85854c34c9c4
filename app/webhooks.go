package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

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
		DB: a.DB, Sealer: a.Sealer, Logger: a.Logger,
		AllowLoopback: a.Config.Dev && a.Config.WebhooksAllowLoopback,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Webhooks = svc
	svc.AddWorkers(w.workers)
	w.onRiver = append(w.onRiver, func(c *river.Client[pgx.Tx]) { svc.SetRiver(c) })
	a.runRelay(events.ConsumerWebhooks, svc.HandleEvents)
	return nil
}
