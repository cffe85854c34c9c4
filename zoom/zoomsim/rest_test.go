package zoomsim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"zoomsignage/zoom/zoomsim"
)

func TestRESTListRoomsPaging(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1000, Plan: zoomsim.PlanBusiness})
	tok := e.s2sToken()
	seen := map[string]bool{}
	next, pages := "", 0
	for {
		path := "/rooms?page_size=300"
		if next != "" {
			path += "&next_page_token=" + next
		}
		status, body, _ := e.call(tok, "GET", path, nil)
		if status != 200 {
			t.Fatalf("status %d: %v", status, body)
		}
		pages++
		for _, r := range body["rooms"].([]any) {
			id := r.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("room %s served twice", id)
			}
			seen[id] = true
		}
		next, _ = body["next_page_token"].(string)
		if next == "" {
			break
		}
	}
	if pages != 4 || len(seen) != 1000 {
		t.Fatalf("pages = %d, rooms = %d; want 4, 1000", pages, len(seen))
	}
}

func TestRESTListRoomsQuery(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 30, Plan: zoomsim.PlanBusiness})
	tok := e.s2sToken()
	tests := []struct {
		query      string
		wantStatus int
		wantRooms  int
	}{
		{"", 200, 30},
		{"?status=Offline", 200, 10},
		{"?status=InMeeting&page_size=300", 200, 10},
		{"?type=ZoomRoom", 200, 30},
		{"?type=Kiosk", 200, 0},
		{"?location_id=loc1", 200, 8},
		{"?query_name=room%2000001", 200, 1},
		{"?unassigned_rooms=true", 200, 30},
		{"?page_size=10", 200, 10},
		{"?page_size=300", 200, 30},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body, _ := e.call(tok, "GET", "/rooms"+tt.query, nil)
			if status != tt.wantStatus {
				t.Fatalf("status = %d: %v", status, body)
			}
			if got := len(body["rooms"].([]any)); got != tt.wantRooms {
				t.Fatalf("rooms = %d, want %d", got, tt.wantRooms)
			}
		})
	}
	bad := []string{"?page_size=301", "?page_size=0", "?page_size=abc", "?next_page_token=forged"}
	for _, q := range bad {
		t.Run("bad"+q, func(t *testing.T) {
			status, body := e.rawCall(tok, "GET", "/rooms"+q, "")
			wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
		})
	}
}

func TestRESTPageTokenExpires(t *testing.T) {
	e := newEnv(t, zoomsim.Options{AccessTokenTTL: 24 * time.Hour}, zoomsim.SeedOptions{Rooms: 20})
	tok := e.s2sToken()
	_, body, _ := e.call(tok, "GET", "/rooms?page_size=5", nil)
	next := body["next_page_token"].(string)
	e.clock.Advance(14 * time.Minute)
	if status, _, _ := e.call(tok, "GET", "/rooms?page_size=5&next_page_token="+next, nil); status != 200 {
		t.Fatalf("token rejected before 15 minutes: %d", status)
	}
	e.clock.Advance(2 * time.Minute)
	status, body, _ := e.call(tok, "GET", "/rooms?page_size=5&next_page_token="+next, nil)
	wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
	// A token is bound to its filters.
	_, body, _ = e.call(tok, "GET", "/rooms?page_size=5", nil)
	status, body, _ = e.call(tok, "GET", "/rooms?page_size=5&status=Offline&next_page_token="+body["next_page_token"].(string), nil)
	wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
}

