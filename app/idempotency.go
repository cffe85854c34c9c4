package app

import (
	"context"

	"zoomsignage/idempotency"
)

// wireIdempotency puts the Idempotency-Key middleware in front of /graphql
// and registers the job that forgets expired keys. The lease outlasts the
// request timeout, so only a request that cannot still be running loses
// its key to a retry.
func (a *App) wireIdempotency(_ context.Context, w *wiring) error {
	cfg := idempotency.DefaultConfig()
	cfg.Lease = max(cfg.Lease, 2*a.Config.RequestTimeout)
	store := idempotency.New(a.DB, cfg, a.Logger.With("component", "idempotency"))
	store.AddWorkers(w.workers)
	w.periodic = append(w.periodic, store.PeriodicJobs()...)
	w.idempotency = store.Middleware
	return nil
}
