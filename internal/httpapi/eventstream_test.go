package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/eventstream"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

// streamHub is a hub served as serve serves it, over a sandbox Enterprise
// Grid org whose app sends its events to the hub's receiver, with instance
// A installed into the first workspace and instance B into the second: an
// event of a workspace reaches its instance only.
type streamHub struct {
	*hubtest.Hub
	teams          []string
	a, b           store.Instance
	tokenA, tokenB string // the instances' tokens
	admin, member  string // API tokens
}

func startStreamHub(t *testing.T, postgres bool) *streamHub {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Postgres: postgres, NoInstall: true,
		Sandbox: slacksim.Config{Users: 20, Channels: 3, Edition: slacksim.EditionEnterpriseGrid, Workspaces: 3},
		// A silence of a tenth of a second is long enough for a keepalive.
		Events: func(o *events.Options) { o.StreamKeepalive = 100 * time.Millisecond }})
	sh := &streamHub{Hub: h}
	for _, tm := range h.Sandbox.Summary().Teams {
		sh.teams = append(sh.teams, tm.ID)
	}
	install := func(name, team string) (store.Instance, string) {
		in := h.InstallWith(t, instance.CreateInput{Name: name, Edition: "enterprise_grid", Team: team}, url.Values{"install_into": {team}})
		tok, err := h.Services.Token(ctx, h.Admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		return in, tok.Reveal()
	}
	sh.a, sh.tokenA = install("A", sh.teams[0])
	sh.b, sh.tokenB = install("B", sh.teams[1])
	sh.admin = apiToken(t, h)
	m, err := h.Store.CreateUser(ctx, store.User{OrgID: h.Admin.Org.ID, Email: "member@acme.example", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	sh.member = userToken(t, h, m.ID)
	if _, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: h.URL + "/v1/events/slack",
		BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatalf("the sandbox's url_verification of the hub's receiver: %v", err)
	}
	return sh
}

// emit has the sandbox send an event of typ from workspace team, and
// returns its Slack event ID.
func (sh *streamHub) emit(t *testing.T, team, typ string) string {
	t.Helper()
	ev := map[string]any{"type": typ}
	if typ == "channel_created" {
		ev["channel"] = map[string]any{"id": "C0" + strings.ToUpper(store.NewID(""))[1:9], "name": "stream-test", "created": time.Now().Unix()}
	}
	ids, err := sh.Sandbox.EmitEvent(team, ev)
	if err != nil || len(ids) != 1 {
		t.Fatalf("emit %s in %s: %v %v", typ, team, ids, err)
	}
	return ids[0]
}

// emitUnrouted delivers an event, signed as Slack signs, of a workspace no
// instance has: it reaches no instance.
func (sh *streamHub) emitUnrouted(t *testing.T) string {
	t.Helper()
	app, err := sh.Store.GetApp(ctx, sh.Admin.Org.ID, sh.a.AppID)
	if err != nil || app.SlackAppID == "" {
		t.Fatalf("the app's Slack app ID: %q (%v)", app.SlackAppID, err)
	}
	id := "EvUNROUTED" + strings.ToUpper(store.NewID(""))[1:9]
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T0NOBODY", "api_app_id": app.SlackAppID, "event_id": id,
		"event_time": time.Now().Unix(), "event": map[string]any{"type": "channel_created", "channel": map[string]any{"id": "C0NOBODY"}}})
	req, _ := http.NewRequest(http.MethodPost, sh.URL+"/v1/events/slack", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	signSlack(req.Header, sh.Info.SigningSecret, body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the receiver answered the unrouted event %d", resp.StatusCode)
	}
	return id
}

// sseMessage is one message of a stream, or a comment, or a retry field.
type sseMessage struct {
	id, event, comment, retry string
	data                      eventstream.SlackEvent
}

// sseReader reads a stream as a browser's EventSource does, line by line.
type sseReader struct {
	t      *testing.T
	resp   *http.Response
	cancel context.CancelFunc
	msgs   chan sseMessage
}

// stream opens GET /v1/events/stream?query with auth, and the Last-Event-ID
// when last is set. It fails the test unless the answer is a stream.
func (sh *streamHub) stream(t *testing.T, auth, query, last string) *sseReader {
	t.Helper()
	r, status, body := sh.open(t, auth, query, last)
	if r == nil {
		t.Fatalf("GET /v1/events/stream?%s: %d %s", query, status, body)
	}
	return r
}

// open opens a stream; when the answer is not one it returns its status
// and body instead.
func (sh *streamHub) open(t *testing.T, auth, query, last string) (*sseReader, int, string) {
	t.Helper()
	c, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(c, http.MethodGet, sh.URL+"/v1/events/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+auth)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return nil, resp.StatusCode, string(b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("the stream's Content-Type: %q", ct)
	}
	r := &sseReader{t: t, resp: resp, cancel: cancel, msgs: make(chan sseMessage, 1000)}
	t.Cleanup(r.close)
	go r.read()
	return r, resp.StatusCode, ""
}

