// Package resolvers is the thin GraphQL layer: each resolver reads the
// caller, checks one named scope first, validates input, calls a domain
// package and maps the result. One file per schema file.
package resolvers

//go:generate go -C .. tool gqlgen generate

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"zoomsignage/auth"
	"zoomsignage/connections"
	"zoomsignage/events"
	"zoomsignage/rooms"
	"zoomsignage/screens"
	"zoomsignage/webhooks"
)

// Resolver holds the dependencies the resolvers share. It is built once per
// server; per-request state (dataloaders) lives in the request context.
type Resolver struct {
	DB          *pgxpool.Pool
	Keys        *auth.APIKeys
	Logger      *slog.Logger
	Connections *connections.Service
	Rooms       *rooms.Service
	Screens     *screens.Service
	Webhooks    *webhooks.Service
	Events      events.Publisher
	// Bus is the concrete event bus that subscriptions read from.
	Bus *events.Bus
}
