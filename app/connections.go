package app

import (
	"context"
	"fmt"

	"zoomsignage/connections"
	"zoomsignage/rooms"
	"zoomsignage/zoom"
)

// wireConnections builds the connections service (with the rooms domain's
// signage remover for its disconnect cleanup), its River workers
// (cleanup, health, keep-alive) and periodic jobs, and its HTTP routes:
// GET /oauth/zoom/callback always, POST /webhooks/zoom when a webhook
// secret is configured. Domains wired after it register the webhook events
// they handle with a.Connections.RegisterWebhookHandler (the route
// dispatches by event name).
func (a *App) wireConnections(_ context.Context, w *wiring) error {
	redirect := a.Config.ZoomRedirectURL
	if redirect == "" {
		redirect = a.Config.PublicBaseURL + "/oauth/zoom/callback"
	}
	svc := connections.New(connections.Deps{
		DB: a.DB, Redis: a.Redis, Sealer: a.Sealer, Zoom: a.Zoom, Outbox: a.Outbox,
		Logger: a.Logger, KeyPrefix: a.Config.RedisPrefix,
		MarketplaceApp: zoom.AppCredentials{ClientID: a.Config.ZoomClientID, ClientSecret: a.Config.ZoomClientSecret},
		RedirectURL:    redirect,
		PublicBaseURL:  a.Config.PublicBaseURL,
		ReturnOrigins:  a.Config.ZoomInstallReturnOrigins,
		WebhookSecret:  a.Config.ZoomWebhookSecret,
		DisconnectWait: a.Config.DisconnectWait,
		// The rooms domain owns signage and its removal; its remover needs
		// only the database, so it exists before rooms.Service (which
		// needs this service).
		Signage: rooms.NewSignageRemover(a.DB),
		River:   a.River,
		Jobs:    a.jobTiming(),
	})
	a.Connections = svc
	svc.AddWorkers(w.workers)
	w.periodic = append(w.periodic, connections.PeriodicJobs()...)
	w.routes = append(w.routes, route{pattern: "GET /oauth/zoom/callback", name: "/oauth/zoom/callback", handler: svc.CallbackRoute()})
	w.routes = append(w.routes, route{pattern: "POST " + connections.ConfirmPath, name: connections.ConfirmPath, handler: svc.ConfirmRoute()})
	webhooks, err := svc.WebhookRoute()
	if err != nil {
		return fmt.Errorf("app.New: %w", err)
	}
	if webhooks == nil {
		a.Logger.Warn("ZOOM_WEBHOOK_SECRET_TOKEN is not set: /webhooks/zoom is not served, so uninstalls in Zoom are not noticed")
		return nil
	}
	w.routes = append(w.routes, route{pattern: "POST /webhooks/zoom", name: "/webhooks/zoom", handler: webhooks})
	return nil
}
