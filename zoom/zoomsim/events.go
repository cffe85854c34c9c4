package zoomsim

import (
	"net/http"
	"slices"
)

// roomMethods() are the methods PATCH /rooms/{id}/events accepts (the enum
// of the request body's oneOf branches).
func roomMethods() []string {
	return []string{
		"zoomroom.check_in", "zoomroom.check_out", "zoomroom.mute", "zoomroom.unmute",
		"zoomroom.meeting_accept", "zoomroom.meeting_decline", "zoomroom.restart",
		"zoomroom.meeting_leave", "zoomroom.meeting_join", "zoomroom.meeting_invite",
		"zoomroom.meeting_cancel", "zoomroom.meeting_end", "zoomroom.meeting_schedule",
		"zoomroom.thirdparty_meeting_join", "zoomroom.alarm_start", "zoomroom.alarm_stop",
		"zoomroom.video_mute", "zoomroom.video_unmute", "zoomroom.switch_camera",
		"zoomroom.switch_microphone", "zoomroom.switch_speaker", "zoomroom.share_content_start",
		"zoomroom.share_content_stop", "zoomroom.volume_level",
	}
}

// handleRoomEvents serves PATCH /v2/rooms/{id}/events. Only
// zoomroom.restart has an effect (it is counted in Room.Restarts); every
// valid method on an online room answers 202.
func (s *Sim) handleRoomEvents(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("id")
	var body struct {
		Method *string        `json:"method"`
		Params map[string]any `json:"params"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	if body.Method == nil || !slices.Contains(roomMethods(), *body.Method) {
		writeError(w, errInvalid("Invalid parameters.", FieldError{"method", "Unknown or missing method."}))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, ok := s.rooms[id]
	if !ok || rm.AccountID != c.accountID {
		writeError(w, &apiError{status: http.StatusNotFound, Code: CodeRoomNotFound, Message: "Room does not exist: " + id})
		return
	}
	if rm.Status == StatusOffline {
		writeError(w, errInvalid("Zoom Room is offline"))
		return
	}
	if *body.Method == "zoomroom.restart" {
		rm.Restarts++
	}
	w.WriteHeader(http.StatusAccepted)
}
