package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
	"zoomsignage/events"
	"zoomsignage/internal/testutil/browsertest"
)

// graphiqlEditor is a JavaScript expression for the CodeMirror instance of
// the GraphiQL editor under selector (CodeMirror 5 hangs itself on its
// wrapper element).
func graphiqlEditor(selector string) string {
	return fmt.Sprintf(`document.querySelector(%q).CodeMirror`, selector+" .CodeMirror")
}

// Selectors of GraphiQL 3's editors: the query, the visible tool editor
// (the headers editor, opened by default) and the result pane.
const (
	graphiqlQuery   = ".graphiql-query-editor"
	graphiqlHeaders = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
	graphiqlResult  = ".result-window"
)

// runInGraphiQL puts query, whose one operation is named name, in the
// query editor and presses the run button once GraphiQL has parsed it (it
// does so 100 ms after an edit; a click before runs the previous
// operation).
func runInGraphiQL(t *testing.T, page *browsertest.Page, name, query string) {
	t.Helper()
	q, _ := json.Marshal(query)
	if err := page.Eval(context.Background(), graphiqlEditor(graphiqlQuery)+`.setValue(`+string(q)+`)`, nil); err != nil {
		t.Fatal(err)
	}
	if _, got, err := page.WaitString(`String(`+graphiqlEditor(graphiqlQuery)+`.operationName)`, name, 5*time.Second); err != nil {
		t.Fatalf("GraphiQL's operation is %q, want %q: %v", got, name, err)
	}
	if err := page.Eval(context.Background(), `document.querySelector('.graphiql-execute-button').click()`, nil); err != nil {
		t.Fatal(err)
	}
}

// waitResult waits until GraphiQL's result pane contains every one of
// want, and fails with what it showed otherwise.
func waitResult(t *testing.T, browser *browsertest.Browser, page *browsertest.Page, what string, want ...string) {
	t.Helper()
	conds := make([]string, len(want))
	for i, w := range want {
		s, _ := json.Marshal(w)
		conds[i] = "r.includes(" + string(s) + ")"
	}
	expr := `(() => { const r = ` + graphiqlEditor(graphiqlResult) + `.getValue(); return (` + strings.Join(conds, " && ") + `) ? "yes" : r })()`
	if _, got, err := page.WaitString(expr, "yes", subWait); err != nil {
		t.Fatalf("%s: the result pane shows %q: %v\n%s", what, got, err, strings.Join(browser.Logs(), "\n"))
	}
}

// TestGraphiQLRunsAQueryAndASubscriptionOfflineInChromium opens the dev
// gateway's GraphiQL in a Chromium that can reach nothing but loopback,
// types an API key into the headers editor, runs a query over HTTP and a
// subscription over the websocket (authenticated by that header in
// connection_init), and sees an event arrive. Every request the page made
// went to the gateway, and its policy refused nothing.
func TestGraphiQLRunsAQueryAndASubscriptionOfflineInChromium(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dev = true
	g := newGateway(t, &cfg)
	tenant := g.tenant("Acme", 1)
	key := g.apiKey(tenant, auth.ScopeConnectionsRead)
	conn := insertConnection(t, g, tenant, "acct-1", "Head office")

	browser := browsertest.Start(t, browsertest.OfflineFlags()...)
	page := browser.NewPage()
	page.TrackRequests()
	page.Navigate(g.url + "/")
	// The editors exist once React has mounted GraphiQL.
	ready := `String(!!(document.querySelector(` + fmt.Sprintf("%q", graphiqlHeaders+" .CodeMirror") + `) && document.querySelector('.graphiql-execute-button')))`
	if _, got, err := page.WaitString(ready, "true", 20*time.Second); err != nil {
		t.Fatalf("GraphiQL did not render (%q): %v\n%s", got, err, strings.Join(browser.Logs(), "\n"))
	}

	// The key is typed into the headers editor, which GraphiQL opens with
	// an empty Authorization.
	var headers string
	if err := page.Eval(context.Background(), graphiqlEditor(graphiqlHeaders)+`.getValue()`, &headers); err != nil || !strings.Contains(headers, `"Authorization"`) {
		t.Fatalf("headers editor = %q (%v)", headers, err)
	}
	h, _ := json.Marshal(`{"Authorization": "Bearer ` + key + `"}`)
	if err := page.Eval(context.Background(), graphiqlEditor(graphiqlHeaders)+`.setValue(`+string(h)+`)`, nil); err != nil {
		t.Fatal(err)
	}

	// A query over HTTP, as the key.
	runInGraphiQL(t, page, "Me", `query Me { viewer { kind tenant { name } } zoomConnections { label } }`)
	waitResult(t, browser, page, "query", `"kind": "API_KEY"`, `"name": "Acme"`, `"label": "Head office"`)

	// A subscription over the websocket, as the same key; the event is
	// published once the gateway holds the stream.
	runInGraphiQL(t, page, "Status", `subscription Status { connectionStatusChanged { id status statusReason } }`)
	for deadline := time.Now().Add(subWait); g.app.Bus.Subscribers(tenant) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			var result string
			_ = page.Eval(context.Background(), graphiqlEditor(graphiqlResult)+`.getValue()`, &result)
			t.Fatalf("the subscription did not reach the gateway; the result pane shows %q\n%s\n%s", result, strings.Join(browser.Logs(), "\n"), strings.Join(browser.Requests(), "\n"))
		}
	}
	err := g.app.Bus.Publish(context.Background(), events.Event{Kind: events.ConnectionStatusChanged, TenantID: tenant, ConnectionID: conn,
		Connection: &events.ConnectionSnapshot{ID: conn, Status: "REAUTH_REQUIRED", StatusReason: "the grant was revoked"}})
	if err != nil {
		t.Fatal(err)
	}
	waitResult(t, browser, page, "subscription", `"id": "`+conn+`"`, `"status": "REAUTH_REQUIRED"`, `"statusReason": "the grant was revoked"`)

	// Everything came from the gateway: the page, its assets, the HTTP
	// calls and the websocket.
	ws := "ws" + strings.TrimPrefix(g.url, "http") + "/graphql"
	var sawAsset, sawWS bool
	for _, u := range browser.Requests() {
		switch {
		case u == ws:
			sawWS = true
		case strings.HasPrefix(u, g.url+"/graphiql/"):
			sawAsset = true
		case strings.HasPrefix(u, g.url+"/"), strings.HasPrefix(u, "data:"):
		default:
			t.Errorf("the page requested %s, not from the gateway", u)
		}
	}
	if !sawAsset || !sawWS {
		t.Errorf("requests (assets seen %v, websocket seen %v): %q", sawAsset, sawWS, browser.Requests())
	}
	for _, l := range browser.Logs() {
		if strings.Contains(l, "Content Security Policy") || strings.HasPrefix(l, "exception") {
			t.Errorf("page log: %s", l)
		}
	}
}
