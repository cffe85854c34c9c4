package connections

import (
	"errors"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
	"zoomsignage/zoomerr"
)

// connectError turns a Zoom failure met while validating a connect (or a
// credentials update) into a client-safe error. Most failures read as they
// do anywhere (zoomerr.APIError); three differ by design, because at
// connect time the caller's input is what Zoom judged: rejected
// credentials (any OAuth refusal) name the fields to fix, missing scopes
// list every scope to add, and an account without Zoom Rooms is bad input
// rather than Zoom being unavailable.
func connectError(err error) error {
	var oauth *zoom.OAuthError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zoom.ErrCredentialsRejected) || errors.As(err, &oauth):
		return apierror.New(apierror.ZoomCredentialsRejected, "Zoom rejected the account id, client id or client secret")
	case errors.Is(err, zoom.ErrMissingScope):
		scopes, _ := zoom.MissingScopes(err)
		return missingScopesError(scopes)
	case errors.Is(err, zoom.ErrNoSubscription):
		return apierror.New(apierror.BadUserInput, "the Zoom account has no Zoom Rooms subscription, or its access is restricted")
	}
	return zoomerr.APIError(err)
}

func missingScopesError(scopes []string) error {
	e := apierror.New(apierror.ZoomMissingScopes, "the Zoom app lacks scopes the gateway needs: %v", scopes)
	e.Extra = map[string]any{"missingScopes": scopes}
	return e
}
