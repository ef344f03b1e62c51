package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/store"
)

// sendArgs is the job that sends a subscription's pending deliveries.
type sendArgs struct {
	OrgID     string `json:"org_id"`
	WebhookID string `json:"webhook_id"`
}

func (sendArgs) Kind() string { return "connhub.webhook_send" }

var sendOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: 5}

type sendWorker struct {
	river.WorkerDefaults[sendArgs]
	svc *Service
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[sendArgs]) error {
	// The lease is the job's, not the process's: two workers here must not
	// send one subscription's deliveries side by side either.
	return w.svc.send(ctx, w.svc.owner+"/"+strconv.FormatInt(job.ID, 10), job.Args.OrgID, job.Args.WebhookID)
}

// orderWait is how long a sender waits for an earlier event's processing.
const orderWait = 50 * time.Millisecond

// leaseTTL is how long a sender holds a subscription without renewing.
const leaseTTL = time.Minute

// EventsProcessed records, in q's transaction, the deliveries of a batch
// of processed events (each with the instances it went to) to the
// subscriptions of their organizations that want them. The event
// processing calls it in the transaction that marks the events processed:
// a retried batch adds nothing twice. Once that commits, wake wakes each
// of those senders once: outside the transaction, so that the queue starts
// them at once (River fetches at once after an insert of its own, but
// only at its next poll after one in a caller's transaction, on SQLite).
// A process that dies between the two leaves the deliveries to the sweep.
func (s *Service) EventsProcessed(ctx context.Context, q store.Queries, evs []store.SlackEvent, instances [][]string) (wake func(context.Context), err error) {
	hooks := map[string][]store.Webhook{} // by organization
	var ds []store.WebhookDelivery
	var woken [][2]string // organization, subscription
	for i, e := range evs {
		ws, ok := hooks[e.OrgID]
		if !ok {
			if ws, err = s.allWebhooks(ctx, q, e.OrgID); err != nil {
				return nil, err
			}
			hooks[e.OrgID] = ws
		}
		for _, w := range ws {
			if !wants(w, e.Type, instances[i]) {
				continue
			}
			ds = append(ds, store.WebhookDelivery{OrgID: e.OrgID, WebhookID: w.ID, EventID: e.ID, EventType: e.Type, ReceivedAt: e.ReceivedAt})
			if k := [2]string{e.OrgID, w.ID}; w.Status == store.WebhookActive && !slices.Contains(woken, k) {
				woken = append(woken, k)
			}
		}
	}
	if len(ds) == 0 {
		return func(context.Context) {}, nil
	}
	if _, err := q.AddWebhookDeliveries(ctx, ds); err != nil {
		return nil, err
	}
	return func(ctx context.Context) {
		if s.jobs == nil {
			return
		}
		for _, k := range woken {
			if err := s.jobs.Insert(ctx, sendArgs{OrgID: k[0], WebhookID: k[1]}, sendOpts); err != nil {
				s.log.Warn("webhooks: wake a sender; the sweep will", "webhook", k[1], "err", err)
			}
		}
	}, nil
}

