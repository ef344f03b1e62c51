package slacksim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/connhub/connhub/internal/slacksim"
)

// receiver is an app's Request URL: it checks every request's signature with
// slack-go's verifier (a Slack verifier nobody here wrote), answers
// url_verification as told, and keeps what it was sent.
type receiver struct {
	t      testing.TB
	secret string
	url    string
	srv    *httptest.Server

	mu         sync.Mutex
	challenge  string // how url_verification is answered: text, json, form, wrong, status500
	answer     func(r *http.Request, n int) (int, http.Header)
	got        []received
	unverified int
}

type received struct {
	header http.Header
	body   []byte
	env    map[string]any
}

func (r received) eventType() string {
	ev, _ := r.env["event"].(map[string]any)
	typ, _ := ev["type"].(string)
	return typ
}

func (r received) event() map[string]any { ev, _ := r.env["event"].(map[string]any); return ev }

func newReceiver(t testing.TB, secret string) *receiver {
	t.Helper()
	rc := &receiver{t: t, secret: secret, challenge: "text"}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	rc.url = rc.srv.URL + "/slack/events"
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v, err := slack.NewSecretsVerifier(r.Header, rc.secret)
	if err == nil {
		v.Write(body)
		err = v.Ensure()
	}
	if err != nil {
		rc.mu.Lock()
		rc.unverified++
		rc.mu.Unlock()
		http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if env["type"] == "url_verification" {
		rc.answerChallenge(w, env)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, env: env})
	n, answer := len(rc.got), rc.answer
	rc.mu.Unlock()
	status, header := http.StatusOK, http.Header(nil)
	if answer != nil {
		status, header = answer(r, n)
	}
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
}

func (rc *receiver) answerChallenge(w http.ResponseWriter, env map[string]any) {
	rc.mu.Lock()
	mode := rc.challenge
	rc.mu.Unlock()
	challenge, _ := env["challenge"].(string)
	if env["token"] == "" || challenge == "" {
		http.Error(w, "url_verification without token or challenge", http.StatusBadRequest)
		return
	}
	switch mode {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"challenge": challenge})
	case "form":
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		io.WriteString(w, url.Values{"challenge": {challenge}}.Encode())
	case "wrong":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "not the challenge")
	case "status500":
		http.Error(w, "down", http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, challenge)
	}
}

func (rc *receiver) setAnswer(f func(r *http.Request, n int) (int, http.Header)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitCount waits until the receiver has at least n deliveries and returns them.
func (rc *receiver) waitCount(t testing.TB, n int) []received {
	t.Helper()
	var got []received
	waitFor(t, fmt.Sprintf("%d deliveries", n), func() bool { got = rc.all(); return len(got) >= n })
	return got
}

// subscribe points the sandbox's app at rc for the given bot events.
func subscribe(t testing.TB, srv *slacksim.Server, rc *receiver, botEvents ...string) {
	t.Helper()
	if _, err := srv.SetEventSubscription(context.Background(), slacksim.EventSubscription{RequestURL: rc.url, BotEvents: botEvents}); err != nil {
		t.Fatalf("SetEventSubscription: %v", err)
	}
}

// parseSlackGo parses a delivery with slack-go's parser, as an app would.
func parseSlackGo(t testing.TB, r received) slackevents.EventsAPIEvent {
	t.Helper()
	ev, err := slackevents.ParseEvent(json.RawMessage(r.body), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("slackevents.ParseEvent(%s): %v", r.eventType(), err)
	}
	return ev
}

// deliveryFor returns the sandbox's record of the delivery of eventID.
func deliveryFor(srv *slacksim.Server, eventID string) (slacksim.EventDelivery, bool) {
	for _, d := range srv.EventDeliveries() {
		if d.EventID == eventID {
			return d, true
		}
	}
	return slacksim.EventDelivery{}, false
}

// waitDelivery waits until the only delivery of the sandbox reaches state.
func waitDelivery(t testing.TB, srv *slacksim.Server, state string) slacksim.EventDelivery {
	t.Helper()
	var d slacksim.EventDelivery
	waitFor(t, "a delivery "+state, func() bool {
		ds := srv.EventDeliveries()
		if len(ds) == 0 {
			return false
		}
		d = ds[len(ds)-1]
		return d.State == state
	})
	return d
}

// emitTest emits an app_mention through the control and answers the event
// IDs the sandbox gave it.
func emitTest(t testing.TB, base string) []any {
	t.Helper()
	got := controlJSON(t, base, "POST", "/_sandbox/events", `{"event":{"type":"app_mention","user":"U1","text":"<@U2> hi","channel":"C1","ts":"1.000001"}}`, 202)
	return got["event_ids"].([]any)
}
