package zoomsim

import (
	"context"
	"net/http"
	"slices"
)

// Methods and target types of PATCH /rooms/events (manageE911signage).
const (
	MethodEmergencyAlertDisplayed = "zoomroom.emergency_alert_displayed"
	MethodEmergencyAlertRemoved   = "zoomroom.emergency_alert_removed"
	// EmergencyAlertScope is the operation's granular scope.
	EmergencyAlertScope = "zoom_rooms:update:room_controls:admin"
)

func alertTargetTypes() []string { return []string{"account", "location", "room"} }

// handleEmergencyAlert serves PATCH /v2/rooms/events: it shows or removes
// the E911 alert text on the digital signage of the targeted rooms (the
// account, a location's rooms or rooms by Room.ID). Removal needs the
// event id or force_remove; the simulator gives out no event ids (Zoom's
// display call answers no body), so only force_remove removes. Every
// target id must exist in the caller's account for its type (400 code
// 300 otherwise), and nothing changes unless all of them do.
func (s *Sim) handleEmergencyAlert(w http.ResponseWriter, r *http.Request, c *caller) {
	var body struct {
		Method *string `json:"method"`
		Params *struct {
			Content     *string  `json:"content"`
			TargetIDs   []string `json:"target_ids"`
			TargetType  *string  `json:"target_type"`
			EventID     *string  `json:"event_id"`
			ForceRemove *bool    `json:"force_remove"`
		} `json:"params"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	if body.Method == nil || (*body.Method != MethodEmergencyAlertDisplayed && *body.Method != MethodEmergencyAlertRemoved) {
		writeError(w, errInvalid("Invalid parameters.", FieldError{"method", "Unknown or missing method."}))
		return
	}
	p := body.Params
	if p == nil || p.TargetType == nil || !slices.Contains(alertTargetTypes(), *p.TargetType) {
		writeError(w, errInvalid("Invalid parameters.", FieldError{"params.target_type", "Must be account, location or room."}))
		return
	}
	if len(p.TargetIDs) < 1 || len(p.TargetIDs) > 10 {
		writeError(w, errInvalid("Invalid parameters.", FieldError{"params.target_ids", "Provide 1 to 10 target ids."}))
		return
	}
	remove := *body.Method == MethodEmergencyAlertRemoved
	if remove && (p.ForceRemove == nil || !*p.ForceRemove) {
		// No event id the simulator gave out can match: it gives out none.
		writeError(w, errInvalid("Event id is required."))
		return
	}
	content := ""
	if p.Content != nil {
		content = *p.Content
	}
	if !remove && content == "" {
		writeError(w, errInvalid("Invalid parameters.", FieldError{"params.content", "Provide the content to be displayed."}))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[c.accountID]
	if !ok {
		writeError(w, errInvalid("Invalid value submitted for Target Ids. Provide a valid Target Id associated with the Target type."))
		return
	}
	var targets []*room
	for _, id := range p.TargetIDs {
		matched := a.alertTargets(*p.TargetType, id)
		if matched == nil {
			writeError(w, errInvalid("Invalid value submitted for Target Ids. Provide a valid Target Id associated with the Target type."))
			return
		}
		targets = append(targets, matched...)
	}
	for _, rm := range targets {
		if remove {
			rm.emergencyAlert = nil
		} else {
			rm.emergencyAlert = &content
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// alertTargets returns the rooms a target id names, nil when the id names
// nothing of its type (an empty location is a valid target: a non-nil
// empty slice).
func (a *account) alertTargets(typ, id string) []*room {
	switch typ {
	case "account":
		if id != a.ID {
			return nil
		}
		return append([]*room{}, a.rooms...)
	case "location":
		out := []*room{}
		found := false
		for _, rm := range a.rooms {
			if rm.LocationID == id {
				found = true
				out = append(out, rm)
			}
		}
		if !found {
			return nil
		}
		return out
	default:
		for _, rm := range a.rooms {
			if rm.ID == id {
				return []*room{rm}
			}
		}
		return nil
	}
}

// EmergencyAlerts returns the E911 alert text each room of the account
// shows, by Room.ID (rooms showing none are absent), for tests to see what
// PATCH /rooms/events did.
func (s *Sim) EmergencyAlerts(ctx context.Context, accountID string) (map[string]string, error) {
	if err := ctxDone(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, err := s.lookupAccount(accountID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, rm := range a.rooms {
		if rm.emergencyAlert != nil {
			out[rm.ID] = *rm.emergencyAlert
		}
	}
	return out, nil
}