func (r *sseReader) close() { r.cancel(); r.resp.Body.Close() }

// read parses the stream into messages until it ends, then closes msgs.
func (r *sseReader) read() {
	defer close(r.msgs)
	sc := bufio.NewScanner(r.resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var m sseMessage
	var data string
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if data != "" {
				if err := json.Unmarshal([]byte(data), &m.data); err != nil {
					m.event = "undecodable: " + err.Error()
				}
			}
			if m.id != "" || m.event != "" || m.comment != "" || m.retry != "" {
				r.msgs <- m
			}
			m, data = sseMessage{}, ""
		case field == "":
			m.comment = value
		case field == "id":
			m.id = value
		case field == "event":
			m.event = value
		case field == "data":
			data += value
		case field == "retry":
			m.retry = value
		}
	}
}

// next is the next event, passing over comments; it fails the test after a
// minute (the machine may be loaded: a deadline, not a timing), or when
// the stream ends.
func (r *sseReader) next() sseMessage {
	r.t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case m, ok := <-r.msgs:
			switch {
			case !ok:
				r.t.Fatal("the stream ended")
			case m.comment != "" || m.retry != "" || m.event == "" && m.data.ID == "":
				continue // a comment, a retry field, or the place the stream started
			case m.event != eventstream.Name || m.id == "" || m.id != m.data.ID:
				r.t.Fatalf("a message that is not a slack_event: %+v", m)
			}
			return m
		case <-deadline:
			r.t.Fatal("waited a minute for the next event of the stream")
		}
	}
}

// events reads the next n events' Slack event IDs.
func (r *sseReader) events(n int) []sseMessage {
	r.t.Helper()
	var out []sseMessage
	for range n {
		out = append(out, r.next())
	}
	return out
}

func slackIDs(ms []sseMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.data.EventID)
	}
	return out
}

