package rooms_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// BenchmarkRoomsPage compares rooms(first: 100) with devices, signage,
// health and connection against {__typename} with the same auth (a user
// JWT) on the same server, twice: on a gateway with the rooms response
// cache as the app wires it (after the first request every page is a hit:
// nothing changes in between), and on one without it, which is what every
// page costs after a change. Requests come from 4 concurrent clients, as a
// UI's users would send them, in short rounds that alternate the two kinds
// (each round runs one kind alone, so neither slows the other down, and
// both see the same machine noise over the run). Every response is read in
// full and checked to carry data and no errors. It also reports the
// statements of one page at 10 and 100 rooms: uncached, a cache miss and a
// cache hit. The cached gateway's data versions come from memory (its
// listener is live), as the app wires it; note that {__typename} is itself
// a cacheable operation there, so while versions were read from Postgres
// it paid that round trip too, which flattered the ratio.
func BenchmarkRoomsPage(b *testing.B) {
	e, tn, counter := pageWorld(b)
	cached, uncached := e.gateway(tn), e.uncachedGateway(tn)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	count := func(g *gateway, n int) int64 {
		before := counter.n.Load()
		g.post(b, client, pageQuery, map[string]any{"first": n})
		return counter.n.Load() - before
	}
	stmts := map[string]float64{}
	for _, n := range []int{10, 100} {
		count(uncached, n) // warm the key and plan caches
		stmts[fmt.Sprintf("stmts@%d", n)] = float64(count(uncached, n))
		touchRoom(b, e, tn.id) // a change: the next page is a miss
		cached.caughtUp(b, e, tn.id)
		stmts[fmt.Sprintf("stmts_miss@%d", n)] = float64(count(cached, n))
		stmts[fmt.Sprintf("stmts_hit@%d", n)] = float64(count(cached, n))
	}
	b.ResetTimer()
	hit := alternating(b, client, cached)
	miss := alternating(b, client, uncached)
	b.StopTimer()
	if n := cached.versions.Fallbacks(); n > 2 {
		// The tenant's first version read, and the one after the change.
		b.Errorf("%d data versions read from Postgres, want every hit served from memory", n)
	}
	b.ReportMetric(hit.pagesPerSec, "pages/s")
	b.ReportMetric(hit.typenamePerSec, "typename/s")
	b.ReportMetric(hit.ratio, "page/typename")
	b.ReportMetric(miss.pagesPerSec, "uncached_pages/s")
	b.ReportMetric(miss.typenamePerSec, "uncached_typename/s")
	b.ReportMetric(miss.ratio, "uncached_page/typename")
	for k, v := range stmts {
		b.ReportMetric(v, k)
	}
}

type rates struct{ pagesPerSec, typenamePerSec, ratio float64 }

