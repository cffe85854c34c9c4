// Package webhooks delivers the gateway's events to partner endpoints
// (issue 15): endpoints per tenant with an event filter, Standard Webhooks
// signatures with a secret shown once and sealed at rest, deliveries fed
// from the events outbox (a consumer of its own, so nothing committed is
// missed) and sent by River jobs with backoff, to public addresses only.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"zoomsignage/apierror"
	"zoomsignage/audit"
	"zoomsignage/store"
	"zoomsignage/vault"
)

// Event types partners subscribe to (API.md "Partner webhook events").
var EventTypes = []string{
	"room.status_changed", "room.health_changed", "signage.state_changed", "screen.offline", "screen.online",
	"connection.status_changed", "sync.finished", "broadcast.started", "broadcast.ended",
}

// Defaults of Config.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultRetryBase    = 30 * time.Second
	DefaultMaxAttempts  = 14
	DefaultDisableAfter = 24 * time.Hour
)

// Config configures a Service.
type Config struct {
	DB     *pgxpool.Pool
	Sealer vault.Sealer
	// River inserts the deliveries' jobs; the app builds it before the
	// services that enqueue.
	River  *river.Client[pgx.Tx]
	Logger *slog.Logger
	// AllowLoopback lets endpoints be http://127.0.0.1 (dev mode only: the
	// app honours WEBHOOKS_ALLOW_LOOPBACK only with GATEWAY_ENV=dev).
	AllowLoopback bool
	// Timeout bounds one attempt (default DefaultTimeout).
	Timeout time.Duration
	// RetryBase is the first retry's delay; each later one doubles, with
	// jitter, so DefaultMaxAttempts spans about 24 hours (default
	// DefaultRetryBase).
	RetryBase time.Duration
	// DisableAfter is how long an endpoint may fail every attempt before it
	// is disabled (default DefaultDisableAfter).
	DisableAfter time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the webhooks domain.
type Service struct {
	cfg    Config
	db     *pgxpool.Pool
	log    *slog.Logger
	policy policy
}

// New builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Sealer == nil {
		return nil, errors.New("webhooks.New: DB and Sealer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.DisableAfter <= 0 {
		cfg.DisableAfter = DefaultDisableAfter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, db: cfg.DB, log: cfg.Logger.With("component", "webhooks"),
		policy: policy{allowLoopback: cfg.AllowLoopback}}, nil
}

// Endpoint is a partner's registered URL.
type Endpoint struct {
	ID, TenantID, URL, Description string
	Events                         []string
	Enabled                        bool
	CreatedAt                      time.Time
}

// EndpointInput is what createWebhookEndpoint takes.
type EndpointInput struct {
	URL         string
	Events      []string
	Description string
}

const endpointColumns = `id, tenant_id, url, events, coalesce(description, ''), enabled, created_at`

const (
	sqlInsertEndpoint = `INSERT INTO webhook_endpoints (tenant_id, url, events, description, secret_sealed, created_by)
VALUES ($1, $2, $3, nullif($4, ''), $5, $6) RETURNING ` + endpointColumns
	sqlListEndpoints  = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id`
	sqlGetEndpoint    = `SELECT ` + endpointColumns + ` FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`
	sqlDeleteEndpoint = `DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2 RETURNING ` + endpointColumns
)

func scanEndpoint(row pgx.CollectableRow) (Endpoint, error) {
	var e Endpoint
	err := row.Scan(&e.ID, &e.TenantID, &e.URL, &e.Events, &e.Description, &e.Enabled, &e.CreatedAt)
	return e, err
}

// newSecret is "whsec_" + base64 of 32 random bytes (Standard Webhooks).
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhooks.newSecret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// CreateEndpoint registers an endpoint and returns it with its secret,
// which is sealed at rest and never shown again. The URL must be https and
// resolve to public addresses; every event type must be known.
func (s *Service) CreateEndpoint(ctx context.Context, tenantID, actor string, in EndpointInput) (Endpoint, string, error) {
	u, err := s.policy.checkURL(ctx, in.URL)
	if err != nil {
		return Endpoint{}, "", apierror.Invalid("input.url", "%s", err.Error())
	}
	if len(in.Events) == 0 {
		return Endpoint{}, "", apierror.Invalid("input.events", "give at least one event type (%s)", strings.Join(EventTypes, ", "))
	}
	evs := slices.Clone(in.Events)
	for _, ev := range evs {
		if !slices.Contains(EventTypes, ev) {
			return Endpoint{}, "", apierror.Invalid("input.events", "unknown event type %q; known: %s", ev, strings.Join(EventTypes, ", "))
		}
	}
	slices.Sort(evs)
	evs = slices.Compact(evs)
	if len(in.Description) > 500 {
		return Endpoint{}, "", apierror.Invalid("input.description", "at most 500 characters")
	}
	secret, err := newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	sealed, err := s.cfg.Sealer.Seal(ctx, tenantID, []byte(secret))
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("webhooks.CreateEndpoint: seal: %w", err)
	}
	var e Endpoint
	err = store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlInsertEndpoint, tenantID, u.String(), evs, in.Description, sealed, actor)
		if err != nil {
			return err
		}
		if e, err = pgx.CollectExactlyOneRow(rows, scanEndpoint); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: tenantID, Actor: actor, Action: "webhook.endpoint_created",
			TargetType: "webhook_endpoint", TargetID: e.ID, Details: map[string]any{"url": e.URL, "events": e.Events}})
	})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("webhooks.CreateEndpoint: %w", err)
	}
	return e, secret, nil
}

// Endpoints lists the tenant's endpoints, oldest first.
func (s *Service) Endpoints(ctx context.Context, tenantID string) ([]Endpoint, error) {
	rows, err := s.db.Query(ctx, sqlListEndpoints, tenantID)
	if err != nil {
		return nil, fmt.Errorf("webhooks.Endpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanEndpoint)
	if err != nil {
		return nil, fmt.Errorf("webhooks.Endpoints: %w", err)
	}
	return out, nil
}

// Endpoint returns one endpoint of the tenant: NOT_FOUND when the tenant
// has none with id.
func (s *Service) Endpoint(ctx context.Context, tenantID, id string) (Endpoint, error) {
	if !store.IsUUID(id) {
		return Endpoint{}, apierror.NotFoundf("webhook endpoint %q not found", id)
	}
	rows, err := s.db.Query(ctx, sqlGetEndpoint, tenantID, id)
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhooks.Endpoint: %w", err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, scanEndpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return Endpoint{}, apierror.NotFoundf("webhook endpoint %q not found", id)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhooks.Endpoint: %w", err)
	}
	return e, nil
}

// DeleteEndpoint removes an endpoint with its deliveries (audited).
func (s *Service) DeleteEndpoint(ctx context.Context, tenantID, actor, id string) (Endpoint, error) {
	var e Endpoint
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlDeleteEndpoint, tenantID, id)
		if err != nil {
			return err
		}
		if e, err = pgx.CollectExactlyOneRow(rows, scanEndpoint); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{TenantID: tenantID, Actor: actor, Action: "webhook.endpoint_deleted",
			TargetType: "webhook_endpoint", TargetID: e.ID, Details: map[string]any{"url": e.URL}})
	})
	if errors.Is(err, pgx.ErrNoRows) || store.IsInvalidText(err) {
		return Endpoint{}, apierror.NotFoundf("webhook endpoint %q not found", id)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhooks.DeleteEndpoint: %w", err)
	}
	return e, nil
}