func TestRESTRoomAndDevices(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 3})
	tok := e.s2sToken()
	id := e.seed.RoomIDs[0]
	status, body, _ := e.call(tok, "GET", "/rooms/"+id, nil)
	if status != 200 || body["basic"].(map[string]any)["name"] != "Room 00001" {
		t.Fatalf("room: %d %v", status, body)
	}
	status, body, _ = e.call(tok, "GET", "/rooms/"+id+"/devices", nil)
	if status != 200 || len(body["devices"].([]any)) != 2 {
		t.Fatalf("devices: %d %v", status, body)
	}
	if err := e.sim.SetRoomDevices(context.Background(), id, []zoomsim.Device{{ID: "d1", DeviceType: zoomsim.DeviceController, Status: zoomsim.DeviceOffline}}); err != nil {
		t.Fatal(err)
	}
	_, body, _ = e.call(tok, "GET", "/rooms/"+id+"/devices", nil)
	if d := body["devices"].([]any); len(d) != 1 || d[0].(map[string]any)["status"] != "Offline" {
		t.Fatalf("devices after update: %v", body)
	}
	info, _ := e.sim.RoomInfo(context.Background(), id)
	status, body, _ = e.call(tok, "GET", "/rooms/"+info.RoomID, nil)
	wantZoomError(t, status, body, 404, zoomsim.CodeRoomNotFound)
	if err := e.sim.DeleteRoom(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	status, body, _ = e.call(tok, "GET", "/rooms/"+id, nil)
	wantZoomError(t, status, body, 404, zoomsim.CodeRoomNotFound)
	_, body, _ = e.call(tok, "GET", "/rooms", nil)
	if n := len(body["rooms"].([]any)); n != 2 {
		t.Fatalf("rooms after delete = %d", n)
	}
}

func TestRESTRoomOfOtherAccountIsNotFound(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	other, err := e.sim.Seed(context.Background(), zoomsim.SeedOptions{Rooms: 1})
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ := e.call(e.s2sToken(), "GET", "/rooms/"+other.RoomIDs[0], nil)
	wantZoomError(t, status, body, 404, zoomsim.CodeRoomNotFound)
}

func TestRESTSignageFlow(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 2})
	tok := e.s2sToken()
	status, body, _ := e.call(tok, "POST", "/rooms/content/digital_signage/contents", map[string]any{"content_name": "Lobby", "content_url": "https://signage.example.com/s/1"})
	if status != 201 {
		t.Fatalf("add content: %d %v", status, body)
	}
	cid := body["content_id"].(string)
	if status, body, _ = e.call(tok, "GET", "/rooms/content/digital_signage/contents/"+cid, nil); status != 200 || body["content_url"] != "https://signage.example.com/s/1" {
		t.Fatalf("get content: %d %v", status, body)
	}
	if status, body, _ = e.call(tok, "GET", "/rooms/content/digital_signage/contents?page_size=10", nil); status != 200 || len(body["contents"].([]any)) != 1 {
		t.Fatalf("list contents: %d %v", status, body)
	}
	room := e.seed.RoomIDs[0]
	patch := map[string]any{"digital_signage": map[string]any{
		"enable_digital_signage": true, "layout": "video_content", "mute": true,
		"display_period": map[string]any{"start_displaying_content": 5, "stop_displaying_content": 10},
		"play_list":      []any{map[string]any{"action": "add", "name": "ours", "contents": []any{map[string]any{"content_id": cid, "duration": 30}}}},
	}}
	if status, body, _ = e.call(tok, "PATCH", "/rooms/"+room+"/settings?setting_type=signage", patch); status != 204 {
		t.Fatalf("patch: %d %v", status, body)
	}
	status, body, _ = e.call(tok, "GET", "/rooms/"+room+"/settings?setting_type=signage", nil)
	ds := body["digital_signage"].(map[string]any)
	if status != 200 || ds["enable_digital_signage"] != true || ds["layout"] != "video_content" || len(ds["play_list"].([]any)) != 1 {
		t.Fatalf("get settings: %d %v", status, body)
	}
	// Disabled by the admin: PATCH refused with code 300.
	if err := e.sim.SetSignageEnabled(context.Background(), room, false); err != nil {
		t.Fatal(err)
	}
	status, body, _ = e.call(tok, "PATCH", "/rooms/"+room+"/settings?setting_type=signage", patch)
	wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
	if !strings.Contains(body["message"].(string), "not enabled") {
		t.Fatalf("message = %v", body["message"])
	}
	// Unknown content id.
	bad := map[string]any{"digital_signage": map[string]any{"play_list": []any{map[string]any{"action": "add", "contents": []any{map[string]any{"content_id": "nope"}}}}}}
	status, body, _ = e.call(tok, "PATCH", "/rooms/"+e.seed.RoomIDs[1]+"/settings?setting_type=signage", bad)
	wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
	// Delete the content: gone from the library and from room lists.
	if status, _, _ = e.call(tok, "DELETE", "/rooms/content/digital_signage/contents/"+cid+"?remove_from_library_only=false", nil); status != 204 {
		t.Fatalf("delete content: %d", status)
	}
	status, body, _ = e.call(tok, "GET", "/rooms/content/digital_signage/contents/"+cid, nil)
	wantZoomError(t, status, body, 404, zoomsim.CodeContentNotFound)
	status, body, _ = e.call(tok, "DELETE", "/rooms/content/digital_signage/contents/"+cid, nil)
	wantZoomError(t, status, body, 404, zoomsim.CodeContentNotFound)
}

