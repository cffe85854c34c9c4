package app

import "context"

// wireRooms builds the rooms service (sync engine, signage, restart) and its
// River workers and periodic jobs.
func (a *App) wireRooms(_ context.Context, _ *wiring) error {
	return nil
}
