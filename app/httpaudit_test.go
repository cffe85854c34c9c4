package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
)

// TestGraphQLOverHTTPAudit runs graphql-http's audit suite (Node, under
// test/httpaudit, pinned in its lock file) against a production-mode
// gateway: every MUST and every SHOULD of the GraphQL-over-HTTP spec it
// checks must pass, warnings included. node and test/httpaudit/node_modules
// (npm ci, which .ci/run does) are required: missing, the test fails.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	node, dir := requireNode(t, "httpaudit", "graphql-http", "graphql")
	// Some audits query __type: introspection on, as a partner's codegen
	// would have it (GATEWAY_INTROSPECTION).
	cfg := testConfig(t)
	cfg.Introspection = true
	g := newGateway(t, &cfg)
	key := g.apiKey(g.tenant("Audit", 1), auth.ScopeRoomsRead)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "audit.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEWAY_URL="+g.url+"/graphql", "CREDENTIAL="+key)
	out, runErr := cmd.CombinedOutput()

	audits := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r struct{ ID, Name, Status, Reason string }
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.ID == "" {
			continue
		}
		audits++
		switch r.Status {
		case "ok":
		case "notice": // a MAY the gateway does not do
			t.Logf("%s notice: %s: %s", r.ID, r.Name, r.Reason)
		default:
			t.Errorf("%s %s: %s: %s", r.ID, r.Status, r.Name, r.Reason)
		}
	}
	if audits < 20 {
		t.Fatalf("the audit ran %d audits (%v):\n%s", audits, runErr, out)
	}
	if runErr != nil && !t.Failed() {
		t.Fatalf("the audit failed: %v\n%s", runErr, out)
	}
}
