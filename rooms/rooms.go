// Package rooms is the heart of the product: the sync engine that mirrors a
// connection's Zoom Rooms, room health from alerts, signage activation and
// pushes against the tenant's licenses, and room restarts.
package rooms

// Service is the rooms domain. It is built by the app's wiring (app/rooms.go).
type Service struct{}
