package zoomsim

import (
	"bytes"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// roomFilter holds GET /rooms's filtering query parameters.
type roomFilter struct {
	status, typ, locationID, queryName string
	tagIDs                             []string
	unassigned                         bool
}

func (f roomFilter) empty() bool {
	return f.status == "" && f.typ == "" && f.locationID == "" && f.queryName == "" && len(f.tagIDs) == 0 && !f.unassigned
}

func (f roomFilter) match(r *room) bool {
	switch {
	case f.status != "" && string(r.Status) != f.status,
		f.typ != "" && r.Type != f.typ,
		f.locationID != "" && r.LocationID != f.locationID,
		f.unassigned && r.Assigned,
		f.queryName != "" && !strings.Contains(strings.ToLower(r.Name), strings.ToLower(f.queryName)):
		return false
	}
	if len(f.tagIDs) > 0 {
		for _, t := range f.tagIDs {
			if slices.Contains(r.TagIDs, t) {
				return true
			}
		}
		return false
	}
	return true
}

// parseRoomQuery validates GET /rooms's query against the documented
// parameters.
func parseRoomQuery(r *http.Request) (roomFilter, int, string, *apiError) {
	q := r.URL.Query()
	f := roomFilter{status: q.Get("status"), typ: q.Get("type"), locationID: q.Get("location_id"), queryName: q.Get("query_name")}
	if f.status != "" && !slices.Contains(validStatuses(), RoomStatus(f.status)) {
		return f, 0, "", errInvalid("Invalid field.", FieldError{"status", "Invalid status: " + f.status})
	}
	if f.typ != "" && !slices.Contains(validTypes(), f.typ) {
		return f, 0, "", errInvalid("Invalid field.", FieldError{"type", "Invalid type: " + f.typ})
	}
	if t := q.Get("tag_ids"); t != "" {
		f.tagIDs = strings.Split(t, ",")
	}
	if u := q.Get("unassigned_rooms"); u != "" {
		b, err := strconv.ParseBool(u)
		if err != nil {
			return f, 0, "", errInvalid("Invalid field.", FieldError{"unassigned_rooms", "Must be a boolean."})
		}
		f.unassigned = b
	}
	size := 30
	if ps := q.Get("page_size"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 300 {
			return f, 0, "", errInvalid("Invalid field.", FieldError{"page_size", "page_size must be between 1 and 300."})
		}
		size = n
	}
	return f, size, q.Get("next_page_token"), nil
}

// handleListRooms serves GET /v2/rooms from the account's pre-sorted room
// slice and pre-encoded room entries.
func (s *Sim) handleListRooms(w http.ResponseWriter, r *http.Request, c *caller) {
	f, size, tok, e := parseRoomQuery(r)
	if e != nil {
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	scope := pageScope(c.accountID, f.status, f.typ, f.locationID, f.queryName, q.Get("tag_ids"), strconv.FormatBool(f.unassigned))
	now := s.now()
	var after uint64
	if tok != "" {
		var ok bool
		if after, ok = s.readPageToken(tok, scope, now); !ok {
			writeError(w, errInvalid("The next page token is invalid or expired."))
			return
		}
	}
	// The body is assembled from cached room entries into a pooled
	// buffer; the room entries are written first so the next-page token
	// (which needs the last position) can follow them, then the parts are
	// sent in Zoom's field order with the token ahead of the rooms.
	rooms := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(rooms)
	rooms.Reset()
	last, more := s.writeRoomPage(rooms, c.accountID, f, after, size)
	next := ""
	if more {
		next = s.makePageToken(scope, last, now)
	}
	out := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(out)
	out.Reset()
	out.WriteString(`{"page_size":`)
	out.WriteString(strconv.Itoa(size))
	out.WriteString(`,"next_page_token":"`)
	out.WriteString(next)
	out.WriteString(`","rooms":[`)
	out.Write(rooms.Bytes())
	out.WriteString(`]}`)
	writeRaw(w, http.StatusOK, out.Bytes())
}

// writeRoomPage appends up to size matching rooms after seq `after`; it
// returns the last seq written and whether more matching rooms follow.
func (s *Sim) writeRoomPage(buf *bytes.Buffer, accountID string, f roomFilter, after uint64, size int) (uint64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return 0, false
	}
	rooms := a.rooms
	i := sort.Search(len(rooms), func(i int) bool { return rooms[i].seq > after })
	all := f.empty()
	n, last := 0, after
	for ; i < len(rooms); i++ {
		rm := rooms[i]
		if !all && !f.match(rm) {
			continue
		}
		if n == size {
			return last, true
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(rm.listJSON)
		n++
		last = rm.seq
	}
	return last, false
}

// accountRoom returns a copy of a room of the caller's account, or 1012.
func (s *Sim) accountRoom(accountID, id string) (Room, signageSettings, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.rooms[id]
	if !ok || r.AccountID != accountID {
		return Room{}, signageSettings{}, errRoomNotFound(id)
	}
	return r.snapshot(), r.signage.clone(), nil
}

// handleGetRoom serves GET /v2/rooms/{roomId}.
func (s *Sim) handleGetRoom(w http.ResponseWriter, r *http.Request, c *caller) {
	rm, _, e := s.accountRoom(c.accountID, r.PathValue("roomId"))
	if e != nil {
		writeError(w, e)
		return
	}
	tags := rm.TagIDs
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"basic": map[string]any{
			"name":            rm.Name,
			"activation_code": rm.ActivationCode,
			"zoom_room_type":  rm.Type,
			"location_id":     rm.LocationID,
			"tag_ids":         tags,
		},
		"device": map[string]any{"device_profile_id": ""},
		"setup":  map[string]any{"under_construction": rm.Status == StatusUnderConstruction},
	})
}

// handleListDevices serves GET /v2/rooms/{roomId}/devices.
func (s *Sim) handleListDevices(w http.ResponseWriter, r *http.Request, c *caller) {
	rm, _, e := s.accountRoom(c.accountID, r.PathValue("roomId"))
	if e != nil {
		writeError(w, e)
		return
	}
	devs := rm.Devices
	if devs == nil {
		devs = []Device{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": devs})
}
