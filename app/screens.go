package app

import (
	"context"
	"fmt"

	"zoomsignage/screens"
)

// wireScreens builds the screens service (issue 13) on rooms' signage state
// and mounts its routes: the player page at the screen URL pushed to Zoom,
// its program and its event stream; and its sweep, which announces
// screens going offline and broadcasts reaching their endsAt.
func (a *App) wireScreens(_ context.Context, w *wiring) error {
	svc, err := screens.New(screens.Config{
		DB: a.DB, Redis: a.Redis, RedisPrefix: a.Config.RedisPrefix, Bus: a.Bus, Events: a.Outbox,
		Rooms: a.Rooms, Logger: a.Logger,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Screens = svc
	svc.AddWorkers(w.workers)
	w.periodic = append(w.periodic, svc.PeriodicJobs()...)
	for _, r := range svc.Routes() {
		w.routes = append(w.routes, route{pattern: r.Pattern, name: r.Name, handler: r.Handler})
	}
	return nil
}
