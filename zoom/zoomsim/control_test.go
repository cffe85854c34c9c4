package zoomsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"zoomsignage/zoom/zoomsim"
)

func controlCall(t *testing.T, srv *httptest.Server, method, path string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, _ := http.NewRequest(method, srv.URL+path, &body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func TestControlHTTP(t *testing.T) {
	sim := zoomsim.New(zoomsim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var seed zoomsim.Seeded
	if st := controlCall(t, srv, "POST", "/_sim/seed", zoomsim.SeedOptions{Rooms: 3, Plan: zoomsim.PlanFree}, &seed); st != 200 || seed.AccountID == "" || len(seed.RoomIDs) != 3 {
		t.Fatalf("seed: %d %+v", st, seed)
	}
	var rooms []zoomsim.Room
	if st := controlCall(t, srv, "POST", "/_sim/accounts/"+seed.AccountID+"/rooms", map[string]any{"count": 2}, &rooms); st != 200 || len(rooms) != 2 {
		t.Fatalf("add rooms: %d", st)
	}
	var room zoomsim.Room
	if st := controlCall(t, srv, "PATCH", "/_sim/rooms/"+seed.RoomIDs[0], map[string]any{"status": "Offline", "name": "Renamed", "signage_enabled": false}, &room); st != 200 ||
		room.Status != zoomsim.StatusOffline || room.Name != "Renamed" || room.SignageEnabled {
		t.Fatalf("update room: %d %+v", st, room)
	}
	tests := []struct {
		name, method, path string
		in                 any
		want               int
	}{
		{"bad status", "PATCH", "/_sim/rooms/" + seed.RoomIDs[0], map[string]any{"status": "Sleeping"}, 400},
		{"unknown room", "DELETE", "/_sim/rooms/nope", nil, 404},
		{"delete room", "DELETE", "/_sim/rooms/" + seed.RoomIDs[1], nil, 204},
		{"limits", "PUT", "/_sim/accounts/" + seed.AccountID + "/limits", map[string]any{"Medium": map[string]int{"per_second": 20}}, 204},
		{"restriction", "PUT", "/_sim/accounts/" + seed.AccountID + "/restriction", map[string]any{"restriction": "no_subscription"}, 204},
		{"fault", "POST", "/_sim/faults", map[string]any{"route": "GET /rooms", "status": 500, "latency_ms": 1}, 200},
		{"clear faults", "DELETE", "/_sim/faults", nil, 204},
		{"expire", "POST", "/_sim/tokens/expire", map[string]any{}, 204},
		{"revoke", "POST", "/_sim/apps/" + seed.Server.ClientID + "/revoke", map[string]any{"account_id": seed.AccountID}, 200},
		{"duplicate account", "POST", "/_sim/accounts", map[string]any{"account_id": seed.AccountID}, 409},
		{"authorize", "POST", "/_sim/authorize", map[string]any{"client_id": seed.Marketplace.ClientID, "redirect_uri": "https://x.example/cb", "user_id": seed.Admin.ID}, 200},
		{"authorize bad client", "POST", "/_sim/authorize", map[string]any{"client_id": "nope", "redirect_uri": "https://x.example/cb"}, 400},
		{"calls", "GET", "/_sim/calls?account_id=" + seed.AccountID, nil, 200},
		{"token calls", "GET", "/_sim/token-calls", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st := controlCall(t, srv, tt.method, tt.path, tt.in, nil); st != tt.want {
				t.Fatalf("status %d, want %d", st, tt.want)
			}
		})
	}
	got, _ := sim.Rooms(context.Background(), seed.AccountID)
	if len(got) != 4 {
		t.Fatalf("rooms = %d, want 4", len(got))
	}
}

func TestBulkRooms(t *testing.T) {
	sim := zoomsim.New(zoomsim.Options{})
	acc, err := sim.CreateAccount(context.Background(), zoomsim.Account{})
	if err != nil {
		t.Fatal(err)
	}
	rooms, err := sim.GenerateRooms(context.Background(), acc.ID, 10_000)
	if err != nil || len(rooms) != 10_000 {
		t.Fatalf("generated %d: %v", len(rooms), err)
	}
	ids := map[string]bool{}
	for _, r := range rooms {
		ids[r.ID] = true
	}
	if len(ids) != 10_000 {
		t.Fatalf("duplicate ids")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, zoomsim.Options{DisableRateLimits: true}, zoomsim.SeedOptions{Rooms: 50})
	tok := e.s2sToken()
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			st := []zoomsim.RoomStatus{zoomsim.StatusAvailable, zoomsim.StatusOffline}[i%2]
			e.sim.SetRoomStatus(ctx, e.seed.RoomIDs[i], st)
			e.sim.AddRooms(ctx, e.seed.AccountID, []zoomsim.Room{{}})
		}
	}()
	for range 30 {
		if status, _, _ := e.call(tok, "GET", "/rooms?page_size=300", nil); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	<-done
}
