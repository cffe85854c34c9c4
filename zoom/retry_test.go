package zoom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// TestFailures drives the retry policy through every failure zoom-api.md
// and the brief name: what is retried, how long the client waits (observed
// through the injected Sleep, never timed), and what error comes out.
func TestFailures(t *testing.T) {
	ctx := context.Background()
	getRoom := func(i int) func(context.Context, *env, *zoom.AccountClient) error {
		return func(ctx context.Context, e *env, api *zoom.AccountClient) error {
			_, err := api.GetRoom(ctx, e.seed.RoomIDs[i])
			return err
		}
	}
	me := func(ctx context.Context, e *env, api *zoom.AccountClient) error {
		_, err := api.Me(ctx)
		return err
	}
	addURL := func(ctx context.Context, e *env, api *zoom.AccountClient) error {
		_, err := api.AddSignageURL(ctx, zoom.SignageURL{Name: "x", URL: "https://signage.example/x"})
		return err
	}
	type check func(t *testing.T, e *env, err error)
	wantErr := func(target error) check {
		return func(t *testing.T, _ *env, err error) {
			t.Helper()
			if !errors.Is(err, target) {
				t.Fatalf("err = %v, want %v", err, target)
			}
		}
	}
	noErr := func(t *testing.T, _ *env, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
	}
	tests := []struct {
		name   string
		opts   envOptions
		mod    func(*zoom.Options)
		setup  func(t *testing.T, e *env)
		warmup func(context.Context, *env, *zoom.AccountClient) error // a call made first, must succeed
		call   func(context.Context, *env, *zoom.AccountClient) error
		ctxTO  time.Duration
		check  check
		route  string
		calls  int // calls of route the simulator saw for call (after warmup)
		sleeps int // waits the client asked for
	}{
		{
			name: "malformed JSON is reported, not retried",
			opts: envOptions{lenient: true},
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Malformed: true, Count: 1})
			},
			call: getRoom(0), check: wantErr(zoom.ErrMalformedResponse), route: zoomsim.RouteGetRoom, calls: 1,
		},
		{
			name: "an HTML 502 page from a proxy is retried",
			opts: envOptions{lenient: true, html502: 1},
			call: getRoom(0), check: noErr, route: zoomsim.RouteGetRoom, calls: 1, sleeps: 1,
		},
		{
			name: "HTML 502 pages until the retries run out",
			opts: envOptions{lenient: true, html502: 100},
			call: getRoom(0),
			check: func(t *testing.T, e *env, err error) {
				var ze *zoom.Error
				if !errors.Is(err, zoom.ErrUnavailable) || !errors.As(err, &ze) || ze.HTTPStatus != 502 || ze.Code != 0 {
					t.Fatalf("err = %v, want a 502 *zoom.Error matching ErrUnavailable", err)
				}
			},
			route: zoomsim.RouteGetRoom, calls: 0, sleeps: 3,
		},
		{
			name: "a truncated body is retried for a read",
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Truncate: true, Count: 1})
			},
			call: getRoom(0), check: noErr, route: zoomsim.RouteGetRoom, calls: 2, sleeps: 1,
		},
		{
			name: "a truncated body is not retried for a create",
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteAddContent, Truncate: true, Count: 1})
			},
			call: addURL, check: wantErr(zoom.ErrMalformedResponse), route: zoomsim.RouteAddContent, calls: 1,
		},
		{
			name: "a connection reset is retried for a read",
			opts: envOptions{noKeepAlive: true},
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Reset: true, Count: 1})
			},
			call: getRoom(0), check: noErr, route: zoomsim.RouteGetRoom, calls: 2, sleeps: 1,
		},
		{
			name:   "a connection reset is not retried for a create",
			opts:   envOptions{noKeepAlive: true},
			warmup: getRoom(1),
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteAddContent, Reset: true, Count: 1})
			},
			call: addURL, check: wantErr(zoom.ErrUnavailable), route: zoomsim.RouteAddContent, calls: 1,
		},
		{
			name: "a hung attempt times out and is retried",
			mod:  func(o *zoom.Options) { o.AttemptTimeout = 200 * time.Millisecond },
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Hang: true, Count: 1})
			},
			call: getRoom(0), check: noErr, route: zoomsim.RouteGetRoom, calls: 2, sleeps: 1,
		},
		{
			name:   "Zoom hangs past the caller's deadline",
			setup:  func(t *testing.T, e *env) { e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Hang: true}) },
			warmup: me, call: getRoom(0), ctxTO: 300 * time.Millisecond,
			check: func(t *testing.T, e *env, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, zoom.ErrUnavailable) {
					t.Fatalf("err = %v, want deadline exceeded and unavailable", err)
				}
			},
			route: zoomsim.RouteGetRoom, calls: 1,
		},
		{
			name: "Zoom 503s are retried with backoff",
			setup: func(t *testing.T, e *env) {
				e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Status: 503, Count: 2})
			},
			call: getRoom(0), check: noErr, route: zoomsim.RouteGetRoom, calls: 3, sleeps: 2,
		},
		{
			name: "429 with Retry-After waits exactly that long",
			setup: func(t *testing.T, e *env) {
				if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 1}}); err != nil {
					t.Fatal(err)
				}
			},
			warmup: getRoom(1), call: getRoom(0),
			check: func(t *testing.T, e *env, err error) {
				noErr(t, e, err)
				if s := e.recordedSleeps(); s[0] != time.Second {
					t.Fatalf("waited %v, want the 1 s of Retry-After", s[0])
				}
			},
			route: zoomsim.RouteGetRoom, calls: 2, sleeps: 1,
		},
		{
			name: "429 without headers backs off exponentially with jitter",
			opts: envOptions{sim: zoomsim.Options{OmitRateLimitHeaders: true}},
			mod:  func(o *zoom.Options) { o.RetryBaseDelay = time.Second },
			setup: func(t *testing.T, e *env) {
				if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 1}}); err != nil {
					t.Fatal(err)
				}
			},
			warmup: getRoom(1), call: getRoom(0),
			check: func(t *testing.T, e *env, err error) {
				noErr(t, e, err)
				if len(e.recordedSleeps()) == 0 {
					t.Fatal("the 429 was not waited out")
				}
				for i, d := range e.recordedSleeps() {
					hi := time.Second << i
					if d < hi/2 || d > hi {
						t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, hi/2, hi)
					}
				}
			},
			route: zoomsim.RouteGetRoom, calls: -1, sleeps: -1,
		},
		{
			name: "429 on a create is not retried and tells when to retry",
			setup: func(t *testing.T, e *env) {
				if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Light: {PerSecond: 1}}); err != nil {
					t.Fatal(err)
				}
			},
			warmup: addURL, call: addURL,
			check: func(t *testing.T, e *env, err error) {
				at, ok := zoom.RetryAt(err)
				if !zoom.IsRateLimited(err) || !ok || !at.Equal(e.clock.Now().Add(time.Second)) {
					t.Fatalf("err = %v (retry at %v), want rate limited retrying in 1 s", err, at)
				}
			},
			route: zoomsim.RouteAddContent, calls: 1,
		},
		{
			name: "daily limit: Retry-After date, no wait, later calls stopped locally",
			setup: func(t *testing.T, e *env) {
				if err := e.sim.SetLimits(ctx, e.seed.AccountID, zoomsim.Limits{zoomsim.Medium: {PerSecond: 100, Daily: 1}}); err != nil {
					t.Fatal(err)
				}
			},
			warmup: getRoom(1),
			call: func(ctx context.Context, e *env, api *zoom.AccountClient) error {
				if err := getRoom(0)(ctx, e, api); err == nil {
					return errors.New("call over the daily limit succeeded")
				} else if at, _ := zoom.RetryAt(err); !zoom.IsRateLimited(err) || !at.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) {
					return err
				}
				// Any replica now fails fast without spending a request.
				return getRoom(2)(ctx, e, api)
			},
			check: func(t *testing.T, e *env, err error) {
				var ze *zoom.Error
				if !errors.As(err, &ze) || !ze.Local || !ze.Daily || !zoom.IsRateLimited(err) {
					t.Fatalf("err = %v, want a local daily-limit error", err)
				}
			},
			route: zoomsim.RouteGetRoom, calls: 1,
		},
		{
			name: "the shared limiter gives up at the caller's deadline",
			mod: func(o *zoom.Options) {
				// One request per 100 s: the second call cannot get a slot.
				o.RateLimits = map[zoom.Plan]map[zoom.RateLabel]float64{zoom.PlanPro: {zoom.Medium: 0.02}}
			},
			warmup: getRoom(1), call: getRoom(0), ctxTO: 2 * time.Second,
			check: func(t *testing.T, e *env, err error) {
				var ze *zoom.Error
				if !errors.As(err, &ze) || !ze.Local || !zoom.IsRateLimited(err) {
					t.Fatalf("err = %v, want a local rate-limit error", err)
				}
			},
			route: zoomsim.RouteGetRoom, calls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.seed = zoomsim.SeedOptions{Rooms: 3}
			e := newEnv(t, tt.opts)
			c, _ := e.newClient(func(o *zoom.Options) {
				o.CacheTTLs = noCache
				if tt.mod != nil {
					tt.mod(o)
				}
			})
			api := c.For(e.account(c, e.serverApp(), zoom.KindServerApp))
			if tt.setup != nil {
				tt.setup(t, e)
			}
			if tt.warmup != nil {
				if err := tt.warmup(ctx, e, api); err != nil {
					t.Fatalf("warmup: %v", err)
				}
			}
			before := e.calls(tt.route)
			cctx := ctx
			if tt.ctxTO > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, tt.ctxTO)
				defer cancel()
			}
			err := tt.call(cctx, e, api)
			tt.check(t, e, err)
			if got := e.calls(tt.route) - before; tt.calls >= 0 && got != tt.calls {
				t.Fatalf("simulator saw %d %s calls, want %d", got, tt.route, tt.calls)
			}
			if got := len(e.recordedSleeps()); tt.sleeps >= 0 && got != tt.sleeps {
				t.Fatalf("client waited %d times (%v), want %d", got, e.recordedSleeps(), tt.sleeps)
			}
		})
	}
}