func TestRESTForbiddenBodies(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	tok := e.s2sToken()
	room := e.seed.RoomIDs[0]
	tests := []struct{ name, method, path, body string }{
		{"settings wrong type", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `{"digital_signage":{"enable_digital_signage":"yes"}}`},
		{"settings bad action", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `{"digital_signage":{"play_list":[{"action":"zap"}]}}`},
		{"settings too many lists", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `{"digital_signage":{"play_list":[{},{},{}]}}`},
		{"settings too many contents", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `{"digital_signage":{"play_list":[{"contents":[{},{},{},{}]}]}}`},
		{"settings bad layout", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `{"digital_signage":{"layout":"mosaic"}}`},
		{"settings not json", "PATCH", "/rooms/" + room + "/settings?setting_type=signage", `nope`},
		{"content name number", "POST", "/rooms/content/digital_signage/contents", `{"content_name":5,"content_url":"https://x.example"}`},
		{"content no url", "POST", "/rooms/content/digital_signage/contents", `{"content_name":"n"}`},
		{"event unknown method", "PATCH", "/rooms/" + room + "/events", `{"method":"zoomroom.explode"}`},
		{"event no method", "PATCH", "/rooms/" + room + "/events", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.rawCall(tok, tt.method, tt.path, tt.body)
			wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
		})
	}
	status, body := e.rawCall(tok, "PATCH", "/rooms/"+room+"/settings?setting_type=signage", `{"digital_signage":{"enable_digital_signage":"yes"}}`)
	if errs, _ := body["errors"].([]any); status != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "digital_signage.enable_digital_signage" {
		t.Fatalf("errors = %v", body)
	}
}

func TestRESTRoomEvents(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 3})
	tok := e.s2sToken()
	online, offline := e.seed.RoomIDs[0], e.seed.RoomIDs[2] // statuses cycle Available, InMeeting, Offline
	status, body, _ := e.call(tok, "PATCH", "/rooms/"+online+"/events", map[string]any{"method": "zoomroom.restart"})
	if status != 202 {
		t.Fatalf("restart: %d %v", status, body)
	}
	if r, _ := e.sim.RoomInfo(context.Background(), online); r.Restarts != 1 {
		t.Fatalf("restarts = %d", r.Restarts)
	}
	status, body, _ = e.call(tok, "PATCH", "/rooms/"+offline+"/events", map[string]any{"method": "zoomroom.restart"})
	wantZoomError(t, status, body, 400, zoomsim.CodeInvalidParams)
	if body["message"] != "Zoom Room is offline" {
		t.Fatalf("message = %v", body["message"])
	}
	status, body, _ = e.call(tok, "PATCH", "/rooms/nope/events", map[string]any{"method": "zoomroom.restart"})
	wantZoomError(t, status, body, 404, zoomsim.CodeRoomNotFound)
}

