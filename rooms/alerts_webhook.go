package rooms

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/events"
	"zoomsignage/zoom"
)

// EventAlert is the Zoom webhook event rooms handles.
const EventAlert = "zoomroom.alert"

// AlertWebhookHandler handles a zoomroom.alert delivery inside the
// transaction that records it (connections' webhook route): the alert state,
// the room's health and its health event commit with the delivery's
// idempotency key.
func (s *Service) AlertWebhookHandler(ctx context.Context, tx pgx.Tx, ev *zoom.WebhookEvent) error {
	tenant, touched, err := s.applyAlert(ctx, tx, ev.Payload)
	if err != nil {
		return fmt.Errorf("rooms.AlertWebhookHandler: %w", err)
	}
	if err := s.emitRoomHealth(ctx, tx, tenant, touched); err != nil {
		return fmt.Errorf("rooms.AlertWebhookHandler: %w", err)
	}
	return nil
}

// HealthEventArgs is the job that published rooms' health after a webhook
// changed it, before the outbox. It is still worked so that jobs enqueued
// by an older replica are not left failing; nothing enqueues it now.
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
	return w.Service.inTxEmit(ctx, func(tx pgx.Tx) ([]events.Event, error) {
		return w.Service.roomHealthEvents(ctx, tx, job.Args.TenantID, job.Args.RoomIDs)
	})
}
