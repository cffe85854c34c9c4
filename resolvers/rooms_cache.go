package resolvers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"

	"zoomsignage/auth"
	"zoomsignage/server"
)

// A rooms page is dominated by building and marshalling the response (a
// hundred rooms with their devices and signage are thousands of fields),
// not by its few statements, and the UI asks for the same pages again and
// again between the rare changes. So a replica keeps the serialized
// response of rooms queries, keyed by everything that decides its content:
// the tenant, the caller's scopes, the operation (text, name, coerced
// variables) and the tenant's data version.
//
// The data version is a counter Postgres bumps, in the writing transaction
// itself, on every change to the tenant's rooms, devices, alerts, signage
// assignments and connections (store/migrations/0006_tenant_data_versions.sql).
// It is read before the response is built, so an entry stored under
// version v reflects at least every write committed before v was read, and
// any later write changes the version, and with it the key: no response is
// served after a committed change it does not reflect, on any replica. The
// read is the one statement a hit costs. Tenants never share an entry: the
// tenant id is part of the key.
//
// Only operations made of nothing but rooms and the fields of
// cacheableFields are cached: anything else (other root fields, sync runs,
// counts of a connection, @defer, mutations, subscriptions) may depend on
// data the version does not cover, and runs as before.

// RoomsCacheSize is how many responses a replica keeps by default (a
// 100-room page is about 40 KB).
const RoomsCacheSize = 512

// DataVersions reads a tenant's data version: rooms.DataVersions (from
// memory kept current by LISTEN/NOTIFY, as the app wires it) or
// rooms.Service.DataVersion (a statement per call).
type DataVersions interface {
	DataVersion(ctx context.Context, tenantID string) (int64, error)
}

// localWrites is implemented by versions that keep a copy (rooms.DataVersions):
// they are told when a mutation on this replica has committed, so that the
// caller's next rooms query here reflects it without waiting for the
// version's notification (read-your-writes on one replica).
type localWrites interface {
	Wrote(ctx context.Context, tenantID string)
}

