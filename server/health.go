package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check is one dependency /readyz probes.
type Check struct {
	Name string
	// Ping returns nil when the dependency serves; an error wrapping
	// ErrRefused when it answers but refuses our credentials, any other
	// error when it cannot be reached.
	Ping func(ctx context.Context) error
}

// ErrRefused marks a Check whose dependency answered but refused the
// gateway's credentials (Vault refusing its token): /readyz reports it as
// "refused" instead of "unreachable", because the operator must fix
// credentials rather than the dependency.
var ErrRefused = errors.New("server: dependency refused our credentials")

// healthz answers 200 while the process runs: liveness, not readiness.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

// readyz probes every dependency at once and answers 503 naming each one
// that failed, so a load balancer stops sending traffic to a replica that
// cannot serve it. Each check is "ok", "refused" (it answered but refused
// our credentials) or "unreachable". Error details go to the log, not to
// the response.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
	defer cancel()
	results := make(map[string]string, len(s.deps.Checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range s.deps.Checks {
		wg.Go(func() {
			status := "ok"
			if err := c.Ping(ctx); err != nil {
				status = "unreachable"
				if errors.Is(err, ErrRefused) {
					status = "refused"
				}
				s.log(r.Context()).Warn("readiness check failed", "dependency", c.Name, "error", err.Error())
			}
			mu.Lock()
			results[c.Name] = status
			mu.Unlock()
		})
	}
	wg.Wait()
	code, failed := http.StatusOK, []string{}
	for name, status := range results {
		if status != "ok" {
			code = http.StatusServiceUnavailable
			failed = append(failed, name)
		}
	}
	sort.Strings(failed)
	body := map[string]any{"status": "ready", "checks": results, "checkedAt": time.Now().UTC()}
	if code != http.StatusOK {
		body["status"] = "unavailable"
		body["failed"] = failed
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
