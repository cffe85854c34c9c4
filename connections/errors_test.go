package connections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/zoom"
)

// TestConnectError: the connect-specific mappings hold, and everything
// else reads as zoomerr.APIError has it; Zoom's own text never reaches the
// caller.
func TestConnectError(t *testing.T) {
	retry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		err   error
		want  apierror.Code
		extra string // an Extra key the error must carry
	}{
		{"credentials rejected", fmt.Errorf("token: %w", zoom.ErrCredentialsRejected), apierror.ZoomCredentialsRejected, ""},
		{"any OAuth refusal", &zoom.OAuthError{HTTPStatus: 400, Kind: "invalid_request", Reason: "secret-text"}, apierror.ZoomCredentialsRejected, ""},
		{"missing scopes", &zoom.Error{HTTPStatus: 400, Code: zoom.CodeMissingScope, Message: "Invalid access token, does not contain scopes:[room:read:admin]."}, apierror.ZoomMissingScopes, "missingScopes"},
		{"no subscription", zoom.ErrNoSubscription, apierror.BadUserInput, ""},
		{"rate limited (shared)", &zoom.Error{HTTPStatus: 429, RetryAt: retry}, apierror.RateLimited, "retryAt"},
		{"invalid token (shared)", &zoom.Error{HTTPStatus: 401, Code: zoom.CodeInvalidToken}, apierror.ZoomReauthRequired, ""},
		{"deadline (shared)", context.DeadlineExceeded, apierror.ZoomUnavailable, ""},
		{"unrecognised (shared)", errors.New("secret-text"), apierror.ZoomUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := connectError(tc.err)
			ae, ok := apierror.As(got)
			if !ok || ae.Code != tc.want {
				t.Fatalf("connectError(%v) = %v, want %s", tc.err, got, tc.want)
			}
			if strings.Contains(got.Error(), "secret-text") {
				t.Errorf("Zoom's text reached the caller: %v", got)
			}
			if tc.extra != "" && ae.Extra[tc.extra] == nil {
				t.Errorf("extensions lack %s: %v", tc.extra, ae.Extra)
			}
		})
	}
	if connectError(nil) != nil {
		t.Error("connectError(nil) is not nil")
	}
	ae, _ := apierror.As(connectError(&zoom.Error{HTTPStatus: 400, Code: zoom.CodeMissingScope, Message: "Invalid access token, does not contain scopes:[a, b]."}))
	if got, _ := ae.Extra["missingScopes"].([]string); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("missingScopes = %v", ae.Extra["missingScopes"])
	}
}
