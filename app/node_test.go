package app_test

import (
	"testing"
	"time"

	"zoomsignage/app"
	"zoomsignage/auth"
)

const nodeQuery = `query($id: ID!){node(id: $id){__typename id
  ... on Room { name connection { id } }
  ... on ZoomConnection { kind }
  ... on Content { name }
  ... on Playlist { name }
  ... on Broadcast { message }
  ... on WebhookEndpoint { url }}}`

// TestNodeRefetchesEveryObjectType: node(id:) answers each Node type by its
// id alone, null for unknown and other tenants' ids, and holds each type's
// scope (a rooms:read key cannot read a connection or an endpoint through
// it).
func TestNodeRefetchesEveryObjectType(t *testing.T) {
	w, tenant, admin, conn := roomsWorld(t, 1, func(c *app.Config) {
		c.Env, c.Dev = "dev", true // loopback webhook endpoints
		c.WebhooksAllowLoopback = true
	})
	roomID := nodes(t, w.post(admin, roomsPage, map[string]any{"first": 1}))[0]["id"].(string)
	content := id(t, w.post(admin, createContent, map[string]any{"in": map[string]any{"name": "Menu", "kind": "IMAGE", "url": "https://example.com/menu.png"}}), "createContent")
	playlist := id(t, w.post(admin, createPlaylist, map[string]any{"in": map[string]any{"name": "Lobby", "timezone": "Europe/Paris",
		"items": []any{map[string]any{"contentId": content, "durationSeconds": 30}}}}), "createPlaylist")
	broadcast := id(t, w.post(admin, startBroadcast, map[string]any{"in": map[string]any{"message": "Drill at 3", "severity": "INFO"}}), "startBroadcast")
	ep := w.post(admin, createEndpoint, map[string]any{"in": map[string]any{"url": "http://127.0.0.1:9/hooks", "events": []string{"room.status_changed"}}})
	if ep.code() != "" {
		t.Fatalf("createWebhookEndpoint: %s", ep.Raw)
	}
	endpoint := ep.Data["createWebhookEndpoint"].(map[string]any)["endpoint"].(map[string]any)["id"].(string)

	for _, tc := range []struct{ id, typename, field, want string }{
		{roomID, "Room", "name", ""},
		{conn, "ZoomConnection", "kind", "SERVER_APP"},
		{content, "Content", "name", "Menu"},
		{playlist, "Playlist", "name", "Lobby"},
		{broadcast, "Broadcast", "message", "Drill at 3"},
		{endpoint, "WebhookEndpoint", "url", "http://127.0.0.1:9/hooks"},
	} {
		t.Run(tc.typename, func(t *testing.T) {
			r := w.post(admin, nodeQuery, map[string]any{"id": tc.id})
			n, _ := r.Data["node"].(map[string]any)
			if r.code() != "" || n == nil || n["__typename"] != tc.typename || n["id"] != tc.id || (tc.want != "" && n[tc.field] != tc.want) {
				t.Fatalf("node(%s) = %s", tc.typename, r.Raw)
			}
		})
	}

	t.Run("unknown ids and other tenants' ids are null", func(t *testing.T) {
		other := userJWT(t, w.tenant("Other", 1), "admin", time.Hour)
		// A tenant without playlists lists none (loadPlaylists once
		// answered an empty result with an error).
		if r := w.post(other, `{playlists{id}}`, nil); r.code() != "" || len(r.Data["playlists"].([]any)) != 0 {
			t.Errorf("playlists of a tenant with none: %s", r.Raw)
		}
		for _, id := range []string{roomID, conn, content, endpoint} {
			if r := w.post(other, nodeQuery, map[string]any{"id": id}); r.code() != "" || r.Data["node"] != nil {
				t.Errorf("another tenant's node(%s) = %s", id, r.Raw)
			}
		}
		for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-uuid", ""} {
			if r := w.post(admin, nodeQuery, map[string]any{"id": id}); r.code() != "" || r.Data["node"] != nil {
				t.Errorf("node(%q) = %s", id, r.Raw)
			}
		}
	})

	t.Run("each type keeps its scope", func(t *testing.T) {
		key := w.apiKey(tenant, auth.ScopeRoomsRead)
		if r := w.post(key, nodeQuery, map[string]any{"id": roomID}); r.code() != "" || r.Data["node"] == nil {
			t.Errorf("rooms:read reading a room: %s", r.Raw)
		}
		for _, id := range []string{conn, endpoint} {
			if r := w.post(key, nodeQuery, map[string]any{"id": id}); r.code() != "FORBIDDEN" || r.Data["node"] != nil {
				t.Errorf("rooms:read reading node(%s): %s", id, r.Raw)
			}
		}
		// The nested scope rule holds through node too: a room's connection
		// shows no more than rooms:read allows.
		r := w.post(key, `query($id: ID!){node(id: $id){... on Room { connection { id connectedBy { email } } }}}`, map[string]any{"id": roomID})
		if r.code() != "FORBIDDEN" {
			t.Errorf("rooms:read reading a room's connection admin through node: %s", r.Raw)
		}
	})
}
