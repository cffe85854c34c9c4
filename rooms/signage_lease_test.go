package rooms_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"zoomsignage/rooms"
)

// gate holds the first Zoom request matching method and path suffix until
// open is called, and signals on reached when it holds one: a test can then
// do something while a push is half-way through, without any sleep.
type gate struct {
	method, suffix string
	once           sync.Once
	reached, open  chan struct{}
	next           http.RoundTripper
}

func newGate(method, suffix string) *gate {
	return &gate{method: method, suffix: suffix, reached: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) wrap(next http.RoundTripper) http.RoundTripper { g.next = next; return g }

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == g.method && strings.HasSuffix(r.URL.Path, g.suffix) {
		held := false
		g.once.Do(func() { held = true })
		if held {
			close(g.reached)
			<-g.open
		}
	}
	return g.next.RoundTrip(r)
}

// A deactivation that arrives while the activation's push is in flight
// (held at the library add, or at the enabling PATCH) must not let the push
// finish after the removal: the pusher holds the assignment's lease and
// removes its own work, so Zoom ends with signage off, no library item, no
// assignment and the license back.
func TestDeactivationDuringAPushLeavesNothingOnZoom(t *testing.T) {
	cases := []struct {
		name           string
		method, suffix string
	}{
		{"held at the library add", http.MethodPost, "/rooms/content/digital_signage/contents"},
		{"held at the enabling PATCH", http.MethodPatch, "/settings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGate(c.method, c.suffix)
			e := newEnv(t, envOptions{wrap: g.wrap})
			tn := e.connect("acme", 1, 1)
			e.sync(tn)
			zid := tn.seed.RoomIDs[0]
			id := e.room(tn, zid).ID

			var activated []rooms.Result
			var actErr error
			done := make(chan struct{})
			go func() {
				defer close(done)
				activated, actErr = e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
			}()
			<-g.reached
			off, err := e.svc.Deactivate(e.ctx, tn.actor, []string{id})
			if err != nil || off[0].Err != nil {
				t.Fatalf("deactivate: %v %+v", err, off)
			}
			if a := off[0].Assignment; a == nil || a.State != rooms.SignageRemoving {
				t.Fatalf("deactivation during a push returned %+v, want the room REMOVING", a)
			}
			close(g.open)
			<-done
			if actErr != nil || activated[0].Err != nil || activated[0].Assignment != nil {
				t.Fatalf("activate: %v %+v", actErr, activated)
			}
			if s := e.signage(zid); s.Enable || len(s.PlayList) != 0 {
				t.Fatalf("Zoom's settings after the race = %+v", s)
			}
			if lib := e.sim.LibraryContents(tn.seed.AccountID); len(lib) != 0 {
				t.Fatalf("library items left: %v", lib)
			}
			if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_assignments WHERE tenant_id = $1`, tn.id); n != 0 {
				t.Fatalf("%d assignments left", n)
			}
			if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
				t.Fatalf("licenses_used = %d", used)
			}
		})
	}
}

// Two pushes of one assignment (a user's re-push of a pending room while
// the sync retries it) never both run: the second finds the lease taken
// and leaves the room alone, so Zoom gets one content list.
func TestConcurrentPushesOfOneRoomAddOneList(t *testing.T) {
	g := newGate(http.MethodPatch, "/settings")
	e := newEnv(t, envOptions{wrap: g.wrap})
	tn := e.connect("acme", 1, 1)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	id := e.room(tn, zid).ID
	if err := e.sim.SetSignageEnabled(e.ctx, zid, false); err != nil {
		t.Fatal(err)
	}
	// The first push is held at its PATCH; it answers "signage disabled".
	first := make(chan struct{})
	go func() {
		defer close(first)
		if _, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{}); err != nil {
			t.Error(err)
		}
	}()
	<-g.reached
	if err := e.sim.SetSignageEnabled(e.ctx, zid, true); err != nil {
		t.Fatal(err)
	}
	// Meanwhile the row is leased; made due (as a pending row a sync
	// retries and a re-push pushes), the sync and a re-push still skip it.
	if _, err := e.db.Exec(e.ctx, `UPDATE signage_assignments SET state = 'PENDING_ZOOM_ENABLE' WHERE room_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.sync(tn)
	again, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
	if err != nil || again[0].Err != nil {
		t.Fatalf("re-push: %v %+v", err, again)
	}
	close(g.open)
	<-first
	if s := e.signage(zid); len(s.PlayList) != 1 {
		t.Fatalf("Zoom holds %d content lists, want 1: %+v", len(s.PlayList), s)
	}
	if lib := e.sim.LibraryContents(tn.seed.AccountID); len(lib) != 1 {
		t.Fatalf("library holds %d items, want 1", len(lib))
	}
}
