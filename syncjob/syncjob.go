// Package syncjob is the River job that syncs one connection's rooms. It
// sits between connections (which enqueues the first sync at connect and
// cancels syncs at disconnect) and rooms (whose worker runs it), so neither
// domain imports the other for it.
package syncjob

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Kind is the River job kind of a connection sync.
const Kind = "sync_connection"

// DevicesKind is the kind of the rooms domain's device refresh
// (rooms.DevicesArgs), named here so connections can cancel it at a
// disconnect without importing rooms.
const DevicesKind = "rooms_refresh_devices"

// Triggers of a sync.
const (
	TriggerConnect  = "connect"
	TriggerManual   = "manual"
	TriggerPeriodic = "periodic"
	TriggerWebhook  = "webhook"
)

// Args are a sync job's arguments. Only the connection id makes two syncs
// the same job (river:"unique"): the trigger is not part of it.
type Args struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id" river:"unique"`
	Trigger      string `json:"trigger"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return Kind }

// InsertOpts makes a connection's sync unique while one is waiting or
// running, so "Sync now" pressed twice, a periodic tick and a connect never
// queue duplicate work for one connection across replicas.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}

// Enqueue inserts a sync of the connection in tx, so it commits (or not)
// with the change that asked for it.
func Enqueue(ctx context.Context, client *river.Client[pgx.Tx], tx pgx.Tx, args Args) error {
	if _, err := client.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("syncjob.Enqueue: %w", err)
	}
	return nil
}

const sqlConnectionJobs = `SELECT id FROM river_job
WHERE kind = ANY($1) AND args->>'connection_id' = $2
  AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')
ORDER BY id`

// WritingKinds are the job kinds that write a connection's rooms: the sync
// and the device refresh (rooms.DevicesArgs, whose kind is DevicesKind).
func WritingKinds() []string { return []string{Kind, DevicesKind} }

// CancelForConnection cancels every waiting or running job of WritingKinds
// for the connection (a running job sees its context cancelled): a
// disconnect must not have its rooms rewritten while it cleans them.
func CancelForConnection(ctx context.Context, client *river.Client[pgx.Tx], db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, connectionID string) (int, error) {
	rows, err := db.Query(ctx, sqlConnectionJobs, WritingKinds(), connectionID)
	if err != nil {
		return 0, fmt.Errorf("syncjob.CancelForConnection: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("syncjob.CancelForConnection: %w", err)
	}
	for _, id := range ids {
		if _, err := client.JobCancel(ctx, id); err != nil {
			return 0, fmt.Errorf("syncjob.CancelForConnection: job %d: %w", id, err)
		}
	}
	return len(ids), nil
}
