package app_test

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/internal/testutil/browsertest"
)

const startBroadcast = `mutation($in: BroadcastInput!){startBroadcast(input: $in){id message severity startedBy endsAt endedAt roomCount zoomAlertRooms}}`

const roomScreen = `query($id: ID!){room(id: $id){name signage{screenUrl} screen{url online lastSeenAt}}}`

// screenWorld is a connected tenant with activated signage on its first
// room, the screen's path on the test gateway and the room's name.
type screenWorld struct {
	*zoomWorld
	tenant, admin, roomID, roomName, screenURL, path string
}

func newScreenWorld(t *testing.T) *screenWorld { t.Helper(); return newScreenWorldWith(t, nil) }

// newScreenWorldWith is newScreenWorld with the gateway's config edited.
func newScreenWorldWith(t *testing.T, edit func(*app.Config)) *screenWorld {
	t.Helper()
	w, tenant, admin, _ := roomsWorld(t, 2, edit)
	// Open event streams end before the test server waits for its requests.
	t.Cleanup(w.app.Screens.CloseStreams)
	room := nodes(t, w.post(admin, roomsPage, map[string]any{"first": 1}))[0]
	roomID := room["id"].(string)
	act := w.post(admin, activate, map[string]any{"ids": []string{roomID}})
	if act.code() != "" || act.Data["activateSignage"].([]any)[0].(map[string]any)["ok"] != true {
		t.Fatalf("activate: %s", act.Raw)
	}
	r := w.post(admin, roomScreen, map[string]any{"id": roomID})
	signage, _ := r.Data["room"].(map[string]any)["signage"].(map[string]any)
	if signage == nil {
		t.Fatalf("room: %s", r.Raw)
	}
	screenURL := signage["screenUrl"].(string)
	// The screen URL is SIGNAGE_BASE_URL + token; the token is served here.
	token := screenURL[strings.LastIndex(screenURL, "/")+1:]
	return &screenWorld{zoomWorld: w, tenant: tenant, admin: admin, roomID: roomID, roomName: room["name"].(string), screenURL: screenURL,
		path: "/screens/" + token}
}

