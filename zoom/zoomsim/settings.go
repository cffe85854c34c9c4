package zoomsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// signageSettings is a room's digital_signage settings as GET returns them.
type signageSettings struct {
	EnableDigitalSignage bool          `json:"enable_digital_signage"`
	Layout               string        `json:"layout"`
	Mute                 bool          `json:"mute"`
	Banner               banner        `json:"banner"`
	DisplayPeriod        displayPeriod `json:"display_period"`
	PlayList             []playList    `json:"play_list"`
}

type banner struct {
	BannerRoomName   bool `json:"banner_room_name"`
	BannerSharingKey bool `json:"banner_sharing_key"`
	BannerTime       bool `json:"banner_time"`
}

type displayPeriod struct {
	StartDisplayingContent int `json:"start_displaying_content"`
	StopDisplayingContent  int `json:"stop_displaying_content"`
}

type playList struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	StartTime string        `json:"start_time,omitempty"`
	EndTime   string        `json:"end_time,omitempty"`
	Contents  []playContent `json:"contents"`
}

type playContent struct {
	ID        string `json:"id"`
	ContentID string `json:"content_id"`
	Name      string `json:"name"`
	Duration  int    `json:"duration"`
	Order     int    `json:"order"`
}

func defaultSignage() signageSettings {
	return signageSettings{Layout: "standard", PlayList: []playList{}}
}

func (s signageSettings) clone() signageSettings {
	c := s
	c.PlayList = make([]playList, len(s.PlayList))
	for i, pl := range s.PlayList {
		pl.Contents = slices.Clone(pl.Contents)
		c.PlayList[i] = pl
	}
	return c
}

// SignageSettings is a room's stored digital_signage settings, encoded as
// GET /rooms/{id}/settings?setting_type=signage would return them.
func (s *Sim) SignageSettings(roomID string) (json.RawMessage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.rooms[roomID]
	if !ok {
		return nil, fmt.Errorf("%w: room %q", ErrNotFound, roomID)
	}
	return json.Marshal(r.signageView())
}

// signageView is what GET shows: signage reads as disabled while the
// admin has not enabled the feature for the room.
func (r *room) signageView() signageSettings {
	v := r.signage.clone()
	if !r.SignageEnabled {
		v.EnableDigitalSignage = false
	}
	return v
}

func settingTypes() []string {
	return []string{"meeting", "alert", "signage", "scheduling_display"}
}

// handleGetSettings serves GET /v2/rooms/{id}/settings.
func (s *Sim) handleGetSettings(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("id")
	st := r.URL.Query().Get("setting_type")
	if st == "" {
		st = "meeting"
	}
	if !slices.Contains(settingTypes(), st) {
		writeError(w, errInvalid("Invalid field.", FieldError{"setting_type", "Invalid setting_type: " + st}))
		return
	}
	s.mu.RLock()
	rm, ok := s.rooms[id]
	var view signageSettings
	if ok && rm.AccountID == c.accountID {
		view = rm.signageView()
	}
	s.mu.RUnlock()
	if !ok || rm.AccountID != c.accountID {
		writeError(w, errRoomNotFound(id))
		return
	}
	switch st {
	case "signage":
		writeJSON(w, http.StatusOK, map[string]any{"digital_signage": view})
	case "alert":
		writeJSON(w, http.StatusOK, map[string]any{"client_alert": map[string]any{}, "notification": map[string]any{}})
	case "scheduling_display":
		writeJSON(w, http.StatusOK, map[string]any{"scheduling_display": map[string]any{}})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"zoom_rooms": map[string]any{}, "meeting_security": map[string]any{}})
	}
}

// signagePatch is the PATCH body's digital_signage object; pointers tell
// absent from zero.
type signagePatch struct {
	EnableDigitalSignage *bool   `json:"enable_digital_signage"`
	Layout               *string `json:"layout"`
	Mute                 *bool   `json:"mute"`
	Banner               *struct {
		BannerRoomName   *bool `json:"banner_room_name"`
		BannerSharingKey *bool `json:"banner_sharing_key"`
		BannerTime       *bool `json:"banner_time"`
	} `json:"banner"`
	DisplayPeriod *struct {
		Start *int `json:"start_displaying_content"`
		Stop  *int `json:"stop_displaying_content"`
	} `json:"display_period"`
	PlayList []playListPatch `json:"play_list"`
}

