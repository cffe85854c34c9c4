// Package rooms is the heart of the product: the sync engine that mirrors a
// connection's Zoom Rooms, room health from alerts, signage activation and
// pushes against the tenant's licenses, and room restarts.
package rooms

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"

	"zoomsignage/events"
	"zoomsignage/jobtime"
	"zoomsignage/zoom"
)

// Connections is what the rooms domain needs from the connections domain:
// an authenticated Zoom client for a connection, and the connections that
// should be synced. The app adapts *connections.Service to it, so rooms does
// not depend on how connections stores its rows.
type Connections interface {
	// ZoomClient returns the Zoom calls of a connection of the tenant; an
	// unknown connection or one of another tenant is NOT_FOUND.
	ZoomClient(ctx context.Context, tenantID, connectionID string) (*zoom.AccountClient, error)
	// Syncable lists the connections to sync periodically (ACTIVE or
	// MISSING_SCOPE), of every tenant.
	Syncable(ctx context.Context) ([]ConnectionRef, error)
	// Check returns an error (NOT_FOUND for another tenant's id) unless the
	// connection exists and may be synced now.
	Check(ctx context.Context, tenantID, connectionID string) error
}

// ConnectionRef identifies a connection.
type ConnectionRef struct {
	ID, TenantID string
}

// Config configures a Service. Zero durations and shares take the defaults.
type Config struct {
	DB          *pgxpool.Pool
	Zoom        *zoom.Client
	Connections Connections
	// River inserts syncs and device refreshes and retries waiting syncs;
	// the app builds it before the services that enqueue.
	River *river.Client[pgx.Tx]
	// Redis holds the restart throttle shared by every replica; KeyPrefix
	// starts its keys.
	Redis     *redis.Client
	KeyPrefix string
	// Outbox records room, health, signage and sync events in the
	// transactions that cause them; nil records them in an outbox that only
	// a relay run by the caller publishes.
	Outbox *events.Outbox
	Logger *slog.Logger
	// SignageBaseURL starts every screen URL; a per-room token follows.
	SignageBaseURL string
	// SyncInterval is how often each connection is synced; 60 s by default.
	// Each connection's next sync is jittered by ±10% so connections do not
	// hit Zoom in lockstep.
	SyncInterval time.Duration
	// RateShare is the share of the Zoom account's limits this gateway
	// allows itself (the zoom client's RateShare); 0.5 by default.
	RateShare float64
	// DeviceBudget is the share of the connection's Medium budget over one
	// sync interval that device refreshes may use; 0.2 by default.
	DeviceBudget float64
	// DeviceStaleAfter is how old a room's devices may be before opening the
	// room refreshes them; 10 minutes by default.
	DeviceStaleAfter time.Duration
	// PushBudget bounds the signage pushes a sync retries per run, as a
	// share of the Medium budget over one interval like DeviceBudget; 0.1
	// by default.
	PushBudget float64
	// Jobs bounds the attempts of the service's River jobs (the sync and the
	// device refresh) below the rescue horizon.
	Jobs jobtime.Timing
	// Registry, when set, gets the service's metrics (the reconciler's
	// repairs).
	Registry prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the rooms domain. It is built by the app's wiring (app/rooms.go).
type Service struct {
	cfg     Config
	db      *pgxpool.Pool
	log     *slog.Logger
	remover *SignageRemover
	metrics *reconcileMetrics
}

// New returns a Service; without Config.River it cannot enqueue syncs
// (errNoRiver).
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Zoom == nil || cfg.Connections == nil || cfg.Redis == nil {
		return nil, errors.New("rooms.New: DB, Zoom, Connections and Redis are required")
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 60 * time.Second
	}
	if cfg.RateShare <= 0 {
		cfg.RateShare = 0.5
	}
	if cfg.DeviceBudget <= 0 {
		cfg.DeviceBudget = 0.2
	}
	if cfg.PushBudget <= 0 {
		cfg.PushBudget = 0.1
	}
	if cfg.DeviceStaleAfter <= 0 {
		cfg.DeviceStaleAfter = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Outbox == nil {
		cfg.Outbox = events.NewOutbox(cfg.DB)
	}
	if cfg.SignageBaseURL != "" && !strings.HasSuffix(cfg.SignageBaseURL, "/") {
		cfg.SignageBaseURL += "/"
	}
	return &Service{cfg: cfg, db: cfg.DB, log: cfg.Logger.With("component", "rooms"), remover: NewSignageRemover(cfg.DB),
		metrics: newReconcileMetrics(cfg.Registry)}, nil
}

// Interval is the configured sync interval.
func (s *Service) Interval() time.Duration { return s.cfg.SyncInterval }
