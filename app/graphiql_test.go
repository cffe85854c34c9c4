package app_test

import (
	"context"
	"testing"

	"zoomsignage/auth"
	"zoomsignage/events"
	"zoomsignage/internal/testutil/browsertest"
)

// TestGraphiQLRunsAQueryAndASubscriptionOfflineInChromium opens the dev
// gateway's GraphiQL in Debian's headless Chromium, driven by playwright-core
// (test/graphiql, pinned in its lock file), in a browser that can reach
// nothing but loopback: it types an API key into the headers editor, runs a
// query over HTTP and a subscription over the websocket (authenticated by
// that header in connection_init), and sees the event this test publishes
// arrive. Every request the page made went to the gateway, and its policy
// refused nothing and it threw nothing. Chromium missing skips the test,
// except under CI=true (browsertest.Require).
func TestGraphiQLRunsAQueryAndASubscriptionOfflineInChromium(t *testing.T) {
	chromium := browsertest.Require(t)
	cfg := testConfig(t)
	cfg.Dev = true
	g := newGateway(t, &cfg)
	tenant := g.tenant("Acme", 1)
	key := g.apiKey(tenant, auth.ScopeConnectionsRead)
	conn := insertConnection(t, g, tenant, "acct-1", "Head office")

	n := startNodeTest(t, "graphiql", "graphiql.test.mjs", []string{
		"CHROMIUM=" + chromium,
		"GATEWAY_URL=" + g.url,
		"CREDENTIAL=" + key,
		"CONNECTION_ID=" + conn,
		"TENANT_NAME=Acme",
		"CONNECTION_LABEL=Head office",
	}, "playwright-core")

	// The event is published once the gateway holds GraphiQL's stream.
	n.waitSubscribers(t, g.app.Bus, tenant, 1)
	err := g.app.Bus.Publish(context.Background(), events.Event{Kind: events.ConnectionStatusChanged, TenantID: tenant, ConnectionID: conn,
		Connection: &events.ConnectionSnapshot{ID: conn, Status: "REAUTH_REQUIRED", StatusReason: "the grant was revoked"}})
	if err != nil {
		t.Fatal(err)
	}
	n.wait(t, 4)
}
