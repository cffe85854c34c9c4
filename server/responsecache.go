package server

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"zoomsignage/auth"
)

// ResponseCache serves whole GraphQL responses without running gqlgen. A
// domain cache (the rooms page cache) stores a response's bytes under the
// request as it arrived, and the server asks it before parsing, validating
// and executing the operation: on a hit the stored bytes are written as
// they are. Parsing, validation and execution ran for that exact request
// (query text, operation name, variables) for the same tenant and scopes
// when the bytes were stored, and the cache's key also pins the data
// version, so a hit answers exactly what execution would.
type ResponseCache interface {
	// Lookup returns the stored body for req, or false together with the
	// context the request continues with (a cache may note in it what it
	// already read, such as a data version, so the request reads it once).
	Lookup(ctx context.Context, p *auth.Principal, req RawRequest) ([]byte, context.Context, bool)
}

// RawRequest is a POSTed GraphQL request as the client sent it.
type RawRequest struct {
	Query         string
	OperationName string
	// Variables in a canonical form (object keys sorted), so two spellings
	// of the same variables share one key.
	Variables []byte
}

type rawRequestKey struct{}

// RawRequestFrom returns the raw request the server saw, for caches that
// store responses under it. It is absent for requests the fast path cannot
// serve (GET, persisted-query hashes, extensions, non-JSON bodies).
func RawRequestFrom(ctx context.Context) (RawRequest, bool) {
	r, ok := ctx.Value(rawRequestKey{}).(RawRequest)
	return r, ok
}

// cachedResponses answers from the response cache when it can, and
// otherwise records the raw request in the context for the cache to store
// the response under. It runs after authentication, on a buffered body.
func (s *Server) cachedResponses(next http.Handler) http.Handler {
	if s.deps.Cache == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := parseRawRequest(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if p := auth.FromContext(ctx); p != nil {
			body, next, hit := s.deps.Cache.Lookup(ctx, p, raw)
			if hit {
				s.metrics.cacheHits.Inc()
				w.Header().Set("Content-Type", responseContentType(r))
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
				return
			}
			ctx = next
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, rawRequestKey{}, raw)))
	})
}

// parseRawRequest reads a plain JSON POST body: query, operationName and
// variables only. Anything else (GET, persisted queries, extensions) is
// left to gqlgen.
func parseRawRequest(r *http.Request) (RawRequest, bool) {
	if r.Method != http.MethodPost || !isJSON(r) || r.Body == nil {
		return RawRequest{}, false
	}
	body, ok := r.Body.(interface{ Bytes() []byte })
	if !ok {
		return RawRequest{}, false
	}
	var req struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(body.Bytes(), &req); err != nil || req.Query == "" || len(req.Extensions) > 0 {
		return RawRequest{}, false
	}
	vars, ok := canonicalVariables(req.Variables)
	if !ok {
		return RawRequest{}, false
	}
	return RawRequest{Query: req.Query, OperationName: req.OperationName, Variables: vars}, true
}

// canonicalVariables re-encodes variables with sorted keys and exact numbers.
func canonicalVariables(raw json.RawMessage) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return []byte("{}"), true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	out, err := json.Marshal(v)
	return out, err == nil
}

// responseContentType answers as gqlgen's POST transport would: JSON unless
// the client asks for application/graphql-response+json first.
func responseContentType(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		media, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch media {
		case "application/graphql-response+json":
			return media
		case "application/json", "*/*", "application/*":
			return "application/json"
		}
	}
	return "application/json"
}
