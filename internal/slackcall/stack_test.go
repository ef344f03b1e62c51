package slackcall_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
)

// send makes one call through rt for h's instance with its bot token.
func send(t *testing.T, h *hubtest.Hub, rt http.RoundTripper, c *slackcall.Call, args url.Values) (*http.Response, error) {
	t.Helper()
	if c.Kind == "" {
		c.Kind = "bot"
	}
	if c.Instance.ID == "" {
		c.Instance = h.Instance
	}
	req, err := http.NewRequestWithContext(slackcall.WithCall(ctx, c), http.MethodPost, h.SlackURL+"/api/"+c.Method, strings.NewReader(args.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return rt.RoundTrip(req)
}

// answer reads an answer's envelope.
func answer(t *testing.T, resp *http.Response) slack.Envelope {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	env, err := slack.ParseEnvelope(resp.Header, body)
	if err != nil {
		t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	return env
}

func TestA429BurstIsWaitedOutOnceThroughThePacer(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	pacer := ratelimit.New(ratelimit.Options{Window: time.Second})
	rt := slackcall.NewStack(slackcall.StackOptions{Pacer: pacer, Tokens: h.Services}).Transport(slackcall.ProxyPolicy)
	h.Fault(t, slacksim.Fault{Method: "team.info", Status: 429, Count: 3})
	const callers = 12
	var (
		wg                gosync.WaitGroup
		retries, twice    atomic.Int64
		limited, failures atomic.Int64
	)
	lane := slackcall.Lane(h.Instance, "team.info", "", "")
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &slackcall.Call{Method: "team.info", Lane: lane, Limited: func() { limited.Add(1) }}
			resp, err := send(t, h, rt, c, nil)
			if err != nil || resp.StatusCode != http.StatusOK || !answer(t, resp).OK {
				failures.Add(1)
				return
			}
			retries.Add(int64(c.Retries))
			if c.Retries > 1 {
				twice.Add(1)
			}
		}()
	}
	wg.Wait()
	if failures.Load() != 0 || limited.Load() != 3 || retries.Load() != 3 || twice.Load() != 0 {
		t.Errorf("%d callers, 3 429s from Slack: %d failed, %d 429s seen, %d retries, %d callers retried twice; want none failed, 3, 3, none",
			callers, failures.Load(), limited.Load(), retries.Load(), twice.Load())
	}
	if got := h.Sandbox.Stats().Methods["team.info"].Calls; got != callers+3 {
		t.Errorf("Slack saw %d calls, want %d (each 429 sent again once)", got, callers+3)
	}
}

func TestA5xxIsRetriedOnAReadNotOnAWrite(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	rt := h.Stack.Transport(slackcall.ProxyPolicy)
	h.Fault(t, slacksim.Fault{Method: "users.list", Status: 503, Count: 1})
	c := &slackcall.Call{Method: "users.list"}
	resp, err := send(t, h, rt, c, url.Values{"limit": {"2"}})
	if err != nil || resp.StatusCode != http.StatusOK || !answer(t, resp).OK || c.Retries != 1 {
		t.Errorf("users.list after a 503: %v, %d retries; want ok after 1", err, c.Retries)
	}

	h.Fault(t, slacksim.Fault{Method: "chat.postMessage", Status: 503, Count: 1})
	before := h.Sandbox.Stats().Methods["chat.postMessage"].Calls
	c = &slackcall.Call{Method: "chat.postMessage"}
	resp, err = send(t, h, rt, c, url.Values{"channel": {"C0NOSUCH"}, "text": {"hi"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if calls := h.Sandbox.Stats().Methods["chat.postMessage"].Calls - before; resp.StatusCode != http.StatusServiceUnavailable || calls != 1 || c.Retries != 0 {
		t.Errorf("chat.postMessage after a 503: HTTP %d after %d calls, %d retries; want the 503 after 1 call", resp.StatusCode, calls, c.Retries)
	}
}

func TestAnExpiredTokenIsRefreshedOnceForManyCallers(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{TokenRotation: true}})
	rt := h.Stack.Transport(slackcall.ProxyPolicy)
	h.Sandbox.AdvanceClock(13 * time.Hour) // Slack's clock: the token has expired; the hub's: it has not
	const callers = 20
	var (
		wg       gosync.WaitGroup
		failures atomic.Int64
		mu       gosync.Mutex
		versions = map[int]int{}
	)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &slackcall.Call{Method: "team.info"}
			resp, err := send(t, h, rt, c, nil)
			if err != nil || !answer(t, resp).OK {
				failures.Add(1)
				return
			}
			mu.Lock()
			versions[int(c.Instance.TokenVersion)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got := h.Sandbox.Stats().Refreshes; got != 1 || failures.Load() != 0 {
		t.Errorf("%d callers with an expired token: %d refreshes at Slack, %d failed; want 1 and none", callers, got, failures.Load())
	}
	if _, stale := versions[int(h.Instance.TokenVersion)]; stale || len(versions) != 1 {
		t.Errorf("token versions the callers ended with: %v; want one, newer than %d", versions, h.Instance.TokenVersion)
	}
}

func TestALargeAnswerStreams(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{Users: 1000}})
	base := &hubtest.CountingTransport{}
	rt := slackcall.NewStack(slackcall.StackOptions{Base: base, Tokens: h.Services}).Transport(slackcall.ProxyPolicy)
	resp, err := send(t, h, rt, &slackcall.Call{Method: "users.list"}, url.Values{"limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	before := base.Read()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if before > 4<<10 || len(body) < 100<<10 || base.Read() != int64(len(body)) {
		t.Errorf("users.list of 1000: %d bytes read from Slack before the answer was handed over, %d in all; want at most 4 KiB first, then all %d",
			before, base.Read(), len(body))
	}
}

// A request without a Call (the install client's) carries its own
// credentials: the stack neither sets a token nor paces it; a refresh made
// for a call does not go with the call's token or lane.
func TestACallWithoutCallIsOnlyRetried(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	rt := h.Stack.Transport(slackcall.InstallPolicy)
	h.Fault(t, slacksim.Fault{Method: "auth.test", Status: 503, Count: 1})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, h.SlackURL+"/api/auth.test", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+h.Instance.BotToken.Reveal())
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || !answer(t, resp).OK {
		t.Errorf("auth.test with its own token after a 503: %v", err)
	}
}
