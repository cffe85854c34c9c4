package zoomsim

import (
	"net/http"
	"slices"
	"strings"
)

// Route names: the method and the path as Zoom's documents spell them.
// They key fault injection and call counts.
const (
	RouteUsersMe       = "GET /users/{userId}"
	RouteListRooms     = "GET /rooms"
	RouteGetRoom       = "GET /rooms/{roomId}"
	RouteListDevices   = "GET /rooms/{roomId}/devices"
	RouteGetSettings   = "GET /rooms/{id}/settings"
	RoutePatchSettings = "PATCH /rooms/{id}/settings"
	RouteRoomEvents    = "PATCH /rooms/{id}/events"
	RouteEmergency     = "PATCH /rooms/events"
	RouteAddContent    = "POST /rooms/content/digital_signage/contents"
	RouteListContents  = "GET /rooms/content/digital_signage/contents"
	RouteGetContent    = "GET /rooms/content/digital_signage/contents/{contentId}"
	RouteDeleteContent = "DELETE /rooms/content/digital_signage/contents/{contentId}"
	RouteAuthorize     = "GET /oauth/authorize"
	RouteToken         = "POST /oauth/token"
	RouteRevoke        = "POST /oauth/revoke"
)

// apiRoute is what the documents say about an operation the simulator
// serves: its rate label and the scopes that allow it (granular, then
// classic macro scopes).
type apiRoute struct {
	name   string
	label  RateLabel
	scopes []string
	// roomsAPI marks Zoom Rooms operations, refused for restricted
	// accounts (code 200).
	roomsAPI bool
	handle   func(w http.ResponseWriter, r *http.Request, c *caller)
}

// caller is the authenticated identity of a /v2 request.
type caller struct {
	accountID string
	clientID  string
	userID    string
	scopes    []string
}

// RouteInfo describes a REST operation the simulator serves.
type RouteInfo struct {
	// Name is the route name (RouteListRooms, ...).
	Name string
	// Label is the operation's rate-limit label.
	Label RateLabel
	// Scopes allow the call: the granular scope first, then classic ones.
	Scopes []string
}

// APIRoutes lists the REST operations the simulator serves.
func APIRoutes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range (&Sim{}).apiRoutes() {
		out = append(out, RouteInfo{Name: rt.name, Label: rt.label, Scopes: slices.Clone(rt.scopes)})
	}
	return out
}

// apiRoutes declares the REST operations; labels and scopes come from
// rooms.json and users.json (tests check them against the files).
func (s *Sim) apiRoutes() []apiRoute {
	const (
		listContents = "zoom_rooms:read:digital_signage_library_contents:admin"
		writeContent = "zoom_rooms:write:digital_signage_library_contents:admin"
	)
	return []apiRoute{
		{RouteUsersMe, Light, []string{"user:read:user", "user:read:user:admin", "user:read", "user:read:admin"}, false, s.handleUsersMe},
		{RouteListRooms, Medium, []string{"zoom_rooms:read:list_rooms:admin", "room:read:admin"}, true, s.handleListRooms},
		{RouteGetRoom, Medium, []string{"zoom_rooms:read:room:admin", "room:read:admin"}, true, s.handleGetRoom},
		{RouteListDevices, Medium, []string{"zoom_rooms:read:list_devices:admin", "room:read:admin"}, true, s.handleListDevices},
		{RouteGetSettings, Medium, []string{"zoom_rooms:read:room_settings:admin", "room:read:admin"}, true, s.handleGetSettings},
		{RoutePatchSettings, Medium, []string{"zoom_rooms:update:room_settings:admin", "room:write:admin"}, true, s.handlePatchSettings},
		{RouteRoomEvents, Medium, []string{"zoom_rooms:update:room_control:admin", "room:write:admin"}, true, s.handleRoomEvents},
		{RouteEmergency, Medium, []string{EmergencyAlertScope, "room:write:admin"}, true, s.handleEmergencyAlert},
		{RouteAddContent, Light, []string{writeContent, "room:write:admin"}, true, s.handleAddContent},
		{RouteListContents, Light, []string{listContents, "room:read:admin"}, true, s.handleListContents},
		{RouteGetContent, Light, []string{listContents, "room:read:admin"}, true, s.handleGetContent},
		{RouteDeleteContent, Light, []string{writeContent, "room:write:admin"}, true, s.handleDeleteContent},
	}
}

// routeAPI registers the REST operations under /v2.
func (s *Sim) routeAPI() {
	for _, rt := range s.apiRoutes() {
		method, path, _ := strings.Cut(rt.name, " ")
		s.mux.Handle(method+" /v2"+path, s.api(rt))
	}
}

// api wraps an operation with what Zoom does before the operation runs:
// token check (124), injected faults, rate limits (429), scope check
// (4711) and the account's Zoom Rooms restriction (200). It also counts
// the call.
func (s *Sim) api(rt apiRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, authErr := s.authenticate(r)
		account := ""
		if c != nil {
			account = c.accountID
		}
		s.stats.countCall(account, rt.name)
		if s.applyFault(w, r, rt.name, account, func(w http.ResponseWriter) { s.serveAPI(w, r, rt, c, authErr) }) {
			return
		}
		s.serveAPI(w, r, rt, c, authErr)
	})
}

// serveAPI runs the checks after faults, then the operation.
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, rt apiRoute, c *caller, authErr *apiError) {
	if authErr != nil {
		writeError(w, authErr)
		return
	}
	if !s.opts.DisableRateLimits && !s.limiter.allow(w, c.accountID, rt.label, s.now(), !s.opts.OmitRateLimitHeaders) {
		return
	}
	if !hasAnyScope(c.scopes, rt.scopes) {
		writeError(w, &apiError{status: http.StatusBadRequest, Code: CodeMissingScope,
			Message: "Invalid access token, does not contain scopes:[" + rt.scopes[0] + "]."})
		return
	}
	if rt.roomsAPI {
		if e := s.restriction(c.accountID); e != nil {
			writeError(w, e)
			return
		}
	}
	rt.handle(w, r, c)
}

func hasAnyScope(granted, allowed []string) bool {
	for _, a := range allowed {
		if slices.Contains(granted, a) {
			return true
		}
	}
	return false
}

// restriction returns the code-200 error of a restricted account.
func (s *Sim) restriction(accountID string) *apiError {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return &apiError{status: http.StatusBadRequest, Code: CodeNoSubscription, Message: "Access restricted."}
	}
	switch a.restriction {
	case RestrictionNoSubscription:
		return &apiError{status: http.StatusBadRequest, Code: CodeNoSubscription,
			Message: "Zoom Room subscription not found. Try again after purchasing a Zoom Room subscription."}
	case RestrictionAccess:
		return &apiError{status: http.StatusBadRequest, Code: CodeNoSubscription, Message: "Access restricted."}
	}
	return nil
}

// authenticate resolves the bearer token.
func (s *Sim) authenticate(r *http.Request) (*caller, *apiError) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "bearer ")
	}
	if !ok || tok == "" {
		return nil, &apiError{status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: "Invalid access token."}
	}
	c, expired := s.tokens.lookupAccess(tok, s.now())
	if expired {
		return nil, &apiError{status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: "Access token is expired."}
	}
	if c == nil {
		return nil, &apiError{status: http.StatusUnauthorized, Code: CodeInvalidToken, Message: "Invalid access token."}
	}
	return c, nil
}