func TestRESTUsersMe(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{})
	status, body, _ := e.call(e.s2sToken(), "GET", "/users/me", nil)
	if status != 200 || body["id"] != e.seed.Admin.ID || body["account_id"] != e.seed.AccountID {
		t.Fatalf("me: %d %v", status, body)
	}
}

func TestRESTAuthScopesRestriction(t *testing.T) {
	e := newEnv(t, zoomsim.Options{}, zoomsim.SeedOptions{Rooms: 1})
	ctx := context.Background()
	narrow, err := e.sim.CreateApp(ctx, zoomsim.App{AccountID: e.seed.AccountID, Scopes: []string{"zoom_rooms:read:list_rooms:admin"}})
	if err != nil {
		t.Fatal(err)
	}
	tokResp, _ := e.token(narrow, map[string][]string{"grant_type": {"account_credentials"}, "account_id": {e.seed.AccountID}})
	narrowTok := tokResp["access_token"].(string)
	full := e.s2sToken()
	room := e.seed.RoomIDs[0]

	tests := []struct {
		name       string
		tok, path  string
		wantStatus int
		wantCode   int
		wantInMsg  string
	}{
		{"no token", "", "/rooms", 401, zoomsim.CodeInvalidToken, ""},
		{"bad token", "garbage", "/rooms", 401, zoomsim.CodeInvalidToken, ""},
		{"missing scope devices", narrowTok, "/rooms/" + room + "/devices", 400, zoomsim.CodeMissingScope, "zoom_rooms:read:list_devices:admin"},
		{"missing scope settings", narrowTok, "/rooms/" + room + "/settings?setting_type=signage", 400, zoomsim.CodeMissingScope, "zoom_rooms:read:room_settings:admin"},
		{"missing scope me", narrowTok, "/users/me", 400, zoomsim.CodeMissingScope, "user:read:user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := e.call(tt.tok, "GET", tt.path, nil)
			wantZoomError(t, status, body, tt.wantStatus, tt.wantCode)
			if !strings.Contains(body["message"].(string), tt.wantInMsg) {
				t.Fatalf("message %q lacks %q", body["message"], tt.wantInMsg)
			}
		})
	}
	if status, _, _ := e.call(narrowTok, "GET", "/rooms", nil); status != 200 {
		t.Fatalf("granted scope refused: %d", status)
	}
	for _, r := range []zoomsim.Restriction{zoomsim.RestrictionNoSubscription, zoomsim.RestrictionAccess} {
		t.Run(fmt.Sprint("restriction ", r), func(t *testing.T) {
			if err := e.sim.SetRestriction(ctx, e.seed.AccountID, r); err != nil {
				t.Fatal(err)
			}
			status, body, _ := e.call(full, "GET", "/rooms", nil)
			wantZoomError(t, status, body, 400, zoomsim.CodeNoSubscription)
		})
	}
	e.sim.SetRestriction(ctx, e.seed.AccountID, zoomsim.RestrictionNone)
	if status, _, _ := e.call(full, "GET", "/rooms", nil); status != 200 {
		t.Fatalf("after clearing restriction: %d", status)
	}
	// Expiry by TTL and by control call.
	e.clock.Advance(time.Hour)
	status, body, _ := e.call(full, "GET", "/rooms", nil)
	wantZoomError(t, status, body, 401, zoomsim.CodeInvalidToken)
	fresh := e.s2sToken()
	if err := e.sim.ExpireTokens(ctx, ""); err != nil {
		t.Fatal(err)
	}
	status, body, _ = e.call(fresh, "GET", "/rooms", nil)
	wantZoomError(t, status, body, 401, zoomsim.CodeInvalidToken)
	if calls := e.sim.Calls(e.seed.AccountID); calls[zoomsim.RouteListRooms] < 4 {
		t.Fatalf("calls = %v", calls)
	}
}
