package rooms_test

import (
	"testing"

	"zoomsignage/rooms"
)

// A push whose PATCH reached Zoom but whose outcome was not recorded (the
// answer was lost, the list id unknown) is retried from whatever state it
// was left in; the retry finds the list already holding our item instead
// of adding a second one.
func TestRepushAfterAnUnrecordedPatchAddsNoSecondList(t *testing.T) {
	for _, state := range []string{rooms.SignageFailed, rooms.SignagePending} {
		t.Run(state, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tn := e.connect("acme", 1, 1)
			e.sync(tn)
			zid := tn.seed.RoomIDs[0]
			id := e.room(tn, zid).ID
			res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
			if err != nil || res[0].Err != nil {
				t.Fatalf("activate: %v %+v", err, res)
			}
			if _, err := e.db.Exec(e.ctx, `UPDATE signage_assignments SET state = $2, zoom_content_list_id = NULL
WHERE room_id = $1`, id, state); err != nil {
				t.Fatal(err)
			}
			again, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
			if err != nil || again[0].Err != nil || again[0].Assignment.State != rooms.SignageActive {
				t.Fatalf("re-push: %v %+v", err, again)
			}
			s := e.signage(zid)
			if !s.shows(res[0].Assignment.ZoomContentID) {
				t.Fatalf("Zoom's settings = %+v, want one list with our item", s)
			}
			if again[0].Assignment.ContentListID != s.PlayList[0].ID {
				t.Fatalf("list id %q, Zoom's %q", again[0].Assignment.ContentListID, s.PlayList[0].ID)
			}
		})
	}
}
