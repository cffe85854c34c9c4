package rooms_test

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"zoomsignage/apierror"
	"zoomsignage/events"
	"zoomsignage/rooms"
)

// simSignage is a room's digital_signage settings as the simulator holds them.
type simSignage struct {
	Enable        bool   `json:"enable_digital_signage"`
	Layout        string `json:"layout"`
	Mute          bool   `json:"mute"`
	DisplayPeriod struct {
		Start int `json:"start_displaying_content"`
		Stop  int `json:"stop_displaying_content"`
	} `json:"display_period"`
	PlayList []struct {
		ID       string `json:"id"`
		Contents []struct {
			ContentID string `json:"content_id"`
		} `json:"contents"`
	} `json:"play_list"`
}

func (e *env) signage(zoomRoomID string) simSignage {
	e.t.Helper()
	raw, err := e.sim.SignageSettings(zoomRoomID)
	if err != nil {
		e.t.Fatal(err)
	}
	var s simSignage
	if err := json.Unmarshal(raw, &s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// shows reports whether the room plays exactly one list holding contentID.
func (s simSignage) shows(contentID string) bool {
	return s.Enable && len(s.PlayList) == 1 && len(s.PlayList[0].Contents) == 1 && s.PlayList[0].Contents[0].ContentID == contentID
}

func roomIDs(rs map[string]rooms.Room, zoomIDs ...string) []string {
	out := make([]string, len(zoomIDs))
	for i, z := range zoomIDs {
		out[i] = rs[z].ID
	}
	return out
}

func TestActivateDeactivateAndUpdateSettings(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 5)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	id := e.room(tn, zid).ID
	evs := e.subscribe(tn, events.SignageStateChanged)

	res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("activate: %v %+v", err, res)
	}
	a := res[0].Assignment
	if a.State != rooms.SignageActive || a.Layout != rooms.LayoutStandard || !a.Muted || a.ZoomContentID == "" ||
		a.ContentListID == "" || a.LastPushedAt == nil || !strings.HasPrefix(a.ScreenURL, "https://screens.example.com/s/") ||
		len(a.ScreenURL) < len("https://screens.example.com/s/")+32 {
		t.Fatalf("assignment = %+v", a)
	}
	if s := e.signage(zid); !s.shows(a.ZoomContentID) || s.Layout != "standard" || !s.Mute || s.PlayList[0].ID != a.ContentListID {
		t.Fatalf("Zoom's settings = %+v", s)
	}
	got := until(t, evs, func(ev *events.Event) bool { return ev.Signage != nil && ev.Signage.State == rooms.SignageActive })
	if got[0].Signage.State != rooms.SignagePushing {
		t.Fatalf("first signage event %+v, want PUSHING", got[0].Signage)
	}

	again, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
	if err != nil || again[0].Err != nil || again[0].Assignment.ZoomContentID != a.ZoomContentID {
		t.Fatalf("activating twice: %v %+v", err, again)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 1 {
		t.Fatalf("licenses_used = %d, want 1", used)
	}

	layout := rooms.LayoutVideoContent
	up, err := e.svc.UpdateSettings(e.ctx, tn.actor, []string{id}, rooms.Settings{Layout: &layout,
		DisplayPeriod: &rooms.DisplayPeriod{StartAfterMeetingMinutes: 5, StopBeforeMeetingMinutes: 10}})
	if err != nil || up[0].Err != nil {
		t.Fatalf("update: %v %+v", err, up)
	}
	if u := up[0].Assignment; u.Layout != layout || !u.Muted || u.StartAfter != 5 || u.StopBefore != 10 || u.State != rooms.SignageActive {
		t.Fatalf("updated = %+v (mute must keep its value)", u)
	}
	if s := e.signage(zid); s.Layout != "video_content" || !s.Mute || s.DisplayPeriod.Start != 5 || s.DisplayPeriod.Stop != 10 || !s.shows(a.ZoomContentID) {
		t.Fatalf("Zoom's settings after the update = %+v", s)
	}

	off, err := e.svc.Deactivate(e.ctx, tn.actor, []string{id})
	if err != nil || off[0].Err != nil || off[0].Assignment != nil {
		t.Fatalf("deactivate: %v %+v", err, off)
	}
	if s := e.signage(zid); s.Enable || len(s.PlayList) != 0 {
		t.Fatalf("Zoom's settings after deactivation = %+v", s)
	}
	if lib := e.sim.LibraryContents(tn.seed.AccountID); len(lib) != 0 {
		t.Fatalf("library items left: %v", lib)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
		t.Fatalf("licenses_used = %d after deactivation", used)
	}
	for _, action := range []string{"signage.activate", "signage.update_settings", "signage.deactivate", "signage.removed"} {
		if n := scalar[int](t, e.db, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = $2 AND target_id = $3 AND actor = $4`,
			tn.id, action, id, tn.actor.Name); n != 1 {
			t.Errorf("%d %s audit events, want 1", n, action)
		}
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM audit_events WHERE details::text LIKE '%screens.example.com%'`); n != 0 {
		t.Errorf("%d audit events hold a screen URL", n)
	}
	// Deactivating again is harmless.
	if again, err := e.svc.Deactivate(e.ctx, tn.actor, []string{id}); err != nil || again[0].Err != nil {
		t.Fatalf("deactivating twice: %v %+v", err, again)
	}
}

// 20 activations race for 10 licenses: exactly 10 win, the others are told
// LICENSE_LIMIT_REACHED, and the pool, the rows and Zoom agree.
func TestConcurrentActivationsNeverExceedTheLicenseLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 20, 10)
	e.sync(tn)
	stored := e.rooms(tn)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, lim int
	)
	for _, zid := range tn.seed.RoomIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.svc.Activate(e.ctx, tn.actor, []string{stored[zid].ID}, rooms.Settings{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("activate: %v", err)
			case res[0].Err == nil && res[0].Assignment.State == rooms.SignageActive:
				ok++
			case code(res[0].Err) == apierror.LicenseLimitReached:
				lim++
			default:
				t.Errorf("unexpected result %+v", res[0])
			}
		}()
	}
	wg.Wait()
	if ok != 10 || lim != 10 {
		t.Fatalf("%d activated, %d refused; want 10 and 10", ok, lim)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 10 {
		t.Fatalf("licenses_used = %d", used)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_assignments WHERE tenant_id = $1`, tn.id); n != 10 {
		t.Fatalf("%d assignments", n)
	}
	if n := len(e.sim.LibraryContents(tn.seed.AccountID)); n != 10 {
		t.Fatalf("%d library items in Zoom, want 10", n)
	}
}

// Signage disabled by the Zoom admin: the activation waits as
// PENDING_ZOOM_ENABLE, and the first sync after the admin enables it makes
// it ACTIVE with no user action.
func TestPendingSignageBecomesActiveAfterZoomEnablesIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 2, 2)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	if err := e.sim.SetSignageEnabled(e.ctx, zid, false); err != nil {
		t.Fatal(err)
	}
	id := e.room(tn, zid).ID
	res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
	if err != nil || res[0].Err != nil || res[0].Assignment.State != rooms.SignagePending || res[0].Assignment.LastError == "" {
		t.Fatalf("activate: %v %+v", err, res[0])
	}
	e.sync(tn) // still disabled: stays pending, pushed again
	if a := e.assignment(tn, id); a.State != rooms.SignagePending || a.PushAttempts != 2 {
		t.Fatalf("after a sync while disabled: %+v", a)
	}
	evs := e.subscribe(tn, events.SignageStateChanged)
	if err := e.sim.SetSignageEnabled(e.ctx, zid, true); err != nil {
		t.Fatal(err)
	}
	e.sync(tn)
	a := e.assignment(tn, id)
	if a.State != rooms.SignageActive || a.LastError != "" || a.LastPushedAt == nil {
		t.Fatalf("after the sync that followed enabling: %+v", a)
	}
	if s := e.signage(zid); !s.shows(a.ZoomContentID) {
		t.Fatalf("Zoom's settings = %+v", s)
	}
	ev := until(t, evs, func(*events.Event) bool { return true })[0]
	if ev.Signage == nil || ev.Signage.State != rooms.SignageActive || ev.Room.ID != id {
		t.Fatalf("event = %+v", ev)
	}
	e.sync(tn) // nothing left to push
	if s := e.signage(zid); len(s.PlayList) != 1 {
		t.Fatalf("a later sync pushed again: %+v", s)
	}
}

func (e *env) assignment(tn tenant, roomID string) rooms.Assignment {
	e.t.Helper()
	m, err := e.svc.SignageByRoom(e.ctx, tn.id, []string{roomID})
	if err != nil {
		e.t.Fatal(err)
	}
	a, ok := m[roomID]
	if !ok {
		e.t.Fatalf("room %s has no assignment", roomID)
	}
	return a
}

// One bulk call, every outcome: activated, pending, out of licenses, not
// found (another tenant's room, an unknown id, a malformed id), and a room
// Zoom no longer has (rolled back, its license and library item released).
// Licenses are reserved in the caller's order before Zoom is called, so the
// rolled-back room held one while the last room asked.
func TestBulkActivationWithMixedResults(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 6, 5)
	other := e.connect("globex", 1, 5)
	e.sync(tn)
	e.sync(other)
	stored := e.rooms(tn)
	ids := tn.seed.RoomIDs
	if err := e.sim.SetSignageEnabled(e.ctx, ids[1], false); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteRoom(e.ctx, ids[2]); err != nil { // not synced yet
		t.Fatal(err)
	}
	foreign := e.room(other, other.seed.RoomIDs[0]).ID
	req := append(roomIDs(stored, ids[0], ids[1], ids[2], ids[3]), foreign, "5b1c3f6e-0000-4000-8000-000000000000",
		"not-a-uuid", stored[ids[4]].ID, stored[ids[5]].ID, stored[ids[0]].ID)
	res, err := e.svc.Activate(e.ctx, tn.actor, req, rooms.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 9 { // the repeated id counts once
		t.Fatalf("%d results for 9 distinct rooms", len(res))
	}
	type want struct {
		code  apierror.Code
		state string
	}
	wants := []want{
		{"", rooms.SignageActive}, {"", rooms.SignagePending}, {apierror.NotFound, ""}, {"", rooms.SignageActive},
		{apierror.NotFound, ""}, {apierror.NotFound, ""}, {apierror.NotFound, ""},
		{"", rooms.SignageActive}, {apierror.LicenseLimitReached, ""},
	}
	for i, w := range wants {
		r := res[i]
		if r.RoomID != req[i] || code(r.Err) != w.code {
			t.Errorf("result %d (%s) = %+v, want code %q", i, req[i], r, w.code)
			continue
		}
		if w.state != "" && (r.Assignment == nil || r.Assignment.State != w.state) {
			t.Errorf("result %d = %+v, want state %s", i, r.Assignment, w.state)
		}
		if w.code != "" && r.Assignment != nil {
			t.Errorf("failed result %d carries an assignment", i)
		}
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 4 {
		t.Fatalf("licenses_used = %d, want 4 (5 reserved, the rolled-back room released its own)", used)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, other.id); used != 0 {
		t.Fatalf("the other tenant's licenses_used = %d", used)
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_assignments WHERE room_id = $1`, stored[ids[2]].ID); n != 0 {
		t.Fatal("the room Zoom no longer has kept an assignment")
	}
	if n := len(e.sim.LibraryContents(tn.seed.AccountID)); n != 4 {
		t.Fatalf("%d library items, want 4 (the rolled-back one deleted)", n)
	}
}

