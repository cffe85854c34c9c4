package events

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the bus's Prometheus collectors. They carry kinds and counts
// only: never a tenant id (unbounded) or anything from an event's content.
type metrics struct {
	published          *prometheus.CounterVec
	publishErrors      prometheus.Counter
	received           prometheus.Counter
	malformed          prometheus.Counter
	slowDropped        prometheus.Counter
	duplicates         prometheus.Counter
	replayed           prometheus.Counter
	subscribers        prometheus.Gauge
	redisSubscriptions prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_events_published_total", Help: "Events published to Redis, by kind.",
		}, []string{"kind"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_events_publish_errors_total", Help: "Publish calls that Redis did not accept.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_events_received_total", Help: "Events received from Redis by this replica.",
		}),
		malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_events_malformed_total", Help: "Event messages dropped as undecodable or on the wrong tenant channel.",
		}),
		slowDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_event_subscribers_dropped_total", Help: "Subscribers dropped because they fell a whole buffer behind.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_events_duplicates_dropped_total", Help: "Events dropped because this replica had delivered their id already.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_events_replayed_total", Help: "Events read back from the outbox after a Redis pub/sub reconnect.",
		}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_event_subscribers", Help: "Live event streams on this replica.",
		}),
		redisSubscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_event_redis_subscriptions", Help: "Tenant channels this replica is subscribed to in Redis.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.publishErrors, m.received, m.malformed, m.slowDropped, m.duplicates, m.replayed, m.subscribers, m.redisSubscriptions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("events: metrics: %w", err)
		}
	}
	return m, nil
}
