package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/auth"
)

type requestIDKey struct{}

// validRequestID accepts a caller's X-Request-Id only when it is short and
// plain, so it can go into logs as is.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// withRequestID gives every request an id (the caller's when sane), echoed
// in X-Request-Id and in internal error messages, to find its log lines.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusRecorder remembers the status code for metrics and logs, and passes
// Hijack through for websockets.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument records one route's requests in metrics and the access log.
// Nothing from headers or bodies is logged.
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusSwitchingProtocols
		}
		elapsed := time.Since(start)
		s.metrics.observeHTTP(route, methodLabel(r.Method), rec.code, elapsed)
		s.log(r.Context()).Info("http request", "route", route, "method", r.Method, "status", rec.code, "duration_ms", elapsed.Milliseconds())
	})
}

// methodLabel bounds the method label: a client can send any token as a
// method, and each new label value would be a new time series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodOptions, http.MethodHead:
		return m
	}
	return "OTHER"
}

// isWebsocket reports whether r asks to upgrade to a websocket.
func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// limitBody reads a POST body up to the limit, answering 413 past it and
// 400 (BAD_USER_INPUT) for a JSON body that does not parse, so clients get a
// GraphQL-shaped error with a code either way.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, apierror.BadUserInput, s.tooLargeMessage())
			return
		}
		// A context deadline does not stop a body read: without a read
		// deadline a client could trickle 1 MiB a byte at a time, forever.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, apierror.BadUserInput, s.tooLargeMessage())
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, apierror.BadUserInput, "request body could not be read")
			return
		}
		if isJSON(r) && !json.Valid(body) {
			writeError(w, http.StatusBadRequest, apierror.BadUserInput, "request body is not valid JSON")
			return
		}
		if isJSON(r) && !isJSONObject(body) {
			// gqlgen would answer with its decoder's message, which echoes
			// the body and names Go types.
			writeError(w, http.StatusBadRequest, apierror.BadUserInput,
				`request body must be one JSON object {"query", "variables", "operationName"}; batched requests (a JSON array) are not supported`)
			return
		}
		if isJSON(r) && !wellTypedParams(body) {
			// gqlgen's decoder error names Go types and echoes the body,
			// and its SSE transport also logs that body raw.
			writeError(w, http.StatusBadRequest, apierror.BadUserInput,
				`request body fields have the wrong types: "query" and "operationName" are strings, "variables" and "extensions" objects`)
			return
		}
		r.Body = &bufferedBody{Reader: bytes.NewReader(body), data: body}
		next.ServeHTTP(w, r)
	})
}

// wellTypedParams reports whether a JSON object body has the GraphQL
// request's field types (any field may be absent or null).
func wellTypedParams(body []byte) bool {
	var p struct {
		Query         *string        `json:"query"`
		OperationName *string        `json:"operationName"`
		Variables     map[string]any `json:"variables"`
		Extensions    map[string]any `json:"extensions"`
	}
	return json.Unmarshal(body, &p) == nil
}

// isJSONObject reports whether valid JSON body is an object.
func isJSONObject(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}

// bufferedBody is a request body already read into memory; Bytes lets the
// response-cache fast path look at it without reading it again.
type bufferedBody struct {
	*bytes.Reader
	data []byte
}

func (b *bufferedBody) Close() error  { return nil }
func (b *bufferedBody) Bytes() []byte { return b.data }

func (s *Server) tooLargeMessage() string {
	return fmt.Sprintf("request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "" || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/graphql-response+json")
}

// authenticate puts the caller's Principal in the context. A request with a
// bad credential, and outside dev mode one with none, is refused at once
// with 401, both answered alike, so a client has one way to learn that it
// must (re)authenticate. A websocket without one continues: it
// authenticates in its connection_init. In dev mode a request with no
// credential continues anonymously, so GraphiQL can load the schema before
// a key is typed (resolvers still refuse what needs a scope).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.clientAddr(r)
		r = r.WithContext(withClientAddr(r.Context(), addr))
		credential, ok := auth.FromRequest(r)
		if !ok {
			if s.cfg.Dev || isWebsocket(r) {
				next.ServeHTTP(w, r)
				return
			}
			refuseUnauthenticated(w)
			return
		}
		if s.refusedForFailures(w, r, addr) {
			return
		}
		p, err := s.deps.Auth.Authenticate(r.Context(), credential)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				s.log(r.Context()).Error("authentication failed", "error", err.Error())
				code := apierror.Internal
				if _, ok := dependencyOf(err); ok {
					code = apierror.ServiceUnavailable
				}
				writeError(w, http.StatusServiceUnavailable, code, "authentication is unavailable; try again (request id "+requestID(r.Context())+")")
				return
			}
			s.authFailed(r.Context(), addr, err.Error())
			refuseUnauthenticated(w)
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		switch {
		case isWebsocket(r):
			ctx = withUpgradeCredential(ctx, credential)
		case isEventStream(r):
			ctx = context.WithValue(ctx, streamCredentialKey{}, credential)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// refuseUnauthenticated is the one answer to a request without a valid
// credential, whether it had none or a bad one.
func refuseUnauthenticated(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="zoomsignage"`)
	writeError(w, http.StatusUnauthorized, apierror.Unauthenticated,
		"authentication required: send a valid API key or web-app JWT as Authorization: Bearer …")
}

// withTimeout bounds a request's work. Websockets and event streams are
// long-lived by design: they are exempt, and marked as the transports that
// may carry subscriptions (streamPolicy bounds their other operations).
func (s *Server) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) || isEventStream(r) {
			next.ServeHTTP(w, r.WithContext(withStreaming(r.Context())))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeError answers with a GraphQL-shaped error body.
func writeError(w http.ResponseWriter, status int, code apierror.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": string(code)}}},
		"data":   nil,
	})
}
