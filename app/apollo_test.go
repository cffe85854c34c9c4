package app_test

import (
	"strconv"
	"testing"

	"zoomsignage/auth"
	"zoomsignage/zoom/zoomsim"
)

// TestApolloClient runs Apollo Client 4 (test/apollo, pinned in its lock
// file) as the web app uses it against a gateway syncing a Zoom simulator:
// it pages rooms with relay-style pagination into one cached list,
// activates signage and sees the cached room change from the mutation's
// payload alone (no refetch), and receives a room status event over
// GraphQLWsLink once this test flips a room in Zoom.
func TestApolloClient(t *testing.T) {
	const rooms = 3
	w, tenant, admin, conn := roomsWorld(t, rooms, nil)
	flipped := w.seed.RoomIDs[0] // seeded AVAILABLE
	key := w.apiKey(tenant, auth.ScopeRoomsRead, auth.ScopeRoomsWrite)
	n := startNodeTest(t, "apollo", "apollo.test.mjs", []string{
		"GATEWAY_URL=" + w.url + "/graphql",
		"CREDENTIAL=" + key,
		"ROOM_COUNT=" + strconv.Itoa(rooms),
		"FLIPPED_ROOM=" + flipped,
	}, "@apollo/client", "graphql", "graphql-ws", "ws", "rxjs")
	waitSubscribers(t, w.app.Bus, tenant, 1)
	w.flipAndSync(t, admin, conn, flipped, zoomsim.StatusInMeeting, "IN_MEETING")
	n.wait(t, 3)
}