type playListPatch struct {
	Action    *string        `json:"action"`
	ID        *string        `json:"id"`
	Name      *string        `json:"name"`
	StartTime *string        `json:"start_time"`
	EndTime   *string        `json:"end_time"`
	Contents  []contentPatch `json:"contents"`
}

type contentPatch struct {
	Action    *string `json:"action"`
	ID        *string `json:"id"`
	ContentID *string `json:"content_id"`
	Name      *string `json:"name"`
	Duration  *int    `json:"duration"`
	Order     *int    `json:"order"`
}

// decodeJSONBody decodes a JSON object body into v, turning type errors
// into Zoom's code-300 error with the offending field.
func decodeJSONBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return errInvalid("Request body could not be read.")
	}
	if len(bytes.TrimSpace(data)) == 0 || bytes.TrimSpace(data)[0] != '{' {
		return errInvalid("Request Body should be a valid JSON object.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errInvalid("Validation Failed.", FieldError{te.Field, fmt.Sprintf("Expected %s, got %s.", te.Type, te.Value)})
		}
		return errInvalid("Request Body should be a valid JSON object.")
	}
	return nil
}

// handlePatchSettings serves PATCH /v2/rooms/{id}/settings.
func (s *Sim) handlePatchSettings(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("id")
	st := r.URL.Query().Get("setting_type")
	var body struct {
		DigitalSignage *signagePatch `json:"digital_signage"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	if st != "" && !slices.Contains(settingTypes(), st) {
		writeError(w, errInvalid("Invalid field.", FieldError{"setting_type", "Invalid setting_type: " + st}))
		return
	}
	if e := validateSignagePatch(body.DigitalSignage); e != nil {
		writeError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, ok := s.rooms[id]
	if !ok || rm.AccountID != c.accountID {
		writeError(w, errRoomNotFound(id))
		return
	}
	if st == "signage" && body.DigitalSignage != nil {
		if !rm.SignageEnabled {
			writeError(w, errInvalid("Digital signage is not enabled for this Zoom Room."))
			return
		}
		next, e := applySignagePatch(rm.signage.clone(), body.DigitalSignage, s.accounts[rm.AccountID])
		if e != nil {
			writeError(w, e)
			return
		}
		rm.signage = next
	}
	w.WriteHeader(http.StatusNoContent)
}

func listActions() []string {
	return []string{"add", "update", "delete"}
}

// validateSignagePatch enforces the documents' limits (maxItems, enums)
// and the layout values zoom-api.md lists.
func validateSignagePatch(p *signagePatch) *apiError {
	if p == nil {
		return nil
	}
	if p.Layout != nil && *p.Layout != "standard" && *p.Layout != "video_content" {
		return errInvalid("Validation Failed.", FieldError{"digital_signage.layout", "Must be standard or video_content."})
	}
	if p.DisplayPeriod != nil {
		for _, v := range []*int{p.DisplayPeriod.Start, p.DisplayPeriod.Stop} {
			if v != nil && *v < 0 {
				return errInvalid("Validation Failed.", FieldError{"digital_signage.display_period", "Minutes must not be negative."})
			}
		}
	}
	if len(p.PlayList) > 2 {
		return errInvalid("Validation Failed.", FieldError{"digital_signage.play_list", "At most 2 content lists."})
	}
	for i, pl := range p.PlayList {
		field := fmt.Sprintf("digital_signage.play_list[%d]", i)
		if pl.Action != nil && !slices.Contains(listActions(), *pl.Action) {
			return errInvalid("Validation Failed.", FieldError{field + ".action", "Must be add, update or delete."})
		}
		if len(pl.Contents) > 3 {
			return errInvalid("Validation Failed.", FieldError{field + ".contents", "At most 3 contents."})
		}
		for j, ct := range pl.Contents {
			if ct.Action != nil && !slices.Contains(listActions(), *ct.Action) {
				return errInvalid("Validation Failed.", FieldError{fmt.Sprintf("%s.contents[%d].action", field, j), "Must be add, update or delete."})
			}
			if ct.Duration != nil && *ct.Duration < 1 {
				return errInvalid("Validation Failed.", FieldError{fmt.Sprintf("%s.contents[%d].duration", field, j), "Must be at least 1 second."})
			}
		}
	}
	return nil
}

// applySignagePatch merges p into cur; caller holds s.mu.
func applySignagePatch(cur signageSettings, p *signagePatch, a *account) (signageSettings, *apiError) {
	setBool(&cur.EnableDigitalSignage, p.EnableDigitalSignage)
	setBool(&cur.Mute, p.Mute)
	if p.Layout != nil {
		cur.Layout = *p.Layout
	}
	if b := p.Banner; b != nil {
		setBool(&cur.Banner.BannerRoomName, b.BannerRoomName)
		setBool(&cur.Banner.BannerSharingKey, b.BannerSharingKey)
		setBool(&cur.Banner.BannerTime, b.BannerTime)
	}
	if d := p.DisplayPeriod; d != nil {
		setInt(&cur.DisplayPeriod.StartDisplayingContent, d.Start)
		setInt(&cur.DisplayPeriod.StopDisplayingContent, d.Stop)
	}
	for _, pl := range p.PlayList {
		var e *apiError
		if cur.PlayList, e = applyPlayList(cur.PlayList, pl, a); e != nil {
			return cur, e
		}
	}
	if len(cur.PlayList) > 2 {
		return cur, errInvalid("A Zoom Room can have at most 2 content lists.")
	}
	return cur, nil
}

// applyPlayList adds, updates or deletes one content list.
func applyPlayList(lists []playList, p playListPatch, a *account) ([]playList, *apiError) {
	idx := -1
	if p.ID != nil {
		idx = slices.IndexFunc(lists, func(l playList) bool { return l.ID == *p.ID })
	}
	action := deref(p.Action)
	if action == "" {
		action = "add"
		if idx >= 0 {
			action = "update"
		}
	}
	switch action {
	case "delete":
		if idx < 0 {
			return lists, errInvalid("Content list not found: " + deref(p.ID))
		}
		return slices.Delete(lists, idx, idx+1), nil
	case "update":
		if idx < 0 {
			return lists, errInvalid("Content list not found: " + deref(p.ID))
		}
	default:
		lists = append(lists, playList{ID: newID(), Contents: []playContent{}})
		idx = len(lists) - 1
	}
	l := &lists[idx]
	setStr(&l.Name, p.Name)
	setStr(&l.StartTime, p.StartTime)
	setStr(&l.EndTime, p.EndTime)
	for _, cp := range p.Contents {
		var e *apiError
		if l.Contents, e = applyContent(l.Contents, cp, a); e != nil {
			return lists, e
		}
	}
	if len(l.Contents) > 3 {
		return lists, errInvalid("A content list can have at most 3 contents.")
	}
	return lists, nil
}

// applyContent adds, updates or deletes one entry of a content list; the
// referenced library item must exist in the account.
func applyContent(cs []playContent, p contentPatch, a *account) ([]playContent, *apiError) {
	idx := -1
	if p.ID != nil {
		idx = slices.IndexFunc(cs, func(c playContent) bool { return c.ID == *p.ID })
	}
	action := deref(p.Action)
	if action == "" {
		action = "add"
		if idx >= 0 {
			action = "update"
		}
	}
	if action != "add" && idx < 0 {
		return cs, errInvalid("Content not found in content list: " + deref(p.ID))
	}
	if action == "delete" {
		return slices.Delete(cs, idx, idx+1), nil
	}
	if action == "add" {
		cs = append(cs, playContent{ID: newID(), Duration: 5, Order: len(cs) + 1})
		idx = len(cs) - 1
	}
	c := &cs[idx]
	if p.ContentID != nil {
		if _, ok := a.contents[*p.ContentID]; !ok {
			return cs, errInvalid("Content does not exist: " + *p.ContentID)
		}
		c.ContentID = *p.ContentID
	}
	if c.ContentID == "" {
		return cs, errInvalid("Validation Failed.", FieldError{"content_id", "content_id is required."})
	}
	setStr(&c.Name, p.Name)
	setInt(&c.Duration, p.Duration)
	setInt(&c.Order, p.Order)
	return cs, nil
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
