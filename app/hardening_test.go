package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/auth"
)

// Tests of issue 10 items 2, 3, 6, 9 and 10 and issue 12 item 2: hostile
// documents are refused before validation costs anything, responses stay a
// small multiple of their request, side effects do not multiply through
// aliases, production mode tells attackers nothing, and NUL bytes never
// reach Postgres. Each runs against the real gateway over HTTP.

// hostile posts body with the gateway's attacker key (a valid rooms:read
// key: anonymous callers are refused before the parser, so the limits are
// what stands between a key holder and the gateway's CPU) and a client
// timeout, so a regression to quadratic work fails the test instead of
// hanging it, and returns the response and its raw size.
func (g *gateway) hostile(query string) (gqlResponse, int) {
	g.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.attacker())
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		g.t.Fatalf("hostile document (%d bytes): %v", len(body), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out := gqlResponse{Status: resp.StatusCode, Raw: string(data)}
	if err := json.Unmarshal(data, &out); err != nil {
		g.t.Fatalf("response is not JSON (%d): %.300s", resp.StatusCode, data)
	}
	return out, len(data)
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

// Issue 10 item 2: `{a a a …}` is refused before validation compares every
// pair of repeats, at any size, and the limits leave ordinary documents
// alone.
func TestQuadraticDocumentsAreRefused(t *testing.T) {
	g := newGateway(t, nil)
	cases := []struct{ name, query, code string }{
		{"8,000 repeats (16 KB)", "{" + repeat("__typename ", 8000) + "}", "REPEAT_LIMIT_EXCEEDED"},
		{"200 KB of repeats", "{" + repeat("__typename ", 20000) + "}", "TOKEN_LIMIT_EXCEEDED"},
		{"11 repeats", "{" + repeat("__typename ", 11) + "}", "REPEAT_LIMIT_EXCEEDED"},
		{"repeats spread over inline fragments", "{" + repeat("...{__typename} ", 11) + "}", "REPEAT_LIMIT_EXCEEDED"},
		{"repeated fragment spreads", "{" + repeat("...F ", 11) + "} fragment F on Query {__typename}", "REPEAT_LIMIT_EXCEEDED"},
		{"repeats in a nested set", "{viewer{" + repeat("tenantId ", 11) + "}}", "REPEAT_LIMIT_EXCEEDED"},
		{"201 aliases", "{" + aliases(201, "__typename") + "}", "ALIAS_LIMIT_EXCEEDED"},
		{"10 repeats are fine", "{" + repeat("__typename ", 10) + "}", ""},
		{"200 aliases are fine", "{" + aliases(200, "__typename") + "}", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r, _ := g.hostile(tc.query)
			if r.code() != tc.code {
				t.Fatalf("code %q, want %q (%.300s)", r.code(), tc.code, r.Raw)
			}
			if tc.code != "" && time.Since(start) > 5*time.Second {
				t.Fatalf("refusing took %v", time.Since(start))
			}
		})
	}
	if strings.Contains(g.logs.String(), `"level":"ERROR"`) {
		t.Fatal("a refused document was logged as an internal error")
	}
}

func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

// GATEWAY_TOKEN_LIMIT sets the token limit: a 30-token document passes the
// default and is refused under a limit of 20.
func TestTokenLimitIsConfigurable(t *testing.T) {
	env := map[string]string{"GATEWAY_TOKEN_LIMIT": "20", "GATEWAY_ERROR_LIMIT": "3"}
	cfg, err := app.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TokenLimit != 20 || cfg.ErrorLimit != 3 {
		t.Fatalf("TokenLimit %d, ErrorLimit %d from the environment", cfg.TokenLimit, cfg.ErrorLimit)
	}
	base := testConfig(t)
	base.TokenLimit = 20
	g := newGateway(t, &base)
	q := "{" + aliases(9, "__typename") + "}" // 2 + 9*3 = 29 tokens
	if r, _ := g.hostile(q); r.code() != "TOKEN_LIMIT_EXCEEDED" {
		t.Fatalf("code %q (%s)", r.code(), r.Raw)
	}
	if r, _ := g.hostile("{" + aliases(6, "__typename") + "}"); r.code() != "" {
		t.Fatalf("20 tokens refused: %s", r.Raw)
	}
}

