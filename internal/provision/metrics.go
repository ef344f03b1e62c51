package provision

import "github.com/prometheus/client_golang/prometheus"

// metrics count what runs do, for /metrics.
type metrics struct {
	changes *prometheus.CounterVec
	runs    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_provisioning_changes_total",
			Help: "Changes provisioning runs finished, by kind (create, update, reactivate, deactivate, group_create, group_update) and outcome (done, failed, skipped)."},
			[]string{"kind", "status"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_provisioning_runs_total",
			Help: "Provisioning runs that ended, by status (succeeded, failed, stopped)."}, []string{"status"}),
	}
	reg.MustRegister(m.changes, m.runs)
	return m
}
