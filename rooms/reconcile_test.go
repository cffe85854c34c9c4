package rooms_test

import (
	"testing"

	"zoomsignage/rooms"
	"zoomsignage/zoom"
)

// TestReconcilerRepushesSignageZoomLost: an ACTIVE assignment whose signage
// Zoom no longer shows (switched off in Zoom, or our content list deleted
// there) is found by the next sync, audited, counted and pushed again;
// signage Zoom still shows is left alone.
func TestReconcilerRepushesSignageZoomLost(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.connect("acme", 2, 2)
	e.sync(tn)
	zid := tn.seed.RoomIDs[0]
	id := e.room(tn, zid).ID
	res, err := e.svc.Activate(e.ctx, tn.actor, []string{id}, rooms.Settings{})
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].Assignment.State != rooms.SignageActive {
		t.Fatalf("activate: %v %+v", err, res)
	}
	contentID := res[0].Assignment.ZoomContentID
	ac, err := e.conns.ZoomClient(e.ctx, tn.id, tn.connID)
	if err != nil {
		t.Fatal(err)
	}
	repairs := func() int {
		return scalar[int](t, e.db, `SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'signage.repaired' AND target_id = $2`, tn.id, id)
	}

	e.sync(tn)
	if n := repairs(); n != 0 || !e.signage(zid).shows(contentID) {
		t.Fatalf("signage Zoom still shows was repaired %d times", n)
	}
	for _, tc := range []struct {
		reason string
		lose   func() error
	}{
		{rooms.DriftDisabled, func() error {
			return ac.UpdateSignageSettings(e.ctx, zid, zoom.SignageSettings{EnableDigitalSignage: zoom.Bool(false)})
		}},
		{rooms.DriftContentGone, func() error {
			list := e.signage(zid).PlayList[0].ID
			return ac.UpdateSignageSettings(e.ctx, zid, zoom.SignageSettings{PlayList: []zoom.SignageContentList{{Action: zoom.ActionDelete, ID: list}}})
		}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			before, counted := repairs(), e.svc.Repairs(tc.reason)
			if err := tc.lose(); err != nil {
				t.Fatal(err)
			}
			if e.signage(zid).shows(contentID) {
				t.Fatal("the room still shows our signage after losing it")
			}
			e.sync(tn)
			if !e.signage(zid).shows(contentID) {
				t.Fatalf("after a sync Zoom shows %+v, want our content again", e.signage(zid))
			}
			if n := repairs(); n != before+1 || e.svc.Repairs(tc.reason) != counted+1 {
				t.Errorf("repairs audited %d (was %d), counted %v (was %v)", n, before, e.svc.Repairs(tc.reason), counted)
			}
			if st := scalar[string](t, e.db, `SELECT state FROM signage_assignments WHERE room_id = $1`, id); st != rooms.SignageActive {
				t.Errorf("assignment %s after the repair", st)
			}
		})
	}
}
