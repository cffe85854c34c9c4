package connections

import (
	"context"
	"fmt"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

// ZoomClient returns a Zoom client for a stored connection of the tenant:
// the right token source for its kind (the shared, row-locked
// Server-to-Server token or the rotating Marketplace grant), its plan (rate
// limits) and its Zoom account id (cache and limiter keys).
//
// It fails with apierror NOT_FOUND for unknown or other tenants' ids,
// ZOOM_REAUTH_REQUIRED while an admin must connect the account again, and
// BAD_USER_INPUT while the connection is being disconnected, so callers
// acting for a user can return the error as is.
func (s *Service) ZoomClient(ctx context.Context, tenantID, connectionID string) (*zoom.AccountClient, error) {
	c, err := getConnection(ctx, s.db, tenantID, connectionID)
	if err != nil {
		return nil, fmt.Errorf("connections.ZoomClient: %w", err)
	}
	switch c.Status {
	case StatusReauthRequired:
		return nil, apierror.New(apierror.ZoomReauthRequired, "Zoom no longer accepts this connection's authorization; an admin must connect the Zoom account again")
	case StatusDisconnecting:
		return nil, apierror.New(apierror.BadUserInput, "this Zoom connection is being disconnected")
	}
	return s.clientFor(c), nil
}

// clientFor builds the client of a connection whatever its status (the
// cleanup uses it on DISCONNECTING connections).
func (s *Service) clientFor(c Connection) *zoom.AccountClient {
	ref := zoom.ConnectionRef{ID: c.ID, TenantID: c.TenantID}
	var src zoom.TokenSource
	if c.Kind == zoom.KindMarketplace {
		src = s.zoom.MarketplaceTokenSource(s.tokens, ref, s.app)
	} else {
		src = s.zoom.ServerAppTokenSource(s.tokens, ref)
	}
	return s.zoom.For(zoom.Account{
		ConnectionID: c.ID, TenantID: c.TenantID, ZoomAccountID: c.ZoomAccountID,
		Plan: c.Plan, Tokens: src,
	})
}
