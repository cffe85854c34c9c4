package zoom_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// BenchmarkVaultCallsPerThousandZoomCalls: at steady state the decrypted
// token lives in memory, so Zoom calls cost no Vault round trip. Every call
// reaches Zoom (no cache) through the Redis limiter (set high enough not to
// throttle); the token store counts sealer round trips. Target: ≤ 1 per 1,000.
func BenchmarkVaultCallsPerThousandZoomCalls(b *testing.B) {
	e := newEnv(b, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(func(o *zoom.Options) {
		o.CacheTTLs = noCache
		o.RateLimits = map[zoom.Plan]map[zoom.RateLabel]float64{zoom.PlanPro: {zoom.Medium: 1e6}}
	})
	api := c.For(e.account(c, e.serverApp(), zoom.KindServerApp))
	ctx := context.Background()
	if _, err := api.GetRoom(ctx, e.seed.RoomIDs[0]); err != nil { // token fetched and sealed once
		b.Fatal(err)
	}
	vault0, zoom0 := e.store.vaultCalls.Load(), e.calls(zoomsim.RouteGetRoom)
	b.ResetTimer()
	for b.Loop() {
		for range 1000 {
			if _, err := api.GetRoom(ctx, e.seed.RoomIDs[0]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	vaultCalls := e.store.vaultCalls.Load() - vault0
	zoomCalls := e.calls(zoomsim.RouteGetRoom) - zoom0
	if zoomCalls == 0 {
		b.Fatal("no Zoom calls measured")
	}
	ratio := float64(vaultCalls) * 1000 / float64(zoomCalls)
	b.ReportMetric(ratio, "vault_calls/1000_zoom_calls")
	if ratio > 1 {
		b.Errorf("%d Vault calls for %d Zoom calls (%.2f per 1,000), want ≤ 1", vaultCalls, zoomCalls, ratio)
	}
}

// BenchmarkConcurrentIdenticalGETs: 100 goroutines ask for the same room
// with an empty cache at once; the simulator must see exactly one call.
func BenchmarkConcurrentIdenticalGETs(b *testing.B) {
	e := newEnv(b, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(nil)
	api := c.For(e.account(c, e.serverApp(), zoom.KindServerApp))
	ctx := context.Background()
	room := e.seed.RoomIDs[0]
	if _, err := api.Account().Tokens.Token(ctx); err != nil {
		b.Fatal(err)
	}
	// Zoom's answer takes a while, as it does in production, so the 100
	// requests really overlap.
	e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Latency: 20 * time.Millisecond})
	rounds, total := 0, 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if err := api.InvalidateRoom(ctx, room); err != nil {
			b.Fatal(err)
		}
		before := e.calls(zoomsim.RouteGetRoom)
		b.StartTimer()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := api.GetRoom(ctx, room); err != nil {
					b.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		b.StopTimer()
		n := e.calls(zoomsim.RouteGetRoom) - before
		total += n
		rounds++
		if n != 1 {
			b.Errorf("round %d: 100 identical GETs made %d Zoom calls, want 1", rounds, n)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/float64(rounds), "zoom_calls/100_gets")
}

// BenchmarkSharedRateLimit: three client instances ("replicas") sharing one
// Redis saturate an account whose Medium limit is 20/s, with a 0.5 share.
// The simulator's served rate must stay within 90–105% of 10/s, with no 429.
func BenchmarkSharedRateLimit(b *testing.B) {
	const window = 2500 * time.Millisecond
	for b.Loop() {
		e := newEnv(b, envOptions{seed: zoomsim.SeedOptions{Rooms: 12}, sim: zoomsim.Options{Now: time.Now}})
		ctx := context.Background()
		if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 20}}); err != nil {
			b.Fatal(err)
		}
		ref := e.serverApp()
		var regs []*prometheus.Registry
		var apis []*zoom.AccountClient
		for range 3 {
			c, reg := e.newClient(func(o *zoom.Options) {
				o.CacheTTLs = noCache
				o.RateShare = 0.5
				o.Now = time.Now
				o.Sleep = nil
			})
			regs = append(regs, reg)
			api := c.For(e.account(c, ref, zoom.KindServerApp))
			if _, err := api.Account().Tokens.Token(ctx); err != nil {
				b.Fatal(err)
			}
			apis = append(apis, api)
		}
		e.sim.ResetCalls()
		wctx, cancel := context.WithTimeout(ctx, window)
		var wg sync.WaitGroup
		for i, api := range apis {
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					room := e.seed.RoomIDs[(i*4+g)%len(e.seed.RoomIDs)]
					for wctx.Err() == nil {
						_, _ = api.GetRoom(wctx, room) // rate-limited errors at the window's end are expected
					}
				}()
			}
		}
		wg.Wait()
		cancel()
		times := e.sim.ServedTimes(e.seed.AccountID, zoomsim.Medium)
		if len(times) < 3 {
			b.Fatalf("only %d requests served", len(times))
		}
		span := times[len(times)-1].Sub(times[0]).Seconds()
		rate := float64(len(times)-1) / span
		var tooMany float64
		for _, reg := range regs {
			tooMany += counterValue(b, reg, "zoom_client_calls_total", map[string]string{"status": "429"})
		}
		b.ReportMetric(rate/10, "served/target_rate")
		b.ReportMetric(rate, "served_req/s")
		b.ReportMetric(tooMany, "429s")
		if rate < 9 || rate > 10.5 || tooMany != 0 {
			b.Errorf("served %.2f req/s (%.0f%% of 10/s) with %v 429s; want 90–105%% and none", rate, rate*10, tooMany)
		}
	}
}
