// Package apierror is the one kind of error that may reach an API client.
// Domain packages return an *Error when the caller can act on what went
// wrong (a bad id, no licenses left, Zoom refusing the credentials); every
// other error is logged by the server and replaced by a generic message with
// a request id, so internals and secrets never leak through error text.
package apierror

import (
	"errors"
	"fmt"
)

// Code is the stable machine-readable kind of an error, sent to clients as
// GraphQL extensions.code.
type Code string

// The codes of the API contract (API.md).
const (
	Unauthenticated         Code = "UNAUTHENTICATED"
	Forbidden               Code = "FORBIDDEN"
	NotFound                Code = "NOT_FOUND"
	BadUserInput            Code = "BAD_USER_INPUT"
	LicenseLimitReached     Code = "LICENSE_LIMIT_REACHED"
	ZoomCredentialsRejected Code = "ZOOM_CREDENTIALS_REJECTED"
	ZoomMissingScopes       Code = "ZOOM_MISSING_SCOPES"
	ZoomReauthRequired      Code = "ZOOM_REAUTH_REQUIRED"
	ZoomUnavailable         Code = "ZOOM_UNAVAILABLE"
	ZoomRoomOffline         Code = "ZOOM_ROOM_OFFLINE"
	RateLimited             Code = "RATE_LIMITED"
	IdempotencyKeyReused    Code = "IDEMPOTENCY_KEY_REUSED"
	ServiceUnavailable      Code = "SERVICE_UNAVAILABLE"
	Internal                Code = "INTERNAL"
)

// The codes of the request limits (README "Security limits"): a document
// refused by one of them did no work, and the client can shrink it.
const (
	TokenLimitExceeded      Code = "TOKEN_LIMIT_EXCEEDED"      // more lexical tokens than GATEWAY_TOKEN_LIMIT
	RepeatLimitExceeded     Code = "REPEAT_LIMIT_EXCEEDED"     // one response key repeated in one selection set
	AliasLimitExceeded      Code = "ALIAS_LIMIT_EXCEEDED"      // too many aliases in one document
	DirectiveLimitExceeded  Code = "DIRECTIVE_LIMIT_EXCEEDED"  // too many directives on one field
	DepthLimitExceeded      Code = "DEPTH_LIMIT_EXCEEDED"      // nested deeper than GATEWAY_DEPTH_LIMIT
	FieldLimitExceeded      Code = "FIELD_LIMIT_EXCEEDED"      // too many fields once fragments are expanded
	ComplexityLimitExceeded Code = "COMPLEXITY_LIMIT_EXCEEDED" // over GATEWAY_COMPLEXITY_LIMIT (gqlgen's own code), or __schema twice
	ValidationTimeout       Code = "VALIDATION_TIMEOUT"        // validation outlasted the request deadline
	TooManyErrors           Code = "TOO_MANY_ERRORS"           // the last error of a response whose list was cut at GATEWAY_ERROR_LIMIT
	IntrospectionDisabled   Code = "INTROSPECTION_DISABLED"    // __schema or __type outside dev mode and GATEWAY_INTROSPECTION
)

// Error is a client-safe error: its Message is written for the caller and
// must never contain a secret or an internal detail.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, when there is one ("input.clientSecret").
	Field string
	// Extra holds further client-safe extensions (e.g. "missingScopes").
	Extra map[string]any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing object. Objects of other tenants are "not
// found" too, so ids cannot be probed across tenants.
func NotFoundf(format string, args ...any) *Error {
	return New(NotFound, format, args...)
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns err's code, or Internal when err is not client-safe.
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}
