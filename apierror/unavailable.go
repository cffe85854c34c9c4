package apierror

import "errors"

// Dependency names one of our own backing services. A SERVICE_UNAVAILABLE
// error names the kind of service that failed, never its address, so the
// product can tell "our side is down" from "Zoom is down".
type Dependency string

// The dependencies a request can fail on.
const (
	Database Dependency = "the database"
	Redis    Dependency = "Redis"
	Vault    Dependency = "Vault"
)

// UnavailableError is the failure of one of our dependencies: Err is for
// the logs, Dependency for the client.
type UnavailableError struct {
	Dependency Dependency
	Err        error
}

func (e *UnavailableError) Error() string {
	return string(e.Dependency) + " unavailable: " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable marks err as dep's failure. Call it where the dependency is
// called, the one place that knows which service failed: a connection
// refused from Redis and one from Zoom look alike further up.
func Unavailable(dep Dependency, err error) error {
	if err == nil {
		return nil
	}
	return &UnavailableError{Dependency: dep, Err: err}
}

// UnavailableOf returns the dependency whose failure err is, if it is one.
func UnavailableOf(err error) (Dependency, bool) {
	var u *UnavailableError
	if errors.As(err, &u) {
		return u.Dependency, true
	}
	return "", false
}

// Client is the client-safe error for dep's failure.
func (d Dependency) Client() *Error {
	return New(ServiceUnavailable, "%s is unavailable on our side; try again shortly", d)
}
