// Package connections owns a tenant's links to Zoom accounts: connecting
// (Server-to-Server credentials or a Marketplace install), the token
// lifecycle and health checks, and the disconnect and deauthorization
// cleanup.
package connections

// Service is the connections domain. It is built by the app's wiring
// (app/connections.go).
type Service struct{}
