package zoomerr_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
	"zoomsignage/zoomerr"
)

func TestAPIError(t *testing.T) {
	retry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		err  error
		want apierror.Code
	}{
		{"not found", &zoom.Error{HTTPStatus: 404, Code: 1012, Message: "Room not found"}, apierror.NotFound},
		{"rate limited", fmt.Errorf("call: %w", &zoom.Error{HTTPStatus: 429, RetryAt: retry}), apierror.RateLimited},
		{"credentials rejected", fmt.Errorf("token: %w", zoom.ErrCredentialsRejected), apierror.ZoomCredentialsRejected},
		{"no subscription", zoom.ErrNoSubscription, apierror.ZoomUnavailable},
		{"deadline", context.DeadlineExceeded, apierror.ZoomUnavailable},
		{"already an apierror", apierror.New(apierror.ZoomReauthRequired, "reconnect"), apierror.ZoomReauthRequired},
		{"unknown", errors.New("boom secret-token-123"), apierror.ZoomUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := zoomerr.APIError(c.err)
			if apierror.CodeOf(got) != c.want {
				t.Fatalf("APIError(%v) = %v (%s), want %s", c.err, got, apierror.CodeOf(got), c.want)
			}
			if strings.Contains(got.Error(), "secret-token") {
				t.Fatalf("Zoom's message leaked: %v", got)
			}
		})
	}
	if zoomerr.APIError(nil) != nil {
		t.Fatal("APIError(nil) is not nil")
	}
	ae, _ := apierror.As(zoomerr.APIError(&zoom.Error{HTTPStatus: 429, RetryAt: retry}))
	if ae.Extra["retryAt"] != "2030-01-02T03:04:05Z" {
		t.Fatalf("retryAt = %v", ae.Extra["retryAt"])
	}
}
