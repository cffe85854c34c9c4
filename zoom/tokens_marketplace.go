package zoom

import "context"

// Refresher is implemented by the stored token sources: Refresh replaces the
// token now even if it is still valid. The daily job that keeps idle
// Marketplace refresh tokens alive uses it.
type Refresher interface {
	Refresh(ctx context.Context) error
}

// MarketplaceTokenSource returns the token source of a stored Marketplace
// connection, refreshed with app's credentials. Refresh tokens rotate: a
// refresh kills the old one, so refreshing happens only under the row lock
// (SELECT … FOR UPDATE), after re-reading the row (another goroutine, client
// or replica may have refreshed already), and the new sealed pair is
// committed with credential_version+1 before the token is used. An
// invalid_grant answer marks the row REAUTH_REQUIRED and is never retried:
// later calls fail with ErrReauthorizationRequired without reaching Zoom.
// Sources are memoized per connection id; the result also implements
// Refresher.
func (c *Client) MarketplaceTokenSource(store TokenStore, ref ConnectionRef, app AppCredentials) TokenSource {
	return c.storedSourceFor(store, ref, KindMarketplace, app)
}