// Issue 10 item 3: `{__typename @a@a…}` no longer answers one error per
// directive: past 10 directives the document is refused with one error, and
// no response is more than a small multiple of its request.
func TestDirectiveAmplificationIsBounded(t *testing.T) {
	g := newGateway(t, nil)
	cases := []struct {
		name, query, code string
	}{
		{"11 directives", "{__typename " + repeat("@a", 11) + "}", "DIRECTIVE_LIMIT_EXCEEDED"},
		{"680 KB of directives", "{__typename " + repeat("@a", 340_000) + "}", "TOKEN_LIMIT_EXCEEDED"},
		{"directives on a fragment spread", "{..." + "F " + repeat("@a", 11) + "} fragment F on Query {__typename}", "DIRECTIVE_LIMIT_EXCEEDED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, size := g.hostile(tc.query)
			if r.code() != tc.code || len(r.Errors) != 1 {
				t.Fatalf("code %q with %d errors, want %q alone (%.300s)", r.code(), len(r.Errors), tc.code, r.Raw)
			}
			if size > 2048 {
				t.Fatalf("a refusal of %d bytes", size)
			}
		})
	}
}

// Errors per response are capped (50 by default, GATEWAY_ERROR_LIMIT): the
// list is cut and ends with one TOO_MANY_ERRORS, so 300 unknown fields do
// not answer 300 errors.
func TestErrorsPerResponseAreCapped(t *testing.T) {
	var q strings.Builder
	q.WriteString("{")
	for i := range 300 {
		fmt.Fprintf(&q, "unknown%d ", i)
	}
	q.WriteString("}")
	for _, tc := range []struct {
		limit, want int
	}{{0, 50}, {5, 5}} {
		t.Run(fmt.Sprint(tc.want), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.ErrorLimit = tc.limit
			g := newGateway(t, &cfg)
			r, size := g.hostile(q.String())
			if len(r.Errors) != tc.want+1 {
				t.Fatalf("%d errors, want %d and TOO_MANY_ERRORS", len(r.Errors), tc.want)
			}
			last := r.Errors[len(r.Errors)-1]
			if last.Extensions["code"] != "TOO_MANY_ERRORS" || r.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
				t.Fatalf("first %v, last %v", r.Errors[0], last)
			}
			if size > 8*q.Len() {
				t.Fatalf("%d bytes answered to a %d-byte document", size, q.Len())
			}
		})
	}
}

