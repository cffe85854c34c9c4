package app

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"zoomsignage/connections"
	"zoomsignage/zoom"
)

// wireConnections builds the connections service, its River workers and
// periodic jobs, and its HTTP routes (/oauth/zoom/callback, /webhooks/zoom).
// Domains wired after it register their webhook events with
// a.Connections.RegisterWebhookHandler.
func (a *App) wireConnections(_ context.Context, w *wiring) error {
	redirect := a.Config.ZoomRedirectURL
	if redirect == "" {
		redirect = a.Config.PublicBaseURL + "/oauth/zoom/callback"
	}
	svc := connections.New(connections.Deps{
		DB: a.DB, Redis: a.Redis, Sealer: a.Sealer, Zoom: a.Zoom, Events: a.Events,
		Logger: a.Logger, KeyPrefix: a.Config.RedisPrefix,
		MarketplaceApp: zoom.AppCredentials{ClientID: a.Config.ZoomClientID, ClientSecret: a.Config.ZoomClientSecret},
		RedirectURL:    redirect,
		PublicBaseURL:  a.Config.PublicBaseURL,
		WebhookSecret:  a.Config.ZoomWebhookSecret,
	})
	a.Connections = svc
	w.onRiver = append(w.onRiver, func(c *river.Client[pgx.Tx]) { svc.SetRiver(c) })
	return nil
}
