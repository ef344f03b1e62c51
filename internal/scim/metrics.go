package scim

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the relay's Prometheus metrics, labelled by endpoint
// ("PATCH /Users/{id}"): a bounded set.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
	slack429 *prometheus.CounterVec
	retries  *prometheus.CounterVec
	rejects  *prometheus.CounterVec
}

// NewMetrics registers the relay's metrics with reg (nil: a private
// registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_scim_requests_total",
			Help: "SCIM calls relayed to Slack or refused, by endpoint and the HTTP status answered."}, []string{"endpoint", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connhub_scim_request_duration_seconds",
			Help: "Time to answer a SCIM call, pacing and retries included.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"endpoint"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "connhub_scim_pacing_wait_seconds",
			Help: "Time SCIM calls waited for the organization's SCIM limits before going to Slack.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 18)}, []string{"endpoint"}),
		slack429: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_scim_slack_ratelimited_total",
			Help: "429 answers Slack's SCIM API gave."}, []string{"endpoint"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_scim_retries_total",
			Help: "SCIM calls sent again, by reason (ratelimited, token_expired, server_error, network)."}, []string{"endpoint", "reason"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_scim_rejected_total",
			Help: "SCIM calls connhub answered itself (refused, or failed before Slack answered), by error code."}, []string{"endpoint", "code"}),
	}
	reg.MustRegister(m.requests, m.latency, m.wait, m.slack429, m.retries, m.rejects)
	return m
}

func (m *Metrics) done(endpoint string, status int, d time.Duration) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *Metrics) paced(endpoint string, d time.Duration) {
	if d > 0 {
		m.wait.WithLabelValues(endpoint).Observe(d.Seconds())
	}
}

func (m *Metrics) limited(endpoint string)        { m.slack429.WithLabelValues(endpoint).Inc() }
func (m *Metrics) retry(endpoint, reason string)  { m.retries.WithLabelValues(endpoint, reason).Inc() }
func (m *Metrics) rejected(endpoint, code string) { m.rejects.WithLabelValues(endpoint, code).Inc() }
