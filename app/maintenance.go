package app

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// webhookRetention is how long a delivery key is kept for idempotency. Zoom
// retries a failed delivery for about 85 minutes (after 5, 20 and 60), so a
// week is ample.
const webhookRetention = 7 * 24 * time.Hour

const sqlPruneWebhookEvents = `DELETE FROM webhook_events WHERE received_at < $1`

// PruneWebhookEventsArgs is the periodic job that forgets old webhook
// delivery keys so the idempotency table does not grow forever.
type PruneWebhookEventsArgs struct{}

// Kind implements river.JobArgs.
func (PruneWebhookEventsArgs) Kind() string { return "prune_webhook_events" }

// PruneWebhookEventsWorker deletes delivery keys older than webhookRetention.
type PruneWebhookEventsWorker struct {
	river.WorkerDefaults[PruneWebhookEventsArgs]
	DB *pgxpool.Pool
}

// Work implements river.Worker.
func (w *PruneWebhookEventsWorker) Work(ctx context.Context, _ *river.Job[PruneWebhookEventsArgs]) error {
	if _, err := w.DB.Exec(ctx, sqlPruneWebhookEvents, time.Now().Add(-webhookRetention)); err != nil {
		return fmt.Errorf("app.PruneWebhookEventsWorker: %w", err)
	}
	return nil
}

// wireMaintenance registers the app's own housekeeping jobs.
func (a *App) wireMaintenance(_ context.Context, w *wiring) error {
	river.AddWorker(w.workers, &PruneWebhookEventsWorker{DB: a.DB})
	w.periodic = append(w.periodic, river.NewPeriodicJob(
		river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneWebhookEventsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "prune_webhook_events"},
	))
	return nil
}
