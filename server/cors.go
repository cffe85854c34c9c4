package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsMaxAge is how long (seconds) a browser may reuse a preflight answer;
// Chromium caps it at two hours.
const corsMaxAge = 7200

// corsAllowedMethods are the methods /graphql serves over HTTP.
const corsAllowedMethods = "GET, POST, OPTIONS"

// corsAllowedHeaders are the request headers a browser client sends:
// credentials, the body type, partners' Idempotency-Key, and the headers
// Apollo Client and its persisted-query link add.
const corsAllowedHeaders = "Authorization, Content-Type, Accept, Idempotency-Key, X-Request-Id, " +
	"Apollo-Require-Preflight, Apollographql-Client-Name, Apollographql-Client-Version, " +
	"X-Apollo-Operation-Name, X-Apollo-Operation-Id"

// corsExposedHeaders are response headers a page may read: the request id
// that error messages name.
const corsExposedHeaders = "X-Request-Id"

// corsOrigins is the exact list of browser origins (scheme://host[:port])
// allowed to call the API from another origin. Empty allows none.
type corsOrigins []string

// allows reports whether origin is listed.
func (o corsOrigins) allows(origin string) bool {
	return origin != "" && slices.Contains(o, origin)
}

// withCORS answers preflights and marks responses readable by the listed
// origins only. Credentials are tokens in the Authorization header, never
// cookies, so Allow-Credentials is not sent. A preflight from an unlisted
// origin gets 204 without CORS headers, which the browser treats as a
// refusal.
func (s *Server) withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := s.cors.allows(origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", corsAllowedMethods)
				h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
				h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposedHeaders)
		}
		next.ServeHTTP(w, r)
	})
}

// websocketOriginAllowed is the upgrader's origin check. Without a list
// every origin is accepted (credentials ride in connection_init, never in
// cookies); with one, a browser socket (it always sends Origin) from an
// unlisted origin is refused with 403. Clients outside browsers send no
// Origin and are accepted.
func (o corsOrigins) websocketOriginAllowed(r *http.Request) bool {
	if len(o) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	return origin == "" || o.allows(strings.TrimRight(origin, "/"))
}
