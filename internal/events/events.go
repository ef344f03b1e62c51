// Package events receives Slack's Events API for every app registered in
// the hub, at one Request URL (POST /v1/events/slack), and acts on each
// event after acknowledging it.
//
// # Receiving (receive.go)
//
// A delivery is verified before anything is kept: its timestamp within
// five minutes of now, its body at most MaxBody, and its v0 signature
// (HMAC-SHA256 of "v0:timestamp:body") made with the signing secret of the
// app it names (api_app_id; an app not yet known to be any Slack app is
// tried too, and every app for a url_verification, which names none),
// compared in constant time. A url_verification is answered with its
// challenge. An event_callback is kept in slack_events, deduplicated by the
// app and Slack's event_id (a retry only counts a delivery), with its
// and then acknowledged: well inside Slack's three seconds, and never
// acknowledged unless kept, so that a crash loses nothing Slack will not
// deliver again. Kept events are queued for processing in batches after
// the answer, and a sweep queues any a dead replica kept but did not queue
// (batch.go). Other deliveries
// (app_rate_limited) are acknowledged and logged. A refused delivery is a
// 4xx with a stable code (missing_signature, stale_request, bad_signature,
// malformed_event, body_too_large), counted, and logged without its body.
// The deprecated verification token is dropped from the kept body.
//
// # Reading and following (read.go, stream.go)
//
// A principal sees an event routed to instances if it may read their
// records (authz.ReadRecords: an instance's credentials, their own
// instance's only), and one routed to none only as an organization's admin
// (authz.ReadUnroutedEvents). List lists an instance's events; Recent the
// newest of those a principal sees; Stream follows them as they are
// processed, in order of receipt, each once, by polling the store (so that
// it works from any replica) and resuming after the last event a reader
// has (GET /v1/events/stream, served as server-sent events by
// internal/eventstream). EndStreams ends the streams at shutdown.
//
// # Processing (process.go)
//
// On the hub's queue (River), after the answer: the event is routed by its
// app and its workspaces (the envelope's team and enterprise, and its
// authorizations) to the instances it belongs to; an org-wide install gets
// the events of all its workspaces. app_uninstalled, and tokens_revoked
// naming an instance's bot or user, mark the instance revoked with the
// reason, audited. The others bring the records of the streams they
// concern (users, channels, channel members, user groups and their
// members, emoji, messages) up to date without a sync
// (sync.Service.ApplyEvent). A replica processes one batch at a time, in
// order of receipt. A batch's processed events are handed to the webhooks
// (internal/webhooks) in the transaction that records what became of each:
// processed, unrouted (no instance of ours has its workspace) or failed.
package events

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/store"
)

// Options make a Service.
type Options struct {
	Store     store.Store
	Instances Revoker // the instance service: marks instances Slack revoked
	Records   Applier // the sync service: keeps records fresh from events
	// Webhooks, when set, is handed every processed event.
	Webhooks Notifier
	// Registerer takes the events' metrics; nil registers none.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	Now        func() time.Time
	// StreamPoll is how often a stream looks for new events,
	// StreamSettle how long after its receipt an event may be streamed,
	// StreamKeepalive how long a stream may stay silent (stream.go); zero:
	// the defaults.
	StreamPoll, StreamSettle, StreamKeepalive time.Duration
}

// Service receives and processes Slack's events.
type Service struct {
	store     store.Store
	instances Revoker
	records   Applier
	webhooks  Notifier
	log       *slog.Logger
	now       func() time.Time
	jobs      *queue.Queue
	pending   chan eventRef // kept events to queue for processing (batch.go)
	metrics   metrics
	streams   streamOptions
}

// New makes a Service. Without a queue (UseQueue) it keeps events and
// processes none.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Instances == nil || o.Records == nil {
		return nil, errors.New("events: a store, the instances and the records are needed")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{store: o.Store, instances: o.Instances, records: o.Records, webhooks: o.Webhooks, log: o.Log, now: o.Now, metrics: newMetrics(),
		pending: make(chan eventRef, pendingMax), streams: newStreamOptions(o)}
	if o.Registerer != nil {
		if err := s.metrics.register(o.Registerer); err != nil {
			return nil, err
		}
	}
	return s, nil
}

const queueName = "connhub_events"

// AddWorkers adds the worker that processes events to the hub's workers.
func (s *Service) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &processWorker{svc: s})
}

// Queues names the events' River queue, which a replica works one batch at
// a time: batches are queued in order of receipt, and processed so, an
// event's changes to the records are made after those of the events
// received before it (an emoji added, then removed, stays removed). Across
// replicas the order is not promised: there a record an event wrote is not
// overwritten by an older event, and the next sync corrects what remains
// (sync.Service.ApplyEvent).
func (s *Service) Queues() map[string]int { return map[string]int{queueName: 1} }

// UseQueue processes events on q, which has the service's workers.
func (s *Service) UseQueue(q *queue.Queue) { s.jobs = q }

type metrics struct {
	received   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	duplicates prometheus.Counter
	processed  *prometheus.CounterVec
	ack        prometheus.Histogram
}

func newMetrics() metrics {
	return metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_events_received_total",
			Help: "Deliveries of Slack's Events API verified and kept (or answered, for url_verification), by event type."}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_events_rejected_total",
			Help: "Deliveries of Slack's Events API refused, by code (bad_signature, stale_request, …)."}, []string{"code"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "connhub_events_duplicates_total",
			Help: "Deliveries of an event kept already (Slack's retries), counted and not processed again."}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_events_processed_total",
			Help: "Events processed, by what became of them: processed, unrouted, failed."}, []string{"status"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "connhub_events_ack_seconds",
			Help:    "Time from a delivery's arrival to its acknowledgement, for the deliveries kept (Slack's limit is 3 s).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.received, m.rejected, m.duplicates, m.processed, m.ack} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
