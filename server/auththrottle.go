package server

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"zoomsignage/apierror"
)

// AuthThrottle limits failed authentications per client address
// (auth.FailureThrottle, shared by every replica through Redis).
type AuthThrottle interface {
	Refused(ctx context.Context, addr string) (time.Duration, bool, error)
	Failed(ctx context.Context, addr string) error
}

type clientAddrKey struct{}

// clientAddr is the address failed authentications are counted against:
// the connection's peer, or, behind a proxy the operator names in
// GATEWAY_TRUSTED_PROXY_HEADER, the last address that header lists (the
// one the trusted proxy appended; earlier ones are the client's to forge).
func (s *Server) clientAddr(r *http.Request) string {
	if h := s.cfg.TrustedProxyHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			parts := strings.Split(v, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// refusedForFailures answers 429 with Retry-After when the request's client
// has used up its failed authentications, before its credential is looked
// at. A throttle that cannot be read lets the request through: the
// credential is still verified.
func (s *Server) refusedForFailures(w http.ResponseWriter, r *http.Request, addr string) bool {
	wait, refused := s.throttled(r.Context(), addr)
	if !refused {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(w, http.StatusTooManyRequests, apierror.RateLimited, "too many failed authentication attempts; try again later")
	return true
}

// throttled reports whether addr has used up its failed authentications
// (and for how long), logging a refusal. A throttle that cannot be read
// refuses nothing: the credential is still verified.
func (s *Server) throttled(ctx context.Context, addr string) (time.Duration, bool) {
	if s.deps.AuthThrottle == nil {
		return 0, false
	}
	wait, refused, err := s.deps.AuthThrottle.Refused(ctx, addr)
	if err != nil {
		s.log(ctx).Warn("auth throttle unavailable; verifying the credential anyway", "error", err.Error())
		return 0, false
	}
	if refused {
		s.log(ctx).Warn("authentication refused: too many failed attempts from this client", "client", addr)
	}
	return wait, refused
}

// authFailed counts a failed authentication of addr and logs it.
func (s *Server) authFailed(ctx context.Context, addr, reason string) {
	s.log(ctx).Info("authentication refused", "reason", reason, "client", addr)
	if s.deps.AuthThrottle == nil {
		return
	}
	if err := s.deps.AuthThrottle.Failed(ctx, addr); err != nil {
		s.log(ctx).Warn("auth throttle unavailable; the failure was not counted", "error", err.Error())
	}
}

func withClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

func clientAddrOf(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}
