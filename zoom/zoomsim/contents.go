package zoomsim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// content is one item of an account's digital signage library.
type content struct {
	ID, Name, URL, FolderID string
	Created                 time.Time
}

// handleAddContent serves POST /v2/rooms/content/digital_signage/contents.
func (s *Sim) handleAddContent(w http.ResponseWriter, r *http.Request, c *caller) {
	var body struct {
		ContentName *string `json:"content_name"`
		ContentURL  *string `json:"content_url"`
		FolderID    *string `json:"folder_id"`
	}
	if e := decodeJSONBody(r, &body); e != nil {
		writeError(w, e)
		return
	}
	if deref(body.ContentName) == "" {
		writeError(w, errInvalid("Validation Failed.", FieldError{"content_name", "content_name is required."}))
		return
	}
	u, err := url.Parse(deref(body.ContentURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		writeError(w, errInvalid("Validation Failed.", FieldError{"content_url", "content_url must be an http(s) URL."}))
		return
	}
	item := &content{ID: newID(), Name: *body.ContentName, URL: u.String(), FolderID: deref(body.FolderID), Created: s.now()}
	s.mu.Lock()
	a, ok := s.accounts[c.accountID]
	if ok {
		a.contents[item.ID] = item
		a.contentOrder = append(a.contentOrder, item.ID)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"content_id": item.ID})
}

// handleListContents serves GET .../contents (page_size 1..200).
func (s *Sim) handleListContents(w http.ResponseWriter, r *http.Request, c *caller) {
	q := r.URL.Query()
	size := 30
	if ps := q.Get("page_size"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 200 {
			writeError(w, &apiError{status: http.StatusBadRequest, Code: 30051005, Message: "Invalid next_page_token or page_size."})
			return
		}
		size = n
	}
	start := 0
	scope := pageScope(c.accountID, "contents")
	if tok := q.Get("next_page_token"); tok != "" {
		off, ok := s.readPageToken(tok, scope, s.now())
		if !ok {
			writeError(w, &apiError{status: http.StatusBadRequest, Code: 30051005, Message: "Invalid next_page_token or page_size."})
			return
		}
		start = int(off)
	}
	items := []map[string]string{}
	next := ""
	s.mu.RLock()
	if a, ok := s.accounts[c.accountID]; ok {
		for i := start; i < len(a.contentOrder); i++ {
			if len(items) == size {
				next = s.makePageToken(scope, uint64(i), s.now())
				break
			}
			it := a.contents[a.contentOrder[i]]
			items = append(items, map[string]string{"content_id": it.ID, "content_type": "url", "content_name": it.Name})
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"page_size": size, "next_page_token": next, "contents": items})
}

// lookupContent finds a library item of the caller's account.
func (s *Sim) lookupContent(accountID, id string) (content, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return content{}, false
	}
	it, ok := a.contents[id]
	if !ok {
		return content{}, false
	}
	return *it, true
}

func errContentNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: CodeContentNotFound, Message: "Content does not exist: " + id}
}

// handleGetContent serves GET .../contents/{contentId}.
func (s *Sim) handleGetContent(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("contentId")
	it, ok := s.lookupContent(c.accountID, id)
	if !ok {
		writeError(w, errContentNotFound(id))
		return
	}
	body := map[string]any{"content_id": it.ID, "content_type": "url", "content_name": it.Name, "content_url": it.URL, "expires": false}
	if it.FolderID != "" {
		body["folder_id"] = it.FolderID
	}
	writeJSON(w, http.StatusOK, body)
}

// handleDeleteContent serves DELETE .../contents/{contentId}. Unless
// remove_from_library_only=true, the item is also taken out of every
// room's content lists.
func (s *Sim) handleDeleteContent(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("contentId")
	libOnly := false
	if v := r.URL.Query().Get("remove_from_library_only"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, errInvalid("Invalid field.", FieldError{"remove_from_library_only", "Must be a boolean."}))
			return
		}
		libOnly = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[c.accountID]
	if !ok || a.contents[id] == nil {
		writeError(w, errContentNotFound(id))
		return
	}
	delete(a.contents, id)
	a.contentOrder = slices.DeleteFunc(a.contentOrder, func(x string) bool { return x == id })
	if !libOnly {
		for _, rm := range a.rooms {
			for i := range rm.signage.PlayList {
				pl := &rm.signage.PlayList[i]
				pl.Contents = slices.DeleteFunc(pl.Contents, func(pc playContent) bool { return pc.ContentID == id })
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// LibraryContents returns the content ids of an account's signage library.
func (s *Sim) LibraryContents(accountID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return nil
	}
	return slices.Clone(a.contentOrder)
}
