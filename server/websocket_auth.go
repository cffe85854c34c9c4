package server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"zoomsignage/auth"
)

// reasonCredentialEnded is the close reason of a websocket whose credential
// expired or was revoked after connection_init.
const reasonCredentialEnded = "Forbidden: the credential expired or was revoked"

// recheckTimeout bounds one re-verification (an API-key lookup in Postgres).
const recheckTimeout = 10 * time.Second

// credentialWatch re-verifies, while a websocket or an event stream lives,
// the credential it was authenticated with: a subscription outlives any
// request, so without it a revoked API key or an expired JWT would keep
// receiving events for as long as the socket stays open. An API key is
// re-verified every interval (the API-key cache keeps a revocation unseen
// for up to its own 30 s, so a revoked key is cut off within about a
// minute). A JWT cannot be revoked, only expire: it is checked once, at its
// exp, which spares ten thousand idle web-app sockets a signature check
// each every interval. It runs on a timer, not a goroutine: an idle
// subscriber costs no stack for it.
type credentialWatch struct {
	s          *Server
	kind       string          // "websocket" or "event stream", for the log
	closing    func() bool     // the connection is already being closed
	close      func()          // ends the connection once its credential lapsed
	ctx        context.Context // the connection's; done once it closes
	credential string
	expires    time.Time // a JWT's exp; zero for API keys
	timer      atomic.Pointer[time.Timer]
	lapsed     atomic.Bool // set once the credential is found expired or revoked
}

// upgradeCredentialKey carries the credential of a websocket's upgrade
// request (its Authorization or X-API-Key header) to connection_init, so a
// socket authenticated that way is watched like one authenticated in band.
type upgradeCredentialKey struct{}

func withUpgradeCredential(ctx context.Context, credential string) context.Context {
	return context.WithValue(ctx, upgradeCredentialKey{}, credential)
}

func upgradeCredential(ctx context.Context) string {
	c, _ := ctx.Value(upgradeCredentialKey{}).(string)
	return c
}

// watchCredential starts re-verifying credential for the websocket that ctx
// belongs to. The watch ends when the connection closes.
func (s *Server) watchCredential(ctx context.Context, credential string) {
	conn := acceptedConn(ctx)
	if conn == nil {
		return
	}
	w := s.newCredentialWatch(ctx, credential, "websocket", conn.closing.Load,
		func() { _ = conn.WriteClose(closeForbidden, reasonCredentialEnded) })
	conn.watch.Store(w)
	w.arm()
}

func (s *Server) newCredentialWatch(ctx context.Context, credential, kind string, closing func() bool, closeFn func()) *credentialWatch {
	return &credentialWatch{s: s, kind: kind, closing: closing, close: closeFn, ctx: ctx, credential: credential, expires: jwtExpiry(credential)}
}

// jwtExpiry reads the exp of a JWT that Authenticate has just verified
// (zero for an API key, which does not parse as a JWT, or a token without
// exp).
func jwtExpiry(credential string) time.Time {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(credential, claims); err != nil {
		return time.Time{}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}
	}
	return exp.Time
}

// next is how long until the next check: a JWT's exp, or the interval.
func (w *credentialWatch) next() time.Duration {
	if !w.expires.IsZero() {
		return max(time.Until(w.expires), 0)
	}
	return w.s.cfg.WebsocketRecheckInterval
}

func (w *credentialWatch) arm() {
	if w.ctx.Err() != nil || w.closing() {
		return
	}
	w.timer.Store(time.AfterFunc(w.next(), w.check))
}

// stop ends the watch (the connection closed).
func (w *credentialWatch) stop() {
	if t := w.timer.Load(); t != nil {
		t.Stop()
	}
}

// check closes the connection with 4403 once its credential is no longer
// valid: a JWT past its exp by this replica's clock (the verifier's leeway
// is for tokens arriving from a skewed issuer, not for extending a live
// socket), or an API key that Authenticate refuses. When authentication
// itself is unavailable the connection stays and the next check decides.
func (w *credentialWatch) check() {
	if w.ctx.Err() != nil || w.closing() {
		return
	}
	if !w.expires.IsZero() && !time.Now().Before(w.expires) {
		w.end("expired")
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, recheckTimeout)
	defer cancel()
	_, err := w.s.deps.Auth.Authenticate(ctx, w.credential)
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		w.end("no longer valid")
		return
	case err != nil && w.ctx.Err() == nil:
		w.s.log(w.ctx).Warn("credential re-check unavailable; keeping the connection until the next check", "kind", w.kind, "error", err.Error())
	}
	w.arm()
}

// stillValid re-verifies the credential before an operation runs on the
// socket: between two timed checks a revoked key or an expired JWT must not
// run anything (a revoked admin key minting a new key, say). API keys are
// verified through the authenticator's short cache, so this costs a map
// lookup per operation. When authentication itself is unavailable the
// operation goes ahead on the credential verified last, as HTTP requests
// cannot (they are refused with 503) but a live socket already was.
func (w *credentialWatch) stillValid(ctx context.Context) bool {
	if w.lapsed.Load() {
		return false
	}
	if !w.expires.IsZero() {
		if !time.Now().Before(w.expires) {
			w.end("expired")
			return false
		}
		return true
	}
	if _, err := w.s.deps.Auth.Authenticate(ctx, w.credential); errors.Is(err, auth.ErrInvalidCredentials) {
		w.end("no longer valid")
		return false
	}
	return true
}

// credentialLapsed tells whether ctx belongs to a websocket whose
// credential has expired or been revoked.
func credentialLapsed(ctx context.Context) bool {
	conn := acceptedConn(ctx)
	if conn == nil {
		return false
	}
	w := conn.watch.Load()
	return w != nil && !w.stillValid(ctx)
}

func (w *credentialWatch) end(why string) {
	if w.lapsed.Swap(true) {
		return
	}
	w.s.log(w.ctx).Info("closing a connection whose credential ended", "kind", w.kind, "reason", why)
	w.close()
}