// inReceiptOrder is the events' Slack IDs as the hub keeps them, in the
// order it received them.
func (sh *streamHub) inReceiptOrder(t *testing.T, slackIDs ...string) []string {
	t.Helper()
	evs, err := sh.Store.ScanSlackEvents(ctx, sh.Admin.Org.ID, store.SlackEventScan{Limit: store.MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if slices.Contains(slackIDs, e.EventID) {
			out = append(out, e.EventID)
		}
	}
	return out
}

// TestTheEventStream follows events as the sandbox sends them, on SQLite
// and PostgreSQL: a stream gets those sent after it connected, in order
// of receipt, each once, narrowed by instance and type and by what its
// caller may see; a reader that reconnects with Last-Event-ID goes on
// where it was; silence brings keepalives; a shutdown ends the streams.
func TestTheEventStream(t *testing.T) {
	t.Parallel()
	hubtest.Backends(t, testTheEventStream)
}

func testTheEventStream(t *testing.T, postgres bool) {
	sh := startStreamHub(t, postgres)
	a, b := sh.teams[0], sh.teams[1]

	// An event before anyone connects, processed: no stream from now has it.
	before := sh.emit(t, a, "channel_created")
	hubtest.Eventually(t, "the first event processed", func() bool {
		evs, _, err := sh.Store.ListSlackEvents(ctx, sh.Admin.Org.ID, store.SlackEventFilter{}, store.Page{})
		return err == nil && len(evs) == 1 && evs[0].Status == store.SlackEventProcessed
	})

	all := sh.stream(t, sh.admin, "", "")
	ofA := sh.stream(t, sh.admin, "instance_id="+sh.a.ID, "")
	created := sh.stream(t, sh.admin, "type=channel_created", "")
	both := sh.stream(t, sh.admin, "instance_id="+sh.a.ID+"&instance_id="+sh.b.ID+"&type=emoji_changed", "")
	asA := sh.stream(t, sh.tokenA, "", "")
	asMember := sh.stream(t, sh.member, "", "")
	// The stream says at once how long a browser waits to reconnect, and
	// where it started, to reconnect with before any event came.
	first := func(r *sseReader) sseMessage {
		t.Helper()
		select {
		case m := <-r.msgs:
			return m
		case <-time.After(time.Minute):
			t.Fatal("waited a minute for the stream's first messages")
		}
		return sseMessage{}
	}
	if m := first(all); m.retry != fmt.Sprint(eventstream.Retry.Milliseconds()) {
		t.Errorf("the stream's first message: %+v, want its retry field", m)
	}
	if m := first(all); !strings.HasPrefix(m.id, "since_") || m.event != "" || m.data.ID != "" {
		t.Errorf("the stream's second message: %+v, want the place it started (an id without data)", m)
	}
	early := sh.stream(t, sh.tokenA, "", "")
	first(early)
	start := first(early).id
	early.close()

	sent := []string{
		sh.emit(t, a, "channel_created"), // 0: A
		sh.emit(t, b, "channel_created"), // 1: B
		sh.emit(t, a, "emoji_changed"),   // 2: A
		sh.emitUnrouted(t),               // 3: nobody's
		sh.emit(t, b, "emoji_changed"),   // 4: B
	}
	order := sh.inReceiptOrder(t, sent...)
	// The sandbox sends in the background: wait for the hub to have all.
	hubtest.Eventually(t, "the hub to receive every event", func() bool { order = sh.inReceiptOrder(t, sent...); return len(order) == len(sent) })
	pick := func(idx ...int) []string {
		var want []string
		for _, id := range order {
			for _, i := range idx {
				if id == sent[i] {
					want = append(want, id)
				}
			}
		}
		return want
	}
	got := all.events(5)
	if ids := slackIDs(got); !slices.Equal(ids, order) {
		t.Errorf("the admin's stream: %v; want every event sent after it connected, in order of receipt, %v (not %s, sent before)", ids, order, before)
	}
	for _, m := range got {
		switch want := map[string][]string{sent[0]: {sh.a.ID}, sent[1]: {sh.b.ID}, sent[2]: {sh.a.ID}, sent[3]: {}, sent[4]: {sh.b.ID}}[m.data.EventID]; {
		case !slices.Equal(m.data.InstanceIDs, want):
			t.Errorf("%s came routed to %v, want %v", m.data.EventID, m.data.InstanceIDs, want)
		case m.data.EventID == sent[3] && m.data.Status != store.SlackEventUnrouted, m.data.EventID != sent[3] && m.data.Status != store.SlackEventProcessed:
			t.Errorf("%s came %s", m.data.EventID, m.data.Status)
		case !bytes.Contains(m.data.Envelope, []byte(m.data.EventID)) || bytes.Contains(m.data.Envelope, []byte(`"token"`)):
			t.Errorf("%s's envelope: %s", m.data.EventID, m.data.Envelope)
		}
	}
	for _, c := range []struct {
		name string
		r    *sseReader
		want []string
	}{
		{"instance A's, asked by the admin", ofA, pick(0, 2)},
		{"channel_created", created, pick(0, 1, 3)},
		{"A's and B's emoji_changed", both, pick(2, 4)},
		{"instance A's token's", asA, pick(0, 2)},
		{"a member's (no event that reached no instance)", asMember, pick(0, 1, 2, 4)},
		{"instance A's, reconnected with where its stream started", sh.stream(t, sh.tokenA, "", start), pick(0, 2)},
	} {
		if ids := slackIDs(c.r.events(len(c.want))); !slices.Equal(ids, c.want) {
			t.Errorf("%s: %v, want %v", c.name, ids, c.want)
		}
	}

	// Instance A's token is told nothing of B, its events or its ID.
	if _, status, body := sh.open(t, sh.tokenA, "instance_id="+sh.b.ID, ""); status != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("instance A's token asking for B's events: %d %s, want 404 not_found", status, body)
	}
	if _, status, body := sh.open(t, sh.tokenB, "", got[slices.IndexFunc(got, func(m sseMessage) bool { return m.data.EventID == sent[0] })].id); status != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_cursor"`) {
		t.Errorf("instance B's token resuming after A's event: %d %s, want 400 invalid_cursor", status, body)
	}
	if _, status, body := sh.open(t, sh.admin, "", "evt_nosuchevent"); status != http.StatusBadRequest || !strings.Contains(body, `"code":"invalid_cursor"`) {
		t.Errorf("resuming after no event: %d %s, want 400 invalid_cursor", status, body)
	}

	// A reader that goes away after the second event and comes back with
	// its ID gets the rest, and what came meanwhile, each once.
	all.close()
	more := []string{sh.emit(t, a, "channel_created"), sh.emit(t, b, "emoji_changed")}
	hubtest.Eventually(t, "the hub to receive the two more", func() bool { return len(sh.inReceiptOrder(t, more...)) == 2 })
	resumed := sh.stream(t, sh.admin, "", got[1].id)
	want := slices.Concat(order[2:], sh.inReceiptOrder(t, more...))
	if ids := slackIDs(resumed.events(len(want))); !slices.Equal(ids, want) {
		t.Errorf("resumed after the second event: %v, want %v", ids, want)
	}
	// The same through after=, as a browser's first connection would.
	if ids := slackIDs(sh.stream(t, sh.admin, "after="+got[3].id, "").events(3)); !slices.Equal(ids, want[2:5]) {
		t.Errorf("after the fourth event: %v, want %v", ids, want[2:5])
	}

	// Silence brings keepalives, and no event that was not sent.
	var extra []string
	hubtest.Eventually(t, "a keepalive", func() bool {
		for {
			select {
			case m := <-resumed.msgs:
				if m.comment == "keepalive" {
					return true
				}
				extra = append(extra, m.data.EventID)
			default:
				return false
			}
		}
	})
	if len(extra) > 0 {
		t.Errorf("events after the last, none sent: %v", extra)
	}

	// A shutdown ends every stream: its readers see the end.
	sh.Hub.Hub.Close()
	hubtest.Eventually(t, "the stream to end at the shutdown", func() bool {
		for {
			select {
			case _, ok := <-resumed.msgs:
				if !ok {
					return true
				}
			default:
				return false
			}
		}
	})
}
