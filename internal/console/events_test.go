package console_test

import (
	"bufio"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// servedEnv is a hub served as serve serves it, the console included,
// whose sandbox sends its events to the hub's receiver.
func servedEnv(t *testing.T) *env {
	t.Helper()
	hub := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3}})
	if _, err := hub.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: hub.URL + "/v1/events/slack",
		BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatalf("the sandbox's url_verification of the hub's receiver: %v", err)
	}
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Store.CreateAPICredential(ctx, store.APICredential{OrgID: hub.Admin.Org.ID, UserID: hub.Admin.User.ID, Name: "console test",
		TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token)}); err != nil {
		t.Fatal(err)
	}
	return &env{hub: hub, url: hub.URL, token: token}
}

// emitChannel has the sandbox send a channel_created event of a channel
// named name, and returns its Slack event ID.
func emitChannel(t *testing.T, e *env, name string) string {
	t.Helper()
	ids, err := e.hub.Sandbox.EmitEvent("", map[string]any{"type": "channel_created",
		"channel": map[string]any{"id": "C0" + strings.ToUpper(store.NewID(""))[1:9], "name": name}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("emit: %v %v", ids, err)
	}
	return ids[0]
}

var streamAttr = regexp.MustCompile(`data-stream="([^"]+)"`)

// TestEventsPage: the Events page lists the events, newest first, each with
// its type, time, team, status, instances and envelope (as text), filters
// them, loads its script from the hub (no inline script under the CSP),
// and its stream, by the session, brings the events that come after.
func TestEventsPage(t *testing.T) {
	t.Parallel()
	e := servedEnv(t)
	b := e.browser(t)
	if got := b.get("/events"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/signin") {
		t.Fatalf("signed out, /events answered %d to %q; want a redirect to sign in", got.status, got.location)
	}
	first := emitChannel(t, e, "<b>not-markup</b>")
	var page answer
	deadline := time.Now().Add(time.Minute)
	for {
		b.signinOnce()
		if page = b.get("/events"); strings.Contains(page.body, first) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantStatus(t, page, http.StatusOK)
	wantIn(t, page, `id="nav-events" href="/events" aria-current="page"`, first, `<code>channel_created</code>`, `class="status processed"`,
		`href="/instances/`+e.hub.Instance.ID+`">Acme Slack</a>`, "<details>", "&lt;b&gt;not-markup&lt;/b&gt;", e.hub.Instance.TeamID,
		`<script src="/static/events.js" defer></script>`)
	wantNotIn(t, page, "<b>not-markup</b>")
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("the page's CSP: %q", csp)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page.body, -1) {
		if !strings.Contains(tag, `src="/static/`) {
			t.Errorf("the page has an inline script, which its CSP forbids: %s", tag)
		}
	}
	if regexp.MustCompile(` on[a-z]+="`).MatchString(page.body) {
		t.Error("the page has an inline event handler, which its CSP forbids")
	}
	if js := b.get("/static/events.js"); js.status != http.StatusOK || !strings.Contains(js.body, "EventSource") {
		t.Errorf("/static/events.js: %d", js.status)
	}

	// The page's stream goes on after the newest event shown: the next one
	// comes, the first does not come again.
	m := streamAttr.FindStringSubmatch(page.body)
	if m == nil || !strings.Contains(m[1], "after=evt_") {
		t.Fatalf("the page's stream URL: %v", m)
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+html.UnescapeString(m[1]), nil)
	client := &http.Client{Jar: b.c.Jar}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("the page's stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	next := emitChannel(t, e, "after-the-page")
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev struct {
					EventID string `json:"event_id"`
				}
				json.Unmarshal([]byte(data), &ev)
				got <- ev.EventID
				return
			}
		}
		close(got)
	}()
	select {
	case id := <-got:
		if id != next {
			t.Errorf("the page's stream brought %q first, want the event after the page, %s", id, next)
		}
	case <-time.After(time.Minute):
		t.Fatal("waited a minute for the page's stream")
	}

	// Filters: a type nothing has, an instance that is not there.
	none := b.get("/events?type=emoji_changed")
	wantIn(t, none, `id="no-events"`, `value="emoji_changed"`)
	if m := streamAttr.FindStringSubmatch(none.body); m == nil || !strings.Contains(m[1], "after=since_") || !strings.Contains(m[1], "type=emoji_changed") {
		t.Errorf("the stream URL of an empty list: %v; want it to go on from where the list ended, of the type asked", m)
	}
	wantIn(t, b.get("/events?instance="+e.hub.Instance.ID), next, first)
	wantStatus(t, b.get("/events?instance=ins_nosuchinstance"), http.StatusNotFound)
	if got := b.get("/events/stream?instance_id=ins_nosuchinstance"); got.status != http.StatusNotFound {
		t.Errorf("a stream of no instance: %d", got.status)
	}
	wantIn(t, b.get("/instances"), `id="events-`+e.hub.Instance.ID+`" href="/events?instance=`+e.hub.Instance.ID+`"`)
}

// signinOnce signs in unless the browser has a session.
func (b *browser) signinOnce() {
	b.t.Helper()
	if got := b.get("/instances"); got.status == http.StatusOK {
		return
	}
	b.signin(b.e.token)
}
