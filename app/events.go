package app

import (
	"context"
	"fmt"

	"zoomsignage/events"
)

// wireEvents builds the event bus (Redis pub/sub fanned out in process) that
// the domains publish to and subscriptions read from. It is closed before
// Redis, so every stream ends cleanly first.
func (a *App) wireEvents(_ context.Context, w *wiring) error {
	bus, err := events.NewBus(events.BusOptions{
		Redis:      a.Redis,
		Prefix:     a.Config.RedisPrefix,
		Logger:     a.Logger,
		Registerer: w.registry,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Bus = bus
	a.Events = bus
	a.closers = append(a.closers, bus.Close)
	return nil
}
