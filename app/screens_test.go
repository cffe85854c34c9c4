package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"zoomsignage/internal/testutil/browsertest"
)

const roomScreen = `query($id: ID!){room(id: $id){name signage{screenUrl} screen{url online lastSeenAt}}}`

// screenWorld is a connected tenant with activated signage on its first
// room, the screen's path on the test gateway and the room's name.
type screenWorld struct {
	*zoomWorld
	admin, roomID, roomName, screenURL, path string
}

func newScreenWorld(t *testing.T) *screenWorld {
	t.Helper()
	w, _, admin, _ := roomsWorld(t, 2, nil)
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
	return &screenWorld{zoomWorld: w, admin: admin, roomID: roomID, roomName: room["name"].(string), screenURL: screenURL,
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