func getScreen(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestScreenPlayerInChromium: the screen URL of a real activation, opened
// in headless Chromium, plays the room's program under a strict CSP,
// follows a committed change within 2 s through its event stream, and
// shows the gateway's 404 once signage is deactivated, which is then all
// any of the token's URLs answer.
func TestScreenPlayerInChromium(t *testing.T) {
	w := newScreenWorld(t)
	browser := browsertest.Start(t)

	// Before the player calls, the room has a screen that is not online.
	r := w.post(w.admin, roomScreen, map[string]any{"id": w.roomID})
	screen := r.Data["room"].(map[string]any)["screen"].(map[string]any)
	if screen["url"] != w.screenURL || screen["online"] != false || screen["lastSeenAt"] != nil {
		t.Fatalf("screen before the player: %s", r.Raw)
	}

	page := browser.NewPage()
	page.Navigate(w.url + w.path)
	if _, got, err := page.WaitString(`document.getElementById('room').textContent`, w.roomName, 10*time.Second); err != nil {
		t.Fatalf("room name on screen = %q: %v\n%s", got, err, strings.Join(browser.Logs(), "\n"))
	}
	if _, got, err := page.WaitString(`document.body.getAttribute('data-layout') + ' ' + document.body.getAttribute('data-stream')`,
		"STANDARD open", 10*time.Second); err != nil {
		t.Fatalf("layout and stream = %q: %v\n%s", got, err, strings.Join(browser.Logs(), "\n"))
	}

	// A committed change reaches the open player within 2 s.
	up := w.post(w.admin, `mutation($ids: [ID!]!){updateSignageSettings(roomIds: $ids, settings: {layout: VIDEO_CONTENT}){ok}}`,
		map[string]any{"ids": []string{w.roomID}})
	if up.code() != "" || up.Data["updateSignageSettings"].([]any)[0].(map[string]any)["ok"] != true {
		t.Fatalf("update: %s", up.Raw)
	}
	took, got, err := page.WaitString(`document.body.getAttribute('data-layout')`, "VIDEO_CONTENT", 2*time.Second)
	if err != nil {
		t.Fatalf("layout after the change = %q after %v: %v", got, took, err)
	}
	t.Logf("change on screen %v after its commit", took)

	// A broadcast to every activated room replaces the program within 2 s,
	// until it is ended; both are audited with who did them.
	viewer := userJWT(t, w.tenant, "viewer", time.Hour)
	for name, in := range map[string]map[string]any{
		"empty message": {"message": "", "severity": "EMERGENCY"},
		"endsAt past":   {"message": "x", "severity": "INFO", "endsAt": time.Now().Add(-time.Minute).Format(time.RFC3339)},
		"by location":   {"message": "x", "severity": "INFO", "target": map[string]any{"locationIds": []string{"l1"}}},
	} {
		if r := w.post(w.admin, startBroadcast, map[string]any{"in": in}); r.code() != "BAD_USER_INPUT" {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
	if r := w.post(viewer, startBroadcast, map[string]any{"in": map[string]any{"message": "x", "severity": "INFO"}}); r.code() != "FORBIDDEN" {
		t.Fatalf("viewer broadcast: %s", r.Raw)
	}
	started := w.post(w.admin, startBroadcast, map[string]any{"in": map[string]any{"message": "Fire drill: leave by the stairs", "severity": "EMERGENCY"}})
	castID := id(t, started, "startBroadcast")
	if b := started.Data["startBroadcast"].(map[string]any); b["roomCount"] != float64(1) || b["startedBy"] == "" || b["endedAt"] != nil {
		t.Fatalf("started: %s", started.Raw)
	}
	took, got, err = page.WaitString(`document.body.getAttribute('data-broadcast') + ' ' + document.getElementById('broadcast').textContent`,
		castID+" Fire drill: leave by the stairs", 2*time.Second)
	if err != nil {
		t.Fatalf("broadcast on screen = %q after %v: %v", got, took, err)
	}
	t.Logf("broadcast on screen %v after its commit", took)
	r = w.post(viewer, `query($id: ID!){room(id: $id){screen{broadcast{id severity}}} broadcasts(active: true){id}}`, map[string]any{"id": w.roomID})
	if r.code() != "" || !strings.Contains(r.Raw, `"broadcast":{"id":"`+castID+`","severity":"EMERGENCY"}`) || !strings.Contains(r.Raw, `"broadcasts":[{"id":"`+castID+`"}]`) {
		t.Fatalf("live broadcast: %s", r.Raw)
	}
	ended := w.post(w.admin, `mutation($id: ID!){endBroadcast(id: $id){id endedAt}}`, map[string]any{"id": castID})
	if ended.code() != "" || ended.Data["endBroadcast"].(map[string]any)["endedAt"] == nil {
		t.Fatalf("end: %s", ended.Raw)
	}
	if took, got, err := page.WaitString(`String(document.body.getAttribute('data-broadcast'))`, "null", 2*time.Second); err != nil {
		t.Fatalf("after the end the screen shows broadcast %q (%v): %v", got, took, err)
	}
	waitFor(t, "the broadcast's proof of play", func() bool {
		return w.count(t, `SELECT count(*) FROM plays WHERE broadcast_id = $1 AND room_id = $2 AND ended_at IS NOT NULL`, castID, w.roomID) == 1
	})
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE target_id = $1 AND action IN ('broadcast.start', 'broadcast.end') AND actor <> ''`, castID); n != 2 {
		t.Fatalf("%d audit events for the broadcast, want 2", n)
	}
	// One that ends by itself (endsAt) leaves the screen when it passes.
	endsAt := time.Now().Add(2 * time.Second)
	short := id(t, w.post(w.admin, startBroadcast, map[string]any{"in": map[string]any{"message": "Back in 2 s", "severity": "INFO",
		"target": map[string]any{"roomIds": []string{w.roomID}}, "endsAt": endsAt.Format(time.RFC3339Nano)}}), "startBroadcast")
	if _, got, err := page.WaitString(`String(document.body.getAttribute('data-broadcast'))`, short, 2*time.Second); err != nil {
		t.Fatalf("short broadcast on screen: %q: %v", got, err)
	}
	if _, got, err := page.WaitString(`String(document.body.getAttribute('data-broadcast'))`, "null", time.Until(endsAt)+2*time.Second); err != nil {
		t.Fatalf("after endsAt the screen shows broadcast %q: %v", got, err)
	}

	// The program JSON, with its version as ETag.
	code, hdr, body := getScreen(t, w.url+w.path+"/program")
	if code != http.StatusOK || !strings.Contains(body, `"layout":"VIDEO_CONTENT"`) || !strings.Contains(body, `"name":"`+w.roomName+`"`) ||
		hdr.Get("ETag") == "" {
		t.Fatalf("program: %d %v %s", code, hdr, body)
	}
	if code, _, _ := getScreen(t, w.url+w.path+"/program", "If-None-Match", hdr.Get("ETag")); code != http.StatusNotModified {
		t.Fatalf("program with its ETag: %d", code)
	}
	_, pageHdr, _ := getScreen(t, w.url+w.path)
	if csp := pageHdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'sha256-") ||
		pageHdr.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("page headers: %v", pageHdr)
	}

	// The player's contact shows on the room's screen.
	r = w.post(w.admin, roomScreen, map[string]any{"id": w.roomID})
	screen = r.Data["room"].(map[string]any)["screen"].(map[string]any)
	if screen["online"] != true || screen["lastSeenAt"] == nil {
		t.Fatalf("screen with its player: %s", r.Raw)
	}

	// Deactivation revokes the token: the open player ends on the 404.
	deact := w.post(w.admin, `mutation($ids: [ID!]!){deactivateSignage(roomIds: $ids){ok}}`, map[string]any{"ids": []string{w.roomID}})
	if deact.code() != "" {
		t.Fatalf("deactivate: %s", deact.Raw)
	}
	if took, got, err := page.WaitString(`document.body.innerText.trim()`, "404 page not found", 10*time.Second); err != nil {
		t.Fatalf("screen after deactivation = %q after %v: %v", got, took, err)
	}
	_, _, unknown := getScreen(t, w.url+"/screens/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	for _, suffix := range []string{"", "/program", "/events"} {
		if code, _, body := getScreen(t, w.url+w.path+suffix); code != http.StatusNotFound || body != unknown {
			t.Fatalf("%s after deactivation: %d %q (an unknown token: %q)", suffix, code, body, unknown)
		}
	}
	for _, line := range browser.Logs() {
		if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "exception") {
			t.Errorf("the player broke its CSP or threw: %s", line)
		}
	}
	if strings.Contains(w.logs.String(), w.path) {
		t.Error("the gateway logged a screen token")
	}
}

// TestScreenTokenRevokedOnDisconnect: disconnecting the room's Zoom
// connection revokes its screen token at once, before cleanup finishes.
func TestScreenTokenRevokedOnDisconnect(t *testing.T) {
	w := newScreenWorld(t)
	if code, _, _ := getScreen(t, w.url+w.path+"/program"); code != http.StatusOK {
		t.Fatalf("program before the disconnect: %d", code)
	}
	var connID string
	r := w.post(w.admin, `query($id: ID!){room(id: $id){connection{id}}}`, map[string]any{"id": w.roomID})
	connID = r.Data["room"].(map[string]any)["connection"].(map[string]any)["id"].(string)
	if d := w.post(w.admin, disconnect, map[string]any{"id": connID}); d.code() != "" {
		t.Fatalf("disconnect: %s", d.Raw)
	}
	for _, suffix := range []string{"", "/program", "/events"} {
		if code, _, body := getScreen(t, w.url+w.path+suffix); code != http.StatusNotFound || body != "404 page not found\n" {
			t.Fatalf("%s after the disconnect: %d %q", suffix, code, body)
		}
	}
}

const (
	createContent  = `mutation($in: ContentInput!){createContent(input: $in){id name kind url durationSeconds createdAt}}`
	createPlaylist = `mutation($in: PlaylistInput!){createPlaylist(input: $in){id name timezone roomCount items{durationSeconds content{id}} schedule{days start end}}}`
	updatePlaylist = `mutation($id: ID!, $in: PlaylistInput!){updatePlaylist(id: $id, input: $in){id items{content{id}}}}`
	assignPlaylist = `mutation($id: ID, $target: TargetInput!){assignPlaylist(playlistId: $id, target: $target){roomId ok error{code} room{id screen{playlist{name}}}}}`
)

// mediaServer serves a 2×2 PNG and a web page, and remembers what was
// asked of it (what the browser really loaded).
func mediaServer(t *testing.T) (*httptest.Server, func(string) bool) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = true
		mu.Unlock()
		switch r.URL.Path {
		case "/a.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(buf.Bytes())
		case "/page.html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<!DOCTYPE html><title>menu</title><h1>Today's menu</h1>")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func(path string) bool { mu.Lock(); defer mu.Unlock(); return seen[path] }
}

func id(t *testing.T, r gqlResponse, field string) string {
	t.Helper()
	m, _ := r.Data[field].(map[string]any)
	if r.code() != "" || m == nil {
		t.Fatalf("%s: %s", field, r.Raw)
	}
	return m["id"].(string)
}

// TestScreenPlaysPlaylistsInChromium: content and a playlist made through
// the API, assigned to the room, play on its screen in Chromium (the
// image really loaded, under the player's CSP); a playlist update shows
// within 2 s, and a schedule that excludes now leaves the screen idle.
// Bad input is refused with BAD_USER_INPUT and writes nothing; content in
// use cannot be deleted and the refusal names the playlist.
func TestScreenPlaysPlaylistsInChromium(t *testing.T) {
	w := newScreenWorld(t)
	media, loaded := mediaServer(t)
	viewer := userJWT(t, w.tenant, "viewer", time.Hour)

	for name, in := range map[string]map[string]any{
		"ftp URL":      {"name": "x", "kind": "IMAGE", "url": "ftp://example.com/a.png"},
		"relative URL": {"name": "x", "kind": "IMAGE", "url": "/a.png"},
		"too long":     {"name": "x", "kind": "IMAGE", "url": "https://example.com/" + strings.Repeat("a", 2048)},
		"credentials":  {"name": "x", "kind": "WEB_PAGE", "url": "https://user:pw@example.com/"},
		"no name":      {"name": " ", "kind": "IMAGE", "url": "https://example.com/a.png"},
		"duration 0":   {"name": "x", "kind": "IMAGE", "url": "https://example.com/a.png", "durationSeconds": 0},
	} {
		if r := w.post(w.admin, createContent, map[string]any{"in": in}); r.code() != "BAD_USER_INPUT" {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
	if r := w.post(viewer, createContent, map[string]any{"in": map[string]any{"name": "x", "kind": "IMAGE", "url": "https://example.com/a.png"}}); r.code() != "FORBIDDEN" {
		t.Fatalf("viewer createContent: %s", r.Raw)
	}
	if n := w.count(t, `SELECT count(*) FROM contents`); n != 0 {
		t.Fatalf("%d contents after refusals", n)
	}

	img := id(t, w.post(w.admin, createContent, map[string]any{"in": map[string]any{"name": "Logo", "kind": "IMAGE", "url": media.URL + "/a.png"}}), "createContent")
	web := id(t, w.post(w.admin, createContent, map[string]any{"in": map[string]any{"name": "Menu", "kind": "WEB_PAGE", "url": media.URL + "/page.html", "durationSeconds": 20}}), "createContent")
	if r := w.post(w.admin, createPlaylist, map[string]any{"in": map[string]any{"name": "Bad", "items": []any{map[string]any{"contentId": img}}, "timezone": "Mars/Olympus"}}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("bad timezone: %s", r.Raw)
	}
	created := w.post(w.admin, createPlaylist, map[string]any{"in": map[string]any{"name": "Lobby", "timezone": "Europe/Paris",
		"items": []any{map[string]any{"contentId": img, "durationSeconds": 30}}}})
	pl := id(t, created, "createPlaylist")
	if p := created.Data["createPlaylist"].(map[string]any); p["timezone"] != "Europe/Paris" || p["items"].([]any)[0].(map[string]any)["durationSeconds"] != float64(30) {
		t.Fatalf("created playlist: %s", created.Raw)
	}
	if r := w.post(w.admin, assignPlaylist, map[string]any{"id": pl, "target": map[string]any{"locationIds": []string{"l1"}}}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("location target: %s", r.Raw)
	}
	as := w.post(w.admin, assignPlaylist, map[string]any{"id": pl, "target": map[string]any{"roomIds": []string{w.roomID}}})
	if as.code() != "" || as.Data["assignPlaylist"].([]any)[0].(map[string]any)["room"].(map[string]any)["screen"].(map[string]any)["playlist"].(map[string]any)["name"] != "Lobby" {
		t.Fatalf("assign: %s", as.Raw)
	}

	browser := browsertest.Start(t)
	page := browser.NewPage()
	page.Navigate(w.url + w.path)
	if _, got, err := page.WaitString(`document.body.getAttribute('data-now-playing') + ' ' + (document.querySelector('#stage img') || {}).naturalWidth`,
		img+" 2", 10*time.Second); err != nil {
		t.Fatalf("screen shows %q: %v\n%s", got, err, strings.Join(browser.Logs(), "\n"))
	}
	if _, got, err := page.WaitString(`document.body.getAttribute('data-stream')`, "open", 10*time.Second); err != nil {
		t.Fatalf("stream %q: %v", got, err)
	}

	// A playlist update shows within 2 s; the page really loads.
	if r := w.post(w.admin, updatePlaylist, map[string]any{"id": pl, "in": map[string]any{"name": "Lobby", "items": []any{map[string]any{"contentId": web}}}}); r.code() != "" {
		t.Fatalf("update: %s", r.Raw)
	}
	took, got, err := page.WaitString(`document.body.getAttribute('data-now-playing') + ' ' + document.querySelector('#stage .item').tagName`, web+" IFRAME", 2*time.Second)
	if err != nil {
		t.Fatalf("after the update the screen shows %q (%v): %v", got, took, err)
	}
	t.Logf("playlist change on screen %v after its commit", took)
	waitFor(t, "the browser to load the web page", func() bool { return loaded("/page.html") })

	// The player reported both showings: the image's ended, the page's is
	// what the room's screen plays now.
	plays := `query($room: ID!){plays(roomId: $room){edges{node{room{id name} content{id} broadcast{id} startedAt endedAt}}} room(id: $room){screen{nowPlaying{id}}}}`
	waitFor(t, "the plays of both items", func() bool {
		r := w.post(viewer, plays, map[string]any{"room": w.roomID})
		if r.code() != "" || r.Data["plays"] == nil {
			t.Fatalf("plays: %s", r.Raw)
		}
		edges, _ := r.Data["plays"].(map[string]any)["edges"].([]any)
		var imgEnded, webPlaying bool
		for _, e := range edges {
			n := e.(map[string]any)["node"].(map[string]any)
			c, _ := n["content"].(map[string]any)
			if c == nil || n["room"].(map[string]any)["id"] != w.roomID {
				continue
			}
			imgEnded = imgEnded || (c["id"] == img && n["endedAt"] != nil)
			webPlaying = webPlaying || (c["id"] == web && n["endedAt"] == nil)
		}
		now, _ := r.Data["room"].(map[string]any)["screen"].(map[string]any)["nowPlaying"].(map[string]any)
		return imgEnded && webPlaying && now != nil && now["id"] == web
	})

	// Content in use is not deleted; the refusal names the playlist.
	r := w.post(w.admin, `mutation($id: ID!){deleteContent(id: $id){id}}`, map[string]any{"id": web})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Raw, `\"Lobby\"`) {
		t.Fatalf("delete content in use: %s", r.Raw)
	}
	if r := w.post(w.admin, `mutation($id: ID!){deleteContent(id: $id){id}}`, map[string]any{"id": img}); r.code() != "" {
		t.Fatalf("delete unused content: %s", r.Raw)
	}
	lists := w.post(viewer, `{contents{totalCount edges{node{id}}} playlists{name roomCount}}`, nil)
	if lists.code() != "" || lists.Data["contents"].(map[string]any)["totalCount"] != float64(1) ||
		lists.Data["playlists"].([]any)[0].(map[string]any)["roomCount"] != float64(1) {
		t.Fatalf("lists: %s", lists.Raw)
	}

	// A schedule that excludes now (only tomorrow) leaves the screen idle.
	tomorrow := strings.ToUpper(time.Now().UTC().AddDate(0, 0, 1).Weekday().String()[:3])
	if r := w.post(w.admin, updatePlaylist, map[string]any{"id": pl, "in": map[string]any{"name": "Lobby", "timezone": "UTC",
		"items": []any{map[string]any{"contentId": web}}, "schedule": []any{map[string]any{"days": []string{tomorrow}, "start": "00:00", "end": "24:00"}}}}); r.code() != "" {
		t.Fatalf("schedule: %s", r.Raw)
	}
	if _, got, err := page.WaitString(`String(document.body.getAttribute('data-idle'))`, "true", 2*time.Second); err != nil {
		t.Fatalf("outside the schedule the screen shows %q: %v", got, err)
	}
	_, _, body := getScreen(t, w.url+w.path+"/program")
	if !strings.Contains(body, `"items":[]`) || !strings.Contains(body, `"validUntil":"`) {
		t.Fatalf("program outside the schedule: %s", body)
	}
	for _, line := range browser.Logs() {
		if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "exception") {
			t.Errorf("the player broke its CSP or threw: %s", line)
		}
	}
}

// TestScreenPlayReports: POST /screens/{token}/plays stores a batch of
// reports idempotently by the player's id (a repeat completes the end),
// refuses bad input with 400 writing nothing, drops ids that are not the
// tenant's, and answers 404 once the token is revoked.
func TestScreenPlayReports(t *testing.T) {
	w := newScreenWorld(t)
	img := id(t, w.post(w.admin, createContent, map[string]any{"in": map[string]any{"name": "Logo", "kind": "IMAGE", "url": "https://example.com/a.png"}}), "createContent")
	post := func(body string) (int, string) {
		t.Helper()
		resp, err := http.Post(w.url+w.path+"/plays", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	start := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	end := time.Now().UTC().Format(time.RFC3339)
	for name, body := range map[string]string{
		"not JSON":      `{`,
		"both ids":      `[{"id":"a","contentId":"` + img + `","broadcastId":"` + img + `","startedAt":"` + start + `"}]`,
		"no start":      `[{"id":"a","contentId":"` + img + `"}]`,
		"end before":    `[{"id":"a","contentId":"` + img + `","startedAt":"` + end + `","endedAt":"` + start + `"}]`,
		"good then bad": `[{"id":"ok","contentId":"` + img + `","startedAt":"` + start + `"},{"id":"","contentId":"` + img + `","startedAt":"` + start + `"}]`,
		"future":        `[{"id":"a","contentId":"` + img + `","startedAt":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}]`,
	} {
		if code, b := post(body); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM plays`); n != 0 {
		t.Fatalf("%d plays after refused reports", n)
	}
	other := "00000000-0000-4000-8000-000000000001"
	if code, b := post(`{"plays":[{"id":"p1","contentId":"` + img + `","startedAt":"` + start + `"},{"id":"p2","contentId":"` + other + `","startedAt":"` + start + `"}]}`); code != http.StatusOK || !strings.Contains(b, `"recorded":1`) {
		t.Fatalf("first report: %d %s", code, b)
	}
	// The same id again: its end is recorded, no second row.
	for range 2 {
		if code, b := post(`[{"id":"p1","contentId":"` + img + `","startedAt":"` + start + `","endedAt":"` + end + `"}]`); code != http.StatusOK {
			t.Fatalf("repeat: %d %s", code, b)
		}
	}
	if n := w.count(t, `SELECT count(*) FROM plays WHERE room_id = $1 AND ended_at IS NOT NULL`, w.roomID); n != 1 || w.count(t, `SELECT count(*) FROM plays`) != 1 {
		t.Fatalf("plays after repeats: %d ended", n)
	}
	w.post(w.admin, `mutation($ids: [ID!]!){deactivateSignage(roomIds: $ids){ok}}`, map[string]any{"ids": []string{w.roomID}})
	if code, b := post(`[]`); code != http.StatusNotFound || b != "404 page not found\n" {
		t.Fatalf("after deactivation: %d %q", code, b)
	}
}