// allWebhooks lists an organization's subscriptions.
func (s *Service) allWebhooks(ctx context.Context, q store.Queries, orgID string) ([]store.Webhook, error) {
	var out []store.Webhook
	after := ""
	for {
		page, next, err := q.ListWebhooks(ctx, orgID, "", store.Page{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// Serve wakes the senders of subscriptions nobody sends for (a sender that
// died with its job, a snoozed job lost), every Options.SweepEvery, until
// ctx ends. The queue's owner (the hub) works the jobs.
func (s *Service) Serve(ctx context.Context) error {
	queue.Every(ctx, s.o.SweepEvery, s.sweep)
	return nil
}

func (s *Service) sweep(ctx context.Context) {
	due, err := s.store.WebhooksDue(ctx, s.now(), 500)
	if err != nil {
		s.log.Warn("webhooks: sweep", "err", err)
		return
	}
	for _, k := range due {
		if err := s.jobs.Insert(ctx, sendArgs{OrgID: k[0], WebhookID: k[1]}, sendOpts); err != nil {
			s.log.Warn("webhooks: sweep: wake a sender", "webhook", k[1], "err", err)
		}
	}
}

// wake queues a sender of the subscription in q's transaction.
func (s *Service) wake(ctx context.Context, q store.Queries, orgID, id string) error {
	if s.jobs == nil {
		return nil
	}
	return s.jobs.InsertTx(ctx, q, sendArgs{OrgID: orgID, WebhookID: id}, sendOpts)
}

// send sends the subscription's pending deliveries in order while it holds
// its lease. Another sender holding the lease sends them instead; a
// failure leaves the rest behind it and comes back after the backoff.
func (s *Service) send(ctx context.Context, owner, orgID, id string) error {
	for {
		ok, err := s.store.LeaseWebhookSender(ctx, orgID, id, owner, s.now().Add(leaseTTL))
		if err != nil || !ok {
			return err // not ours: its holder sends, and looks again once it lets go
		}
		backoff, err := s.sendHeld(ctx, owner, orgID, id)
		if rerr := s.store.ReleaseWebhookSender(context.WithoutCancel(ctx), orgID, id, owner); rerr != nil && err == nil {
			err = rerr
		}
		switch {
		case err != nil:
			return err
		case backoff > time.Second:
			return river.JobSnooze(backoff) // the next delivery is backing off: come back then
		case backoff > 0:
			// A short wait (an earlier event being processed, a first retry)
			// is waited here: River takes a snoozed job back only at its
			// scheduler's next pass, seconds later.
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return river.JobSnooze(backoff)
			}
			continue
		}
		// Let go first, then look: a delivery added while this sender held
		// the lease (whose own job found it held and ended) is seen here.
		if due, err := s.due(ctx, orgID, id); err != nil || !due {
			return err
		}
	}
}

// due says whether the subscription is active with a delivery due now.
func (s *Service) due(ctx context.Context, orgID, id string) (bool, error) {
	w, err := s.store.GetWebhook(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && w.Status != store.WebhookActive) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	d, err := s.store.NextWebhookDelivery(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && !d.NextAttemptAt.After(s.now()), err
}

// sendHeld sends pending deliveries until none is left or one fails: it
// returns how long to wait before looking again (a failure's backoff, the
// next delivery's, or an earlier event's processing); zero when none is
// left or the subscription is paused.
func (s *Service) sendHeld(ctx context.Context, owner, orgID, id string) (time.Duration, error) {
	w, err := s.store.GetWebhook(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // deleted
	}
	if err != nil || w.Status != store.WebhookActive {
		return 0, err
	}
	renewed := s.now()
	for {
		d, err := s.store.NextWebhookDelivery(ctx, orgID, id)
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if wait := d.NextAttemptAt.Sub(s.now()); wait > 0 {
			return wait, nil // backing off: come back when it is due
		}
		// Events are processed side by side: one received earlier may not
		// have its deliveries yet. Wait for it, rather than overtake it.
		if blocked, err := s.store.UnprocessedBefore(ctx, orgID, d.ReceivedAt, d.EventID); err != nil || blocked {
			return orderWait, err
		}
		if s.now().Sub(renewed) > leaseTTL/3 {
			if _, err := s.store.LeaseWebhookSender(ctx, orgID, id, owner, s.now().Add(leaseTTL)); err != nil {
				return 0, err
			}
			renewed = s.now()
		}
		status, sendErr := s.deliver(ctx, w, d)
		d.Attempts++
		d.LastStatus = status
		if sendErr == nil {
			d.Status, d.LastError, d.DeliveredAt = store.DeliveryDelivered, "", s.now()
			s.attempts.WithLabelValues("delivered").Inc()
			s.latency.Observe(d.DeliveredAt.Sub(d.ReceivedAt).Seconds())
			if err := s.store.PutWebhookDelivery(ctx, d); err != nil {
				return 0, err
			}
			if !w.FailingSince.IsZero() {
				if w, err = s.store.UpdateWebhook(ctx, orgID, id, func(w *store.Webhook) error { w.FailingSince = time.Time{}; return nil }); err != nil {
					return 0, err
				}
			}
			continue
		}
		s.attempts.WithLabelValues("failed").Inc()
		backoff := s.backoff(d.Attempts)
		d.LastError, d.NextAttemptAt = sendErr.Error(), s.now().Add(backoff)
		if err := s.store.PutWebhookDelivery(ctx, d); err != nil {
			return 0, err
		}
		paused := false
		w, err = s.store.UpdateWebhook(ctx, orgID, id, func(w *store.Webhook) error {
			if w.FailingSince.IsZero() {
				w.FailingSince = s.now()
			}
			if s.now().Sub(w.FailingSince) >= s.o.GiveUpAfter {
				w.Status, paused = store.WebhookPaused, true
				w.StatusReason = fmt.Sprintf("failing since %s: %s; resume it (PATCH status active) once the subscriber answers",
					w.FailingSince.UTC().Format(time.RFC3339), d.LastError)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		s.log.Info("webhooks: a delivery failed", "webhook", id, "delivery", d.ID, "attempts", d.Attempts, "status", status, "err", sendErr, "paused", paused)
		if paused {
			s.paused.Inc()
			return 0, nil
		}
		return backoff, nil
	}
}

// backoff is the wait after a delivery's n-th failed attempt: RetryBase
// doubled each time, at most an hour, less up to a fifth at random.
func (s *Service) backoff(n int) time.Duration {
	d := s.o.RetryBase << min(n-1, 20)
	d = min(d, time.Hour)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// deliver makes one attempt: the subscriber's status, and an error unless
// it answered 2xx.
func (s *Service) deliver(ctx context.Context, w store.Webhook, d store.WebhookDelivery) (int, error) {
	e, err := s.store.GetSlackEvent(ctx, w.OrgID, d.EventID)
	if err != nil {
		return 0, fmt.Errorf("the event: %w", err)
	}
	body, header, err := s.message(w, e)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = header
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL may hold a secret (a token in its path): never in the error.
		return 0, fmt.Errorf("connection failed: %s", strings.ReplaceAll(strings.TrimPrefix(err.Error(), "Post \""+w.URL+"\": "), w.URL, "the URL"))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the subscriber answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// message is an event's body and headers in the subscription's format,
// signed with its secret now.
func (s *Service) message(w store.Webhook, e store.SlackEvent) ([]byte, http.Header, error) {
	now := s.now()
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"connhub-webhooks"}}
	switch w.Format {
	case store.WebhookStandard:
		body, err := json.Marshal(map[string]any{"type": "slack." + e.Type, "timestamp": e.ReceivedAt.UTC().Format(time.RFC3339Nano),
			"data": json.RawMessage(e.Body)})
		if err != nil {
			return nil, nil, err
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret.Reveal(), "whsec_"))
		if err != nil {
			return nil, nil, errors.New("the subscription's secret is not a whsec_ secret")
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(e.ID + "." + ts + "."))
		mac.Write(body)
		h.Set("webhook-id", e.ID)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		return body, h, nil
	default:
		mac := hmac.New(sha256.New, []byte(w.Secret.Reveal()))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(e.Body)
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		h.Set("X-Connhub-Event-Id", e.ID)
		return e.Body, h, nil
	}
}
