// Package webhooks hands the Slack events connhub received on to
// subscribers: an organization's admin (or an instance's own token) makes a
// subscription to some event types of one or every instance, and each event
// processed for those instances is delivered to its URL, at least once, in
// order of receipt, signed in one of two formats:
//
//   - slack: Slack's envelope unchanged (less the deprecated verification
//     token), signed exactly as Slack signs (v0 HMAC-SHA256 with the
//     subscription's secret), so that an existing Slack app (Bolt,
//     slack-go's verifier, any Slack SDK) moves behind connhub by changing
//     only its signing secret and Request URL;
//   - standard: the Standard Webhooks specification (webhook-id,
//     webhook-timestamp, webhook-signature "v1,<base64>", a whsec_ secret),
//     the body {"type": "slack.<event type>", "timestamp", "data": envelope}.
//
// # Delivery (send.go)
//
// Processing an event records a delivery for each subscription that wants
// it and queues a sender job, in the processing's own steps. A sender takes
// the subscription's lease (one sender at a time, on any replica), sends its
// pending deliveries oldest first, and on a failure records it, keeps the
// rest behind it, and comes back after an exponential backoff with jitter
// (River's snooze). The same event ID (webhook-id, event_id) goes with every
// attempt. A subscription failing for longer than Options.GiveUpAfter is
// paused with the reason; PATCH status active resumes it, and it delivers
// everything it missed, in order. A sender that died holding its lease is
// replaced by any replica's sweep once the lease lapses (Serve). Subscriber URLs must not be private or
// loopback addresses unless the operator allows them
// (--webhook-allow-private), checked at creation and at every connection.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Options make a Service.
type Options struct {
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// AllowPrivate lets subscriber URLs name private and loopback
	// addresses (tests, a subscriber beside the hub).
	AllowPrivate bool
	// GiveUpAfter pauses a subscription that has failed for this long
	// (default three days).
	GiveUpAfter time.Duration
	// RetryBase is the first retry's backoff, doubled at each failure up to
	// an hour (default a second).
	RetryBase time.Duration
	// Timeout bounds one attempt (default ten seconds).
	Timeout time.Duration
	// SweepEvery is how often subscriptions with due deliveries and no
	// sender are looked for (default 30 s).
	SweepEvery time.Duration
	// Registerer takes the deliveries' metrics; nil: not exported.
	Registerer prometheus.Registerer
}

// Service manages subscriptions and delivers their events.
type Service struct {
	o      Options
	store  store.Store
	log    *slog.Logger
	now    func() time.Time
	client *http.Client
	owner  string
	jobs   *queue.Queue

	attempts *prometheus.CounterVec // by outcome: delivered, failed
	latency  prometheus.Histogram   // from an event's receipt to its delivery
	paused   prometheus.Counter
}

// New makes a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("webhooks: a store is needed")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 72 * time.Hour
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 30 * time.Second
	}
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	s := &Service{o: o, store: o.Store, log: o.Log, now: o.Now, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))}
	s.client = &http.Client{Timeout: o.Timeout, Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, Control: s.dialGuard}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	},
		// A subscriber's redirect is not followed: the URL it gave is where
		// its events go.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_webhook_attempts_total",
		Help: "Attempts to deliver an event to a subscriber, by outcome: delivered, failed."}, []string{"outcome"})
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "connhub_webhook_delivery_seconds",
		Help:    "Time from an event's receipt by connhub to its delivery to a subscriber (the attempt that succeeded).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}})
	s.paused = prometheus.NewCounter(prometheus.CounterOpts{Name: "connhub_webhook_subscriptions_paused_total",
		Help: "Subscriptions paused for failing longer than the give-up time."})
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.attempts, s.latency, s.paused} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("webhooks: metrics: %w", err)
			}
		}
	}
	return s, nil
}

const queueName = "connhub_webhooks"

// AddWorkers adds the sender to the hub's workers.
func (s *Service) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &sendWorker{svc: s})
}

// Queues names the webhooks' River queue.
func (s *Service) Queues() map[string]int { return map[string]int{queueName: 4} }

// UseQueue sends on q, which has the service's workers.
func (s *Service) UseQueue(q *queue.Queue) { s.jobs = q }

// Input makes or changes a subscription.
type Input struct {
	URL        *string
	Events     []string
	InstanceID *string
	Format     *string
	Status     *string // PATCH: "active" resumes a paused subscription, "paused" pauses it
}

// Created is a new subscription with its secret, shown once.
type Created struct {
	store.Webhook
	Secret string
}