// cacheableFields lists, per type, the fields whose values come only from
// the versioned tables (rooms, room_devices, room_alerts,
// signage_assignments, zoom_connections) or from the operation itself.
// A field not listed here (a new one included) makes the operation
// uncacheable until someone checks where its value comes from.
// ZoomConnection's lastSync, lastSuccessfulSyncAt, roomCount and
// activatedRoomCount are left out: they read sync_runs or count through
// other queries.
var cacheableFields = map[string][]string{
	"Query":             {"rooms"},
	"RoomConnection":    {"edges", "pageInfo", "totalCount"},
	"RoomEdge":          {"cursor", "node"},
	"PageInfo":          {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"},
	"Room":              {"id", "zoomRoomId", "name", "type", "locationId", "status", "online", "lastSeenAt", "devices", "devicesRefreshedAt", "alerts", "health", "signage", "connection"},
	"Device":            {"id", "type", "model", "manufacturer", "os", "appVersion", "firmware", "status", "hostname", "updatedAt"},
	"RoomAlert":         {"component", "alertType", "issue", "state", "triggeredAt", "clearedAt"},
	"SignageAssignment": {"state", "screenUrl", "layout", "muted", "displayPeriod", "activatedAt", "activatedBy", "lastPushedAt", "lastError"},
	"DisplayPeriod":     {"startAfterMeetingMinutes", "stopBeforeMeetingMinutes"},
	"ZoomConnection":    {"id", "kind", "zoomAccountId", "label", "connectedBy", "status", "statusReason", "grantedScopes", "missingScopes", "createdAt"},
	"ZoomAdmin":         {"name", "email"},
}

// WithRoomsCache wraps the executable schema with the rooms response cache
// (see above), holding up to size responses. It is how the app wires it
// (app/rooms.go).
func WithRoomsCache(es graphql.ExecutableSchema, versions DataVersions, size int) graphql.ExecutableSchema {
	if size <= 0 {
		size = RoomsCacheSize
	}
	return roomsCacheSchema{
		ExecutableSchema: es, versions: versions,
		entries: lru.New[cachedResponse](size),
		queries: lru.New[struct{}](size),
	}
}

type roomsCacheSchema struct {
	graphql.ExecutableSchema
	versions DataVersions
	entries  *lru.LRU[cachedResponse]
	// queries holds the query texts stored under a raw key: the server
	// asks Lookup about every authenticated request, and one map lookup
	// turns away everything that was never cached (viewer, mutations…)
	// before a version is read or a key hashed.
	queries *lru.LRU[struct{}]
}

// cachedResponse is a response without errors: its data as marshalled, or
// (under a raw-request key) the whole response body the server writes as is.
type cachedResponse struct {
	data json.RawMessage
	body []byte
}

// Exec implements graphql.ExecutableSchema.
func (s roomsCacheSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	p := auth.FromContext(ctx)
	opCtx := graphql.GetOperationContext(ctx)
	if lw, ok := s.versions.(localWrites); ok && p != nil && opCtx != nil && opCtx.Operation != nil && opCtx.Operation.Operation == ast.Mutation {
		return afterMutation(s.ExecutableSchema.Exec(ctx), func(ctx context.Context) { lw.Wrote(ctx, p.TenantID) })
	}
	if p == nil || opCtx == nil || !cacheableOperation(opCtx) || !p.Has(auth.ScopeRoomsRead) {
		return s.ExecutableSchema.Exec(ctx)
	}
	version, err := s.dataVersion(ctx, p.TenantID)
	if err != nil {
		// Without a version nothing may be served from or stored in the
		// cache; the uncached path reports its own errors.
		return s.ExecutableSchema.Exec(ctx)
	}
	key, ok := cacheKey(p, opCtx, version)
	if !ok {
		return s.ExecutableSchema.Exec(ctx)
	}
	if hit, ok := s.entries.Get(ctx, key); ok {
		// Same response, spelled differently by this client (or stored
		// before the raw request was known): keep it under this raw
		// request too, so the next identical one skips gqlgen.
		s.storeRaw(ctx, p, version, hit.data)
		done := false
		return func(context.Context) *graphql.Response {
			if done {
				return nil
			}
			done = true
			return &graphql.Response{Data: hit.data}
		}
	}
	next := s.ExecutableSchema.Exec(ctx)
	first := true
	return func(ctx context.Context) *graphql.Response {
		resp := next(ctx)
		if first && resp != nil && len(resp.Errors) == 0 && resp.HasNext == nil && len(resp.Data) > 0 {
			s.entries.Add(ctx, key, cachedResponse{data: resp.Data})
			s.storeRaw(ctx, p, version, resp.Data)
		}
		first = false
		return resp
	}
}

// Lookup implements server.ResponseCache: the whole body stored for this
// exact raw request, tenant, scopes and current data version.
func (s roomsCacheSchema) Lookup(ctx context.Context, p *auth.Principal, req server.RawRequest) ([]byte, context.Context, bool) {
	if !p.Has(auth.ScopeRoomsRead) {
		return nil, ctx, false
	}
	if _, known := s.queries.Get(ctx, req.Query); !known {
		return nil, ctx, false
	}
	version, err := s.versions.DataVersion(ctx, p.TenantID)
	if err != nil {
		return nil, ctx, false
	}
	hit, ok := s.entries.Get(ctx, rawKey(p, req, version))
	if !ok || hit.body == nil {
		// Exec reuses this version rather than reading it a second time.
		return nil, context.WithValue(ctx, versionReadKey{}, versionRead{tenantID: p.TenantID, version: version}), false
	}
	return hit.body, ctx, true
}

// versionReadKey carries the data version the server's fast path read for
// this request, so a miss does not read it again.
type versionReadKey struct{}

type versionRead struct {
	tenantID string
	version  int64
}

// dataVersion is the tenant's version, as already read in this request or
// freshly.
func (s roomsCacheSchema) dataVersion(ctx context.Context, tenantID string) (int64, error) {
	if v, ok := ctx.Value(versionReadKey{}).(versionRead); ok && v.tenantID == tenantID {
		return v.version, nil
	}
	return s.versions.DataVersion(ctx, tenantID)
}

// storeRaw keeps the response's whole body under the request as the
// client sent it, so the server can answer the next identical request
// without running gqlgen (server.ResponseCache).
func (s roomsCacheSchema) storeRaw(ctx context.Context, p *auth.Principal, version int64, data json.RawMessage) {
	req, ok := server.RawRequestFrom(ctx)
	if !ok {
		return
	}
	body := make([]byte, 0, len(data)+len(`{"data":}`))
	body = append(append(append(body, `{"data":`...), data...), '}')
	s.entries.Add(ctx, rawKey(p, req, version), cachedResponse{body: body})
	s.queries.Add(ctx, req.Query, struct{}{})
}

// rawKey hashes a raw request with what else decides its response. A
// leading tag keeps raw keys apart from cacheKey's.
func rawKey(p *auth.Principal, req server.RawRequest, version int64) string {
	return hashParts("raw", p.TenantID, strconv.FormatInt(version, 10), sortedScopes(p),
		req.OperationName, req.Query, string(req.Variables))
}

// afterMutation runs wrote once the mutation's response is built: its
// resolvers have returned, so whatever they wrote has committed.
func afterMutation(next graphql.ResponseHandler, wrote func(context.Context)) graphql.ResponseHandler {
	done := false
	return func(ctx context.Context) *graphql.Response {
		resp := next(ctx)
		if !done {
			done = true
			wrote(ctx)
		}
		return resp
	}
}

// cacheKey hashes what decides a rooms response's content.
func cacheKey(p *auth.Principal, opCtx *graphql.OperationContext, version int64) (string, bool) {
	vars, err := json.Marshal(opCtx.Variables) // map keys are sorted
	if err != nil {
		return "", false
	}
	return hashParts("op", p.TenantID, strconv.FormatInt(version, 10), sortedScopes(p),
		opCtx.OperationName, opCtx.RawQuery, string(vars)), true
}

// hashParts hashes length-prefixed parts, so parts cannot run into each other.
func hashParts(parts ...string) string {
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{0})
		h.Write([]byte(part))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sortedScopes(p *auth.Principal) string {
	scopes := make([]string, len(p.Scopes))
	for i, sc := range p.Scopes {
		scopes[i] = string(sc)
	}
	slices.Sort(scopes)
	b, _ := json.Marshal(scopes)
	return string(b)
}

// cacheableOperation reports whether the operation is a query that selects
// only cacheable fields, with no @defer or @stream.
func cacheableOperation(opCtx *graphql.OperationContext) bool {
	op := opCtx.Operation
	if op == nil || op.Operation != ast.Query {
		return false
	}
	return cacheableSelection(opCtx.Doc, op.SelectionSet, map[string]bool{})
}

func cacheableSelection(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if !plainDirectives(sel.Directives) {
				return false
			}
			if sel.Name == "__typename" {
				continue
			}
			if sel.ObjectDefinition == nil || !slices.Contains(cacheableFields[sel.ObjectDefinition.Name], sel.Name) {
				return false
			}
			if !cacheableSelection(doc, sel.SelectionSet, seen) {
				return false
			}
		case *ast.InlineFragment:
			if !plainDirectives(sel.Directives) || !cacheableSelection(doc, sel.SelectionSet, seen) {
				return false
			}
		case *ast.FragmentSpread:
			if !plainDirectives(sel.Directives) {
				return false
			}
			if seen[sel.Name] {
				continue
			}
			seen[sel.Name] = true
			def := sel.Definition
			if def == nil && doc != nil {
				def = doc.Fragments.ForName(sel.Name)
			}
			if def == nil || !cacheableSelection(doc, def.SelectionSet, seen) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// plainDirectives allows @include and @skip (decided by the variables, which
// are part of the key) and nothing else: @defer and @stream split a
// response into several.
func plainDirectives(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "include" && d.Name != "skip" {
			return false
		}
	}
	return true
}
