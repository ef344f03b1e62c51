package proxy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
)

var form = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

// TestFormTokenIsLookedForInTheFirstPartOnly: a token in a form body is
// found in its first 256 KiB, before the rest is read; further in, the
// caller is told where to send it.
func TestFormTokenIsLookedForInTheFirstPartOnly(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}, noPacing: true})
	pad := strings.Repeat("p", 300<<10)

	// token first, then a long field: authenticated from the first part,
	// the rest read after; Slack gets the other fields as they came.
	body := "token=" + url.QueryEscape(h.token) + "&user=" + h.instance.AuthedUserID + "&pad=" + pad
	resp, got := h.do(t, "POST", "/v1/slack/users.info", "", strings.NewReader(body), form)
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"ok":true`) {
		t.Errorf("token before 300 KiB of padding: %d %.200s", resp.StatusCode, got)
	}

	// The same, sent chunked (no Content-Length).
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "", io.MultiReader(strings.NewReader(body)), form)
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"ok":true`) {
		t.Errorf("chunked: %d %.200s", resp.StatusCode, got)
	}

	// The token after the padding: not looked for.
	body = "pad=" + pad + "&user=" + h.instance.AuthedUserID + "&token=" + url.QueryEscape(h.token)
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "", strings.NewReader(body), form)
	var e struct{ Code, Message string }
	if json.Unmarshal(got, &e); resp.StatusCode != 401 || e.Code != "missing_credentials" || !strings.Contains(e.Message, "256 KiB") {
		t.Errorf("token after 300 KiB: got %d %s; want 401 missing_credentials naming the 256 KiB", resp.StatusCode, got)
	}

	// With the token in the header, a long form is fine wherever its fields are.
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "Bearer "+h.token, strings.NewReader("pad="+pad+"&user="+h.instance.AuthedUserID), form)
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"ok":true`) {
		t.Errorf("header token, long form: %d %.200s", resp.StatusCode, got)
	}

	// Chunked and over the limit: 413 once 10 MiB have been read.
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "Bearer "+h.token, io.MultiReader(strings.NewReader(strings.Repeat("x", 10<<20+1))), form)
	if json.Unmarshal(got, &e); resp.StatusCode != 413 || e.Code != "body_too_large" {
		t.Errorf("chunked 10 MiB + 1: got %d %s; want 413 body_too_large", resp.StatusCode, got)
	}
	if n := h.px.BodiesInFlight(); n != 0 {
		t.Errorf("after every call was answered, %d body bytes are still counted", n)
	}
}

// stall sends a request's headers and the first part of its body, and
// leaves the rest unsent until the test ends.
func stall(t *testing.T, h *hub, header string, first int) net.Conn {
	t.Helper()
	return stallCall(t, h, "users.info", header, first)
}

// stallCall is stall for a call of method.
func stallCall(t *testing.T, h *hub, method, header string, first int) net.Conn {
	t.Helper()
	u, _ := url.Parse(h.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(time.Minute)) // a bound on the test, not a measure
	fmt.Fprintf(conn, "POST /v1/slack/"+method+" HTTP/1.1\r\nHost: %s\r\n%s\r\n%s", u.Host, header, strings.Repeat("x", first))
	return conn
}

// waitFor waits, a bounded while, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

// TestBodiesInFlightAreBounded: a call whose body would pass the proxy's
// budget is answered 503 overloaded with Retry-After; the budget comes back
// when the calls holding it end.
func TestBodiesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}, noPacing: true, proxy: proxy.Options{MaxBodiesInFlight: 1 << 20}})
	auth := "Authorization: Bearer " + h.token + "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	holder := stall(t, h, auth+"Content-Length: 900000\r\n", 100)
	waitFor(t, "the stalled call to hold its body's length", func() bool { return h.px.BodiesInFlight() >= 900000 })

	body := "user=" + h.instance.AuthedUserID + "&pad=" + strings.Repeat("p", 200<<10)
	resp, got := h.do(t, "POST", "/v1/slack/users.info", "Bearer "+h.token, strings.NewReader(body), form)
	var e struct{ Code, Message string }
	if json.Unmarshal(got, &e); resp.StatusCode != 503 || e.Code != "overloaded" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the budget: got %d %v %s; want 503 overloaded with Retry-After", resp.StatusCode, resp.Header, got)
	}
	// Small calls still fit.
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "Bearer "+h.token, strings.NewReader("user="+h.instance.AuthedUserID), form)
	if resp.StatusCode != 200 {
		t.Errorf("a small call beside the held body: %d %.200s", resp.StatusCode, got)
	}

	holder.Close()
	waitFor(t, "the budget to come back", func() bool { return h.px.BodiesInFlight() == 0 })
	resp, got = h.do(t, "POST", "/v1/slack/users.info", "Bearer "+h.token, strings.NewReader(body), form)
	if resp.StatusCode != 200 || !strings.Contains(string(got), `"ok":true`) {
		t.Errorf("after the budget came back: %d %.200s", resp.StatusCode, got)
	}
}

// TestUnauthenticatedBodiesAreNotRead: a caller with wrong credentials is
// answered before its body is read; one that may have its token in a form
// body gets only the first part read.
func TestUnauthenticatedBodiesAreNotRead(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}, noPacing: true})
	for _, header := range []string{
		"Authorization: Bearer chi_wrong\r\nContent-Type: application/json\r\n",
		"Content-Type: application/json\r\n",
	} {
		conn := stall(t, h, header+"Content-Length: 10000000\r\n", 1000)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 401 {
			t.Errorf("%q with a stalled body: got %v %v; want 401 at once", header, resp, err)
		}
	}
	// A form body that stalls inside its first part holds at most that part.
	conn := stall(t, h, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n", 100<<10)
	waitFor(t, "the first part to be read", func() bool { return h.px.BodiesInFlight() > 0 })
	if n := h.px.BodiesInFlight(); n > 256<<10 {
		t.Errorf("an unauthenticated form holds %d bytes, want at most 256 KiB", n)
	}
	conn.Close()
	waitFor(t, "the budget to come back", func() bool { return h.px.BodiesInFlight() == 0 })
}

// TestShutdownAnswersWaitingCalls: a call waiting in the pacer when the
// pacer closes is answered 503 shutting_down with Retry-After.
func TestShutdownAnswersWaitingCalls(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}})
	h.pacer.Backoff(slackcall.Lane(h.instance, "users.list", "", ""), time.Hour)
	type answer struct {
		resp *http.Response
		body []byte
	}
	got := make(chan answer)
	go func() {
		resp, body := h.do(t, "GET", "/v1/slack/users.list", "Bearer "+h.token, nil, nil)
		got <- answer{resp, body}
	}()
	waitFor(t, "the call to wait in the pacer", func() bool { return h.pacer.Waiting() == 1 })
	h.pacer.Close()
	a := <-got
	var e struct{ Code, Message string }
	if json.Unmarshal(a.body, &e); a.resp.StatusCode != 503 || e.Code != "shutting_down" || a.resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d %v %s; want 503 shutting_down with Retry-After", a.resp.StatusCode, a.resp.Header, a.body)
	}
	if calls := h.sandbox.Stats().Methods["users.list"].Calls; calls != 0 {
		t.Errorf("Slack got %d users.list calls, want none", calls)
	}
}

// TestChannelsCannotGrowThePacer: calls to many distinct channels, as any
// caller can send, leave no more channel lanes than the cap.
func TestChannelsCannotGrowThePacer(t *testing.T) {
	t.Parallel()
	const maxLanes = 20
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}, pacer: ratelimit.Options{MaxChannelLanes: maxLanes, Window: 200 * time.Millisecond}})
	for i := range 100 {
		body := url.Values{"channel": {fmt.Sprintf("C%06d", i)}, "text": {"hi"}}.Encode()
		resp, got := h.do(t, "POST", "/v1/slack/chat.postMessage", "Bearer "+h.token, strings.NewReader(body), form)
		if resp.StatusCode != 200 || !strings.Contains(string(got), `"ok":false`) { // channel_not_found: Slack answered
			t.Fatalf("call %d: %d %.200s", i, resp.StatusCode, got)
		}
	}
	if all, channels := h.pacer.Lanes(); channels > maxLanes || all > maxLanes+1 {
		t.Errorf("got %d lanes, %d of channels; want at most %d of channels and the workspace's", all, channels, maxLanes)
	}
}

// TestACallerThatGoesAwayStopsWaiting: once its body is read, a caller
// that hangs up while its call waits for the budget ends the wait (the
// body is read to its end, so net/http watches the connection again).
func TestACallerThatGoesAwayStopsWaiting(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false}})
	h.pacer.Backoff(slackcall.Lane(h.instance, "users.list", "", ""), time.Hour)
	for _, body := range []string{"limit=10", "limit=10&pad=" + strings.Repeat("p", 300<<10)} {
		conn := stallCall(t, h, "users.list", "Authorization: Bearer "+h.token+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+fmt.Sprint(len(body))+"\r\n", 0)
		io.WriteString(conn, body)
		waitFor(t, "the call to wait in the pacer", func() bool { return h.pacer.Waiting() == 1 })
		conn.Close()
		waitFor(t, "the wait to end", func() bool { return h.pacer.Waiting() == 0 })
	}
}