func TestInvalidSettingsAreRefusedAndWriteNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 1, 5)
	e.sync(tn)
	id := e.room(tn, tn.seed.RoomIDs[0]).ID
	bad := "SIDEWAYS"
	cases := []struct {
		name     string
		settings rooms.Settings
		field    string
	}{
		{"negative start", rooms.Settings{DisplayPeriod: &rooms.DisplayPeriod{StartAfterMeetingMinutes: -1}}, "settings.displayPeriod.startAfterMeetingMinutes"},
		{"start over a day", rooms.Settings{DisplayPeriod: &rooms.DisplayPeriod{StartAfterMeetingMinutes: 1441}}, "settings.displayPeriod.startAfterMeetingMinutes"},
		{"negative stop", rooms.Settings{DisplayPeriod: &rooms.DisplayPeriod{StopBeforeMeetingMinutes: -5}}, "settings.displayPeriod.stopBeforeMeetingMinutes"},
		{"stop over a day", rooms.Settings{DisplayPeriod: &rooms.DisplayPeriod{StopBeforeMeetingMinutes: 100000}}, "settings.displayPeriod.stopBeforeMeetingMinutes"},
		{"unknown layout", rooms.Settings{Layout: &bad}, "settings.layout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, c.settings)
			ae, ok := apierror.As(err)
			if !ok || ae.Code != apierror.BadUserInput || ae.Field != c.field {
				t.Fatalf("activate: %v, want BAD_USER_INPUT on %s", err, c.field)
			}
			_, err = e.svc.UpdateSettings(e.ctx, tn.actor, []string{id}, c.settings)
			if ae, ok := apierror.As(err); !ok || ae.Field != c.field {
				t.Fatalf("update: %v", err)
			}
		})
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM signage_assignments`); n != 0 {
		t.Fatalf("%d assignments written", n)
	}
	if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
		t.Fatalf("licenses_used = %d", used)
	}
	if _, err := e.svc.Activate(e.ctx, tn.actor, nil, rooms.Settings{}); code(err) != apierror.BadUserInput {
		t.Fatalf("no room ids: %v", err)
	}
	if _, err := e.svc.UpdateSettings(e.ctx, tn.actor, []string{id}, rooms.Settings{}); code(err) != apierror.BadUserInput {
		t.Fatalf("empty settings: %v", err)
	}
}

// Another tenant's room ids are NOT_FOUND everywhere, and nothing of the
// other tenant changes.
func TestAnotherTenantsRoomsAreNotFound(t *testing.T) {
	e := newEnv(t, envOptions{})
	mine := e.connect("acme", 1, 5)
	theirs := e.connect("globex", 2, 5)
	e.sync(mine)
	e.sync(theirs)
	foreign := e.room(theirs, theirs.seed.RoomIDs[0])
	if res, err := e.svc.Activate(e.ctx, theirs.actor, []string{foreign.ID}, rooms.Settings{}); err != nil || res[0].Err != nil {
		t.Fatalf("owner's activation: %v %+v", err, res)
	}
	cases := []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, err := e.svc.Get(e.ctx, mine.id, foreign.ID); return err }},
		{"activate", func() error {
			r, err := e.svc.Activate(e.ctx, mine.actor, []string{foreign.ID}, rooms.Settings{})
			return first(r, err)
		}},
		{"deactivate", func() error {
			r, err := e.svc.Deactivate(e.ctx, mine.actor, []string{foreign.ID})
			return first(r, err)
		}},
		{"update", func() error {
			m := false
			r, err := e.svc.UpdateSettings(e.ctx, mine.actor, []string{foreign.ID}, rooms.Settings{Muted: &m})
			return first(r, err)
		}},
		{"restart", func() error { _, err := e.svc.Restart(e.ctx, mine.actor, foreign.ID); return err }},
		{"sync", func() error { _, err := e.svc.RequestSync(e.ctx, mine.id, theirs.connID); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); code(err) != apierror.NotFound {
				t.Fatalf("err = %v, want NOT_FOUND", err)
			}
		})
	}
	if a := e.assignment(theirs, foreign.ID); a.State != rooms.SignageActive || !a.Muted {
		t.Fatalf("the other tenant's assignment changed: %+v", a)
	}
	if info, err := e.sim.RoomInfo(e.ctx, foreign.ZoomRoomID); err != nil || info.Restarts != 0 {
		t.Fatalf("the other tenant's room was restarted: %v %+v", err, info)
	}
	page, err := e.svc.List(e.ctx, mine.id, rooms.Filter{ConnectionID: theirs.connID}, 50, "", true)
	if err != nil || len(page.Rooms) != 0 || page.TotalCount != 0 {
		t.Fatalf("listing by the other tenant's connection: %v %+v", err, page)
	}
}

func first(r []rooms.Result, err error) error {
	if err != nil {
		return err
	}
	return r[0].Err
}

func TestRestart(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 3, 0)
	e.sync(tn)
	online, offline := tn.seed.RoomIDs[0], tn.seed.RoomIDs[2] // statuses cycle Available, InMeeting, Offline
	if _, err := e.svc.Restart(e.ctx, tn.actor, e.room(tn, online).ID); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.sim.RoomInfo(e.ctx, online); info.Restarts != 1 {
		t.Fatalf("restarts = %d", info.Restarts)
	}
	// A second restart within a minute is refused before Zoom, and a
	// restart Zoom refused leaves the room free to try again at once.
	if _, err := e.svc.Restart(e.ctx, tn.actor, e.room(tn, online).ID); code(err) != apierror.RateLimited {
		t.Fatalf("second restart within a minute: %v", err)
	}
	if info, _ := e.sim.RoomInfo(e.ctx, online); info.Restarts != 1 {
		t.Fatalf("restarts after the refused one = %d", info.Restarts)
	}
	for range 2 {
		_, err := e.svc.Restart(e.ctx, tn.actor, e.room(tn, offline).ID)
		if code(err) != apierror.ZoomRoomOffline {
			t.Fatalf("offline room: %v", err)
		}
	}
	if n := scalar[int](t, e.db, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'room.restart'`, tn.id); n != 1 {
		t.Fatalf("%d restart audit events, want 1 (the refused one is not a restart)", n)
	}
}

// TestRestartWithRedisDownSaysSo: the restart throttle needs Redis; with it
// unreachable a restart is refused before Zoom as SERVICE_UNAVAILABLE
// naming Redis, not INTERNAL (and never a restart the throttle cannot
// count).
func TestRestartWithRedisDownSaysSo(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { down.Close() })
	e := newEnv(t, envOptions{roomsRedis: down})
	tn := e.connect("acme", 1, 0)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	_, err = e.svc.Restart(e.ctx, tn.actor, e.room(tn, zid).ID)
	if dep, ok := apierror.UnavailableOf(err); !ok || dep != apierror.Redis {
		t.Fatalf("restart with Redis down: %v, want Redis unavailable", err)
	}
	if info, _ := e.sim.RoomInfo(e.ctx, zid); info.Restarts != 0 {
		t.Fatalf("the room was restarted %d times without the throttle", info.Restarts)
	}
}
