package zoomsim

import "net/http"

// handleUsersMe serves GET /v2/users/{userId} for "me" (and the caller's
// own id or email): the user behind the token.
func (s *Sim) handleUsersMe(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("userId")
	s.mu.RLock()
	u, ok := s.users[c.userID]
	var user User
	if ok {
		user = *u
	}
	s.mu.RUnlock()
	if !ok || (id != "me" && id != user.ID && id != user.Email) {
		writeError(w, &apiError{status: http.StatusNotFound, Code: 1001, Message: "User does not exist: " + id})
		return
	}
	role := "Member"
	if user.Admin {
		role = "Admin"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":           user.ID,
		"account_id":   user.AccountID,
		"email":        user.Email,
		"first_name":   user.FirstName,
		"last_name":    user.LastName,
		"display_name": user.FirstName + " " + user.LastName,
		"type":         2,
		"role_name":    role,
		"status":       "active",
		"timezone":     "UTC",
		"verified":     1,
	})
}
