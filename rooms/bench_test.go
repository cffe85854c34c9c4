package rooms_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// BenchmarkRoomsPage compares rooms(first: 100) with devices, signage,
// health and connection against {__typename} on the same server with the
// same auth (a user JWT), and reports the statements one page costs at 10
// and at 100 rooms. Requests run from 4 concurrent clients, as a UI's users
// would send them. page/typename compares requests per second;
// rooms/typename compares rooms delivered per second with requests per
// second (a page carries 100 rooms).
func BenchmarkRoomsPage(b *testing.B) {
	_, g, counter := pageWorld(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	stmts := map[int]int64{}
	for _, n := range []int{10, 100} {
		g.post(b, client, pageQuery, map[string]any{"first": n})
		before := counter.n.Load()
		g.post(b, client, pageQuery, map[string]any{"first": n})
		stmts[n] = counter.n.Load() - before
	}
	page := map[string]any{"first": 100}
	rate := func(query string, vars map[string]any) float64 {
		const clients = 4
		perClient := max(b.N, 50)
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perClient {
					g.post(b, client, query, vars)
				}
			}()
		}
		wg.Wait()
		return float64(clients*perClient) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	typename := rate(`{__typename}`, nil)
	rooms := rate(pageQuery, page)
	b.StopTimer()
	b.ReportMetric(rooms, "pages/s")
	b.ReportMetric(typename, "typename/s")
	b.ReportMetric(rooms/typename, "page/typename")
	b.ReportMetric(100*rooms/typename, "rooms/typename")
	b.ReportMetric(float64(stmts[10]), "stmts@10")
	b.ReportMetric(float64(stmts[100]), "stmts@100")
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
