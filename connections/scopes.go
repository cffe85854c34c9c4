package connections

import (
	"slices"

	"zoomsignage/zoom"
)

// neededScope is one of the ten granular scopes the product needs
// (zoom-api.md), with the classic macro scopes Zoom also accepts for the
// same calls.
type neededScope struct {
	name    string
	classic []string
	// optional scopes (restart, alerts, Zoom's emergency alert) only limit a feature: a connection
	// without them works with status MISSING_SCOPE. Without any other one
	// the room inventory or signage cannot work, so connecting is refused.
	optional bool
}

func neededScopes() []neededScope {
	return []neededScope{
		{name: "zoom_rooms:read:list_rooms:admin", classic: []string{"room:read:admin"}},
		{name: "zoom_rooms:read:room:admin", classic: []string{"room:read:admin"}},
		{name: "zoom_rooms:read:list_devices:admin", classic: []string{"room:read:admin"}},
		{name: "zoom_rooms:read:room_settings:admin", classic: []string{"room:read:admin"}},
		{name: "zoom_rooms:update:room_settings:admin", classic: []string{"room:write:admin"}},
		{name: "zoom_rooms:write:digital_signage_library_contents:admin", classic: []string{"room:write:admin"}},
		{name: "user:read:user:admin", classic: []string{"user:read:admin", "user:read:user", "user:read"}},
		{name: "zoom_rooms:update:room_control:admin", classic: []string{"room:write:admin"}, optional: true},
		{name: "zoom_rooms:read:alert:admin", optional: true},
		// Zoom's own E911 signage alert (PATCH /rooms/events), raised by
		// EMERGENCY broadcasts so rooms in a meeting show them too.
		{name: zoom.EmergencyAlertScope, classic: []string{"room:write:admin"}, optional: true},
	}
}

// missingScopes compares granted scopes with the needed ones and returns
// the names of the missing ones, required and optional apart.
func missingScopes(granted []string) (required, optional []string) {
	for _, n := range neededScopes() {
		if slices.Contains(granted, n.name) || slices.ContainsFunc(n.classic, func(c string) bool { return slices.Contains(granted, c) }) {
			continue
		}
		if n.optional {
			optional = append(optional, n.name)
		} else {
			required = append(required, n.name)
		}
	}
	return required, optional
}

// scopeStatus is the status a grant missing optional scopes gets.
func scopeStatus(optionalMissing []string) (Status, string) {
	if len(optionalMissing) == 0 {
		return StatusActive, ""
	}
	return StatusMissingScope, "the Zoom app lacks optional scopes; room restart, health alerts or Zoom's emergency alert are unavailable until they are added"
}

// EmergencyAlertAllowed reports whether a grant allows raising Zoom's own
// emergency alert (manageE911signage): the screens domain asks before an
// EMERGENCY broadcast calls Zoom, so a connection without the optional
// permission is skipped and reported instead of failing every call.
func EmergencyAlertAllowed(granted []string) bool {
	return slices.Contains(granted, zoom.EmergencyAlertScope) || slices.Contains(granted, "room:write:admin")
}
