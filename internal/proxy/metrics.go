package proxy

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connhub/connhub/internal/slackspec"
)

// Metrics are the proxy's Prometheus metrics, labelled by Slack method.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	limited  *prometheus.CounterVec
	retries  *prometheus.CounterVec
	wait     *prometheus.HistogramVec
	rejects  *prometheus.CounterVec
}

// NewMetrics registers the proxy's metrics with reg (nil: a private registry,
// for tests and benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_proxy_requests_total",
			Help: "Calls proxied to Slack, by Slack method and the HTTP status answered."}, []string{"method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connhub_proxy_request_duration_seconds",
			Help: "Time to answer a proxied call, pacing and retries included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}, []string{"method"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_slack_ratelimited_total",
			Help: "429 answers Slack gave the proxy."}, []string{"method"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_proxy_retries_total",
			Help: "Calls the proxy sent again, by reason (ratelimited, token_expired, server_error, network)."}, []string{"method", "reason"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connhub_proxy_pacing_wait_seconds",
			Help: "Time calls waited for their method's budget before going to Slack.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"method"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_proxy_rejected_total",
			Help: "Calls refused before reaching Slack, by error code."}, []string{"method", "code"}),
	}
	reg.MustRegister(m.requests, m.latency, m.limited, m.retries, m.wait, m.rejects)
	return m
}

// label is the method as a metric label: a method of Slack's table as it
// is, anything else "unknown", so that callers cannot grow the label set
// without bound by inventing method names.
func label(method string) string {
	if _, ok := slackspec.Lookup(method); ok {
		return method
	}
	return "unknown"
}

func (m *Metrics) done(method string, status int, d time.Duration) {
	method = label(method)
	m.requests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method).Observe(d.Seconds())
}

func (m *Metrics) paced(method string, d time.Duration) {
	if d > 0 {
		m.wait.WithLabelValues(label(method)).Observe(d.Seconds())
	}
}

func (m *Metrics) slack429(method string) { m.limited.WithLabelValues(label(method)).Inc() }
func (m *Metrics) retry(method, reason string) {
	m.retries.WithLabelValues(label(method), reason).Inc()
}
func (m *Metrics) rejected(method, code string) {
	m.rejects.WithLabelValues(label(method), code).Inc()
}