// Create subscribes url to events of one instance, or of every instance.
// An instance's own token subscribes for its instance only.
func (s *Service) Create(ctx context.Context, p tenant.Principal, in Input) (Created, error) {
	w := store.Webhook{OrgID: p.Org.ID, Format: store.WebhookSlack, Status: store.WebhookActive, CreatedBy: actorOf(p)}
	if in.InstanceID != nil {
		w.InstanceID = *in.InstanceID
	}
	if bound := authz.BoundInstance(p); bound != "" && w.InstanceID == "" {
		w.InstanceID = bound
	}
	if err := authz.Allow(p, authz.WriteWebhooks, w.InstanceID); err != nil {
		return Created{}, err
	}
	if w.InstanceID != "" {
		if _, err := s.store.GetInstance(ctx, p.Org.ID, w.InstanceID); err != nil {
			return Created{}, apierror.New(http.StatusNotFound, "not_found", "no such instance in your organization")
		}
	}
	if in.Format != nil {
		w.Format = *in.Format
	}
	if in.URL == nil {
		return Created{}, apierror.New(http.StatusBadRequest, "invalid_webhook", "url is required")
	}
	w.URL, w.Events = *in.URL, in.Events
	if err := s.valid(w); err != nil {
		return Created{}, err
	}
	secret, err := newSecret(w.Format)
	if err != nil {
		return Created{}, err
	}
	w.Secret = secrets.Secret(secret)
	err = s.store.InTx(ctx, func(q store.Queries) error {
		var err error
		if w, err = q.CreateWebhook(ctx, w); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "webhook.create", TargetType: "webhook", TargetID: w.ID,
			Details: map[string]any{"url": origin(w.URL), "events": w.Events, "instance_id": w.InstanceID, "format": w.Format}})
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Webhook: w, Secret: secret}, nil
}

// Get returns a subscription the principal may see.
func (s *Service) Get(ctx context.Context, p tenant.Principal, id string) (store.Webhook, error) {
	return s.find(ctx, p, authz.ReadWebhooks, id)
}

// find returns the subscription id if p may do a to it.
func (s *Service) find(ctx context.Context, p tenant.Principal, a authz.Action, id string) (store.Webhook, error) {
	w, err := s.store.GetWebhook(ctx, p.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Webhook{}, errNoWebhook
	}
	if err != nil {
		return store.Webhook{}, err
	}
	if err := s.allowOn(p, a, w); err != nil {
		return store.Webhook{}, err
	}
	return w, nil
}

// List lists the subscriptions the principal may see.
func (s *Service) List(ctx context.Context, p tenant.Principal, page store.Page) ([]store.Webhook, string, error) {
	if err := authz.Allow(p, authz.ReadWebhooks, ""); err != nil {
		return nil, "", err
	}
	return s.store.ListWebhooks(ctx, p.Org.ID, authz.BoundInstance(p), page)
}

// Update changes a subscription; status active resumes a paused one, and
// its missed events are delivered.
func (s *Service) Update(ctx context.Context, p tenant.Principal, id string, in Input) (store.Webhook, error) {
	if _, err := s.find(ctx, p, authz.WriteWebhooks, id); err != nil {
		return store.Webhook{}, err
	}
	resumed := false
	var w store.Webhook
	err := s.store.InTx(ctx, func(q store.Queries) error {
		var err error
		w, err = q.UpdateWebhook(ctx, p.Org.ID, id, func(w *store.Webhook) error {
			if in.URL != nil {
				w.URL = *in.URL
			}
			if in.Events != nil {
				w.Events = in.Events
			}
			if in.Format != nil && *in.Format != w.Format {
				return apierror.New(http.StatusBadRequest, "invalid_webhook", "a subscription's format cannot change (its secret's form differs): make another")
			}
			if in.InstanceID != nil && *in.InstanceID != w.InstanceID {
				return apierror.New(http.StatusBadRequest, "invalid_webhook", "a subscription's instance cannot change: make another")
			}
			if in.Status != nil {
				switch *in.Status {
				case store.WebhookActive:
					resumed = w.Status != store.WebhookActive
					w.Status, w.StatusReason, w.FailingSince = store.WebhookActive, "", time.Time{}
				case store.WebhookPaused:
					w.Status, w.StatusReason = store.WebhookPaused, "paused by "+actorOf(p)
				default:
					return apierror.New(http.StatusBadRequest, "invalid_webhook", "status is active or paused")
				}
			}
			return s.valid(*w)
		})
		if err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "webhook.update", TargetType: "webhook", TargetID: w.ID,
			Details: map[string]any{"url": origin(w.URL), "events": w.Events, "status": w.Status}}); err != nil {
			return err
		}
		if resumed {
			return s.wake(ctx, q, w.OrgID, w.ID)
		}
		return nil
	})
	return w, err
}

// Delete ends a subscription and its pending deliveries.
func (s *Service) Delete(ctx context.Context, p tenant.Principal, id string) error {
	if _, err := s.find(ctx, p, authz.WriteWebhooks, id); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(q store.Queries) error {
		if err := q.DeleteWebhook(ctx, p.Org.ID, id); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "webhook.delete", TargetType: "webhook", TargetID: id})
	})
}

// Deliveries lists a subscription's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, p tenant.Principal, id string, page store.Page) ([]store.WebhookDelivery, string, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, "", err
	}
	return s.store.ListWebhookDeliveries(ctx, p.Org.ID, id, page)
}

