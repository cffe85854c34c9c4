package app_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"zoomsignage/auth"
)

// relayPage is one page of a connection as the tests read it: the edges'
// names (or target ids) and the page info.
type relayPage struct {
	items              []string
	hasPrev, hasNext   bool
	startCursor, total any
}

func readPage(t *testing.T, r gqlResponse, field, item string) relayPage {
	t.Helper()
	if r.code() != "" {
		t.Fatalf("%s: %s", field, r.Raw)
	}
	conn := r.Data[field].(map[string]any)
	info := conn["pageInfo"].(map[string]any)
	p := relayPage{hasPrev: info["hasPreviousPage"] == true, hasNext: info["hasNextPage"] == true,
		startCursor: info["startCursor"], total: conn["totalCount"]}
	for _, e := range conn["edges"].([]any) {
		p.items = append(p.items, e.(map[string]any)["node"].(map[string]any)[item].(string))
	}
	return p
}

// One query text for every page, the arguments as variables: the rooms
// response cache keys on the coerced variables, so each page must come back
// as itself, not as an earlier page's cached response.
const roomsBackward = `query($first: Int, $last: Int, $before: String, $after: String){
  rooms(first: $first, last: $last, before: $before, after: $after){
    totalCount pageInfo{hasPreviousPage hasNextPage startCursor endCursor} edges{cursor node{name}}}}`

func TestRoomsPageBackwards(t *testing.T) {
	w, tenant, _, _ := roomsWorld(t, 5, nil)
	viewer := userJWT(t, tenant, "viewer", time.Hour)
	all := readPage(t, w.post(viewer, roomsBackward, map[string]any{"first": 5}), "rooms", "name")
	if len(all.items) != 5 || !slices.IsSorted(all.items) {
		t.Fatalf("all rooms: %v", all.items)
	}

	last := readPage(t, w.post(viewer, roomsBackward, map[string]any{"last": 2}), "rooms", "name")
	if !slices.Equal(last.items, all.items[3:]) || !last.hasPrev || last.hasNext || last.total != float64(5) {
		t.Fatalf("last 2: %+v, want %v with a previous page and no next", last, all.items[3:])
	}
	before := readPage(t, w.post(viewer, roomsBackward, map[string]any{"last": 2, "before": last.startCursor}), "rooms", "name")
	if !slices.Equal(before.items, all.items[1:3]) || !before.hasPrev || !before.hasNext {
		t.Fatalf("2 before: %+v, want %v with both sides", before, all.items[1:3])
	}
	start := readPage(t, w.post(viewer, roomsBackward, map[string]any{"last": 2, "before": before.startCursor}), "rooms", "name")
	if !slices.Equal(start.items, all.items[:1]) || start.hasPrev {
		t.Fatalf("first page backwards: %+v, want %v and no previous page", start, all.items[:1])
	}
	// The same page asked for again (now a cache hit) is still itself.
	again := readPage(t, w.post(viewer, roomsBackward, map[string]any{"last": 2}), "rooms", "name")
	if !slices.Equal(again.items, last.items) {
		t.Fatalf("last 2 again: %v, want %v", again.items, last.items)
	}

	for name, vars := range map[string]map[string]any{
		"first and last":  {"first": 2, "last": 2},
		"last with after": {"last": 2, "after": last.startCursor},
		"last over cap":   {"last": 501},
		"bogus before":    {"last": 2, "before": "bogus"},
	} {
		if r := w.post(viewer, roomsBackward, vars); r.code() != "BAD_USER_INPUT" || r.Data["rooms"] != nil {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
}

func TestAuditEventsPageBackwards(t *testing.T) {
	g := newGateway(t, nil)
	a, b := g.tenant("A", 1), g.tenant("B", 1)
	g.seedAuditEvents(5, a, b)
	key := g.apiKey(a, auth.ScopeAdmin)
	const q = `query($first: Int, $last: Int, $before: String, $after: String){
  auditEvents(first: $first, last: $last, before: $before, after: $after){
    totalCount pageInfo{hasPreviousPage hasNextPage startCursor endCursor} edges{cursor node{targetId}}}}`
	id := func(i int) string { return a + "-" + strconv.Itoa(i) }
	newestFirst := []string{id(4), id(3), id(2), id(1), id(0)}

	last := readPage(t, g.post(key, q, map[string]any{"last": 2}), "auditEvents", "targetId")
	if !slices.Equal(last.items, newestFirst[3:]) || !last.hasPrev || last.hasNext || last.total != float64(5) {
		t.Fatalf("last 2: %+v, want %v with a previous page and no next", last, newestFirst[3:])
	}
	before := readPage(t, g.post(key, q, map[string]any{"last": 2, "before": last.startCursor}), "auditEvents", "targetId")
	if !slices.Equal(before.items, newestFirst[1:3]) || !before.hasPrev || !before.hasNext {
		t.Fatalf("2 before: %+v, want %v with both sides", before, newestFirst[1:3])
	}
	start := readPage(t, g.post(key, q, map[string]any{"last": 2, "before": before.startCursor}), "auditEvents", "targetId")
	if !slices.Equal(start.items, newestFirst[:1]) || start.hasPrev {
		t.Fatalf("newest page backwards: %+v, want %v and no previous page", start, newestFirst[:1])
	}

	for name, vars := range map[string]map[string]any{
		"first and last":   {"first": 2, "last": 2},
		"first and before": {"first": 2, "before": last.startCursor},
		"last over cap":    {"last": 501},
		"bogus before":     {"last": 2, "before": "bogus"},
	} {
		if r := g.post(key, q, vars); r.code() != "BAD_USER_INPUT" {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}

	// last costs like first: five pages of 500 are over the limit either way.
	var big strings.Builder
	big.WriteString("{")
	for i := range 5 {
		fmt.Fprintf(&big, "a%d: auditEvents(last: 500){edges{node{id actor action targetId details}}} ", i)
	}
	big.WriteString("}")
	if r := g.post(key, big.String(), nil); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("five pages of last: 500: code %q (%s)", r.code(), r.Raw)
	}
}
