// Package auth answers "who is calling": a web-app user with a JWT, or a
// partner with an API key. Both become a Principal carried in the request
// context, and every resolver asks it for one named scope before doing
// anything else.
package auth

import (
	"context"
	"slices"

	"zoomsignage/apierror"
)

// Scope is a permission an API key or a role grants.
type Scope string

// The scopes of the API contract (API.md).
const (
	ScopeRoomsRead        Scope = "rooms:read"
	ScopeRoomsWrite       Scope = "rooms:write"
	ScopeConnectionsRead  Scope = "connections:read"
	ScopeConnectionsWrite Scope = "connections:write"
	ScopeAdmin            Scope = "admin"
)

// AllScopes lists every scope, in a stable order.
var AllScopes = []Scope{ScopeRoomsRead, ScopeRoomsWrite, ScopeConnectionsRead, ScopeConnectionsWrite, ScopeAdmin}

// roleScopes maps a web-app role to its scopes.
func roleScopes(role string) ([]Scope, bool) {
	switch role {
	case "admin":
		return slices.Clone(AllScopes), true
	case "viewer":
		return []Scope{ScopeRoomsRead, ScopeConnectionsRead}, true
	}
	return nil, false
}

// ParseScopes validates scope names given by a caller.
func ParseScopes(names []string) ([]Scope, error) {
	if len(names) == 0 {
		return nil, apierror.Invalid("scopes", "at least one scope is required")
	}
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		s := Scope(n)
		if !slices.Contains(AllScopes, s) {
			return nil, apierror.Invalid("scopes", "unknown scope %q; valid scopes are rooms:read, rooms:write, connections:read, connections:write, admin", n)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// PrincipalKind says how a principal authenticated.
type PrincipalKind string

// Principal kinds.
const (
	KindUser   PrincipalKind = "USER"
	KindAPIKey PrincipalKind = "API_KEY"
)

// Principal is an authenticated caller. Actor is what the audit log records:
// "user:<sub>" or "apikey:<id>".
type Principal struct {
	TenantID string
	Actor    string
	Scopes   []Scope
	Kind     PrincipalKind
	Email    string // users only
	Role     string // users only
	KeyID    string // API keys only
}

// Has reports whether p holds scope.
func (p *Principal) Has(scope Scope) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or nil for an anonymous request.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// RequireCaller returns the caller, whatever its scopes: UNAUTHENTICATED
// when there is none. It is the first line of the resolvers whose scope
// depends on what they find (node: the scope of the object's type), which
// then Check the found object's scope.
func RequireCaller(ctx context.Context) (*Principal, error) {
	p := FromContext(ctx)
	if p == nil {
		return nil, apierror.New(apierror.Unauthenticated, "authentication required: send a bearer JWT or an API key")
	}
	return p, nil
}

// Check is Require's scope test for a caller already known.
func (p *Principal) Check(scope Scope) error {
	if !p.Has(scope) {
		return apierror.New(apierror.Forbidden, "this operation requires the %q scope", scope)
	}
	return nil
}

// Require returns the caller if it holds scope: UNAUTHENTICATED when there is
// no caller, FORBIDDEN when the caller lacks the scope. It is the first line
// of every resolver.
func Require(ctx context.Context, scope Scope) (*Principal, error) {
	p, err := RequireCaller(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.Check(scope); err != nil {
		return nil, err
	}
	return p, nil
}
