package server

import (
	"context"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
)

// metrics are the server's Prometheus collectors. Labels are bounded: routes
// are our own patterns, and GraphQL operations are labelled by type and root
// field (fixed by the schema), never by client-chosen operation names.
type metrics struct {
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	gqlOps       *prometheus.CounterVec
	gqlDuration  *prometheus.HistogramVec
	cacheHits    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		gqlOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_graphql_operations_total", Help: "GraphQL operations by type, root field and outcome.",
		}, []string{"type", "field", "outcome"}),
		gqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_graphql_operation_duration_seconds", Help: "GraphQL operation latency by type and root field.",
			Buckets: prometheus.DefBuckets,
		}, []string{"type", "field"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_graphql_response_cache_hits_total", Help: "GraphQL responses served whole from the response cache, without execution.",
		}),
	}
	reg.MustRegister(m.httpRequests, m.httpDuration, m.gqlOps, m.gqlDuration, m.cacheHits)
	return m
}

func (m *metrics) observeHTTP(route, method string, code int, elapsed time.Duration) {
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// observeGraphQL counts each response of a query or mutation (subscriptions
// are long-lived and counted per operation start instead).
func (m *metrics) observeGraphQL(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	opType, field := "unknown", "unknown"
	if oc.Operation != nil {
		opType = string(oc.Operation.Operation)
		field = rootField(oc.Operation.SelectionSet)
	}
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome = "error"
	}
	if opType == string(ast.Subscription) && resp != nil {
		return resp
	}
	m.gqlOps.WithLabelValues(opType, field, outcome).Inc()
	m.gqlDuration.WithLabelValues(opType, field).Observe(time.Since(oc.Stats.OperationStart).Seconds())
	return resp
}

func rootField(set ast.SelectionSet) string {
	for _, sel := range set {
		if f, ok := sel.(*ast.Field); ok {
			return f.Name
		}
	}
	return "fragment"
}
