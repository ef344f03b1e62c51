package hub

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/replica"
	"github.com/connhub/connhub/internal/store"
)

// registerPacerMetrics exposes what the pacer waits for and, with a shared
// budget, what this replica leased of it (docs/OPERATIONS.md).
func registerPacerMetrics(reg *prometheus.Registry, pacer *ratelimit.Pacer, shared bool) {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func(ratelimit.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(pacer.Stats())) })
	}
	isShared := 0.0
	if shared {
		isShared = 1
	}
	reg.MustRegister(
		gauge("connhub_pacer_waiting", "Calls waiting now for their method's budget at Slack.", func() float64 { return float64(pacer.Waiting()) }),
		gauge("connhub_pacer_lanes", "Budgets (app, workspace, method; channel) the pacer keeps now.", func() float64 { all, _ := pacer.Lanes(); return float64(all) }),
		gauge("connhub_pacer_shared", "1 when Slack's budgets are shared by every replica on the database, 0 when this replica paces alone.", func() float64 { return isShared }),
		gauge("connhub_pacer_shared_down", "1 while the shared budget is unreachable and this replica paces alone on its share.", func() float64 {
			if pacer.Stats().SharedDown {
				return 1
			}
			return 0
		}),
		counter("connhub_pacer_round_trips_total", "Round trips to the shared budget: leases, answers reported and 429s told.", func(s ratelimit.Stats) int64 { return s.Leases + s.Reports + s.Blocks }),
		counter("connhub_pacer_slots_leased_total", "Slots (calls to Slack) this replica leased from the shared budget.", func(s ratelimit.Stats) int64 { return s.Leased }),
		counter("connhub_pacer_slots_unused_total", "Leased slots this replica did not use: the call was given up or came too late for its slot.", func(s ratelimit.Stats) int64 { return s.Unused }),
		counter("connhub_pacer_shared_failures_total", "Round trips to the shared budget that failed.", func(s ratelimit.Stats) int64 { return s.Failures }),
		counter("connhub_pacer_fallback_calls_total", "Calls paced alone, on a share of the budget, while the shared budget was unreachable.", func(s ratelimit.Stats) int64 { return s.Fallbacks }),
	)
}

// countReplicas counts the live replicas (their heartbeats) now and every
// heartbeat interval until ctx ends, and returns the latest count, at least
// one: the share of each budget a replica keeps to while the shared budget is
// unreachable is the budget divided by it.
func countReplicas(ctx context.Context, s store.Store, log *slog.Logger) func() int {
	var n atomic.Int64
	n.Store(1)
	count := func() {
		live, err := replica.Live(ctx, s, time.Now())
		if err != nil {
			log.Debug("pacer: count the live replicas", "err", err)
			return
		}
		n.Store(int64(max(len(live), 1)))
	}
	count()
	go func() {
		tick := time.NewTicker(replica.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				count()
			}
		}
	}()
	return func() int { return int(n.Load()) }
}
