package zoomsim_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"zoomsignage/zoom/zoomsim"
)

func TestRateLimitPerSecond(t *testing.T) {
	tests := []struct {
		name        string
		omitHeaders bool
	}{{"with headers", false}, {"without headers", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, zoomsim.Options{OmitRateLimitHeaders: tt.omitHeaders}, zoomsim.SeedOptions{Rooms: 1})
			ctx := context.Background()
			if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 3}}); err != nil {
				t.Fatal(err)
			}
			tok := e.s2sToken()
			for i := range 3 {
				if status, body, _ := e.call(tok, "GET", "/rooms", nil); status != 200 {
					t.Fatalf("call %d: %d %v", i, status, body)
				}
			}
			status, body, h := e.call(tok, "GET", "/rooms/"+e.seed.RoomIDs[0], nil) // same label
			wantZoomError(t, status, body, 429, 429)
			if tt.omitHeaders {
				if h.Get("Retry-After") != "" || h.Get("X-RateLimit-Type") != "" {
					t.Fatalf("headers present: %v", h)
				}
			} else {
				want := map[string]string{"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS", "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "Retry-After": "1"}
				for k, v := range want {
					if h.Get(k) != v {
						t.Fatalf("%s = %q, want %q", k, h.Get(k), v)
					}
				}
			}
			// Another label has its own budget.
			if status, _, _ := e.call(tok, "GET", "/users/me", nil); status != 200 {
				t.Fatalf("Light call refused: %d", status)
			}
			e.clock.Advance(time.Second)
			if status, _, _ := e.call(tok, "GET", "/rooms", nil); status != 200 {
				t.Fatalf("after a second: %d", status)
			}
			if got := e.sim.Served(e.seed.AccountID)[zoomsim.Medium].Count; got != 4 {
				t.Fatalf("served Medium = %d, want 4", got)
			}
			if got := len(e.sim.ServedTimes(e.seed.AccountID, zoomsim.Medium)); got != 4 {
				t.Fatalf("served times = %d", got)
			}
		})
	}
}

func TestRateLimitSlidingWindow(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	e.sim.SetLimits(context.Background(), e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 2}})
	tok := e.s2sToken()
	e.call(tok, "GET", "/rooms", nil)
	e.clock.Advance(600 * time.Millisecond)
	e.call(tok, "GET", "/rooms", nil)
	e.clock.Advance(600 * time.Millisecond) // first request left the window, second not
	if status, _, _ := e.call(tok, "GET", "/rooms", nil); status != 200 {
		t.Fatalf("third: %d", status)
	}
	if status, _, _ := e.call(tok, "GET", "/rooms", nil); status != 429 {
		t.Fatalf("fourth: %d, want 429", status)
	}
}

func TestRateLimitDaily(t *testing.T) {
	e := newEnv(t, zoomsim.Options{AccessTokenTTL: 48 * time.Hour}, zoomsim.SeedOptions{Plan: zoomsim.PlanFree, Rooms: 1})
	ctx := context.Background()
	if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 100, Daily: 3}}); err != nil {
		t.Fatal(err)
	}
	tok := e.s2sToken()
	for range 3 {
		if status, _, _ := e.call(tok, "GET", "/rooms", nil); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	status, body, h := e.call(tok, "GET", "/rooms", nil)
	wantZoomError(t, status, body, 429, 429)
	if h.Get("X-RateLimit-Type") != "Daily-limit" || h.Get("X-RateLimit-Limit") != "3" {
		t.Fatalf("headers %v", h)
	}
	reset, err := http.ParseTime(h.Get("Retry-After"))
	if want := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC); err != nil || !reset.Equal(want) {
		t.Fatalf("Retry-After %q, want %s", h.Get("Retry-After"), want.Format(http.TimeFormat))
	}
	e.clock.Advance(14 * time.Hour) // past 00:00 UTC
	if status, _, _ := e.call(tok, "GET", "/rooms", nil); status != 200 {
		t.Fatalf("next day: %d", status)
	}
}

func TestRateLimitPlanPresets(t *testing.T) {
	tests := []struct {
		plan zoomsim.Plan
		want string
	}{{zoomsim.PlanFree, "2"}, {zoomsim.PlanPro, "20"}, {zoomsim.PlanBusiness, "60"}}
	for _, tt := range tests {
		t.Run(string(tt.plan), func(t *testing.T) {
			e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Plan: tt.plan})
			tok := e.s2sToken()
			n, _ := strconv.Atoi(tt.want)
			var h http.Header
			status := 0
			for range n + 1 {
				status, _, h = e.call(tok, "GET", "/rooms", nil)
			}
			if status != 429 || h.Get("X-RateLimit-Limit") != tt.want {
				t.Fatalf("status %d, limit %q", status, h.Get("X-RateLimit-Limit"))
			}
		})
	}
	if l := zoomsim.PlanLimits(zoomsim.PlanFree)[zoomsim.Light]; l.Daily != 6000 || l.PerSecond != 4 {
		t.Fatalf("free Light = %+v", l)
	}
}
