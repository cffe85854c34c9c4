package rooms_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zoomsignage/rooms"
)

// failingRoom answers every call about one Zoom room with a 500.
type failingRoom struct {
	next  http.RoundTripper
	zid   *atomic.Value // string
	calls *atomic.Int64
}

func (f failingRoom) RoundTrip(r *http.Request) (*http.Response, error) {
	zid, _ := f.zid.Load().(string)
	if zid == "" || !strings.Contains(r.URL.Path, "/rooms/"+zid) {
		return f.next.RoundTrip(r)
	}
	f.calls.Add(1)
	body := `{"code":500,"message":"Injected fault."}`
	return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// A room whose device refresh fails records the failure and goes behind
// the rooms never tried, instead of taking a call of every refresh.
func TestFailingDeviceRefreshDoesNotHeadTheQueue(t *testing.T) {
	var zid atomic.Value
	var calls atomic.Int64
	e := newEnv(t, envOptions{syncInterval: time.Second, wrap: func(next http.RoundTripper) http.RoundTripper {
		return failingRoom{next: next, zid: &zid, calls: &calls}
	}})
	tn := e.connect("acme", 4, 0)
	e.sync(tn)
	var stored []rooms.Room
	for _, r := range e.rooms(tn) {
		stored = append(stored, r)
	}
	slices.SortFunc(stored, func(a, b rooms.Room) int { return strings.Compare(a.ID, b.ID) })
	failing := stored[0] // first in the queue: never refreshed, lowest id
	zid.Store(failing.ZoomRoomID)

	if _, err := e.svc.RefreshDevices(e.ctx, tn.id, tn.connID); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the first refresh did not try the failing room")
	}
	if !scalar[bool](t, e.db, `SELECT devices_failed_at IS NOT NULL AND devices_refreshed_at IS NULL FROM rooms WHERE id = $1`, failing.ID) {
		t.Fatal("the failed refresh was not recorded")
	}
	tried := calls.Load()
	if _, err := e.svc.RefreshDevices(e.ctx, tn.id, tn.connID); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != tried {
		t.Fatal("the failing room headed the queue again, before rooms never tried")
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM rooms WHERE connection_id = $1 AND devices_refreshed_at IS NOT NULL`, tn.connID); n < 2 {
		t.Fatalf("%d rooms refreshed after two runs, want at least 2", n)
	}
}
