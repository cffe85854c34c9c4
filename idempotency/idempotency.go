// Package idempotency makes mutations safe to retry: a client sends an
// Idempotency-Key header with a mutation, and a retry of the same request
// under the same key within the retention replays the first response
// instead of running the mutation again (API.md "Additions"). Keys are per
// tenant, so two tenants' keys never meet. The package owns the
// idempotency_keys table and the periodic job that forgets expired keys.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/store"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// MaxKeyLength bounds a key so the table's rows stay small; a UUID or a
// ULID fits many times over.
const MaxKeyLength = 255

// Config tunes the middleware; zero values take the defaults.
type Config struct {
	// Retention is how long a key's response is replayed (24 h per API.md).
	Retention time.Duration
	// Lease is how long a request may hold a key in progress before a retry
	// may take it over: a replica that died mid-request must not block the
	// key for the whole retention. It must exceed the request timeout.
	Lease time.Duration
	// RetryAfter is the hint sent to a duplicate of a request in progress.
	RetryAfter time.Duration
}

// DefaultConfig is the API contract's retention with a lease well past the
// gateway's request timeout.
func DefaultConfig() Config {
	return Config{Retention: 24 * time.Hour, Lease: 2 * time.Minute, RetryAfter: time.Second}
}

// Store keeps keys and their responses in Postgres.
type Store struct {
	db     *pgxpool.Pool
	cfg    Config
	logger *slog.Logger
}

// New returns a Store on db.
func New(db *pgxpool.Pool, cfg Config, logger *slog.Logger) *Store {
	def := DefaultConfig()
	if cfg.Retention <= 0 {
		cfg.Retention = def.Retention
	}
	if cfg.Lease <= 0 {
		cfg.Lease = def.Lease
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = def.RetryAfter
	}
	return &Store{db: db, cfg: cfg, logger: logger}
}

// Middleware wraps the GraphQL handler. It must run after authentication
// and after the body was read into memory (the server's limitBody), so the
// fingerprint is the hash of exactly the bytes the client sent. Requests
// without the header, anonymous callers and documents whose operation is
// not a mutation pass through untouched: a query is already safe to retry.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, hasKey := r.Header[http.CanonicalHeaderKey(Header)]
		p := auth.FromContext(r.Context())
		if !hasKey || r.Method != http.MethodPost || p == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, apierror.BadUserInput, "request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !isMutation(body) {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) != 1 || key[0] == "" || len(key[0]) > MaxKeyLength {
			writeError(w, http.StatusBadRequest, apierror.BadUserInput,
				fmt.Sprintf("the %s header must be given once, 1 to %d characters long", Header, MaxKeyLength))
			return
		}
		s.serve(w, r, next, p.TenantID, key[0], body)
	})
}

func (s *Store) serve(w http.ResponseWriter, r *http.Request, next http.Handler, tenantID, key string, body []byte) {
	ctx := r.Context()
	sum := sha256.Sum256(body)
	fp := sum[:]
	var owned bool
	err := s.db.QueryRow(ctx, sqlClaim, tenantID, key, fp, s.cfg.Retention.Seconds(), s.cfg.Lease.Seconds()).Scan(&owned)
	if errors.Is(err, pgx.ErrNoRows) {
		s.replay(w, r, tenantID, key, fp)
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("idempotency.serve: claim: %w", err))
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	completed := false
	defer func() {
		if completed {
			return
		}
		// The handler panicked: forget the key so a retry runs again
		// rather than waiting for the lease. A fresh context, since the
		// request's may be what ended.
		if _, err := s.db.Exec(context.WithoutCancel(ctx), sqlRelease, tenantID, key, fp); err != nil {
			s.logger.Error("idempotency: releasing a key failed", "error", err.Error())
		}
	}()
	next.ServeHTTP(rec, r)
	ct := rec.Header().Get("Content-Type")
	if _, err := s.db.Exec(context.WithoutCancel(ctx), sqlComplete, tenantID, key, fp, rec.status, ct, rec.buf.Bytes()); err != nil {
		// The response is already on its way; a retry will then run the
		// mutation again once the lease passes, which is logged here.
		s.logger.Error("idempotency: storing a response failed", "error", err.Error())
		return
	}
	completed = true
}

// replay answers a request whose key is already taken: with the stored
// response, a conflict while the first is in progress, or a refusal when
// the key was used for another request.
func (s *Store) replay(w http.ResponseWriter, r *http.Request, tenantID, key string, fp []byte) {
	var (
		stored      []byte
		done        bool
		status      int
		contentType string
		body        []byte
	)
	err := s.db.QueryRow(r.Context(), sqlLookup, tenantID, key).Scan(&stored, &done, &status, &contentType, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released or pruned between the claim and now: ask for a retry.
		done = false
		stored = fp
	} else if err != nil {
		s.fail(w, r, fmt.Errorf("idempotency.replay: %w", err))
		return
	}
	switch {
	case !bytes.Equal(stored, fp):
		writeError(w, http.StatusUnprocessableEntity, apierror.IdempotencyKeyReused,
			"this Idempotency-Key was already used for a different request; use a new key for a new request")
	case !done:
		w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter.Seconds()+0.5)))
		writeError(w, http.StatusConflict, apierror.RateLimited,
			"a request with this Idempotency-Key is still in progress; retry after it completes")
	default:
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func (s *Store) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	s.logger.Error("idempotency: key store failed", "error", err.Error())
	code := apierror.Internal
	if store.IsUnavailable(err) {
		code = apierror.ServiceUnavailable
	}
	writeError(w, http.StatusServiceUnavailable, code, "idempotency keys are unavailable; try again")
}

// isMutation reports whether the POSTed document's selected operation is a
// mutation. A body that does not parse is left to gqlgen to refuse.
func isMutation(body []byte) bool {
	var req struct {
		Query         string `json:"query"`
		OperationName string `json:"operationName"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Query == "" {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return false
	}
	var op *ast.OperationDefinition
	if req.OperationName == "" {
		if len(doc.Operations) == 1 {
			op = doc.Operations[0]
		}
	} else {
		op = doc.Operations.ForName(req.OperationName)
	}
	return op != nil && op.Operation == ast.Mutation
}

// recorder tees the response to the client and to a buffer for storing.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	buf         bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeError answers with a GraphQL-shaped error body, like the server's
// own middleware does.
func writeError(w http.ResponseWriter, status int, code apierror.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": string(code)}}},
		"data":   nil,
	})
}
