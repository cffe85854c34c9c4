package zoomsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// Fault makes matching requests misbehave. Latency combines with any one
// of the other behaviours; with none of them set, the request is served
// normally after the delay.
type Fault struct {
	// Route is a Route* name ("GET /rooms", "POST /oauth/token"); empty
	// matches every route.
	Route string `json:"route,omitempty"`
	// AccountID limits the fault to one account's API calls; empty
	// matches any.
	AccountID string `json:"account_id,omitempty"`

	Latency time.Duration `json:"latency,omitempty"`
	// Status answers with this status code and a Zoom error body
	// {"code":Status,"message":"Injected fault."}.
	Status int `json:"status,omitempty"`
	// Malformed answers 200 with a body that is not valid JSON.
	Malformed bool `json:"malformed,omitempty"`
	// Truncate sends the real response's headers (with the full
	// Content-Length) and half its body, then closes the connection.
	Truncate bool `json:"truncate,omitempty"`
	// Reset closes the connection without answering.
	Reset bool `json:"reset,omitempty"`
	// Hang never answers: the request is held until the client gives up
	// or the simulator is closed.
	Hang bool `json:"hang,omitempty"`

	// Probability in (0,1] applies the fault to that share of matching
	// requests; 0 means every one.
	Probability float64 `json:"probability,omitempty"`
	// Count applies the fault to the next Count matching requests only;
	// 0 means no limit.
	Count int `json:"count,omitempty"`
}

type activeFault struct {
	id string
	Fault
	left int // remaining applications when Count > 0
}

type faultSet struct {
	mu     sync.Mutex
	seq    int
	faults []*activeFault
}

// AddFault installs a fault and returns its id (for RemoveFault).
func (s *Sim) AddFault(ctx context.Context, f Fault) (string, error) {
	if err := ctxDone(ctx); err != nil {
		return "", err
	}
	if f.Probability < 0 || f.Probability > 1 || f.Count < 0 || f.Latency < 0 {
		return "", fmt.Errorf("%w: fault probability, count or latency out of range", ErrInvalid)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return "", fmt.Errorf("%w: fault status %d", ErrInvalid, f.Status)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.seq++
	id := "f" + strconv.Itoa(s.faults.seq)
	s.faults.faults = append(s.faults.faults, &activeFault{id: id, Fault: f, left: f.Count})
	return id, nil
}

// RemoveFault removes one fault; ClearFaults removes them all.
func (s *Sim) RemoveFault(ctx context.Context, id string) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, f := range s.faults.faults {
		if f.id == id {
			s.faults.faults = append(s.faults.faults[:i], s.faults.faults[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w: fault %q", ErrNotFound, id)
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults(ctx context.Context) error {
	if err := ctxDone(ctx); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.faults = nil
	s.faults.mu.Unlock()
	return nil
}

// pick returns the first fault that fires for this request, consuming one
// of its Count.
func (fs *faultSet) pick(route, account string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if (f.Route != "" && f.Route != route) || (f.AccountID != "" && f.AccountID != account) {
			continue
		}
		if f.Probability > 0 && rand.Float64() >= f.Probability {
			continue
		}
		out := f.Fault
		if f.Count > 0 {
			f.left--
			if f.left <= 0 {
				fs.faults = append(fs.faults[:i], fs.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

// applyFault runs a firing fault. It returns true when the fault produced
// the response (or killed the connection); false means serve normally.
// serve renders the normal response, used for truncation.
func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, route, account string, serve func(http.ResponseWriter)) bool {
	f := s.faults.pick(route, account)
	if f == nil {
		return false
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closed:
		}
	}
	switch {
	case f.Status != 0:
		writeError(w, &apiError{status: f.Status, Code: f.Status, Message: "Injected fault."})
	case f.Malformed:
		writeRaw(w, http.StatusOK, []byte(`{"rooms":[{"id":"x",`+"\x00"+`<html>`))
	case f.Truncate:
		truncate(w, serve)
	case f.Reset:
		resetConn(w)
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		panic(http.ErrAbortHandler)
	default:
		return false
	}
	return true
}

// truncate sends the real response's headers and half its body, then
// aborts the connection.
func truncate(w http.ResponseWriter, serve func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	serve(rec)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body[:len(body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

// resetConn closes the connection abruptly (RST where possible).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
