package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const restartMutation = `mutation($id: ID!){restartZoomRoom(roomId: $id){roomId acceptedAt}}`

// keyedResponse is one raw answer to a request sent with an
// Idempotency-Key.
type keyedResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r keyedResponse) code() string {
	var out gqlResponse
	_ = json.Unmarshal(r.body, &out)
	return out.code()
}

// postKeyed sends body to /graphql with credential and key as it is, so
// two calls send byte-identical requests.
func (g *gateway) postKeyed(credential, key string, body []byte) keyedResponse {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+credential)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Error(err)
		return keyedResponse{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return keyedResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

func restartBody(t *testing.T, roomID string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": restartMutation, "variables": map[string]any{"id": roomID}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// onlineRoom returns a room that accepts a restart: its id and Zoom id.
func onlineRoom(t *testing.T, w *zoomWorld, admin string) (string, string) {
	t.Helper()
	for _, n := range nodes(t, w.post(admin, roomsPage, nil)) {
		if n["online"] == true {
			return n["id"].(string), n["zoomRoomId"].(string)
		}
	}
	t.Fatal("no online room")
	return "", ""
}

func (w *zoomWorld) restarts(t *testing.T, zoomRoomID string) int {
	t.Helper()
	info, err := w.sim.RoomInfo(context.Background(), zoomRoomID)
	if err != nil {
		t.Fatal(err)
	}
	return info.Restarts
}

// A retried restartZoomRoom under one Idempotency-Key restarts the room in
// Zoom once and answers the retry with the first answer's exact bytes; the
// same key with another body is refused, and another tenant's same key is
// its own.
func TestIdempotencyKeyReplaysMutations(t *testing.T) {
	w, _, admin, _ := roomsWorld(t, 3, nil)
	roomID, zoomRoomID := onlineRoom(t, w, admin)
	body := restartBody(t, roomID)

	first := w.postKeyed(admin, "key-1", body)
	if first.status != http.StatusOK || first.code() != "" || !strings.Contains(string(first.body), roomID) {
		t.Fatalf("first restart: %d %s", first.status, first.body)
	}
	time.Sleep(10 * time.Millisecond) // acceptedAt would differ if it ran again
	second := w.postKeyed(admin, "key-1", body)
	if second.status != first.status || !bytes.Equal(second.body, first.body) ||
		second.header.Get("Content-Type") != first.header.Get("Content-Type") {
		t.Fatalf("replay differs:\n%d %s\n%d %s", first.status, first.body, second.status, second.body)
	}
	if n := w.restarts(t, zoomRoomID); n != 1 {
		t.Fatalf("room restarted %d times, want 1", n)
	}
	if n := w.count(t, `SELECT count(*) FROM audit_events WHERE action = 'room.restart'`); n != 1 {
		t.Fatalf("%d restart audit events, want 1", n)
	}

	cases := []struct {
		name, key string
		body      []byte
		status    int
		code      string
	}{
		{"another body under a used key", "key-1", bytes.Replace(body, []byte("acceptedAt"), []byte("acceptedAt roomId"), 1), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED"},
		{"the same body reformatted is another request", "key-1", append(append([]byte{}, body...), ' '), http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED"},
		{"a key over the length limit", strings.Repeat("k", 256), body, http.StatusBadRequest, "BAD_USER_INPUT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.postKeyed(admin, tc.key, tc.body)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if n := w.restarts(t, zoomRoomID); n != 1 {
		t.Fatalf("refused requests restarted the room: %d restarts", n)
	}

	// A new key is a new request: it runs instead of replaying, and so
	// meets the restart throttle (one restart per room per minute).
	if r := w.postKeyed(admin, "key-2", body); r.status != http.StatusOK || r.code() != "RATE_LIMITED" {
		t.Fatalf("new key: %d %s", r.status, r.body)
	}
	if n := w.restarts(t, zoomRoomID); n != 1 {
		t.Fatalf("restarts after a new key = %d, want 1", n)
	}

	// Another tenant's "key-1" is its own: its request runs (and finds no
	// such room) instead of replaying Acme's answer or being refused.
	other := userJWT(t, w.tenant("Globex", 3), "admin", time.Hour)
	for range 2 {
		if r := w.postKeyed(other, "key-1", body); r.code() != "NOT_FOUND" {
			t.Fatalf("another tenant's key: %d %s", r.status, r.body)
		}
	}

	// A query with a key is not stored: queries are already safe to retry.
	before := w.count(t, `SELECT count(*) FROM idempotency_keys`)
	q, _ := json.Marshal(map[string]any{"query": `{rooms{totalCount}}`})
	if r := w.postKeyed(admin, "key-3", q); r.code() != "" {
		t.Fatalf("query with a key: %s", r.body)
	}
	if after := w.count(t, `SELECT count(*) FROM idempotency_keys`); after != before {
		t.Fatalf("a query stored a key: %d rows, want %d", after, before)
	}

	// A request still in progress under the key (its row claimed, no
	// response yet) makes a duplicate wait with Retry-After.
	held := restartBody(t, roomID+"x")
	sum := sha256.Sum256(held)
	if _, err := w.app.DB.Exec(context.Background(),
		`INSERT INTO idempotency_keys (tenant_id, key, fingerprint) SELECT tenant_id, 'key-held', $1 FROM rooms WHERE id = $2`, sum[:], roomID); err != nil {
		t.Fatal(err)
	}
	if r := w.postKeyed(admin, "key-held", held); r.status != http.StatusConflict || r.code() != "RATE_LIMITED" || r.header.Get("Retry-After") == "" {
		t.Fatalf("in progress: %d %v %s", r.status, r.header, r.body)
	}
}

// Duplicates sent at once restart the room once: one runs, the others get
// either its stored answer or RATE_LIMITED with Retry-After while it runs.
func TestIdempotencyKeyConcurrentDuplicates(t *testing.T) {
	w, _, admin, _ := roomsWorld(t, 2, nil)
	roomID, zoomRoomID := onlineRoom(t, w, admin)
	body := restartBody(t, roomID)
	const n = 8
	out := make([]keyedResponse, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = w.postKeyed(admin, "dup", body)
		}()
	}
	close(start)
	wg.Wait()
	var ok [][]byte
	for _, r := range out {
		switch {
		case r.status == http.StatusOK && r.code() == "":
			ok = append(ok, r.body)
		case r.status == http.StatusConflict && r.code() == "RATE_LIMITED" && r.header.Get("Retry-After") != "":
		default:
			t.Fatalf("duplicate answered %d %s", r.status, r.body)
		}
	}
	if len(ok) == 0 {
		t.Fatal("no duplicate succeeded")
	}
	for _, b := range ok[1:] {
		if !bytes.Equal(b, ok[0]) {
			t.Fatalf("successful duplicates differ: %s vs %s", b, ok[0])
		}
	}
	if got := w.restarts(t, zoomRoomID); got != 1 {
		t.Fatalf("room restarted %d times, want 1", got)
	}
}
