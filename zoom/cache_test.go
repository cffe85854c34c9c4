package zoom_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

func TestCache(t *testing.T) {
	ctx := context.Background()
	type getter func(api *zoom.AccountClient, room string) error
	getRoom := func(api *zoom.AccountClient, room string) error { _, err := api.GetRoom(ctx, room); return err }
	devices := func(api *zoom.AccountClient, room string) error { _, err := api.ListDevices(ctx, room); return err }
	settings := func(api *zoom.AccountClient, room string) error {
		_, err := api.GetSignageSettings(ctx, room)
		return err
	}
	list := func(api *zoom.AccountClient, _ string) error {
		_, err := api.ListRooms(ctx, zoom.RoomFilter{})
		return err
	}

	setup := func(t *testing.T) (*env, *zoom.Client, *zoom.AccountClient, zoom.ConnectionRef) {
		e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
		c, _ := e.newClient(nil)
		ref := e.serverApp()
		return e, c, c.For(e.account(c, ref, zoom.KindServerApp)), ref
	}

	t.Run("hits", func(t *testing.T) {
		for _, tt := range []struct {
			name, route, resource string
			get                   getter
		}{
			{"rooms list", zoomsim.RouteListRooms, "rooms", list},
			{"room", zoomsim.RouteGetRoom, "room", getRoom},
			{"devices", zoomsim.RouteListDevices, "devices", devices},
			{"settings", zoomsim.RouteGetSettings, "settings", settings},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e, _, api, _ := setup(t)
				for range 3 {
					if err := tt.get(api, e.seed.RoomIDs[0]); err != nil {
						t.Fatal(err)
					}
				}
				if got := e.calls(tt.route); got != 1 {
					t.Fatalf("%s calls = %d, want 1", tt.route, got)
				}
				keys, err := e.rdb.Keys(ctx, e.prefix+"zoom:cache:"+e.seed.AccountID+":*").Result()
				if err != nil || len(keys) == 0 {
					t.Fatalf("no cache key under the configured prefix and account: %v %v", keys, err)
				}
			})
		}
	})

	t.Run("short TTL expires", func(t *testing.T) {
		e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
		c, _ := e.newClient(func(o *zoom.Options) { o.CacheTTLs.Room = time.Millisecond })
		api := c.For(e.account(c, e.serverApp(), zoom.KindServerApp))
		if err := getRoom(api, e.seed.RoomIDs[0]); err != nil {
			t.Fatal(err)
		}
		// Wait (by polling, not by timing) until Redis dropped the entry.
		for {
			n, err := e.rdb.Keys(ctx, e.prefix+"zoom:cache:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(n) == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := getRoom(api, e.seed.RoomIDs[0]); err != nil {
			t.Fatal(err)
		}
		if got := e.calls(zoomsim.RouteGetRoom); got != 2 {
			t.Fatalf("GET room calls = %d, want 2 after expiry", got)
		}
	})

	t.Run("a PATCH drops the room's entries, not other rooms'", func(t *testing.T) {
		e, _, api, _ := setup(t)
		a, b := e.seed.RoomIDs[0], e.seed.RoomIDs[1]
		for _, room := range []string{a, b} {
			for _, g := range []getter{getRoom, devices, settings} {
				if err := g(api, room); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := api.UpdateSignageSettings(ctx, a, zoom.SignageSettings{Mute: zoom.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		s, err := api.GetSignageSettings(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if s.Mute == nil || !*s.Mute {
			t.Fatalf("settings after PATCH = %+v, want mute (stale cache?)", s)
		}
		for _, g := range []getter{getRoom, devices, settings} {
			if err := g(api, a); err != nil {
				t.Fatal(err)
			}
			if err := g(api, b); err != nil {
				t.Fatal(err)
			}
		}
		for route, want := range map[string]int{zoomsim.RouteGetSettings: 3, zoomsim.RouteGetRoom: 3, zoomsim.RouteListDevices: 3} {
			// 2 fills before the PATCH + 1 refill of room a; room b stays cached.
			if got := e.calls(route); got != want {
				t.Fatalf("%s calls = %d, want %d", route, got, want)
			}
		}
	})

	t.Run("a restart drops the room's entries", func(t *testing.T) {
		e, _, api, _ := setup(t)
		room := e.seed.RoomIDs[0]
		if err := getRoom(api, room); err != nil {
			t.Fatal(err)
		}
		if err := api.RestartRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
		if err := getRoom(api, room); err != nil {
			t.Fatal(err)
		}
		if got := e.calls(zoomsim.RouteGetRoom); got != 2 {
			t.Fatalf("GET room calls = %d, want 2", got)
		}
	})

	t.Run("shared by client instances", func(t *testing.T) {
		e, _, api, ref := setup(t)
		other, _ := e.newClient(nil)
		if err := getRoom(api, e.seed.RoomIDs[0]); err != nil {
			t.Fatal(err)
		}
		if err := getRoom(other.For(e.account(other, ref, zoom.KindServerApp)), e.seed.RoomIDs[0]); err != nil {
			t.Fatal(err)
		}
		if got := e.calls(zoomsim.RouteGetRoom); got != 1 {
			t.Fatalf("GET room calls = %d, want 1", got)
		}
	})

	t.Run("concurrent identical GETs from two instances collapse", func(t *testing.T) {
		e, _, api, ref := setup(t)
		other, _ := e.newClient(nil)
		apis := []*zoom.AccountClient{api, other.For(e.account(other, ref, zoom.KindServerApp))}
		// Tokens first, so the collapse is about the GET alone.
		for _, a := range apis {
			if _, err := a.Account().Tokens.Token(ctx); err != nil {
				t.Fatal(err)
			}
		}
		e.addFault(zoomsim.Fault{Route: zoomsim.RouteGetRoom, Latency: 100 * time.Millisecond})
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- getRoom(apis[i%2], e.seed.RoomIDs[0])
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := e.calls(zoomsim.RouteGetRoom); got != 1 {
			t.Fatalf("GET room calls = %d, want 1", got)
		}
	})

	t.Run("a GET racing a write does not store what it read", func(t *testing.T) {
		e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
		room := e.seed.RoomIDs[0]
		read, proceed := make(chan struct{}), make(chan struct{})
		var once sync.Once
		c, _ := e.newClient(func(o *zoom.Options) {
			o.HTTPClient = &http.Client{Transport: hookRT{next: e.spec, after: func(req *http.Request, resp *http.Response) {
				if req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/v2/rooms/"+room) {
					once.Do(func() { close(read); <-proceed })
				}
			}}}
		})
		api := c.For(e.account(c, e.serverApp(), zoom.KindServerApp))
		done := make(chan error, 1)
		go func() { done <- getRoom(api, room) }()
		<-read // Zoom has answered with the old name; the client has not stored it yet
		if err := e.sim.RenameRoom(ctx, room, "Renamed"); err != nil {
			t.Fatal(err)
		}
		if err := api.InvalidateRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
		close(proceed)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		p, err := api.GetRoom(ctx, room)
		if err != nil {
			t.Fatal(err)
		}
		if p.Basic.Name != "Renamed" {
			t.Fatalf("name = %q: the racing GET stored a stale profile after the write dropped it", p.Basic.Name)
		}
	})
}
