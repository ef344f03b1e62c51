package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/webhooks"
)

var ctx = context.Background()

// served is a hub running as serve runs it, the sandbox's events sent to
// it, and webhooks that retry quickly and give up after giveUp.
func served(t *testing.T, giveUp time.Duration, postgres bool) *hubtest.Hub {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Postgres: postgres, Sandbox: slacksim.Config{Users: 20, Channels: 3},
		Webhooks: func(o *webhooks.Options) { o.RetryBase, o.GiveUpAfter = 20*time.Millisecond, giveUp }})
	if _, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: h.URL + "/v1/events/slack",
		BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatal(err)
	}
	return h
}

// subscriber is a webhook receiver that verifies each delivery with a
// verifier nobody here wrote, and keeps the event IDs in order of arrival.
type subscriber struct {
	srv    *httptest.Server
	mu     gosync.Mutex
	ids    []string // in order of arrival, duplicates included
	bad    []string // deliveries that did not verify
	down   atomic.Bool
	secret string
}

func newSubscriber(t *testing.T, verify func(s *subscriber, h http.Header, body []byte) (id string, err error)) *subscriber {
	s := &subscriber{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		id, err := verify(s, r.Header, body)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.bad = append(s.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		s.ids = append(s.ids, id)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// slackSubscriber verifies as a Slack app does, with slack-go.
func slackSubscriber(t *testing.T) *subscriber {
	return newSubscriber(t, func(s *subscriber, h http.Header, body []byte) (string, error) {
		v, err := slackgo.NewSecretsVerifier(h, s.secret)
		if err != nil {
			return "", err
		}
		v.Write(body)
		if err := v.Ensure(); err != nil {
			return "", err
		}
		var env struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Type != "event_callback" {
			return "", io.ErrUnexpectedEOF
		}
		return env.EventID, nil
	})
}

// standardSubscriber verifies with the Standard Webhooks library.
func standardSubscriber(t *testing.T) *subscriber {
	return newSubscriber(t, func(s *subscriber, h http.Header, body []byte) (string, error) {
		wh, err := standardwebhooks.NewWebhook(s.secret)
		if err != nil {
			return "", err
		}
		if err := wh.Verify(body, h); err != nil {
			return "", err
		}
		var msg struct {
			Type string `json:"type"`
			Data struct {
				EventID string `json:"event_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &msg); err != nil || !strings.HasPrefix(msg.Type, "slack.") {
			return "", io.ErrUnexpectedEOF
		}
		return msg.Data.EventID, nil
	})
}

func (s *subscriber) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

func subscribe(t *testing.T, h *hubtest.Hub, s *subscriber, format string, events ...string) store.Webhook {
	t.Helper()
	c, err := h.Hub.Webhooks.Create(ctx, h.Admin, webhooks.Input{URL: &s.srv.URL, Events: events, Format: &format})
	if err != nil {
		t.Fatal(err)
	}
	s.secret = c.Secret
	return c.Webhook
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// emit sends n events from the sandbox, each a new channel, and returns
// their Slack event IDs in order.
func emit(t *testing.T, h *hubtest.Hub, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		got, err := h.Sandbox.EmitEvent("", map[string]any{"type": "channel_created",
			"channel": map[string]any{"id": "C0W" + string(rune('A'+i%26)) + string(rune('A'+i/26)), "name": "webhook-test", "created": time.Now().Unix()}})
		if err != nil || len(got) != 1 {
			t.Fatalf("emit: %v %v", got, err)
		}
		ids = append(ids, got[0])
	}
	return ids
}

// firsts is ids without repeats, in order of first arrival.
func firsts(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// TestBothFormatsVerifyWithOthersVerifiers: a subscriber in slack format
// verifies every delivery with slack-go's NewSecretsVerifier, one in
// standard format with the Standard Webhooks library, and both get every
// event they asked for, in order, and none they did not.
func TestBothFormatsVerifyWithOthersVerifiers(t *testing.T) {
	t.Parallel()
	h := served(t, time.Hour, false)
	slackSub, stdSub := slackSubscriber(t), standardSubscriber(t)
	subscribe(t, h, slackSub, store.WebhookSlack, "*")
	subscribe(t, h, stdSub, store.WebhookStandard, "channel_created")
	want := emit(t, h, 5)
	patch, _ := http.NewRequest(http.MethodPatch, h.SlackURL+"/_sandbox/users/"+h.Instance.AuthedUserID, strings.NewReader(`{"title": "Webhook tester"}`))
	patch.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(patch); err != nil || resp.StatusCode != 200 {
		t.Fatalf("rename: %v %v", resp, err)
	}
	eventually(t, "six events at the slack subscriber and five at the standard one", func() bool {
		return len(firsts(slackSub.seen())) >= 6 && len(firsts(stdSub.seen())) >= 5
	})
	for _, s := range []*subscriber{slackSub, stdSub} {
		if len(s.bad) > 0 {
			t.Errorf("deliveries that did not verify: %v", s.bad)
		}
	}
	if got := firsts(stdSub.seen()); !slices.Equal(got, want) {
		t.Errorf("the standard subscriber got %v, want the channel_created events in order %v", got, want)
	}
	if got := firsts(slackSub.seen())[:5]; !slices.Equal(got, want) {
		t.Errorf("the slack subscriber got %v first, want %v in order", got, want)
	}
}

// TestASubscriberDownGetsEverythingOnceBackInOrder: events sent while the
// subscriber answers 503 are retried, with the same IDs, behind the first
// that failed, and reach it in order of receipt once it is back.
func TestASubscriberDownGetsEverythingOnceBackInOrder(t *testing.T) {
	t.Parallel()
	backends(t, testASubscriberDown)
}

// backends runs test on SQLite, and on PostgreSQL where
// CONNHUB_TEST_POSTGRES names one (hubtest skips it otherwise).
func backends(t *testing.T, test func(t *testing.T, postgres bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, pg)
		})
	}
}

func testASubscriberDown(t *testing.T, postgres bool) {
	h := served(t, time.Hour, postgres)
	sub := slackSubscriber(t)
	w := subscribe(t, h, sub, store.WebhookSlack, "channel_created")
	sub.down.Store(true)
	want := emit(t, h, 20)
	eventually(t, "a failed attempt recorded", func() bool {
		ds, _, err := h.Store.ListWebhookDeliveries(ctx, h.Admin.Org.ID, w.ID, store.Page{Limit: 100})
		if err != nil {
			return false
		}
		for _, d := range ds {
			if d.Attempts > 0 && d.LastStatus == http.StatusServiceUnavailable {
				return true
			}
		}
		return false
	})
	if n := len(sub.seen()); n != 0 {
		t.Fatalf("a subscriber answering 503 was counted as having %d", n)
	}
	sub.down.Store(false)
	eventually(t, "all 20 events at the subscriber", func() bool { return len(firsts(sub.seen())) == 20 })
	if got := firsts(sub.seen()); !slices.Equal(got, want) {
		t.Errorf("after the outage the subscriber got %v, want in order %v", got, want)
	}
	if got := sub.seen(); len(got) != 20 {
		t.Logf("%d deliveries for 20 events (at least once: a repeat is allowed, and the same event_id)", len(got))
	}
	// The sender writes its outcomes after the subscriber has them.
	eventually(t, "the subscription no longer failing", func() bool {
		ww, err := h.Hub.Webhooks.Get(ctx, h.Admin, w.ID)
		return err == nil && ww.Status == store.WebhookActive && ww.FailingSince.IsZero()
	})
}

// TestASubscriptionFailingTooLongIsPausedAndResumed: past the give-up time
// the subscription is paused, saying why; resumed, it delivers what it
// missed; a replay delivers the events again, with their IDs.
func TestASubscriptionFailingTooLongIsPausedAndResumed(t *testing.T) {
	t.Parallel()
	backends(t, testPausedAndResumed)
}

func testPausedAndResumed(t *testing.T, postgres bool) {
	h := served(t, 200*time.Millisecond, postgres)
	sub := standardSubscriber(t)
	w := subscribe(t, h, sub, store.WebhookStandard, "*")
	sub.down.Store(true)
	start := time.Now()
	want := emit(t, h, 3)
	eventually(t, "the subscription paused", func() bool {
		ww, err := h.Hub.Webhooks.Get(ctx, h.Admin, w.ID)
		return err == nil && ww.Status == store.WebhookPaused
	})
	ww, _ := h.Hub.Webhooks.Get(ctx, h.Admin, w.ID)
	if !strings.Contains(ww.StatusReason, "503") || !strings.Contains(ww.StatusReason, "resume") {
		t.Errorf("the reason it was paused: %q", ww.StatusReason)
	}
	sub.down.Store(false)
	active := store.WebhookActive
	if _, err := h.Hub.Webhooks.Update(ctx, h.Admin, w.ID, webhooks.Input{Status: &active}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the missed events after the resume", func() bool { return len(firsts(sub.seen())) == 3 })
	if got := firsts(sub.seen()); !slices.Equal(got, want) {
		t.Errorf("after the resume: %v, want %v", got, want)
	}
	before := len(sub.seen())
	n, err := h.Hub.Webhooks.Replay(ctx, h.Admin, w.ID, start.Add(-time.Second))
	if err != nil || n != 3 {
		t.Fatalf("replay: %d pending (%v), want 3", n, err)
	}
	eventually(t, "the replayed events", func() bool { return len(sub.seen()) >= before+3 })
	if got := sub.seen()[before:]; !slices.Equal(got[:3], want) {
		t.Errorf("the replay delivered %v, want %v again", got, want)
	}
	// The metrics say it all: failures, a pause, deliveries and their
	// latency, and the receiver's acknowledgements.
	for name, atLeast := range map[string]float64{
		`connhub_webhook_attempts_total{outcome="failed"}`:    1,
		`connhub_webhook_attempts_total{outcome="delivered"}`: 6,
		`connhub_webhook_subscriptions_paused_total`:          1,
		`connhub_webhook_delivery_seconds_count`:              6,
		`connhub_events_ack_seconds_count`:                    3,
	} {
		if got := metric(t, h, name); got < atLeast {
			t.Errorf("%s = %v, want at least %v", name, got, atLeast)
		}
	}
}

// metric reads one sample of the hub's metrics, by its name and labels as
// the exposition writes them.
func metric(t *testing.T, h *hubtest.Hub, sample string) float64 {
	t.Helper()
	families, err := h.Hub.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name, labels := f.GetName(), ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					labels += ","
				}
				labels += fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
			}
			if labels != "" {
				name += "{" + labels + "}"
			}
			switch {
			case m.Counter != nil && name == sample:
				return m.Counter.GetValue()
			case m.Histogram != nil && sample == name+"_count":
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

// TestASenderThatDiedIsReplaced: a subscription whose sender died holding
// its lease, with a delivery due, is found by the sweep once the lease
// lapses, and the delivery goes.
func TestASenderThatDiedIsReplaced(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3},
		Webhooks: func(o *webhooks.Options) { o.RetryBase, o.SweepEvery = 20*time.Millisecond, 50*time.Millisecond }})
	if _, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: h.URL + "/v1/events/slack",
		BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatal(err)
	}
	sub := slackSubscriber(t)
	w := subscribe(t, h, sub, store.WebhookSlack, "channel_created")
	first := emit(t, h, 1)
	eventually(t, "the first delivery", func() bool { return len(sub.seen()) == 1 })
	// A sender takes the lease (once the one that sent lets it go) and
	// dies; its delivery is made due again, and no job is queued for it.
	eventually(t, "the lease, let go by the sender", func() bool {
		ok, err := h.Store.LeaseWebhookSender(ctx, h.Admin.Org.ID, w.ID, "a replica that died", time.Now().Add(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	ds, _, err := h.Store.ListWebhookDeliveries(ctx, h.Admin.Org.ID, w.ID, store.Page{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries: %v %v", ds, err)
	}
	d := ds[0]
	d.Status, d.NextAttemptAt = store.DeliveryPending, time.Now()
	if err := h.Store.PutWebhookDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the delivery sent again by another sender", func() bool { return len(sub.seen()) == 2 })
	if got := sub.seen(); got[1] != first[0] {
		t.Errorf("sent again: %v, want %s", got, first[0])
	}
}

// TestSubscriberURLsAreChecked: a private or loopback subscriber is
// refused unless the operator allows them.
func TestSubscriberURLsAreChecked(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{Users: 5, Channels: 2}})
	strict, err := webhooks.New(webhooks.Options{Store: h.Store})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
		"ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/x", "not a url"} {
		if _, err := strict.Create(ctx, h.Admin, webhooks.Input{URL: &u, Events: []string{"*"}}); err == nil || !strings.Contains(err.Error(), "invalid_webhook") {
			t.Errorf("%s: %v, want invalid_webhook", u, err)
		}
	}
	ok := "https://hooks.example.com/connhub"
	if _, err := strict.Create(ctx, h.Admin, webhooks.Input{URL: &ok, Events: []string{"*"}}); err != nil {
		t.Errorf("%s: %v", ok, err)
	}
}