// alternating runs rounds of {__typename} and of 100-room pages on g, from
// 4 concurrent clients, and compares the throughput of each kind.
func alternating(b *testing.B, client *http.Client, g *gateway) rates {
	const clients, rounds = 4, 10
	perRound := max(b.N/rounds, 5)
	page := mustBody(b, pageQuery, map[string]any{"first": 100})
	typename := mustBody(b, `{__typename}`, nil)
	round := func(body []byte, prefix string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perRound {
					g.send(b, client, body, prefix)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	var pageTotal, typenameTotal time.Duration
	for range rounds {
		typenameTotal += round(typename, `{"data":{"__typename":"Query"}}`)
		pageTotal += round(page, `{"data":{"rooms":{`)
	}
	n := float64(clients * perRound * rounds)
	pages, typenames := n/pageTotal.Seconds(), n/typenameTotal.Seconds()
	return rates{pagesPerSec: pages, typenamePerSec: typenames, ratio: pages / typenames}
}

func mustBody(b *testing.B, query string, vars map[string]any) []byte {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// send sends one request and reads the whole response, failing unless it
// begins with prefix (a response with errors begins with "errors").
func (g *gateway) send(b *testing.B, client *http.Client, body []byte, prefix string) {
	req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, err := readBody(resp)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.HasPrefix(out, []byte(prefix)) {
		b.Fatalf("status %d, %v: %.200s", resp.StatusCode, err, out)
	}
}

// BenchmarkFirstSync10k syncs a 10,000-room Pro account from scratch, with
// Zoom's real limits in the simulator and the client's real shared limiter
// (50% of Pro's Medium 20/s: 10 list calls per second). It checks the run
// makes exactly ceil(10,000/300) = 34 list calls, and reports its wall time
// against the floor those calls need: 33 limiter intervals or 34 call
// latencies, whichever is longer, plus one latency; the latency is measured
// on the same simulator without any limiter. A resync with no change must
// write no inventory row: reported from the sync and from Postgres itself
// (rows whose xmin is newer than the resync's start).
func BenchmarkFirstSync10k(b *testing.B) {
	const n = 10_000
	e := newEnv(b, envOptions{zoomLimits: true, ourLimits: true, noSpec: true})
	tn := e.connect("acme", n, 0)
	latency := e.listLatency(b, tn)
	interval := time.Second / 10 // Pro Medium 20/s × the 50% share
	calls := (n + 299) / 300
	floor := time.Duration(calls-1)*max(interval, latency) + latency

	var worst float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := e.db.Exec(e.ctx, `DELETE FROM rooms WHERE tenant_id = $1`, tn.id); err != nil {
			b.Fatal(err)
		}
		time.Sleep(interval) // a fresh limiter slot, as between two syncs
		e.sim.ResetCalls()
		b.StartTimer()
		start := time.Now()
		run := e.sync(tn)
		took := time.Since(start)
		b.StopTimer()
		if got := e.sim.Calls(tn.seed.AccountID)[zoomsim.RouteListRooms]; got != calls || run.RoomsAdded != n {
			b.Fatalf("first sync: %d list calls (want %d), %d rooms added", got, calls, run.RoomsAdded)
		}
		worst = max(worst, float64(took)/float64(floor))
		b.StartTimer()
	}
	b.StopTimer()

	var before int64
	if err := e.db.QueryRow(e.ctx, `SELECT txid_current()`).Scan(&before); err != nil {
		b.Fatal(err)
	}
	again := e.sync(tn)
	touched := scalar[int](b, e.db, `SELECT
  (SELECT count(*) FROM rooms WHERE xmin::text::bigint > $1) +
  (SELECT count(*) FROM room_devices WHERE xmin::text::bigint > $1) +
  (SELECT count(*) FROM signage_assignments WHERE xmin::text::bigint > $1)`, before%(1<<32))
	if rooms := scalar[int](b, e.db, `SELECT count(*) FROM rooms WHERE tenant_id = $1`, tn.id); rooms != n {
		b.Fatalf("%d rooms after the resync", rooms)
	}
	b.ReportMetric(float64(calls), "list_calls")
	b.ReportMetric(float64(floor)/1e6, "floor_ms")
	b.ReportMetric(float64(latency)/1e6, "call_latency_ms")
	b.ReportMetric(worst, "wall/floor")
	b.ReportMetric(float64(again.RowsWritten), "resync_rows_reported")
	b.ReportMetric(float64(touched), "resync_rows_in_pg")
	if worst > 1.2 || again.RowsWritten != 0 || touched != 0 {
		b.Errorf("wall/floor %.2f (max 1.2), resync wrote %d rows (%d seen in Postgres)", worst, again.RowsWritten, touched)
	}
}

// listLatency is the mean time of one uncached 300-room list call on the
// simulator with no limiter on either side.
func (e *env) listLatency(b *testing.B, tn tenant) time.Duration {
	b.Helper()
	free, err := zoom.New(zoom.Options{APIBaseURL: e.simURL + "/v2", OAuthBaseURL: e.simURL})
	if err != nil {
		b.Fatal(err)
	}
	ac := free.For(zoom.Account{ZoomAccountID: tn.seed.AccountID, NoCache: true,
		Tokens: free.StaticServerAppCredentials(tn.seed.AccountID, zoom.AppCredentials{ClientID: tn.seed.Server.ClientID, ClientSecret: tn.seed.Server.ClientSecret})})
	if _, err := ac.ListRoomsPage(e.ctx, zoom.RoomFilter{}, ""); err != nil { // token, connection
		b.Fatal(err)
	}
	const samples = 20
	var total time.Duration
	token := ""
	for range samples {
		time.Sleep(60 * time.Millisecond) // stay under Zoom's 20/s
		start := time.Now()
		p, err := ac.ListRoomsPage(e.ctx, zoom.RoomFilter{}, token)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		token = p.NextPageToken
	}
	return total / samples
}

// readBody reads a whole response into a buffer sized from Content-Length
// when the server sent one, as an efficient client would, so the
// measurement is of the server rather than of the client's buffer growth.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > 0 {
		out := make([]byte, resp.ContentLength)
		_, err := io.ReadFull(resp.Body, out)
		return out, err
	}
	return io.ReadAll(resp.Body)
}
