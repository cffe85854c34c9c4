package rooms_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestRepeatedPagesAreServedBeforeGraphQLRuns checks the server's
// raw-request fast path: an identical repeated request is answered from the
// stored bytes (the server's hit counter moves, no statement runs), while
// other variables or a changed data version go through execution again.
func TestRepeatedPagesAreServedBeforeGraphQLRuns(t *testing.T) {
	e, tn, counter := pageWorld(t)
	g := e.gateway(tn)
	client := &http.Client{}
	page := func(first int) string {
		return string(g.post(t, client, pageQuery, map[string]any{"first": first}).Data)
	}
	steps := []struct {
		name     string
		before   func()
		first    int
		wantHits float64
		wantStmt int64
	}{
		{"first request runs the query", nil, 10, 0, 3},
		{"the same request is served from stored bytes", nil, 10, 1, 0},
		{"other variables run the query", nil, 20, 1, 3},
		{"a change to the tenant's rooms runs the query again", func() { touchRoom(t, e, tn.id); g.caughtUp(t, e, tn.id) }, 10, 1, 3},
		{"and the new page is then served from stored bytes", nil, 10, 2, 0},
	}
	var last string
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		start := counter.n.Load()
		got := page(st.first)
		if n := counter.n.Load() - start; n != st.wantStmt {
			t.Fatalf("%s: %d statements, want %d", st.name, n, st.wantStmt)
		}
		if hits := fastPathHits(t, g.url); hits != st.wantHits {
			t.Fatalf("%s: %v fast-path hits, want %v", st.name, hits, st.wantHits)
		}
		if st.wantStmt == 0 && got != last {
			t.Fatalf("%s: the stored page differs from the one executed before it", st.name)
		}
		last = got
	}
}

// fastPathHits reads the server's response-cache hit counter from /metrics.
func fastPathHits(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "gateway_graphql_response_cache_hits_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("/metrics has no gateway_graphql_response_cache_hits_total")
	return 0
}
