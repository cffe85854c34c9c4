package zoom

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the client's Prometheus collectors. They are registered on the
// Registerer given in Options (never the global registry), so tests and
// several clients in one process do not collide. No label ever carries an
// account id, token or secret: only operation names, statuses and kinds.
type metrics struct {
	calls           *prometheus.CounterVec   // operation, status
	callDuration    *prometheus.HistogramVec // operation
	cache           *prometheus.CounterVec   // resource, result (hit|miss)
	limiterWait     *prometheus.HistogramVec // label
	limiterFallback *prometheus.CounterVec   // label
	tokens          *prometheus.CounterVec   // grant, result
	retries         *prometheus.CounterVec   // operation, reason
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoom_client_calls_total",
			Help: "Zoom REST calls sent, by operation and HTTP status (\"error\" when no response arrived).",
		}, []string{"operation", "status"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoom_client_call_duration_seconds",
			Help:    "Duration of single Zoom REST attempts, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"operation"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoom_client_cache_requests_total",
			Help: "Response cache lookups, by resource and result (hit or miss).",
		}, []string{"resource", "result"}),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoom_client_limiter_wait_seconds",
			Help:    "Time calls waited for a slot of the shared rate limiter, by rate label.",
			Buckets: []float64{0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"label"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoom_client_token_requests_total",
			Help: "Requests to Zoom's token endpoint (fetches and refreshes), by grant type and result.",
		}, []string{"grant", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoom_client_retries_total",
			Help: "Zoom REST attempts retried, by operation and reason.",
		}, []string{"operation", "reason"}),
	}
	if reg == nil {
		return m, nil
	}
	m.limiterFallback = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "zoom_client_limiter_fallback_total",
		Help: "Calls paced by the in-process fallback limiter because the shared Redis limiter was unreachable, by rate label.",
	}, []string{"label"})
	for _, c := range []prometheus.Collector{m.calls, m.callDuration, m.cache, m.limiterWait, m.limiterFallback, m.tokens, m.retries} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("zoom.newMetrics: %w", err)
		}
	}
	return m, nil
}
