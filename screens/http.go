package screens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"zoomsignage/apierror"
	"zoomsignage/events"
	"zoomsignage/rooms"
)

// Route is one HTTP route the app mounts on the server's mux. Name is the
// route's label in metrics and logs: never the path, which holds a token.
type Route struct {
	Pattern, Name string
	Handler       http.Handler
}

// Routes are the screen URLs: the player page, its program and its event
// stream. Every one answers an unknown, deactivated or disconnected token
// with the mux's own 404, so a token reveals nothing.
func (s *Service) Routes() []Route {
	h := &handlers{s: s, player: newPlayer(), closing: make(chan struct{})}
	s.handlers = h
	return []Route{
		{Pattern: "GET /screens/{token}", Name: "/screens/{token}", Handler: http.HandlerFunc(h.page)},
		{Pattern: "GET /screens/{token}/program", Name: "/screens/{token}/program", Handler: http.HandlerFunc(h.program)},
		{Pattern: "GET /screens/{token}/events", Name: "/screens/{token}/events", Handler: http.HandlerFunc(h.events)},
		{Pattern: "POST /screens/{token}/plays", Name: "/screens/{token}/plays", Handler: http.HandlerFunc(h.plays)},
	}
}

// CloseStreams ends every open event stream (at shutdown: players
// reconnect to another replica instead of holding this one's drain).
func (s *Service) CloseStreams() {
	if s.handlers != nil {
		s.handlers.closeOnce.Do(func() { close(s.handlers.closing) })
	}
}

type handlers struct {
	s         *Service
	player    player
	closing   chan struct{}
	closeOnce sync.Once
}

// plausibleToken turns away what no token looks like (rooms makes 32
// base64url characters) before Redis or Postgres see it.
func plausibleToken(t string) bool {
	if len(t) < 16 || len(t) > 64 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// screen resolves the request's token, answering the request itself (404,
// 429, 503) when there is no live screen to serve.
func (h *handlers) screen(w http.ResponseWriter, r *http.Request) (rooms.Screen, string, bool) {
	token := r.PathValue("token")
	if !plausibleToken(token) {
		http.NotFound(w, r)
		return rooms.Screen{}, "", false
	}
	if ok, retry := h.s.allow(r.Context(), token); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return rooms.Screen{}, "", false
	}
	sc, err := h.s.cfg.Rooms.ScreenByToken(r.Context(), token)
	if errors.Is(err, rooms.ErrNoScreen) {
		http.NotFound(w, r)
		return rooms.Screen{}, "", false
	}
	if err != nil {
		h.s.log.ErrorContext(r.Context(), "screen lookup failed", "error", err.Error())
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return rooms.Screen{}, "", false
	}
	h.s.recordSeen(r.Context(), sc)
	return sc, token, true
}

func (h *handlers) unavailable(ctx context.Context, w http.ResponseWriter, err error) {
	h.s.log.ErrorContext(ctx, "building a screen program failed", "error", err.Error())
	http.Error(w, "service unavailable", http.StatusServiceUnavailable)
}

// screenProgram resolves the request's screen and builds its program,
// answering the request itself (404, 429, 503) when it cannot.
func (h *handlers) screenProgram(w http.ResponseWriter, r *http.Request) (Program, bool) {
	sc, _, ok := h.screen(w, r)
	if !ok {
		return Program{}, false
	}
	p, err := h.s.program(r.Context(), sc)
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return Program{}, false
	}
	return p, true
}

func (h *handlers) page(w http.ResponseWriter, r *http.Request) {
	p, ok := h.screenProgram(w, r)
	if !ok {
		return
	}
	body, err := h.player.render(p)
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", h.player.csp)
	// The URL is the screen's credential: content never sees it as a referrer.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func (h *handlers) program(w http.ResponseWriter, r *http.Request) {
	p, ok := h.screenProgram(w, r)
	if !ok {
		return
	}
	etag := `"` + p.Version + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	// Third-party players on other origins read the program too; the token
	// in the path is the only credential, so no cookie is ever involved.
	hd.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}

