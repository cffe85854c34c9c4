package zoom_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"zoomsignage/zoom"
	"zoomsignage/zoom/zoomsim"
)

// TestTypedCalls runs every endpoint of zoom-api.md through the client
// against the simulator, with both token-source kinds, and checks the typed
// results against the simulator's state.
func TestTypedCalls(t *testing.T) {
	for _, kind := range []zoom.ConnectionKind{zoom.KindServerApp, zoom.KindMarketplace} {
		t.Run(string(kind), func(t *testing.T) {
			e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 650}, sim: zoomsim.Options{DisableRateLimits: true}})
			c, _ := e.newClient(nil)
			var ref zoom.ConnectionRef
			if kind == zoom.KindServerApp {
				ref = e.serverApp()
			} else {
				ref, _ = e.marketplace(c)
			}
			api := c.For(e.account(c, ref, kind))
			ctx := context.Background()
			simRooms, err := e.sim.Rooms(ctx, e.seed.AccountID)
			if err != nil {
				t.Fatal(err)
			}

			t.Run("ListRooms pages 300 at a time", func(t *testing.T) {
				rooms, err := api.ListRooms(ctx, zoom.RoomFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if len(rooms) != len(simRooms) {
					t.Fatalf("got %d rooms, want %d", len(rooms), len(simRooms))
				}
				for i, r := range rooms {
					if r.ID != simRooms[i].ID || r.RoomID != simRooms[i].RoomID || string(r.Status) != string(simRooms[i].Status) || r.Name != simRooms[i].Name {
						t.Fatalf("room %d = %+v, want %+v", i, r, simRooms[i])
					}
				}
				if got := e.calls(zoomsim.RouteListRooms); got != 3 {
					t.Fatalf("list calls = %d, want 3 (ceil(650/300))", got)
				}
			})
			t.Run("ListRooms filter", func(t *testing.T) {
				rooms, err := api.ListRooms(ctx, zoom.RoomFilter{Status: zoom.RoomOffline})
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				for _, r := range simRooms {
					if r.Status == zoomsim.StatusOffline {
						want++
					}
				}
				if len(rooms) != want || want == 0 {
					t.Fatalf("got %d offline rooms, want %d", len(rooms), want)
				}
			})
			room := simRooms[0]
			t.Run("GetRoom", func(t *testing.T) {
				p, err := api.GetRoom(ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if p.Basic.Name != room.Name || p.Basic.ActivationCode != room.ActivationCode {
					t.Fatalf("profile %+v does not match room %+v", p.Basic, room)
				}
			})
			t.Run("GetRoom not found", func(t *testing.T) {
				_, err := api.GetRoom(ctx, "no-such-room")
				if !zoom.IsNotFound(err) {
					t.Fatalf("err = %v, want not found", err)
				}
				var ze *zoom.Error
				if !errors.As(err, &ze) || ze.HTTPStatus != 404 || ze.Code != zoom.CodeRoomNotFound {
					t.Fatalf("err = %#v, want *zoom.Error 404/1012", err)
				}
			})
			t.Run("ListDevices", func(t *testing.T) {
				devs, err := api.ListDevices(ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(devs) != len(room.Devices) || len(devs) == 0 {
					t.Fatalf("got %d devices, want %d", len(devs), len(room.Devices))
				}
				if devs[0].ID != room.Devices[0].ID || devs[0].DeviceType != room.Devices[0].DeviceType {
					t.Fatalf("device %+v, want %+v", devs[0], room.Devices[0])
				}
			})
			var contentID string
			t.Run("AddSignageURL", func(t *testing.T) {
				contentID, err = api.AddSignageURL(ctx, zoom.SignageURL{Name: "Lobby screen", URL: "https://signage.example/s/abc"})
				if err != nil {
					t.Fatal(err)
				}
				if lib := e.sim.LibraryContents(e.seed.AccountID); !contains(lib, contentID) {
					t.Fatalf("content %q not in library %v", contentID, lib)
				}
			})
			t.Run("UpdateSignageSettings and GetSignageSettings", func(t *testing.T) {
				before, err := api.GetSignageSettings(ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if before.EnableDigitalSignage != nil && *before.EnableDigitalSignage {
					t.Fatalf("signage enabled before the PATCH: %+v", before)
				}
				err = api.UpdateSignageSettings(ctx, room.ID, zoom.SignageSettings{
					EnableDigitalSignage: zoom.Bool(true), Layout: zoom.LayoutStandard, Mute: zoom.Bool(true),
					DisplayPeriod: &zoom.SignageDisplayTimes{StartDisplayingContent: zoom.Int(5), StopDisplayingContent: zoom.Int(10)},
					PlayList: []zoom.SignageContentList{{Action: zoom.ActionAdd, Name: "zoomsignage",
						Contents: []zoom.SignageContent{{Action: zoom.ActionAdd, ContentID: contentID, Duration: 30, Order: 1}}}},
				})
				if err != nil {
					t.Fatal(err)
				}
				after, err := api.GetSignageSettings(ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.EnableDigitalSignage == nil || !*after.EnableDigitalSignage || after.Mute == nil || !*after.Mute ||
					len(after.PlayList) != 1 || len(after.PlayList[0].Contents) != 1 || after.PlayList[0].Contents[0].ContentID != contentID {
					raw, _ := json.Marshal(after)
					t.Fatalf("settings after PATCH = %s", raw)
				}
			})
			t.Run("UpdateSignageSettings signage disabled", func(t *testing.T) {
				if err := e.sim.SetSignageEnabled(ctx, simRooms[1].ID, false); err != nil {
					t.Fatal(err)
				}
				err := api.UpdateSignageSettings(ctx, simRooms[1].ID, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(true)})
				if !zoom.IsSignageDisabled(err) {
					t.Fatalf("err = %v, want signage disabled", err)
				}
			})
			t.Run("RestartRoom", func(t *testing.T) {
				if err := api.RestartRoom(ctx, room.ID); err != nil {
					t.Fatal(err)
				}
				info, err := e.sim.RoomInfo(ctx, room.ID)
				if err != nil {
					t.Fatal(err)
				}
				if info.Restarts != 1 {
					t.Fatalf("restarts = %d, want 1", info.Restarts)
				}
			})
			t.Run("RestartRoom offline", func(t *testing.T) {
				var offline string
				for _, r := range simRooms {
					if r.Status == zoomsim.StatusOffline {
						offline = r.ID
						break
					}
				}
				err := api.RestartRoom(ctx, offline)
				if !zoom.IsRoomOffline(err) {
					t.Fatalf("err = %v, want room offline", err)
				}
			})
			t.Run("DeleteSignageContent", func(t *testing.T) {
				if err := api.DeleteSignageContent(ctx, contentID); err != nil {
					t.Fatal(err)
				}
				if lib := e.sim.LibraryContents(e.seed.AccountID); contains(lib, contentID) {
					t.Fatalf("content %q still in library %v", contentID, lib)
				}
				if err := api.DeleteSignageContent(ctx, contentID); !zoom.IsNotFound(err) {
					t.Fatalf("second delete: err = %v, want not found", err)
				}
			})
			t.Run("Me", func(t *testing.T) {
				u, err := api.Me(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if u.AccountID != e.seed.AccountID || u.ID == "" {
					t.Fatalf("me = %+v", u)
				}
				if kind == zoom.KindMarketplace && u.ID != e.seed.Admin.ID {
					t.Fatalf("me = %q, want the installing admin %q", u.ID, e.seed.Admin.ID)
				}
			})
			t.Run("RaiseEmergencyAlert and RemoveEmergencyAlert batch 10 ids a call", func(t *testing.T) {
				var ids []string
				for _, r := range simRooms[10:33] {
					ids = append(ids, r.ID)
				}
				before := e.calls(zoomsim.RouteEmergency)
				done, err := api.RaiseEmergencyAlert(ctx, zoom.AlertTargetRoom, ids, "Evacuate now")
				if err != nil || len(done) != len(ids) {
					t.Fatalf("raise: done %d of %d, err = %v", len(done), len(ids), err)
				}
				if got := e.calls(zoomsim.RouteEmergency) - before; got != 3 {
					t.Fatalf("raise calls = %d, want 3 (ceil(23/10))", got)
				}
				shown, err := e.sim.EmergencyAlerts(ctx, e.seed.AccountID)
				if err != nil {
					t.Fatal(err)
				}
				if len(shown) != len(ids) || shown[ids[22]] != "Evacuate now" {
					t.Fatalf("alerts shown = %v, want the 23 rooms", shown)
				}
				done, err = api.RemoveEmergencyAlert(ctx, zoom.AlertTargetRoom, ids)
				if err != nil || len(done) != len(ids) {
					t.Fatalf("remove: done %d, err = %v", len(done), err)
				}
				if shown, _ := e.sim.EmergencyAlerts(ctx, e.seed.AccountID); len(shown) != 0 {
					t.Fatalf("alerts after removal = %v", shown)
				}
			})
			t.Run("RaiseEmergencyAlert account target and a bad batch", func(t *testing.T) {
				done, err := api.RaiseEmergencyAlert(ctx, zoom.AlertTargetAccount, []string{e.seed.AccountID}, "Shelter in place")
				if err != nil || len(done) != 1 {
					t.Fatalf("raise account: done %v, err = %v", done, err)
				}
				if shown, _ := e.sim.EmergencyAlerts(ctx, e.seed.AccountID); len(shown) != len(simRooms) {
					t.Fatalf("alerts shown in %d rooms, want all %d", len(shown), len(simRooms))
				}
				// The first batch names an unknown room: Zoom refuses it
				// with code 300 and the second batch still goes through.
				ids := []string{"no-such-room"}
				for _, r := range simRooms[:10] {
					ids = append(ids, r.ID)
				}
				done, err = api.RemoveEmergencyAlert(ctx, zoom.AlertTargetRoom, ids)
				var ze *zoom.Error
				if !errors.As(err, &ze) || ze.HTTPStatus != 400 || ze.Code != 300 {
					t.Fatalf("err = %#v, want *zoom.Error 400/300", err)
				}
				if len(done) != 1 || done[0] != simRooms[9].ID {
					t.Fatalf("done = %v, want the second batch's one room", done)
				}
				if _, err := api.RemoveEmergencyAlert(ctx, zoom.AlertTargetAccount, []string{e.seed.AccountID}); err != nil {
					t.Fatal(err)
				}
				if shown, _ := e.sim.EmergencyAlerts(ctx, e.seed.AccountID); len(shown) != 0 {
					t.Fatalf("alerts after account removal: %d", len(shown))
				}
			})
			t.Run("no subscription", func(t *testing.T) {
				if err := e.sim.SetRestriction(ctx, e.seed.AccountID, zoomsim.RestrictionNoSubscription); err != nil {
					t.Fatal(err)
				}
				defer e.sim.SetRestriction(ctx, e.seed.AccountID, zoomsim.RestrictionNone)
				_, err := api.ListDevices(ctx, simRooms[2].ID)
				if !errors.Is(err, zoom.ErrNoSubscription) {
					t.Fatalf("err = %v, want no subscription", err)
				}
			})
		})
	}
}

// TestStaticServerAppCredentials validates credentials that are not stored
// yet (the connect flow), including a wrong secret.
func TestStaticServerAppCredentials(t *testing.T) {
	e := newEnv(t, envOptions{seed: zoomsim.SeedOptions{Rooms: 3}, sim: zoomsim.Options{DisableRateLimits: true}})
	c, _ := e.newClient(nil)
	ctx := context.Background()
	tests := []struct {
		name    string
		secret  string
		wantErr error
	}{
		{"good secret", e.seed.Server.ClientSecret, nil},
		{"wrong secret", "not-the-secret", zoom.ErrCredentialsRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := c.StaticServerAppCredentials(e.seed.AccountID, zoom.AppCredentials{ClientID: e.seed.Server.ClientID, ClientSecret: tt.secret})
			api := c.For(zoom.Account{ZoomAccountID: e.seed.AccountID, Tokens: src, NoCache: true})
			page, err := api.ListRoomsPage(ctx, zoom.RoomFilter{}, "")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("error %q shows the secret", err)
				}
				return
			}
			if err != nil || len(page.Rooms) != 3 {
				t.Fatalf("page = %+v, err = %v", page, err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
