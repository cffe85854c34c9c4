package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// shutdownDuringUpgrade shuts the tracker down at the moment the
// connection is hijacked: after Accept's first check of closed, before the
// connection is tracked.
type shutdownDuringUpgrade struct {
	http.ResponseWriter
	tracker *wsTracker
}

func (w shutdownDuringUpgrade) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.tracker.CloseAll("server shutting down")
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// A connection upgraded while the server shuts down is closed with 1001
// like the others: CloseAll could not see it, Accept must.
func TestTrackerClosesAConnectionAcceptedDuringShutdown(t *testing.T) {
	tracker := newWSTracker(DefaultConfig())
	accepted := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := tracker.Accept(shutdownDuringUpgrade{w, tracker}, r, transport.WebsocketAcceptOptions{Subprotocols: []string{transportWS}})
		accepted <- err
	}))
	t.Cleanup(srv.Close)

	d := websocket.Dialer{Subprotocols: []string{transportWS}}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != closeGoingAway {
		t.Fatalf("got %v, want close 1001", err)
	}
	if err := <-accepted; !errors.Is(err, errShuttingDown) {
		t.Fatalf("Accept returned %v, want errShuttingDown", err)
	}
	if n := tracker.Open(); n != 0 {
		t.Fatalf("%d connections tracked after shutdown", n)
	}
}
