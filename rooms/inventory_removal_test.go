package rooms_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"zoomsignage/rooms"
)

// emptyList answers Zoom's room list with no rooms (a 200 that lost them).
type emptyList struct{ next http.RoundTripper }

func (l emptyList) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/rooms") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	body["rooms"], body["next_page_token"] = []any{}, ""
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

// A list that loses most of the rooms is not trusted at once: the run keeps
// them and says so, and only a second list that agrees removes them (with
// their signage and licenses). A removal of a few rooms is immediate.
func TestMassRemovalNeedsASecondList(t *testing.T) {
	tests := []struct {
		name            string
		rooms, deleted  int
		refusedFirst    bool
		activated       int // rooms with signage among the deleted ones
		wantRemovedLast int
	}{
		{"most rooms deleted", 20, 15, true, 2, 15},
		{"every room deleted", 3, 3, true, 1, 3},
		{"a few rooms deleted", 20, 9, false, 1, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tn := e.connect("acme", tc.rooms, tc.activated)
			e.sync(tn)
			var ids []string
			for _, zid := range tn.seed.RoomIDs[:tc.activated] {
				ids = append(ids, e.room(tn, zid).ID)
			}
			if res, err := e.svc.Activate(e.ctx, tn.actor, ids, rooms.Settings{}); err != nil || len(res) != tc.activated {
				t.Fatalf("activate: %v %+v", err, res)
			}
			for _, zid := range tn.seed.RoomIDs[:tc.deleted] {
				if err := e.sim.DeleteRoom(e.ctx, zid); err != nil {
					t.Fatal(err)
				}
			}
			first := e.sync(tn)
			if tc.refusedFirst {
				if first.RoomsRemoved != 0 || !strings.Contains(first.Error, "kept") || len(e.rooms(tn)) != tc.rooms {
					t.Fatalf("first sync after the shrink = %+v with %d rooms stored, want the rooms kept", first, len(e.rooms(tn)))
				}
				if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != tc.activated {
					t.Fatalf("licenses_used = %d after a refused removal, want %d", used, tc.activated)
				}
				first = e.sync(tn)
			}
			if first.RoomsRemoved != tc.wantRemovedLast || first.Error != "" || len(e.rooms(tn)) != tc.rooms-tc.deleted {
				t.Fatalf("confirming sync = %+v with %d rooms stored", first, len(e.rooms(tn)))
			}
			if used := scalar[int](t, e.db, `SELECT licenses_used FROM tenants WHERE id = $1`, tn.id); used != 0 {
				t.Fatalf("licenses_used = %d after the removal, want 0", used)
			}
		})
	}
}

// One empty answer between full ones removes nothing, and does not count
// as confirmation for a later empty answer.
func TestAnEmptyListGlitchRemovesNothing(t *testing.T) {
	var empty atomic.Bool
	e := newEnv(t, envOptions{wrap: func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if empty.Load() {
				return emptyList{next: next}.RoundTrip(r)
			}
			return next.RoundTrip(r)
		})
	}})
	tn := e.connect("acme", 12, 0)
	e.sync(tn)
	for i, glitch := range []bool{true, false, true} {
		empty.Store(glitch)
		run := e.sync(tn)
		if run.RoomsRemoved != 0 || (run.Error != "") != glitch {
			t.Fatalf("sync %d (empty list %v) = %+v", i, glitch, run)
		}
		if n := len(e.rooms(tn)); n != 12 {
			t.Fatalf("sync %d: %d rooms left, want 12", i, n)
		}
	}
}
