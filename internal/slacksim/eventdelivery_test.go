package slacksim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

// setupEvents starts a sandbox with a bot installed and a receiver for its
// events. The rate window is short, so Slack's retry schedule (at once, a
// minute, five minutes) takes milliseconds.
func setupEvents(t *testing.T, cfg slacksim.Config) (*slacksim.Server, string, *receiver) {
	t.Helper()
	if cfg.RateWindow == 0 {
		cfg.RateWindow = 20 * time.Millisecond
	}
	srv, base := startSandbox(t, cfg)
	if _, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write"}}); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, srv.Info(base).SigningSecret)
	return srv, base, rc
}

func TestURLVerification(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	for _, mode := range []string{"text", "json", "form"} {
		rc.mu.Lock()
		rc.challenge = mode
		rc.mu.Unlock()
		st, err := srv.SetEventSubscription(context.Background(), slacksim.EventSubscription{RequestURL: rc.url, BotEvents: []string{"message", "message"}})
		if err != nil || !st.Enabled || st.State != slacksim.SubscriptionEnabled || st.VerifiedAt == nil {
			t.Fatalf("challenge as %s: got %+v, %v; want enabled", mode, st, err)
		}
		if len(st.BotEvents) != 1 {
			t.Errorf("got bot events %v, want them deduplicated", st.BotEvents)
		}
	}

	for _, mode := range []string{"wrong", "status500"} {
		rc.mu.Lock()
		rc.challenge = mode
		rc.mu.Unlock()
		got := controlJSON(t, base, "POST", "/_sandbox/event_subscriptions", `{"request_url":"`+rc.url+`","bot_events":["message"]}`, 400)
		if got["error"] != "url_verification_failed" || !strings.Contains(fmt.Sprint(got["message"]), "challenge") && mode == "wrong" {
			t.Errorf("challenge %s: got %v, want url_verification_failed saying why", mode, got)
		}
		sub := controlJSON(t, base, "GET", "/_sandbox/event_subscriptions", "", 200)["subscription"].(map[string]any)
		if sub["enabled"] != false || sub["state"] != "unverified" || sub["reason"] == "" {
			t.Errorf("challenge %s: got subscription %v, want it unverified with a reason", mode, sub)
		}
	}
	if ids := emitTest(t, base); len(ids) != 0 {
		t.Errorf("got event IDs %v for an unverified URL, want none", ids)
	}
	if n := len(srv.EventDeliveries()); n != 0 {
		t.Errorf("got %d deliveries to an unverified URL, want none", n)
	}

	for _, bad := range []string{`{"request_url":"ftp://x","bot_events":["message"]}`, `{"request_url":"` + rc.url + `"}`,
		`{"request_url":"` + rc.url + `","bot_events":["Not An Event"]}`, `{"url":"x"}`} {
		if got := controlJSON(t, base, "POST", "/_sandbox/event_subscriptions", bad, 400); got["ok"] != false {
			t.Errorf("%s: got %v, want refused", bad, got)
		}
	}
	if rc.unverified != 0 {
		t.Errorf("got %d url_verification requests slack-go could not verify", rc.unverified)
	}
}

func TestRetriesOnHTTPError(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "app_mention")
	rc.setAnswer(func(*http.Request, int) (int, http.Header) { return http.StatusInternalServerError, nil })
	ids := emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryFailed)
	if len(ids) != 1 || ids[0] != d.EventID {
		t.Fatalf("the control answered event IDs %v, want [%s]", ids, d.EventID)
	}
	got := rc.waitCount(t, 4)
	if len(got) != 4 || len(d.Attempts) != 4 {
		t.Fatalf("got %d requests and %d attempts, want the first and three retries", len(got), len(d.Attempts))
	}
	for i, r := range got {
		wantNum, wantReason := "", ""
		if i > 0 {
			wantNum, wantReason = fmt.Sprint(i), "http_error"
		}
		if r.header.Get("X-Slack-Retry-Num") != wantNum || r.header.Get("X-Slack-Retry-Reason") != wantReason {
			t.Errorf("request %d: got retry num %q reason %q, want %q %q", i, r.header.Get("X-Slack-Retry-Num"), r.header.Get("X-Slack-Retry-Reason"), wantNum, wantReason)
		}
		if r.env["event_id"] != d.EventID {
			t.Errorf("request %d: got event_id %v, want %s on every retry", i, r.env["event_id"], d.EventID)
		}
		if a := d.Attempts[i]; a.RetryNum != i || a.Status != 500 || a.Reason != "http_error" || a.Acked {
			t.Errorf("attempt %d: got %+v", i, a)
		}
	}
	list := controlJSON(t, base, "GET", "/_sandbox/events/deliveries?state=failed&event_id="+d.EventID, "", 200)["deliveries"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["state"] != "failed" || len(list[0].(map[string]any)["attempts"].([]any)) != 4 {
		t.Errorf("got deliveries %v, want one failed with four attempts", list)
	}
	st := controlJSON(t, base, "GET", "/_sandbox/stats", "", 200)["events"].(map[string]any)
	if st["sent"] != 4.0 || st["failed"] != 4.0 || st["retried"] != 3.0 || st["acked"] != 0.0 {
		t.Errorf("got event stats %v, want 4 sent and failed, 3 retried", st)
	}

	// A receiver that recovers gets the retry.
	rc.setAnswer(func(_ *http.Request, n int) (int, http.Header) {
		if n == 5 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	emitTest(t, base)
	d = waitDelivery(t, srv, slacksim.DeliveryAcked)
	if len(d.Attempts) != 2 || d.Attempts[1].RetryReason != "http_error" || !d.Attempts[1].Acked {
		t.Errorf("got attempts %+v, want a failure then an acked retry", d.Attempts)
	}
}

func TestRetriesOnTimeout(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{EventAckTimeout: 400 * time.Millisecond})
	subscribe(t, srv, rc, "app_mention")
	rc.setAnswer(func(r *http.Request, n int) (int, http.Header) {
		if n == 1 {
			<-r.Context().Done() // never answers in time
		}
		return http.StatusOK, nil
	})
	emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryAcked)
	if len(d.Attempts) != 2 || d.Attempts[0].Reason != "http_timeout" || d.Attempts[1].RetryReason != "http_timeout" {
		t.Fatalf("got attempts %+v, want a timeout then an acked retry", d.Attempts)
	}
	got := rc.waitCount(t, 2)
	if got[1].header.Get("X-Slack-Retry-Num") != "1" || got[1].header.Get("X-Slack-Retry-Reason") != "http_timeout" {
		t.Errorf("got retry headers %v", got[1].header)
	}
}

