package rooms

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/zoom"
)

// EventAlert is the Zoom webhook event rooms handles.
const EventAlert = "zoomroom.alert"

// AlertWebhookHandler handles a zoomroom.alert delivery inside the
// transaction that records it (connections' webhook route): the alert state
// and the room's health commit with the delivery's idempotency key. The
// health event is published by a job enqueued in the same transaction, so
// it is sent only once the change is committed.
func (s *Service) AlertWebhookHandler(ctx context.Context, tx pgx.Tx, ev *zoom.WebhookEvent) error {
	tenant, touched, err := s.applyAlert(ctx, tx, ev.Payload)
	if err != nil {
		return fmt.Errorf("rooms.AlertWebhookHandler: %w", err)
	}
	if len(touched) == 0 {
		return nil
	}
	c := s.river.Load()
	if c == nil {
		return errNoRiver
	}
	if _, err := c.InsertTx(ctx, tx, HealthEventArgs{TenantID: tenant, RoomIDs: touched}, nil); err != nil {
		return fmt.Errorf("rooms.AlertWebhookHandler: %w", err)
	}
	return nil
}

// HealthEventArgs is the job that publishes rooms' health after a webhook
// changed it.
type HealthEventArgs struct {
	TenantID string   `json:"tenant_id"`
	RoomIDs  []string `json:"room_ids"`
}

// Kind implements river.JobArgs.
func (HealthEventArgs) Kind() string { return "rooms_publish_health" }

// InsertOpts: an event is only worth sending soon.
func (HealthEventArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// HealthEventWorker works HealthEventArgs.
type HealthEventWorker struct {
	river.WorkerDefaults[HealthEventArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *HealthEventWorker) Work(ctx context.Context, job *river.Job[HealthEventArgs]) error {
	w.Service.publishRoomHealth(ctx, job.Args.TenantID, job.Args.RoomIDs)
	return nil
}
