package app

import "context"

// wireEvents builds the event bus (Redis pub/sub fanned out in process) that
// the domains publish to and subscriptions read from.
func (a *App) wireEvents(_ context.Context, _ *wiring) error {
	return nil
}
