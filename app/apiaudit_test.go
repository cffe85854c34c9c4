package app_test

import (
	"testing"

	"zoomsignage/auth"
)

// TestSchemaLint runs graphql-schema-linter (Node, under test/apiaudit,
// configured by its lint-config.json) on the schema a real gateway serves
// through the standard introspection query, with GATEWAY_INTROSPECTION on
// as a production deployment that publishes its schema would have it:
// every type, field, argument, enum value, input field and directive has a
// description, and the Relay rules hold except for ZoomConnection, the one
// configured exception. The node tests also check that a removed
// description is reported and that the exception covers nothing else.
// node and test/apiaudit/node_modules (npm ci, which .ci/run does) are
// required: missing, the test fails.
func TestSchemaLint(t *testing.T) {
	cfg := testConfigEnv(t, map[string]string{"GATEWAY_INTROSPECTION": "true"})
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeRoomsRead)
	n := startNodeTest(t, "apiaudit", "schemalint.test.mjs", []string{"GATEWAY_URL=" + g.url + "/graphql", "CREDENTIAL=" + key},
		"graphql-schema-linter", "graphql")
	n.wait(t, 3)
}
