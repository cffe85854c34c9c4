package zoom

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Zoom error codes the gateway reacts to (zoom-api.md, "Errors").
const (
	CodeNoSubscription = 200  // no Zoom Rooms subscription, or access restricted
	CodeInvalidParams  = 300  // invalid parameters; "Zoom Room is offline" for room controls
	CodeInvalidToken   = 124  // invalid or expired access token
	CodeRoomNotFound   = 1012 // room not found
	CodeRateLimited    = 429  // per-second or daily rate limit
	CodeMissingScope   = 4711 // the token lacks a scope; the message names it
)

// Sentinel errors. A *Error or *OAuthError matches them with errors.Is, so
// domain packages map Zoom failures to their own errors without looking at
// codes or messages.
var (
	// ErrNotFound: Zoom answered 404 (room 1012, content item, user).
	ErrNotFound = errors.New("zoom: not found")
	// ErrInvalidToken: Zoom rejected the access token (401, code 124) even
	// after one fresh token.
	ErrInvalidToken = errors.New("zoom: invalid access token")
	// ErrMissingScope: the grant lacks a scope the call needs (code 4711);
	// MissingScopes lists the scope names Zoom gave.
	ErrMissingScope = errors.New("zoom: missing scope")
	// ErrRoomOffline: a room control was refused because the room is offline.
	ErrRoomOffline = errors.New("zoom: room is offline")
	// ErrSignageDisabled: the account admin has not enabled Digital Signage
	// for the room. Zoom documents no code for it (the simulator answers
	// 400 code 300 "Digital signage is not enabled for this Zoom Room."), so
	// it is recognised by its message.
	ErrSignageDisabled = errors.New("zoom: digital signage is not enabled for the room")
	// ErrNoSubscription: the account has no Zoom Rooms subscription or
	// access is restricted (code 200).
	ErrNoSubscription = errors.New("zoom: no Zoom Rooms subscription or access restricted")
	// ErrRateLimited: Zoom answered 429, or the shared limiter had no slot
	// before the caller's deadline. RetryAt tells when to try again.
	ErrRateLimited = errors.New("zoom: rate limited")
	// ErrReauthorizationRequired: Zoom refused the stored grant
	// (invalid_grant), or the connection is already marked for
	// reauthorization. Never retried: an admin must connect again.
	ErrReauthorizationRequired = errors.New("zoom: reauthorization required")
	// ErrCredentialsRejected: Zoom refused the app's client id or secret
	// (invalid_client), e.g. a mistyped Server-to-Server secret.
	ErrCredentialsRejected = errors.New("zoom: app credentials rejected")
	// ErrUnavailable: Zoom could not be reached or answered 5xx after the
	// retries the caller's deadline allowed.
	ErrUnavailable = errors.New("zoom: unavailable")
	// ErrMalformedResponse: Zoom's answer could not be decoded (not JSON,
	// truncated, wrong shape). It also matches ErrUnavailable.
	ErrMalformedResponse = fmt.Errorf("%w: malformed response", ErrUnavailable)
	// ErrNoConnection: the token store has no such connection row.
	ErrNoConnection = errors.New("zoom: connection not found")
)

// Error is an error answer of Zoom's REST API ({"code","message","errors"}),
// or an equivalent the client builds (an HTML 502 page, the local limiter
// giving up).
type Error struct {
	// HTTPStatus is the response status (429 for the local limiter).
	HTTPStatus int
	// Code is Zoom's error code; 0 when the body had none.
	Code int
	// Message is Zoom's message, or a short description when the body was
	// not Zoom's error shape. It never contains a token or secret.
	Message string
	// Fields lists validation errors when Zoom gave them.
	Fields []FieldError
	// RetryAt is when a rate-limited call may be tried again (zero if
	// unknown).
	RetryAt time.Time
	// Daily marks a 429 of the daily limit (X-RateLimit-Type: Daily-limit).
	Daily bool
	// Local marks an error raised by the client itself (the shared limiter
	// had no slot in time), not by Zoom.
	Local bool
}

// FieldError is one entry of a Zoom validation error's errors list.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zoom: HTTP %d", e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, " code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if !e.RetryAt.IsZero() {
		b.WriteString(" (retry at ")
		b.WriteString(e.RetryAt.UTC().Format(time.RFC3339))
		b.WriteString(")")
	}
	return b.String()
}

