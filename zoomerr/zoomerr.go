// Package zoomerr maps failed Zoom calls to the client-safe errors of
// API.md in one place, so every domain reports a Zoom failure with the same
// code and message.
package zoomerr

import (
	"context"
	"errors"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

// APIError turns a failed Zoom call into the client-safe error the caller
// can act on. Zoom's own messages are not passed on: they are written for
// developers, and ours name what the user can do. An error that already is
// an apierror (a connection that needs reauthorization, say) is kept.
func APIError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apierror.As(err); ok {
		return err
	}
	if dep, ok := apierror.UnavailableOf(err); ok {
		return dep.Client() // our side failed, not Zoom
	}
	switch {
	case zoom.IsRoomOffline(err):
		return apierror.New(apierror.ZoomRoomOffline, "the Zoom Room is offline; try again when it is back online")
	case zoom.IsNotFound(err):
		return apierror.NotFoundf("the room no longer exists in Zoom; it will leave the inventory at the next sync")
	case zoom.IsMissingScope(err):
		scopes, _ := zoom.MissingScopes(err)
		return &apierror.Error{Code: apierror.ZoomMissingScopes,
			Message: "the Zoom app lacks a scope this needs; add it in the Zoom Marketplace and reconnect",
			Extra:   map[string]any{"missingScopes": scopes}}
	case zoom.IsReauthorizationRequired(err), zoom.IsInvalidToken(err):
		return apierror.New(apierror.ZoomReauthRequired, "Zoom no longer accepts this connection's authorization; connect the account again")
	case errors.Is(err, zoom.ErrCredentialsRejected):
		return apierror.New(apierror.ZoomCredentialsRejected, "Zoom rejected the app credentials of this connection")
	case zoom.IsRateLimited(err):
		e := &apierror.Error{Code: apierror.RateLimited, Message: "the Zoom account's API rate limit is reached; try again shortly"}
		if at, ok := zoom.RetryAt(err); ok {
			e.Extra = map[string]any{"retryAt": at.UTC().Format(time.RFC3339)}
		}
		return e
	case errors.Is(err, zoom.ErrNoSubscription):
		return apierror.New(apierror.ZoomUnavailable, "the Zoom account has no Zoom Rooms subscription or restricts access to it")
	case zoom.IsSignageDisabled(err):
		return apierror.New(apierror.ZoomUnavailable, "Digital Signage is not enabled for this room in Zoom")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierror.New(apierror.ZoomUnavailable, "Zoom did not answer in time")
	}
	return apierror.New(apierror.ZoomUnavailable, "Zoom could not be reached or failed; try again later")
}
