package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"zoomsignage/auth"
	"zoomsignage/graph"
)

// Config is the executable schema's configuration for r: its resolvers,
// directives and complexity. Every schema built from it (the gateway's,
// tests') enforces the same field scopes and costs.
func Config(r *Resolver) graph.Config {
	cfg := graph.Config{Resolvers: r}
	cfg.Directives.RequiresScope = requiresScope
	SetComplexity(&cfg.Complexity)
	return cfg
}

// requiresScope implements @requiresScope: a field of an object that one
// scope reaches (a room's connection under rooms:read) but whose value needs
// another. It refuses the field alone, so the rest of the response stands.
func requiresScope(ctx context.Context, _ any, next graphql.Resolver, scope string) (any, error) {
	if _, err := auth.Require(ctx, auth.Scope(scope)); err != nil {
		return nil, err
	}
	return next(ctx)
}