// concerns reports whether ev may change sc's program or revoke its token.
func concerns(ev *events.Event, sc rooms.Screen) bool {
	switch ev.Kind {
	case events.SignageStateChanged, events.ScreenProgramChanged:
		return ev.Room == nil || ev.Room.ID == sc.RoomID
	case events.ConnectionStatusChanged:
		return ev.ConnectionID == sc.ConnectionID
	}
	return false
}

// events streams the screen's program as server-sent events: the current
// one at once, then each new version within moments of its commit (the
// bus carries changes from any replica), "revoked" when the token stops
// being live, and a comment every heartbeat, when the token and program
// are checked again in case an event was missed.
func (h *handlers) events(w http.ResponseWriter, r *http.Request) {
	sc, token, ok := h.screen(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// Subscribed before the first program is read, so no change between
	// the two is missed.
	stream, err := events.Subscribe(ctx, h.s.cfg.Bus, sc.TenantID, func(ev *events.Event) (struct{}, bool) {
		return struct{}{}, concerns(ev, sc)
	}, nil)
	if err != nil {
		h.unavailable(ctx, w, err)
		return
	}
	p, err := h.s.program(ctx, sc)
	if err != nil {
		h.unavailable(ctx, w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") || !h.sendProgram(send, p) {
		return
	}
	version, until := p.Version, p.ValidUntil
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		// The schedule's next change wakes the stream like an event does.
		var wake <-chan time.Time
		if until != nil {
			d := time.Until(*until) + 100*time.Millisecond
			if d < 100*time.Millisecond {
				d = time.Second // passed already (a failed read): no busy loop
			}
			wake = time.After(d)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-h.closing:
			return
		case _, open := <-stream.C():
			if !open {
				return // a slow reader or the bus closing: the player reconnects
			}
			drain(stream.C())
		case <-tick.C:
			if !send(": ping\n\n") {
				return
			}
		}
		current, err := h.s.cfg.Rooms.ScreenByToken(ctx, token)
		if errors.Is(err, rooms.ErrNoScreen) {
			send("event: revoked\ndata: {}\n\n")
			return
		}
		if err != nil {
			continue // the player keeps its program; the next change or heartbeat tries again
		}
		h.s.recordSeen(ctx, current)
		if p, err = h.s.program(ctx, current); err != nil {
			continue
		}
		until = p.ValidUntil
		if p.Version == version {
			continue
		}
		if !h.sendProgram(send, p) {
			return
		}
		version = p.Version
	}
}

func (h *handlers) sendProgram(send func(string, ...any) bool, p Program) bool {
	b, err := json.Marshal(p)
	if err != nil {
		return false
	}
	return send("event: program\ndata: %s\n\n", b)
}

// drain takes what else is queued: one program read answers them all.
func drain(c <-chan struct{}) {
	for {
		select {
		case _, open := <-c:
			if !open {
				return
			}
		default:
			return
		}
	}
}

// maxPlaysBody bounds a plays report's body.
const maxPlaysBody = 64 << 10

// plays records proof-of-play reports: a JSON array of reports, or
// {"plays": [...]}. Bad input is answered 400 with a message and nothing
// of the batch is written.
func (h *handlers) plays(w http.ResponseWriter, r *http.Request) {
	sc, _, ok := h.screen(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPlaysBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": fmt.Sprintf("a report is at most %d bytes", maxPlaysBody)})
		return
	}
	var reports []PlayReport
	if err := json.Unmarshal(body, &reports); err != nil {
		var wrapped struct {
			Plays []PlayReport `json:"plays"`
		}
		if err2 := json.Unmarshal(body, &wrapped); err2 != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "the body is not a JSON array of plays"})
			return
		}
		reports = wrapped.Plays
	}
	n, err := h.s.RecordPlays(r.Context(), sc, reports)
	if e, ok := apierror.As(err); ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": e.Message, "code": e.Code})
		return
	}
	if err != nil {
		h.unavailable(r.Context(), w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recorded": n})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