func TestNoRetryAndConnectionFailure(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "app_mention")
	rc.setAnswer(func(*http.Request, int) (int, http.Header) {
		return http.StatusInternalServerError, http.Header{"X-Slack-No-Retry": {"1"}}
	})
	emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryFailed)
	if len(d.Attempts) != 1 || !d.Attempts[0].NoRetry {
		t.Errorf("got attempts %+v, want one, not retried", d.Attempts)
	}

	rc.srv.Close() // nothing listens any more
	emitTest(t, base)
	d = waitDelivery(t, srv, slacksim.DeliveryFailed)
	if len(d.Attempts) != 4 {
		t.Fatalf("got attempts %+v, want four", d.Attempts)
	}
	for i, a := range d.Attempts {
		if a.Reason != "connection_failed" || i > 0 && a.RetryReason != "connection_failed" {
			t.Errorf("attempt %d: got %+v, want connection_failed", i, a)
		}
	}
}

func TestSubscriptionDisabledAfterSustainedFailure(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "app_mention")
	rc.setAnswer(func(*http.Request, int) (int, http.Header) { return http.StatusBadGateway, nil })
	// Slack's hour is 60 rate windows: 1.2 s here. Keep failing until it gives up.
	waitFor(t, "the subscription disabled", func() bool {
		emitTest(t, base)
		st, _ := srv.EventSubscription()
		return st.State == slacksim.SubscriptionDisabled
	})
	st, _ := srv.EventSubscription()
	if st.Enabled || !strings.Contains(st.Reason, "95%") || st.DisabledAt == nil {
		t.Errorf("got %+v, want disabled with the reason", st)
	}
	if n := srv.Stats().Events.Disabled; n != 1 {
		t.Errorf("got %d subscriptions disabled, want 1", n)
	}
	before := len(srv.EventDeliveries())
	emitTest(t, base)
	if after := len(srv.EventDeliveries()); after != before {
		t.Errorf("a disabled subscription got a delivery (%d, then %d)", before, after)
	}
	// Setting it again re-enables it.
	rc.setAnswer(nil)
	subscribe(t, srv, rc, "app_mention")
	n := len(rc.all())
	emitTest(t, base)
	rc.waitCount(t, n+1)
}

func TestEventFaults(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "app_mention")
	controlJSON(t, base, "POST", "/_sandbox/faults", `{"event":"app_mention","drop":true,"count":1}`, 201)
	emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryAcked)
	if len(d.Attempts) != 2 || d.Attempts[0].Fault == "" || d.Attempts[0].Reason != "connection_failed" || d.Attempts[1].RetryReason != "connection_failed" {
		t.Errorf("got attempts %+v, want a dropped attempt then an acked retry", d.Attempts)
	}
	if got := rc.waitCount(t, 1); len(got) != 1 || got[0].header.Get("X-Slack-Retry-Num") != "1" {
		t.Errorf("got %d requests, want only the retry", len(got))
	}

	controlJSON(t, base, "POST", "/_sandbox/faults", `{"event":"*","latency_ms":20,"count":1}`, 201)
	emitTest(t, base)
	rc.waitCount(t, 2)
	d = waitDelivery(t, srv, slacksim.DeliveryAcked)
	if len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Fault, "delayed") {
		t.Errorf("got attempts %+v, want one delayed", d.Attempts)
	}
	if st := srv.Stats().Events; st.Dropped != 1 || st.Acked != 2 {
		t.Errorf("got stats %+v, want 1 dropped and 2 acked", st)
	}
	for _, bad := range []string{`{"event":"x","status":500}`, `{"event":"x","method":"y","drop":true}`, `{"method":"team.info","drop":true}`, `{"event":"x"}`} {
		controlJSON(t, base, "POST", "/_sandbox/faults", bad, 400)
	}
}

