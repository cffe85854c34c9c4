package screens

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"zoomsignage/internal/testutil/clocktest"
	"zoomsignage/internal/testutil/redistest"
)

// TestRateLimitPerToken: each token has its own fixed window in Redis; past
// the limit a token is refused until the next minute, other tokens are not.
func TestRateLimitPerToken(t *testing.T) {
	rdb, prefix := redistest.New(t)
	clock := clocktest.New()
	s := &Service{cfg: Config{Redis: rdb, RedisPrefix: prefix, RateLimit: 3, Now: clock.Now}}
	s.log = slog.New(slog.DiscardHandler)
	ctx := context.Background()
	for i := range 3 {
		if ok, _ := s.allow(ctx, "token-a"); !ok {
			t.Fatalf("request %d refused within the limit", i+1)
		}
	}
	ok, retry := s.allow(ctx, "token-a")
	if ok || retry <= 0 || retry > time.Minute {
		t.Fatalf("4th request: allowed=%v retry=%v", ok, retry)
	}
	if ok, _ := s.allow(ctx, "token-b"); !ok {
		t.Fatal("another token was refused")
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "token-a") || strings.Contains(k, "token-b") {
			t.Fatalf("a Redis key holds the token: %s", k)
		}
	}
	clock.Advance(time.Minute)
	if ok, _ := s.allow(ctx, "token-a"); !ok {
		t.Fatal("refused in the next window")
	}
}