// Is maps the error to the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.HTTPStatus == 404 || e.Code == CodeRoomNotFound
	case ErrInvalidToken:
		return e.Code == CodeInvalidToken || e.HTTPStatus == 401
	case ErrMissingScope:
		return e.Code == CodeMissingScope
	case ErrRoomOffline:
		return e.Code == CodeInvalidParams && strings.Contains(strings.ToLower(e.Message), "offline")
	case ErrSignageDisabled:
		m := strings.ToLower(e.Message)
		return e.HTTPStatus == 400 && strings.Contains(m, "signage") &&
			(strings.Contains(m, "not enabled") || strings.Contains(m, "disabled"))
	case ErrNoSubscription:
		return e.Code == CodeNoSubscription && e.HTTPStatus == 400
	case ErrRateLimited:
		return e.HTTPStatus == 429 || e.Code == CodeRateLimited
	case ErrUnavailable:
		return e.HTTPStatus >= 500
	}
	return false
}

// MissingScopes returns the scope names of a missing-scope error. Zoom's
// message reads "Invalid access token, does not contain scopes:[a, b]."; the
// names inside the brackets are returned. ok is false when err is not a
// missing-scope error.
func MissingScopes(err error) (scopes []string, ok bool) {
	var ze *Error
	if !errors.As(err, &ze) || ze.Code != CodeMissingScope {
		return nil, false
	}
	msg := ze.Message
	open := strings.Index(msg, "[")
	end := strings.LastIndex(msg, "]")
	if open < 0 || end < open {
		return nil, true
	}
	return strings.FieldsFunc(msg[open+1:end], func(r rune) bool { return r == ',' || r == ' ' }), true
}

// RetryAt returns when a rate-limited call may be retried; ok is false when
// err is not a rate-limit error or the time is unknown.
func RetryAt(err error) (t time.Time, ok bool) {
	var ze *Error
	if !errors.As(err, &ze) || !errors.Is(ze, ErrRateLimited) || ze.RetryAt.IsZero() {
		return time.Time{}, false
	}
	return ze.RetryAt, true
}

// IsNotFound reports whether Zoom said the resource does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsInvalidToken reports whether Zoom kept refusing the access token.
func IsInvalidToken(err error) bool { return errors.Is(err, ErrInvalidToken) }

// IsMissingScope reports whether the grant lacks a scope (see MissingScopes).
func IsMissingScope(err error) bool { return errors.Is(err, ErrMissingScope) }

// IsRoomOffline reports whether a room control failed because the room is offline.
func IsRoomOffline(err error) bool { return errors.Is(err, ErrRoomOffline) }

// IsSignageDisabled reports whether Digital Signage is not enabled for the room.
func IsSignageDisabled(err error) bool { return errors.Is(err, ErrSignageDisabled) }

// IsRateLimited reports whether the call was rate limited (see RetryAt).
func IsRateLimited(err error) bool { return errors.Is(err, ErrRateLimited) }

// IsReauthorizationRequired reports whether the grant is gone and an admin
// must connect the account again.
func IsReauthorizationRequired(err error) bool { return errors.Is(err, ErrReauthorizationRequired) }

// OAuthError is an error answer of Zoom's token or revoke endpoint
// ({"reason","error"}).
type OAuthError struct {
	HTTPStatus int
	// Kind is the OAuth error: invalid_grant, invalid_client, invalid_request…
	Kind string
	// Reason is Zoom's human-readable reason; it never holds the token.
	Reason string
}

func (e *OAuthError) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("zoom oauth: HTTP %d: %s", e.HTTPStatus, e.Reason)
	}
	return fmt.Sprintf("zoom oauth: HTTP %d %s: %s", e.HTTPStatus, e.Kind, e.Reason)
}

// Is maps invalid_grant to ErrReauthorizationRequired and invalid_client to
// ErrCredentialsRejected.
func (e *OAuthError) Is(target error) bool {
	switch target {
	case ErrReauthorizationRequired:
		return e.Kind == "invalid_grant"
	case ErrCredentialsRejected:
		return e.Kind == "invalid_client"
	case ErrRateLimited:
		return e.HTTPStatus == 429
	case ErrUnavailable:
		return e.HTTPStatus >= 500
	}
	return false
}
