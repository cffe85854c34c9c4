package connections

import (
	"context"
	"errors"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

// zoomError turns a Zoom failure met while acting for a caller into a
// client-safe error. Zoom's own messages never hold a secret, but only the
// missing scope names are passed on; anything unrecognised is returned
// as is and becomes INTERNAL (logged by the server, not shown).
func zoomError(err error) error {
	var oauth *zoom.OAuthError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zoom.ErrCredentialsRejected) || errors.As(err, &oauth):
		return apierror.New(apierror.ZoomCredentialsRejected, "Zoom rejected the account id, client id or client secret")
	case errors.Is(err, zoom.ErrMissingScope):
		scopes, _ := zoom.MissingScopes(err)
		return missingScopesError(scopes)
	case errors.Is(err, zoom.ErrReauthorizationRequired), errors.Is(err, zoom.ErrInvalidToken):
		return apierror.New(apierror.ZoomReauthRequired, "Zoom no longer accepts this authorization; connect the Zoom account again")
	case errors.Is(err, zoom.ErrNoSubscription):
		return apierror.New(apierror.BadUserInput, "the Zoom account has no Zoom Rooms subscription, or its access is restricted")
	case errors.Is(err, zoom.ErrRateLimited):
		return apierror.New(apierror.RateLimited, "Zoom's rate limit for this account is exhausted; try again shortly")
	case errors.Is(err, zoom.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return apierror.New(apierror.ZoomUnavailable, "Zoom did not answer; try again shortly")
	}
	return err
}

func missingScopesError(scopes []string) error {
	e := apierror.New(apierror.ZoomMissingScopes, "the Zoom app lacks scopes the gateway needs: %v", scopes)
	e.Extra = map[string]any{"missingScopes": scopes}
	return e
}