// Issue 10 item 6: root mutation fields are bounded per operation, so
// aliases cannot multiply side effects; the refused operation does nothing.
func TestRootMutationFieldsAreBounded(t *testing.T) {
	g := newGateway(t, nil)
	tenant := g.tenant("A", 1)
	admin := g.apiKey(tenant, auth.ScopeAdmin)
	keys := func() int {
		var n int
		if err := g.app.DB.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE tenant_id = $1`, tenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mutation := func(n int) string {
		var b strings.Builder
		b.WriteString("mutation {")
		for i := range n {
			fmt.Fprintf(&b, ` k%d: createApiKey(input: {name: "k%d", scopes: ["rooms:read"]}) { key }`, i, i)
		}
		b.WriteString("}")
		return b.String()
	}
	before := keys()
	r := g.post(admin, mutation(11), nil)
	if r.code() != "BAD_USER_INPUT" || len(r.Data) != 0 {
		t.Fatalf("11 root mutation fields: code %q (%.300s)", r.code(), r.Raw)
	}
	// Through a fragment too: its fields are the operation's root fields.
	r = g.post(admin, "mutation {...M k: createApiKey(input: {name: \"x\", scopes: [\"rooms:read\"]}) { key }} fragment M on Mutation {"+strings.TrimPrefix(mutation(10), "mutation {"), nil)
	if r.code() != "BAD_USER_INPUT" {
		t.Fatalf("11 root fields through a fragment: code %q (%.300s)", r.code(), r.Raw)
	}
	if n := keys(); n != before {
		t.Fatalf("refused operations created %d keys", n-before)
	}
	if r := g.post(admin, mutation(10), nil); r.code() != "" {
		t.Fatalf("10 root mutation fields: %.300s", r.Raw)
	}
	if n := keys(); n != before+10 {
		t.Fatalf("%d keys created, want 10", n-before)
	}
}

// Issue 10 item 6: 100 aliases of restartZoomRoom restart nothing, and a
// second restart of a room within a minute is RATE_LIMITED without reaching
// Zoom, also from another replica (both share Redis).
func TestRestartsDoNotMultiply(t *testing.T) {
	w, _, admin, _ := roomsWorld(t, 3, nil)
	roomID, zoomRoomID := onlineRoom(t, w, admin)
	var b strings.Builder
	b.WriteString("mutation($id: ID!) {")
	for i := range 100 {
		fmt.Fprintf(&b, " r%d: restartZoomRoom(roomId: $id) { roomId }", i)
	}
	b.WriteString("}")
	if r := w.post(admin, b.String(), map[string]any{"id": roomID}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("100 restarts: code %q (%.300s)", r.code(), r.Raw)
	}
	if n := w.restarts(t, zoomRoomID); n != 0 {
		t.Fatalf("the refused operation restarted the room %d times", n)
	}
	// The second field fails (and, its type being non-null, nulls data).
	r := w.post(admin, `mutation($id: ID!) { a: restartZoomRoom(roomId: $id) { roomId } b: restartZoomRoom(roomId: $id) { roomId } }`, map[string]any{"id": roomID})
	if len(r.Errors) != 1 || r.code() != "RATE_LIMITED" || !strings.Contains(r.Raw, `"path":["b"]`) {
		t.Fatalf("two restarts: %s", r.Raw)
	}
	if n := w.restarts(t, zoomRoomID); n != 1 {
		t.Fatalf("room restarted %d times, want 1", n)
	}
}

// Issue 10 item 9: outside dev mode validation errors suggest no names, and
// a refused introspection query is a quiet client error (no ERROR log).
func TestProductionModeTellsNothing(t *testing.T) {
	queries := []string{
		`{viewr{tenantId}}`,                                          // field
		`{auditEvents(frist: 1){totalCount}}`,                        // argument
		`query($f: AuditFiltr){auditEvents(filter: $f){totalCount}}`, // type
	}
	t.Run("production", func(t *testing.T) {
		g := newGateway(t, nil)
		for _, q := range queries {
			r, _ := g.hostile(q)
			if r.code() != "GRAPHQL_VALIDATION_FAILED" || strings.Contains(r.Raw, "Did you mean") {
				t.Fatalf("%s: %s", q, r.Raw)
			}
		}
		r, _ := g.hostile(`{__schema{types{name}}}`)
		if r.code() != "INTROSPECTION_DISABLED" || r.Data["__schema"] != nil {
			t.Fatalf("introspection: %s", r.Raw)
		}
		if r, _ := g.hostile(`{...on Query{__type(name: "Room"){name}}}`); r.code() != "INTROSPECTION_DISABLED" {
			t.Fatalf("__type through a fragment: %s", r.Raw)
		}
		if strings.Contains(g.logs.String(), `"level":"ERROR"`) {
			t.Fatalf("refusals were logged as errors:\n%s", g.logs.String())
		}
	})
	t.Run("dev", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Dev = true
		g := newGateway(t, &cfg)
		if r, _ := g.hostile(queries[0]); !strings.Contains(r.Raw, "Did you mean") {
			t.Fatalf("dev mode lost its suggestions: %s", r.Raw)
		}
	})
}

// Issue 10 item 10: a NUL byte in any string input, in a variable or an
// inline literal, is BAD_USER_INPUT at the edge: it never reaches Postgres
// (which would refuse it as an internal error).
func TestNULBytesAreBadUserInput(t *testing.T) {
	g := newGateway(t, nil)
	admin := g.apiKey(g.tenant("A", 1), auth.ScopeAdmin, auth.ScopeRoomsRead)
	cases := []struct {
		name, query string
		vars        map[string]any
	}{
		{"filter variable", `query($f: RoomFilter){rooms(filter: $f){totalCount}}`, map[string]any{"f": map[string]any{"nameContains": "a\x00b"}}},
		{"nested list variable", `mutation($s: [String!]!){createApiKey(input: {name: "k", scopes: $s}){key}}`, map[string]any{"s": []any{"rooms:read", "\x00"}}},
		{"inline literal", `{rooms(filter: {nameContains: "a\u0000b"}){totalCount}}`, nil},
		{"literal in a mutation", `mutation{createApiKey(input: {name: "a\u0000b", scopes: ["rooms:read"]}){key}}`, nil},
		{"variable default", `query($n: String = "\u0000"){rooms(filter: {nameContains: $n}){totalCount}}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.post(admin, tc.query, tc.vars)
			if r.code() != "BAD_USER_INPUT" {
				t.Fatalf("code %q (%s)", r.code(), r.Raw)
			}
		})
	}
	if strings.Contains(g.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("NUL bytes were logged as internal errors:\n%s", g.logs.String())
	}
	if r := g.post(admin, `query($f: RoomFilter){rooms(filter: $f){totalCount}}`, map[string]any{"f": map[string]any{"nameContains": "ordinary"}}); r.code() != "" {
		t.Fatalf("an ordinary filter: %s", r.Raw)
	}
}

