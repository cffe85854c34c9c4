package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/tenants"
	"zoomsignage/zoom/zoomsim"
)

// DevTenantName names the tenant `make run` creates.
const DevTenantName = "Dev tenant"

const (
	sqlDevTenant               = `SELECT id FROM tenants WHERE name = $1 ORDER BY created_at, id LIMIT 1`
	sqlDropStaleDevConnections = `DELETE FROM zoom_connections WHERE tenant_id = $1 AND zoom_account_id <> $2`
)

// DevBootstrap is what a dev start prints: a tenant and an admin key for it.
type DevBootstrap struct {
	TenantID string
	APIKey   string
}

// startMiniredis stands in for Redis in dev mode only.
func (a *App) startMiniredis() (*redis.Client, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, fmt.Errorf("app.New: miniredis: %w", err)
	}
	a.Logger.Warn("Redis is not reachable; using in-process miniredis (dev mode only)", "redis_url_host", mr.Addr())
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	a.closers = append(a.closers, mr.Close, func() { client.Close() })
	return client, nil
}

// startDevSimulator runs the Zoom simulator in process, seeded with a demo
// account, and points the app's Zoom settings at it. It is for dev mode when
// no Zoom URL is configured, so `make run` has rooms to show.
func (a *App) startDevSimulator(ctx context.Context) (*zoomsim.Seeded, error) {
	sim := zoomsim.New(zoomsim.Options{WebhookURL: a.Config.PublicBaseURL + "/webhooks/zoom", WebhookSecret: a.Config.ZoomWebhookSecret})
	url, stop, err := httpServe(ctx, sim)
	if err != nil {
		return nil, fmt.Errorf("app.startDevSimulator: %w", err)
	}
	a.closers = append(a.closers, stop)
	seed, err := sim.Seed(ctx, zoomsim.SeedOptions{Rooms: a.Config.ZoomSimulatorRooms})
	if err != nil {
		return nil, fmt.Errorf("app.startDevSimulator: %w", err)
	}
	a.Config.ZoomAPIBaseURL = url + "/v2"
	a.Config.ZoomOAuthBaseURL = url
	if a.Config.ZoomClientID == "" {
		a.Config.ZoomClientID = seed.Marketplace.ClientID
		a.Config.ZoomClientSecret = seed.Marketplace.ClientSecret
	}
	return &seed, nil
}

// BootstrapDev makes sure the dev tenant exists and creates an admin API key
// for it, so a developer can call the API right after `make run`.
func (a *App) BootstrapDev(ctx context.Context) (DevBootstrap, error) {
	var id string
	err := a.DB.QueryRow(ctx, sqlDevTenant, DevTenantName).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return DevBootstrap{}, fmt.Errorf("app.BootstrapDev: %w", err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		t, cerr := tenants.Create(ctx, a.DB, DevTenantName, 100)
		if cerr != nil {
			return DevBootstrap{}, fmt.Errorf("app.BootstrapDev: %w", cerr)
		}
		id = t.ID
	}
	_, key, err := a.Keys.Create(ctx, a.DB, id, "make run", auth.AllScopes, "gateway")
	if err != nil {
		return DevBootstrap{}, fmt.Errorf("app.BootstrapDev: %w", err)
	}
	if err := a.connectDevZoom(ctx, id); err != nil {
		return DevBootstrap{}, err
	}
	return DevBootstrap{TenantID: id, APIKey: key}, nil
}

// connectDevZoom links the in-process simulator's demo account to the dev
// tenant through the normal connect flow (validation, sealing, first sync),
// so a fresh `make run` shows rooms at once. The simulator is new at every
// start, so earlier runs' connections point at accounts that no longer
// exist: they are dropped first (dev tenant only).
func (a *App) connectDevZoom(ctx context.Context, tenantID string) error {
	s := a.DevZoom
	if s == nil || a.Connections == nil {
		return nil
	}
	if err := a.dropStaleDevConnections(ctx, tenantID, s.AccountID); err != nil {
		return err
	}
	p := &auth.Principal{TenantID: tenantID, Actor: "gateway:dev", Scopes: auth.AllScopes}
	_, err := a.Connections.ConnectServerApp(ctx, p, connections.ServerAppInput{
		AccountID: s.AccountID, ClientID: s.Server.ClientID, ClientSecret: s.Server.ClientSecret,
		Label: "Zoom simulator (demo)",
	})
	if err != nil {
		return fmt.Errorf("app.connectDevZoom: %w", err)
	}
	return nil
}

// dropStaleDevConnections deletes the dev tenant's connections to earlier
// runs' simulator accounts (rooms and assignments cascade, returning their
// licenses). Dev mode only: production never deletes a connection outside
// the disconnect cleanup.
func (a *App) dropStaleDevConnections(ctx context.Context, tenantID, accountID string) error {
	_, err := a.DB.Exec(ctx, sqlDropStaleDevConnections, tenantID, accountID)
	if err != nil {
		return fmt.Errorf("app.dropStaleDevConnections: %w", err)
	}
	return nil
}
