package app_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required for the schema lint (Node 20 or later)")
	}
	dir := filepath.Join(repoRoot(t), "test", "apiaudit")
	for _, pkg := range []string{"graphql-schema-linter", "graphql"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("test/apiaudit/node_modules/%s is missing: run `npm ci` in test/apiaudit (.ci/run does): %v", pkg, err)
		}
	}
	cfg := testConfigEnv(t, map[string]string{"GATEWAY_INTROSPECTION": "true"})
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("A", 1), auth.ScopeRoomsRead)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "--test-timeout=60000", "schemalint.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEWAY_URL="+g.url+"/graphql", "CREDENTIAL="+key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# pass 3") || !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node ran other tests than the three expected:\n%s", out)
	}
}
