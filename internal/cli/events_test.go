package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/pkg/connhub"
)

// cuttingProxy stands between the CLI and the hub, and can cut every
// connection through it, as a network or a restarting load balancer does.
// connected says a stream's answer came back through it.
type cuttingProxy struct {
	*httptest.Server
	connected chan struct{}
}

func newCuttingProxy(t *testing.T, hubURL string) *cuttingProxy {
	t.Helper()
	u, err := url.Parse(hubURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{connected: make(chan struct{}, 10)}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			p.connected <- struct{}{}
		}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p
}

// waitConnected waits for a stream to be answered through the proxy.
func (p *cuttingProxy) waitConnected(t *testing.T) {
	t.Helper()
	select {
	case <-p.connected:
	case <-time.After(time.Minute):
		t.Fatal("waited a minute for a stream through the proxy")
	}
}

// subscriber is a webhook endpoint that counts the event IDs it is sent.
type subscriber struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newSubscriber(t *testing.T) *subscriber {
	s := &subscriber{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			EventID string `json:"event_id"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &env)
		s.mu.Lock()
		s.ids = append(s.ids, env.EventID)
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriber) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

// TestEventsAndWebhooksCommands follows the sandbox's events with `connhub
// events tail` through a connection that is cut on the way (it goes on
// where it was: nothing missed, nothing twice, and Ctrl-C exits 0), lists
// them, subscribes a webhook, replays them to it, shows its deliveries and
// sends one again.
func TestEventsAndWebhooksCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{}, "--webhook-allow-private=true")
	out := h.cliOK(t, "instances", "create", "--name", "Evented")
	id := createdLine.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("instances create printed %q", out)
	}
	allow(t, authorizeLine.FindStringSubmatch(out)[1])
	if _, err := h.sandbox.SetEventSubscription(context.Background(), slacksim.EventSubscription{RequestURL: h.url + "/v1/events/slack",
		BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatalf("the sandbox's url_verification of the hub's receiver: %v", err)
	}
	emit := func() string {
		t.Helper()
		ids, err := h.sandbox.EmitEvent("", map[string]any{"type": "channel_created",
			"channel": map[string]any{"id": "C0" + strings.ToUpper(store.NewID(""))[1:9], "name": "cli-test"}})
		if err != nil || len(ids) != 1 {
			t.Fatalf("emit: %v %v", ids, err)
		}
		return ids[0]
	}

	proxy := newCuttingProxy(t, h.url)
	tail := start(t, h.env(map[string]string{"CONNHUB_SERVER": proxy.URL}), "events", "tail", "--type", "channel_created")
	proxy.waitConnected(t)
	sent := []string{emit(), emit()}
	line := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  channel_created +(Ev\w+)  T\w+  processed +` + id[1] + `$`)
	waitForN := func(n int) []string {
		t.Helper()
		hubtest.Eventually(t, "tail to print "+strconv.Itoa(n)+" lines", func() bool { return len(line.FindAllString(tail.stdout.String(), -1)) >= n })
		var ids []string
		for _, m := range line.FindAllStringSubmatch(tail.stdout.String(), -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	waitForN(2)
	proxy.CloseClientConnections() // the connection is cut
	sent = append(sent, emit(), emit())
	proxy.waitConnected(t) // tail connected again by itself
	got := waitForN(4)
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(sent)); !slices.Equal(got, want) {
		t.Errorf("tail printed the events %v, want each sent once, %v:\n%s", got, want, tail.stdout)
	}
	if !strings.Contains(tail.stderr.String(), "connecting again") {
		t.Errorf("tail said nothing of the lost connection: %q", tail.stderr)
	}
	tail.interrupt() // Ctrl-C
	if code := tail.wait(t); code != 0 {
		t.Errorf("tail after Ctrl-C: exit %d, %q; want 0", code, tail.stderr)
	}

	// The list, in order of receipt.
	list := h.cliOK(t, "events", "list", id[1])
	if !regexp.MustCompile(`(?m)^RECEIVED +TYPE +EVENT_ID +TEAM +STATUS$`).MatchString(list) {
		t.Errorf("events list printed:\n%s", list)
	}
	evs := cliJSON[[]connhub.SlackEvent](t, h, "events", "list", id[1], "--type", "channel_created", "--since", "1h")
	var listed []string
	for _, e := range evs {
		listed = append(listed, e.EventID)
		if !strings.Contains(list, e.EventID) || e.Status != store.SlackEventProcessed || !slices.Equal(e.InstanceIDs, []string{id[1]}) {
			t.Errorf("event %+v: not in the table, or not processed and routed to %s", e, id[1])
		}
	}
	if slices.Sort(listed); !slices.Equal(listed, slices.Sorted(slices.Values(sent))) {
		t.Errorf("events list -o json: %v, want %v", listed, sent)
	}
	if out := h.cliOK(t, "events", "list", id[1], "--type", "channel_created", "--limit", "1", "-o", "jsonl"); strings.Count(out, "\n") != 1 {
		t.Errorf("events list --limit 1 -o jsonl printed %q", out)
	}

	// A webhook, the events replayed to it, its deliveries, one sent again.
	sub := newSubscriber(t)
	out = h.cliOK(t, "webhooks", "create", "--url", sub.URL, "--events", "channel_created")
	wh := regexp.MustCompile(`webhook (whk_\w+)`).FindStringSubmatch(out)
	if wh == nil || !regexp.MustCompile(`(?m)^Signing secret: +[0-9a-f]{32}$`).MatchString(out) || !strings.Contains(out, "shown once") {
		t.Fatalf("webhooks create printed %q; want its ID and its secret, said to be shown once", out)
	}
	if out := h.cliOK(t, "webhooks", "list"); !regexp.MustCompile(`(?m)^` + wh[1] + ` +` + regexp.QuoteMeta(sub.URL) + ` +channel_created +\(every\) +slack +active$`).MatchString(out) {
		t.Errorf("webhooks list printed:\n%s", out)
	}
	if out := h.cliOK(t, "events", "replay", wh[1], "--since", "1h"); !strings.Contains(out, "4 deliveries queued for webhook "+wh[1]) {
		t.Errorf("events replay printed %q", out)
	}
	hubtest.Eventually(t, "the four events at the subscriber", func() bool { return len(sub.got()) >= 4 })
	var deliveries []connhub.WebhookDelivery
	hubtest.Eventually(t, "four deliveries delivered", func() bool {
		deliveries = cliJSON[[]connhub.WebhookDelivery](t, h, "webhooks", "deliveries", wh[1])
		return len(deliveries) == 4 && !slices.ContainsFunc(deliveries, func(d connhub.WebhookDelivery) bool { return d.Status != "delivered" })
	})
	if out := h.cliOK(t, "webhooks", "deliveries", wh[1]); !regexp.MustCompile(`(?m)^` + deliveries[0].ID + ` +evt_\w+ +channel_created +delivered +1 +HTTP 200 `).MatchString(out) {
		t.Errorf("webhooks deliveries printed:\n%s", out)
	}
	if out := h.cliOK(t, "webhooks", "retry", wh[1], deliveries[0].ID); !strings.Contains(out, "queued to be sent again") {
		t.Errorf("webhooks retry printed %q", out)
	}
	hubtest.Eventually(t, "the delivery sent again", func() bool { return len(sub.got()) >= 5 })

	for _, c := range []struct {
		args []string
		code int
		says []string
	}{
		{[]string{"events", "tail", "--instance", "ins_nosuchinstance"}, 1, []string{"not_found"}},
		{[]string{"events", "list", id[1], "--since", "yesterday"}, 2, []string{"--since", "24h"}},
		{[]string{"events", "replay", wh[1]}, 2, []string{"--since is required"}},
		{[]string{"events", "replay", "whk_nosuchwebhook", "--since", "1h"}, 1, []string{"not_found"}},
		{[]string{"webhooks", "create", "--url", sub.URL}, 2, []string{"--events is required"}},
		{[]string{"webhooks", "create", "--url", sub.URL, "--events", "*", "--format", "xml"}, 1, []string{"format"}},
		{[]string{"webhooks", "retry", wh[1], "whd_nosuchdelivery"}, 1, []string{"not_found"}},
	} {
		code, _, errOut := h.cli(t, c.args...)
		if code != c.code {
			t.Errorf("connhub %s: exit %d, want %d (%q)", strings.Join(c.args, " "), code, c.code, errOut)
		}
		oneLine(t, "connhub "+strings.Join(c.args, " "), errOut, c.says...)
	}

	// A stream still open does not hold serve's shutdown up: serve ends
	// it, and stops without waiting out its shutdown's time.
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream: %v %v", resp, err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	if code := h.served.Stop(t); code != 0 {
		t.Errorf("serve with a stream open: exit %d", code)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("the stream broke off at the shutdown (%v); want it ended", err)
		}
	case <-time.After(time.Minute):
		t.Error("the stream did not end with serve")
	}
	if strings.Contains(h.logs.String(), "serve: shutdown") {
		t.Errorf("serve's shutdown waited for the open stream:\n%s", h.logs)
	}
}
