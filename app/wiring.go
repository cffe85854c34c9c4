package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"zoomsignage/jobtime"
	"zoomsignage/server"
	"zoomsignage/zoom"
)

// wiring collects what each domain contributes while the app is assembled:
// River workers (added to the bundle the already built River client works
// from: River looks a job's worker up when it runs it, so the bundle may be
// filled after the client is made, as long as it is before Start), periodic
// jobs and HTTP routes. Each domain has its own wire function in its own
// file (connections.go, rooms.go, events.go).
type wiring struct {
	registry *prometheus.Registry
	workers  *river.Workers
	periodic []*river.PeriodicJob
	routes   []route
	// schema wraps the executable schema (per-response dataloaders).
	schema []func(graphql.ExecutableSchema) graphql.ExecutableSchema
	// responseCache, when a domain provides one, lets the server answer
	// repeated requests with stored bytes before running gqlgen.
	responseCache server.ResponseCache
	// idempotency wraps /graphql so retried mutations replay.
	idempotency func(http.Handler) http.Handler
}

type route struct {
	pattern, name string
	handler       http.Handler
}

// newZoomClient builds the one Zoom client the process shares.
func (a *App) newZoomClient(reg prometheus.Registerer) (*zoom.Client, error) {
	c, err := zoom.New(zoom.Options{
		APIBaseURL:   a.Config.ZoomAPI(),
		OAuthBaseURL: a.Config.ZoomOAuth(),
		Redis:        a.Redis,
		KeyPrefix:    a.Config.RedisPrefix,
		Registerer:   reg,
		Logger:       a.Logger,
		UserAgent:    "zoomsignage-gateway",
	})
	if err != nil {
		return nil, fmt.Errorf("app.New: zoom: %w", err)
	}
	return c, nil
}

// newRiver builds the River client before the domains, which take it at
// construction to enqueue, and fill its (still empty) Workers bundle as
// they are wired. With Workers false the client has no queues and no
// periodic jobs: River then only inserts jobs (the workers are registered
// all the same, so it checks inserted kinds).
func (a *App) newRiver(w *wiring) error {
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}}
	if !a.Config.Workers {
		queues = nil
	}
	client, err := river.NewClient(riverpgxv5.New(a.DB), &river.Config{
		Queues:  queues,
		Workers: w.workers,
		Logger:  a.Logger.With("component", "river"),
		// A job whose replica died is picked up by another replica once it
		// has run for the rescue horizon (not River's default hour, nor
		// after a ten-minute attempt): no attempt is longer (jobtime), so a
		// live one is never taken over.
		JobTimeout:           a.jobTiming().JobTimeout(),
		RescueStuckJobsAfter: a.jobTiming().Rescue(),
	})
	if err != nil {
		return fmt.Errorf("app.New: river: %w", err)
	}
	a.River = client
	return nil
}

// addPeriodic gives River the domains' periodic jobs once they are wired
// (a client that only inserts runs none).
func (a *App) addPeriodic(w *wiring) {
	if a.Config.Workers {
		a.River.PeriodicJobs().AddMany(w.periodic)
	}
}

// startRiver runs the job workers until ctx ends; Run stops them after the
// HTTP server has drained. An insert-only client (Workers false) is not started.
func (a *App) startRiver(ctx context.Context) error {
	if a.River == nil || !a.Config.Workers {
		return nil
	}
	if err := a.River.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("app: river: %w", err)
	}
	return nil
}

func (a *App) stopRiver(ctx context.Context) {
	if a.River == nil || !a.Config.Workers {
		return
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), riverStopGrace)
	defer cancel()
	if err := a.River.Stop(stopCtx); err == nil {
		return
	}
	// Jobs still running after the grace period are cancelled so they are
	// retried elsewhere instead of waiting to be rescued.
	a.Logger.Warn("river jobs still running at shutdown; cancelling them")
	cancelCtx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel2()
	if err := a.River.StopAndCancel(cancelCtx); err != nil {
		a.Logger.Warn("river did not stop cleanly", "error", err.Error())
	}
}

// jobTiming is the attempt timing every domain's workers share.
func (a *App) jobTiming() jobtime.Timing { return jobtime.Timing{RescueAfter: a.Config.JobRescueAfter} }

const (
	// riverStopGrace is how long running jobs may finish at shutdown; with
	// the HTTP drain it keeps shutdown within a typical 30 s grace period.
	riverStopGrace = 10 * time.Second
)
