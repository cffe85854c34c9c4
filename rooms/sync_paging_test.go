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

// loopingList makes Zoom's room list never end: every list answer carries
// next_page_token "loop", and a request for page "loop" is served as the
// first page again.
type loopingList struct{ next http.RoundTripper }

func (l *loopingList) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/rooms") {
		return l.next.RoundTrip(r)
	}
	q := r.URL.Query()
	if q.Get("next_page_token") == "loop" {
		q.Del("next_page_token")
		r = r.Clone(r.Context())
		r.URL.RawQuery = q.Encode()
	}
	resp, err := l.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	body["next_page_token"] = "loop"
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

// A room list whose next_page_token repeats fails the sync (it would page
// forever) and removes nothing.
func TestSyncStopsAtARepeatedPageToken(t *testing.T) {
	var loop atomic.Bool
	e := newEnv(t, envOptions{wrap: func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if loop.Load() {
				return (&loopingList{next: next}).RoundTrip(r)
			}
			return next.RoundTrip(r)
		})
	}})
	tn := e.connect("acme", 3, 0)
	e.sync(tn)
	loop.Store(true)
	run, err := e.svc.Sync(e.ctx, tn.id, tn.connID, "manual")
	if err == nil || run.State != rooms.SyncFailed || run.Error == "" {
		t.Fatalf("sync of a looping list: %v %+v", err, run)
	}
	if run.ZoomCalls != 2 {
		t.Fatalf("%d list calls, want 2 (the repeat is seen at once)", run.ZoomCalls)
	}
	if n := len(e.rooms(tn)); n != 3 {
		t.Fatalf("%d rooms left, want 3", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