// introspectionQuery is the standard introspection query of graphql-js 16
// (GraphiQL, IDE plugins, codegen), 15 levels deep.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

// Issue 12 item 2: where introspection is allowed (dev mode, or
// GATEWAY_INTROSPECTION=true) the standard introspection query is exempt
// from the depth limit, and still cost-limited; other documents keep the
// depth limit.
func TestStandardIntrospectionQuery(t *testing.T) {
	env := map[string]string{"GATEWAY_INTROSPECTION": "true"}
	if cfg, err := app.FromEnv(func(k string) string { return env[k] }); err != nil || !cfg.Introspection {
		t.Fatalf("GATEWAY_INTROSPECTION=true read as %v (%v)", cfg.Introspection, err)
	}
	for _, mode := range []string{"dev", "GATEWAY_INTROSPECTION"} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Dev = mode == "dev"
			cfg.Introspection = mode != "dev"
			g := newGateway(t, &cfg)
			r, _ := g.hostile(introspectionQuery)
			if r.code() != "" || r.Data["__schema"] == nil {
				t.Fatalf("standard introspection query: %.500s", r.Raw)
			}
			// A document that also selects data is not an introspection
			// document: the depth limit holds for it.
			r, _ = g.hostile(`{__typename viewer{tenantId} ` + introspectionQuery[strings.Index(introspectionQuery, "__schema"):])
			if r.code() != "DEPTH_LIMIT_EXCEEDED" {
				t.Fatalf("a mixed document escaped the depth limit: %.300s", r.Raw)
			}
		})
	}
	t.Run("still cost-limited", func(t *testing.T) {
		cfg := testConfig(t)
		cfg.Introspection = true
		g := newGateway(t, &cfg)
		// gqlgen's complexity does not count introspection: one __schema
		// per operation, and the field limit, bound it instead.
		if r, _ := g.hostile(`{a: __schema{types{name}} b: __schema{types{name}}}`); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Fatalf("two __schema: code %q (%.300s)", r.code(), r.Raw)
		}
		var bomb strings.Builder
		bomb.WriteString("{__schema{types{...T0}}}\n")
		for i := range 12 {
			fmt.Fprintf(&bomb, "fragment T%d on __Type {...T%d ...T%d}\n", i, i+1, i+1)
		}
		bomb.WriteString("fragment T12 on __Type {name}")
		if r, _ := g.hostile(bomb.String()); r.code() != "FIELD_LIMIT_EXCEEDED" {
			t.Fatalf("4,096 fields of introspection: code %q (%.300s)", r.code(), r.Raw)
		}
	})
	t.Run("production refuses it", func(t *testing.T) {
		g := newGateway(t, nil)
		if r, _ := g.hostile(introspectionQuery); r.code() != "INTROSPECTION_DISABLED" {
			t.Fatalf("code %q (%.300s)", r.code(), r.Raw)
		}
	})
}
