package app

import (
	"context"
	"fmt"

	"zoomsignage/events"
)

// wireEvents builds the outbox the domains record events in, the event bus
// (Redis pub/sub fanned out in process) that subscriptions read from, and
// the relay that takes committed events from the outbox to the bus,
// retrying while Redis is down. The relay runs for the app's lifetime on
// every replica (one works at a time, the others stand by), and stops
// before the bus closes, the bus before Redis, so every stream ends
// cleanly first.
func (a *App) wireEvents(_ context.Context, w *wiring) error {
	a.Outbox = events.NewOutbox(a.DB, events.ConsumerSubscriptions, events.ConsumerWebhooks)
	bus, err := events.NewBus(events.BusOptions{
		Redis:      a.Redis,
		Prefix:     a.Config.RedisPrefix,
		Logger:     a.Logger,
		Registerer: w.registry,
		Replay:     a.Outbox,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Bus = bus
	a.Events = bus
	a.closers = append(a.closers, bus.Close)
	a.Outbox.AddWorkers(w.workers)
	w.periodic = append(w.periodic, a.Outbox.PeriodicJobs()...)

	a.runRelay(events.ConsumerSubscriptions, events.PublishTo(bus))
	return nil
}

// runRelay runs one outbox consumer's relay for the app's lifetime.
func (a *App) runRelay(consumer string, handle events.Handler) {
	relay := a.Outbox.Relay(consumer, handle, events.RelayOptions{Logger: a.Logger})
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		relay.Run(ctx)
	}()
	a.closers = append(a.closers, func() { stop(); <-stopped })
}
