package replicatest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/slacksim"
)

// TestAKilledHubLosesNoEvent: a `connhub serve` process receiving a burst
// of 10,000 events from the sandbox, and handing them to a webhook
// subscriber, is killed with SIGKILL mid-burst and started again on the same
// address. Slack's retries (the sandbox's: at once, a "minute" and five
// "minutes" later, a second and five at its one-second window) bring what
// the dead process did not acknowledge; what it acknowledged was kept before
// it answered. Every event reaches the subscriber, verified with slack-go's
// verifier; the test counts the events and the deliveries (at least once: a
// delivery whose answer the killed process never recorded is sent again).
func TestAKilledHubLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub twice and sends 10,000 events")
	}
	const events = 10_000
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newCluster(t, 1, "--addr", addr, "--webhook-allow-private", "true")
	c.install(c.replicas[0], "Acme")

	var (
		mu         gosync.Mutex
		seen       = map[string]int{}
		bad        int
		secret     string
		deliveries int
	)
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		v, err := slackgo.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			v.Write(body)
			err = v.Ensure()
		}
		var env struct {
			EventID string `json:"event_id"`
		}
		if err != nil || json.Unmarshal(body, &env) != nil || env.EventID == "" {
			bad++
			http.Error(w, "unverified", http.StatusUnauthorized)
			return
		}
		seen[env.EventID]++
		deliveries++
	}))
	defer sub.Close()
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	mu.Lock()
	if st := c.call(c.replicas[0], "POST", "/v1/webhooks", c.admin(), map[string]any{"url": sub.URL, "events": []string{"channel_created"}}, &hook); st != http.StatusCreated {
		mu.Unlock()
		t.Fatalf("subscribe: %d", st)
	}
	secret = hook.Secret
	mu.Unlock()
	if _, err := c.sandbox.SetEventSubscription(context.Background(), slacksim.EventSubscription{
		RequestURL: c.replicas[0].url + "/v1/events/slack", BotEvents: []string{"channel_created"}}); err != nil {
		t.Fatal(err)
	}

	emitted := map[string]bool{}
	for i := range events {
		ids, err := c.sandbox.EmitEvent("", map[string]any{"type": "channel_created",
			"channel": map[string]any{"id": fmt.Sprintf("CK%08d", i), "name": fmt.Sprintf("burst-%d", i), "created": time.Now().Unix()}})
		if err != nil || len(ids) != 1 {
			t.Fatalf("emit %d: %v %v", i, ids, err)
		}
		emitted[ids[0]] = true
	}
	// Mid-burst: a fifth of the events acknowledged.
	deadline := time.Now().Add(5 * time.Minute)
	for c.sandbox.Stats().Events.Acked < events/5 {
		if time.Now().After(deadline) {
			t.Fatalf("the burst did not reach %d acknowledgements: %+v", events/5, c.sandbox.Stats().Events)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.replicas[0].kill()
	killedAt := c.sandbox.Stats().Events
	c.start(0)
	t.Logf("killed after %d events acknowledged; started again", killedAt.Acked)

	for {
		mu.Lock()
		got, dup := len(seen), deliveries-len(seen)
		mu.Unlock()
		if got == events {
			st := c.sandbox.Stats().Events
			t.Logf("%d events at the subscriber in %d deliveries (%d again after the kill); the sandbox made %d attempts, %d retries, %d failed",
				got, got+dup, dup, st.Sent, st.Retried, st.Failed)
			break
		}
		if time.Now().After(deadline) {
			var lost []string
			for _, d := range c.sandbox.EventDeliveries() {
				if d.State == slacksim.DeliveryFailed || d.State == slacksim.DeliveryDropped {
					lost = append(lost, d.EventID+" "+d.State+" "+d.Reason)
				}
			}
			t.Fatalf("%d of %d events at the subscriber after five minutes; the sandbox gave up on %d: %.5v; stats %+v",
				got, events, len(lost), lost, c.sandbox.Stats().Events)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if bad > 0 {
		t.Errorf("%d deliveries did not verify", bad)
	}
	for id := range seen {
		if !emitted[id] {
			t.Errorf("the subscriber got %s, which was never emitted", id)
		}
	}
}
