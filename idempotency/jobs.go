package idempotency

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// PruneArgs is the periodic job that deletes keys past the retention, so
// the table holds about a day of mutations and no more.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "idempotency_prune_keys" }

// PruneWorker runs PruneArgs.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Store *Store
}

// Work implements river.Worker.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.Store.Prune(ctx)
	return err
}

// Prune deletes expired keys and returns how many it deleted.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	tag, err := s.db.Exec(ctx, sqlPrune, s.cfg.Retention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("idempotency.Prune: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AddWorkers registers the package's River workers.
func (s *Store) AddWorkers(workers *river.Workers) {
	river.AddWorker(workers, &PruneWorker{Store: s})
}

// PeriodicJobs are the package's River periodic jobs: hourly pruning.
func (s *Store) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PruneArgs{}, nil },
		&river.PeriodicJobOpts{ID: "idempotency_prune_keys"})}
}