// TestOrgWideRouting: on Enterprise Grid, an org-wide install gets the events
// of each of its workspaces, in Grid's envelope; a workspace install gets
// only its own workspace's.
func TestOrgWideRouting(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Workspaces: 2, RateWindow: 20 * time.Millisecond})
	info := srv.Info(base)
	teams := srv.Summary().Teams
	rc := newReceiver(t, info.SigningSecret)
	ws, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write"}, TeamID: teams[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, srv, rc, "team_join")
	controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Other Place","team_id":"`+teams[1].ID+`"}`, 201)
	controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Home Place","team_id":"`+teams[0].ID+`"}`, 201)
	got := rc.waitCount(t, 1)
	// First attempts go in the order of emission: had the other workspace's
	// event been sent, it would have come first.
	if len(got) != 1 || got[0].env["team_id"] != teams[0].ID {
		t.Fatalf("got %d deliveries, first to %v; want one, for %s", len(got), got[0].env["team_id"], teams[0].ID)
	}
	a := got[0].env["authorizations"].([]any)[0].(map[string]any)
	if a["user_id"] != ws.UserID || a["is_enterprise_install"] != false || a["enterprise_id"] != info.EnterpriseID {
		t.Errorf("got authorization %v, want the workspace install", a)
	}

	org, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write"}, Org: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.RevokeTokens(teams[0].ID, "bot", ws.UserID); err != nil {
		t.Fatal(err)
	}
	controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Org Reach","team_id":"`+teams[1].ID+`"}`, 201)
	got = rc.waitCount(t, 2)
	env := got[1].env
	a = env["authorizations"].([]any)[0].(map[string]any)
	if env["team_id"] != teams[1].ID || env["enterprise_id"] != info.EnterpriseID || env["context_team_id"] != teams[1].ID ||
		env["context_enterprise_id"] != info.EnterpriseID {
		t.Errorf("got envelope %v, want Grid's fields for %s", env, teams[1].ID)
	}
	if a["user_id"] != org.UserID || a["is_enterprise_install"] != true || a["is_bot"] != true {
		t.Errorf("got authorization %v, want the org-wide install", a)
	}
}

// TestCloseEndsDeliveries: Close returns while a receiver hangs, and what
// was queued is dropped.
func TestCloseEndsDeliveries(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{EventAckTimeout: time.Minute})
	subscribe(t, srv, rc, "app_mention")
	release := make(chan struct{})
	defer close(release)
	rc.setAnswer(func(r *http.Request, _ int) (int, http.Header) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return http.StatusOK, nil
	})
	emitTest(t, base)
	emitTest(t, base)
	rc.waitCount(t, 1)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range srv.EventDeliveries() {
		if d.State != slacksim.DeliveryDropped {
			t.Errorf("after Close: delivery %s is %s, want dropped", d.EventID, d.State)
		}
	}
}

// TestTooManyRedirects: Slack follows two redirects and gives up on a third.
func TestTooManyRedirects(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	target := rc.url
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/twice" || r.URL.Path == "/once" {
			next := map[string]string{"/twice": "/once", "/once": "/done"}[r.URL.Path]
			http.Redirect(w, r, next, http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/done" {
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(loop.Close)

	// Two redirects to the Request URL are followed.
	rc.url = loop.URL + "/once"
	subscribe(t, srv, rc, "app_mention")
	emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryAcked)
	if len(d.Attempts) != 1 {
		t.Errorf("got attempts %+v, want one acked through two redirects", d.Attempts)
	}

	// Three are not: url_verification fails, and so would every delivery.
	if _, err := srv.SetEventSubscription(context.Background(), slacksim.EventSubscription{RequestURL: loop.URL + "/twice", BotEvents: []string{"app_mention"}}); err == nil || !strings.Contains(err.Error(), "too_many_redirects") {
		t.Fatalf("got %v, want url_verification refused with too_many_redirects", err)
	}
}

// TestSignedWithTheSandboxClock: deliveries carry the sandbox's time, so an
// advanced clock makes them stale to slack-go's verifier, as a replay would be.
func TestSignedWithTheSandboxClock(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "app_mention")
	srv.AdvanceClock(10 * time.Minute)
	emitTest(t, base)
	d := waitDelivery(t, srv, slacksim.DeliveryFailed)
	rc.mu.Lock()
	unverified := rc.unverified
	rc.mu.Unlock()
	if unverified != len(d.Attempts) || d.Attempts[0].Status != http.StatusUnauthorized {
		t.Errorf("got %d unverified of %d attempts (%+v), want every one refused as stale", unverified, len(d.Attempts), d.Attempts[0])
	}
}
