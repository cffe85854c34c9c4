package rooms

import (
	"context"
	"errors"

	"zoomsignage/zoom"
	"zoomsignage/zoomerr"
)

// zoomError turns a failed Zoom call into the client-safe error the caller
// can act on (see zoomerr.APIError).
func zoomError(err error) error { return zoomerr.APIError(err) }

// transient reports whether a failed push may succeed later without anyone
// changing anything: rate limits, Zoom being down, our own deadline.
func transient(err error) bool {
	return zoom.IsRateLimited(err) || errors.Is(err, zoom.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
