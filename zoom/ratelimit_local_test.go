package zoom_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// closedAddr is a loopback address nothing listens on: Redis "down".
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCallsGoOnThroughALocalLimiterWhileRedisIsDown is issue 11 item 6:
// with Redis unreachable the shared limiter refused every call, so nothing
// synced and the failure was blamed on Zoom. Calls now go on, paced by the
// in-process limiter at its fraction of the share (never faster), and the
// fallback is counted.
func TestCallsGoOnThroughALocalLimiterWhileRedisIsDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	down := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { down.Close() })
	c, reg := e.newClient(func(o *zoom.Options) {
		o.Redis = down
		o.RateShare = 0.5
		o.RateLimits = map[zoom.Plan]map[zoom.RateLabel]float64{zoom.PlanPro: {zoom.Light: 8, zoom.Medium: 8, zoom.Heavy: 8}}
		o.LocalRateFraction = 0.5 // 8 × 0.5 × 0.5 = 2 calls a second
	})
	acc := e.account(c, e.serverApp(), zoom.KindServerApp)
	const calls = 4
	start := time.Now()
	for i := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.For(acc).ListRoomsPage(ctx, zoom.RoomFilter{}, "")
		cancel()
		if err != nil {
			t.Fatalf("call %d with Redis down: %v", i, err)
		}
	}
	// Burst 1 at 2 a second: the last call waits at least 1.5 s after the first.
	if elapsed := time.Since(start); elapsed < 1400*time.Millisecond {
		t.Fatalf("%d calls took %v: the local limiter did not pace them to 2 a second", calls, elapsed)
	}
	if n := counterValue(t, reg, "zoom_client_limiter_fallback_total", map[string]string{"label": "Medium"}); n < calls {
		t.Fatalf("fallback counted %v times, want at least %d", n, calls)
	}

	// A deadline the local limiter cannot meet fails as rate limited, not
	// as Zoom unavailable, and without reaching Zoom.
	// (The last call took its slot just now: the next is half a second away.)
	before := e.calls(zoomsim.RouteListRooms)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.For(acc).ListRoomsPage(ctx, zoom.RoomFilter{}, "")
	if !zoom.IsRateLimited(err) {
		t.Fatalf("past the deadline: %v, want rate limited", err)
	}
	if e.calls(zoomsim.RouteListRooms) != before {
		t.Fatal("a call refused by the local limiter reached Zoom")
	}
}
