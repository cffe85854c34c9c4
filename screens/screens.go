// Package screens serves what a room shows (issue 13): the player page at
// the screen URL pushed to Zoom, its program as JSON, and the event stream
// that tells the player of a change. It reads rooms' signage state only
// through rooms.Service.ScreenByToken and keeps its own tables (migrations
// in screens/migrations) for what screens report.
package screens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/store"
)

// Defaults of Config.
const (
	// DefaultRateLimit is how many requests one screen token may make per
	// minute: a player makes a few (page, stream, a poll when the stream is
	// down, play reports); a leaked token gets no more than this.
	DefaultRateLimit = 120
	// OnlineWindow is how long a screen counts as online after its last
	// contact (issue 13 item 4: three minutes silent turns it offline).
	OnlineWindow = 3 * time.Minute
	// heartbeat is how often an open event stream sends a comment (keeping
	// proxies from closing it) and records the screen as seen.
	heartbeat = 25 * time.Second
	// seenEvery throttles last_seen_at writes per screen.
	seenEvery = 20 * time.Second
)

// RoomSource is what screens reads of rooms (rooms.Service): the live
// screen of a token, the tenant's rooms and their signage; and where it
// reports its screens going online and dark.
type RoomSource interface {
	ScreenByToken(ctx context.Context, token string) (rooms.Screen, error)
	RoomsByID(ctx context.Context, tenantID string, roomIDs []string) (map[string]rooms.Room, error)
	SignageByRoom(ctx context.Context, tenantID string, roomIDs []string) (map[string]rooms.Assignment, error)
	ActivatedRoomIDs(ctx context.Context, tenantID string) ([]string, error)
	// SetScreenStates and PendingScreens report screens' online
	// transitions to rooms, which owns room health (a dark screen is
	// WARNING), in the transaction that announces them.
	SetScreenStates(ctx context.Context, tx pgx.Tx, tenantID string, roomIDs []string, state string, onlyPending bool) error
	PendingScreens(ctx context.Context, tx pgx.Tx, activatedBefore time.Time, limit int) ([]rooms.Screen, error)
}

// Outbox is where the service records events: Add in the transaction of
// a change, Publish for a change already committed (*events.Outbox).
type Outbox interface {
	events.Publisher
	Add(ctx context.Context, tx pgx.Tx, evs ...events.Event) error
}

// Config is what the service needs.
type Config struct {
	DB          *pgxpool.Pool
	Redis       *redis.Client
	RedisPrefix string
	// Bus carries changes to open event streams across replicas; Events is
	// the outbox (events.Outbox in the app): changes recorded in their own
	// transaction (online transitions, broadcasts) are added to it there,
	// and program reloads reported after their commit are published
	// through it, so a Redis outage delays them instead of losing them.
	Bus    *events.Bus
	Events Outbox
	Rooms  RoomSource
	// Connections gives the Zoom calls that raise Zoom's own emergency
	// alert for EMERGENCY broadcasts; nil raises none.
	Connections ZoomConnections
	Logger      *slog.Logger
	// RateLimit is requests per token per minute (DefaultRateLimit when 0).
	RateLimit int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service serves screens.
type Service struct {
	cfg      Config
	db       *pgxpool.Pool
	log      *slog.Logger
	handlers *handlers // set by Routes
}

// New checks cfg and builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Redis == nil || cfg.Bus == nil || cfg.Events == nil || cfg.Rooms == nil {
		return nil, errors.New("screens.New: DB, Redis, Bus, Events and Rooms are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, db: cfg.DB, log: cfg.Logger.With("component", "screens")}, nil
}

// Status is what the gateway knows of a screen from its own reports.
type Status struct {
	LastSeenAt *time.Time
	Online     bool
}

const sqlStatusByRoom = `SELECT room_id, last_seen_at FROM screen_status
WHERE tenant_id = $1 AND room_id = ANY($2::uuid[]) ORDER BY room_id`

// StatusByRoom returns the status of the given rooms' screens (rooms whose
// screen never called are absent).
func (s *Service) StatusByRoom(ctx context.Context, tenantID string, roomIDs []string) (map[string]Status, error) {
	rows, err := s.db.Query(ctx, sqlStatusByRoom, tenantID, store.UUIDs(roomIDs))
	if err != nil {
		return nil, fmt.Errorf("screens.StatusByRoom: %w", err)
	}
	now := s.cfg.Now()
	out := map[string]Status{}
	var roomID string
	var seen time.Time
	_, err = pgx.ForEachRow(rows, []any{&roomID, &seen}, func() error {
		at := seen
		out[roomID] = Status{LastSeenAt: &at, Online: now.Sub(seen) < OnlineWindow}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("screens.StatusByRoom: %w", err)
	}
	return out, nil
}
