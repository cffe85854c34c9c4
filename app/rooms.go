package app

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"zoomsignage/resolvers"
	"zoomsignage/rooms"
	"zoomsignage/server"
)

// wireRooms builds the rooms service (sync engine, signage, restart), its
// River workers and periodic jobs (the sync scheduler, run pruning), its
// zoomroom.alert webhook handler, the per-response dataloaders of the Room
// fields, and the rooms response cache with its data version listener.
func (a *App) wireRooms(_ context.Context, w *wiring) error {
	svc, err := rooms.New(rooms.Config{
		DB: a.DB, Zoom: a.Zoom, Connections: rooms.FromConnections(a.Connections), River: a.River, Outbox: a.Outbox,
		Redis: a.Redis, KeyPrefix: a.Config.RedisPrefix,
		Logger: a.Logger, SignageBaseURL: a.Config.SignageBaseURL, SyncInterval: a.Config.SyncInterval,
		Jobs: a.jobTiming(), Registry: w.registry,
	})
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	a.Rooms = svc
	svc.Register(w.workers)
	w.periodic = append(w.periodic, svc.PeriodicJobs()...)
	a.Connections.RegisterWebhookHandler(rooms.EventAlert, svc.AlertWebhookHandler)
	// Data versions come from memory kept current by one LISTEN connection
	// (until it is live, and whenever it is not, from Postgres), so a cache
	// hit costs no statement. It runs for the app's lifetime.
	versions := rooms.NewDataVersions(a.DB, a.Logger.With("component", "data_versions"))
	lctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		versions.Run(lctx)
	}()
	a.closers = append(a.closers, func() { stop(); <-stopped })
	w.schema = append(w.schema, func(es graphql.ExecutableSchema) graphql.ExecutableSchema {
		return resolvers.WithRoomLoaders(es, svc, a.Connections)
	}, func(es graphql.ExecutableSchema) graphql.ExecutableSchema {
		cached := resolvers.WithRoomsCache(es, versions, resolvers.RoomsCacheSize)
		if rc, ok := cached.(server.ResponseCache); ok {
			w.responseCache = rc
		}
		return cached
	})
	return nil
}
