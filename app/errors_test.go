package app_test

import (
	"strings"
	"testing"
	"time"
)

// TestClientMistakesAreBadUserInput is part of issue 12 item 9: a variable
// that does not coerce to its type is BAD_USER_INPUT (it was
// GRAPHQL_VALIDATION_FAILED), and an array-batched request is refused
// without echoing the body or naming Go types.
func TestClientMistakesAreBadUserInput(t *testing.T) {
	g := newGateway(t, nil)
	admin := userJWT(t, g.tenant("Acme", 1), "admin", time.Hour)

	r := g.post(admin, `query($n: Int){rooms(first: $n){totalCount}}`, map[string]any{"n": "abc"})
	if r.code() != "BAD_USER_INPUT" {
		t.Fatalf("a variable of the wrong type: %s, want BAD_USER_INPUT", r.Raw)
	}

	const secretish = "marker-7f3a"
	batch := g.raw(admin, "application/json", strings.NewReader(`[{"query":"{__typename}"},{"query":"{__typename #`+secretish+`\n}"}]`))
	if batch.Status != 400 || batch.code() != "BAD_USER_INPUT" {
		t.Fatalf("a batched request: %d %s, want 400 BAD_USER_INPUT", batch.Status, batch.Raw)
	}
	if strings.Contains(batch.Raw, secretish) || strings.Contains(batch.Raw, "Go value") || strings.Contains(batch.Raw, "graphql.RawParams") {
		t.Fatalf("the refusal echoes the body or names Go types: %s", batch.Raw)
	}
}
