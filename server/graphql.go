package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"zoomsignage/apierror"
	"zoomsignage/auth"
	"zoomsignage/store"
)

// websocketReadLimit bounds one client message on a websocket: init,
// subscribe (a query and its variables), ping, pong and complete are small,
// and every open socket may hold a message this large while reading it.
const websocketReadLimit = 64 << 10

// newGraphQLHandler assembles the gqlgen server: transports (POST, GET,
// websocket, server-sent events), limits, introspection only in dev (or when configured), and the error presenter
// that lets only client-safe errors through.
func (s *Server) newGraphQLHandler(schema graphql.ExecutableSchema) *handler.Server {
	srv := handler.New(schema)
	// The init timeout (4408), keep-alive pings and the protocol's other
	// close codes are the websocket implementation's (websocket_conn.go):
	// gqlgen's own init timeout closes with 1002, and its keep-alive costs
	// a goroutine per connection.
	readLimit := int64(websocketReadLimit)
	srv.AddTransport(transport.Websocket{
		Implementation:   s.ws,
		InitFunc:         s.websocketInit,
		PayloadReadLimit: &readLimit,
	})
	srv.AddTransport(transport.Options{})
	// Before POST: an event stream is a POST of JSON too.
	srv.AddTransport(sseTransport{SSE: transport.SSE{KeepAlivePingInterval: ssePingInterval}, s: s})
	srv.AddTransport(conventional{transport.GET{}})
	srv.AddTransport(conventional{transport.POST{}})
	queries := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(queries)
	// Validation suggests names ("Did you mean …") only in dev mode, both
	// in docLimits' validation and in gqlgen's own.
	srv.SetDisableSuggestion(!s.cfg.Dev)
	srv.SetValidationRulesFn(func() *rules.Rules { return validationRules(s.cfg.Dev) })

	introspection := s.cfg.Dev || s.cfg.Introspection
	if introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	// After APQ, which turns a hash into its query text, and before gqlgen
	// parses and validates it.
	srv.Use(docLimits{
		tokens: s.cfg.TokenLimit, repeats: s.cfg.RepeatLimit, aliases: s.cfg.AliasLimit, directives: s.cfg.DirectiveLimit,
		schema: schema.Schema(), cache: queries, suggestions: s.cfg.Dev,
	})
	// The shape limit must come before the complexity limit: it refuses
	// fragment bombs before the complexity calculation would expand them.
	// It comes after the introspection extension, whose decision it reads.
	srv.Use(shapeLimit{maxDepth: s.cfg.DepthLimit, maxFields: s.cfg.FieldLimit, maxMutationFields: s.cfg.MutationLimit})
	srv.Use(extension.FixedComplexityLimit(s.cfg.ComplexityLimit))
	srv.AroundResponses(s.metrics.observeGraphQL)
	srv.AroundResponses(errorLimit(s.cfg.ErrorLimit))
	srv.AroundOperations(refuseLapsedCredentials)
	srv.AroundOperations(s.streamPolicy)

	srv.SetErrorPresenter(s.presentError)
	srv.SetRecoverFunc(s.recoverPanic)
	return srv
}

// refuseLapsedCredentials refuses an operation sent on a websocket whose
// credential has expired or been revoked since connection_init; the socket
// itself is being closed with 4403.
func refuseLapsedCredentials(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if credentialLapsed(ctx) {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    "the credential expired or was revoked",
			Extensions: map[string]any{"code": string(apierror.Unauthenticated)},
		}}})
	}
	return next(ctx)
}

// dependencyOf names the dependency whose failure err is: one marked where
// it was called (Redis, Vault), or Postgres failing to serve a statement,
// which every domain reaches through pgx without marking it.
func dependencyOf(err error) (apierror.Dependency, bool) {
	if dep, ok := apierror.UnavailableOf(err); ok {
		return dep, true
	}
	if store.IsUnavailable(err) {
		return apierror.Database, true
	}
	return "", false
}

// websocketInit authenticates a websocket on connection_init with the same
// credentials as HTTP. A bad or missing credential closes with 4403.
func (s *Server) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	credential, ok := auth.FromInitPayload(payload)
	if !ok {
		if p := auth.FromContext(ctx); p != nil { // authenticated on the upgrade request
			s.watchCredential(ctx, upgradeCredential(ctx))
			return ctx, nil, nil
		}
		return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), "Forbidden"), nil, errors.New("forbidden: connection_init must carry credentials")
	}
	addr := clientAddrOf(ctx)
	if _, refused := s.throttled(ctx, addr); refused {
		return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), "Forbidden"), nil, errors.New("too many failed authentication attempts")
	}
	p, err := s.deps.Auth.Authenticate(ctx, credential)
	if err != nil {
		if !errors.Is(err, auth.ErrInvalidCredentials) {
			s.log(ctx).Error("websocket authentication unavailable", "error", err.Error())
			return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeInternal), "Internal server error"), nil, errors.New("authentication is unavailable; try again")
		}
		s.authFailed(ctx, addr, err.Error())
		return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), "Forbidden"), nil, errors.New("forbidden")
	}
	s.watchCredential(ctx, credential)
	return auth.WithPrincipal(ctx, p), nil, nil
}

// presentError turns a resolver error into what the client sees. Client-safe
// errors (apierror, and gqlgen's own parse/validation errors) keep their
// message and code; anything else is logged with the request id and
// replaced by a generic message naming that id.
func (s *Server) presentError(ctx context.Context, err error) *gqlerror.Error {
	out := graphql.DefaultErrorPresenter(ctx, err)
	if ae, ok := apierror.As(err); ok {
		out.Message = ae.Message
		out.Extensions = map[string]any{"code": string(ae.Code)}
		if ae.Field != "" {
			out.Extensions["field"] = ae.Field
		}
		for k, v := range ae.Extra {
			out.Extensions[k] = v
		}
		return out
	}
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err == nil && isVariableError(gqlErr) {
		// A variable that does not coerce to its type is bad input, like
		// a bad argument, not a document that failed validation.
		out.Extensions = map[string]any{"code": string(apierror.BadUserInput)}
		return out
	}
	if errors.As(err, &gqlErr) && gqlErr.Err == nil {
		if out.Extensions == nil || out.Extensions["code"] == nil {
			out.Extensions = map[string]any{"code": string(apierror.BadUserInput)}
		}
		return out
	}
	id := requestID(ctx)
	if dep, ok := dependencyOf(err); ok {
		s.log(ctx).Error("graphql: a dependency is unavailable", "dependency", string(dep), "error", err.Error(), "path", out.Path.String())
		out.Message = dep.Client().Message + " (request id " + id + ")"
		out.Extensions = map[string]any{"code": string(apierror.ServiceUnavailable), "requestId": id}
		return out
	}
	s.log(ctx).Error("graphql: internal error", "error", err.Error(), "path", out.Path.String())
	out.Message = fmt.Sprintf("internal error (request id %s)", id)
	out.Extensions = map[string]any{"code": string(apierror.Internal), "requestId": id}
	return out
}

// recoverPanic logs a resolver panic with its stack and hides it from the client.
func (s *Server) recoverPanic(ctx context.Context, p any) error {
	s.log(ctx).Error("graphql: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return errors.New("panic in resolver")
}

func (s *Server) log(ctx context.Context) *slog.Logger {
	return s.deps.Logger.With("request_id", requestID(ctx))
}

// isVariableError reports whether e is gqlgen's refusal of a variable's
// value (its path starts with "variable").
func isVariableError(e *gqlerror.Error) bool {
	return len(e.Path) > 0 && e.Path[0] == ast.PathName("variable")
}