// Retry sends a delivery again, now (a pending one without waiting out its
// backoff, a delivered one once more), in its place in the order.
func (s *Service) Retry(ctx context.Context, p tenant.Principal, id, deliveryID string) (store.WebhookDelivery, error) {
	if _, err := s.find(ctx, p, authz.WriteWebhooks, id); err != nil {
		return store.WebhookDelivery{}, err
	}
	d, err := s.store.GetWebhookDelivery(ctx, p.Org.ID, id, deliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return store.WebhookDelivery{}, apierror.New(http.StatusNotFound, "not_found", "no such delivery of the webhook")
	}
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	d.Status, d.NextAttemptAt, d.DeliveredAt = store.DeliveryPending, s.now(), time.Time{}
	err = s.store.InTx(ctx, func(q store.Queries) error {
		if err := q.PutWebhookDelivery(ctx, d); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "webhook.retry", TargetType: "webhook", TargetID: id,
			Details: map[string]any{"delivery_id": d.ID, "event_id": d.EventID}}); err != nil {
			return err
		}
		return s.wake(ctx, q, p.Org.ID, id)
	})
	return d, err
}

// Replay delivers again every event the subscription wants that connhub
// received since since, in order of receipt, the ones it missed (received
// before it existed) included. It returns how many are pending for it.
func (s *Service) Replay(ctx context.Context, p tenant.Principal, id string, since time.Time) (int, error) {
	w, err := s.find(ctx, p, authz.WriteWebhooks, id)
	if err != nil {
		return 0, err
	}
	if since.IsZero() || since.After(s.now()) {
		return 0, apierror.New(http.StatusBadRequest, "invalid_replay", "since is a time in the past (RFC 3339)")
	}
	n := 0
	err = s.store.InTx(ctx, func(q store.Queries) error {
		var err error
		if n, err = q.ReplayWebhook(ctx, w, since); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "webhook.replay", TargetType: "webhook", TargetID: id,
			Details: map[string]any{"since": since.UTC().Format(time.RFC3339), "deliveries": n}}); err != nil {
			return err
		}
		if w.Status != store.WebhookActive {
			return nil // delivered once it is resumed
		}
		return s.wake(ctx, q, p.Org.ID, id)
	})
	return n, err
}

var errNoWebhook = apierror.New(http.StatusNotFound, "not_found", "no such webhook in your organization")

// allowOn decides whether p may do a to w: an instance's token only to its
// own instance's subscriptions (another's is not found).
func (s *Service) allowOn(p tenant.Principal, a authz.Action, w store.Webhook) error {
	if bound := authz.BoundInstance(p); bound != "" && w.InstanceID != bound {
		return errNoWebhook
	}
	return authz.Allow(p, a, w.InstanceID)
}

// valid checks a subscription's fields.
func (s *Service) valid(w store.Webhook) error {
	bad := func(msg string) error { return apierror.New(http.StatusBadRequest, "invalid_webhook", msg) }
	if w.Format != store.WebhookSlack && w.Format != store.WebhookStandard {
		return bad("format is slack or standard")
	}
	if len(w.Events) == 0 || len(w.Events) > 100 {
		return bad(`events lists 1 to 100 event types (user_change, message, …), or ["*"] for every one`)
	}
	for _, e := range w.Events {
		if e == "" || len(e) > 100 || strings.ContainsAny(e, " ,") || (e == "*" && len(w.Events) > 1) {
			return bad(fmt.Sprintf("%q is not an event type", e))
		}
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(w.URL) > 2000 {
		return bad("url is an absolute http or https URL without credentials, at most 2,000 characters")
	}
	if !s.o.AllowPrivate {
		host := u.Hostname()
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return bad("url names this machine: subscribers must be reachable, public addresses (the operator may allow private ones: --webhook-allow-private)")
		}
		if ip, err := netip.ParseAddr(host); err == nil && private(ip) {
			return bad("url names a private or loopback address (the operator may allow them: --webhook-allow-private)")
		}
	}
	return nil
}

// private says whether ip is not a public address.
func private(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
}

// dialGuard refuses connections to private addresses, whatever a name
// resolved to, unless they are allowed.
func (s *Service) dialGuard(_, address string, _ syscall.RawConn) error {
	if s.o.AllowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || private(ip) {
		return fmt.Errorf("webhooks: %s is a private address: not a subscriber's", host)
	}
	return nil
}

// wants says whether w takes an event of type typ for one of instances.
func wants(w store.Webhook, typ string, instances []string) bool {
	if w.InstanceID != "" && !slices.Contains(instances, w.InstanceID) {
		return false
	}
	return slices.Contains(w.Events, "*") || slices.Contains(w.Events, typ)
}

// newSecret makes a subscription's secret in its format's form: Slack's
// signing secrets are 32 hex digits; Standard Webhooks', whsec_ and 24
// bytes in base64.
func newSecret(format string) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if format == store.WebhookStandard {
		return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
	}
	return hex.EncodeToString(b[:16]), nil
}

// origin is a subscriber URL's scheme and host, for the audit log: its
// path and query may hold a secret (many services put a token there).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func actorOf(p tenant.Principal) string {
	if p.User.ID != "" {
		return p.User.ID
	}
	if p.Instance != nil {
		return p.Instance.ID
	}
	return "system"
}
