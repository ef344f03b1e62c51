package slackcall_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
)

var ctx = context.Background()

func caller(t *testing.T, h *hubtest.Hub, o slackcall.Options) *slackcall.Caller {
	t.Helper()
	o.SlackURL, o.Tokens, o.Log = h.SlackURL, h.Services, h.Log
	c, err := slackcall.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestACallAndSlacksErrors(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	c := caller(t, h, slackcall.Options{})
	res, err := c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "users.list", Args: url.Values{"limit": {"5"}}})
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		OK      bool              `json:"ok"`
		Members []json.RawMessage `json:"members"`
	}
	if err := json.Unmarshal(res.Body, &page); err != nil || !page.OK || len(page.Members) != 5 || res.Retries != 0 {
		t.Errorf("users.list: %v, %d members, %d retries: %.200s", err, len(page.Members), res.Retries, res.Body)
	}

	_, err = c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "conversations.history", Args: url.Values{"channel": {"C0NOSUCH"}}})
	var se *slackcall.Error
	if !errors.As(err, &se) || se.Code != "channel_not_found" || slackcall.Code(err) != "channel_not_found" {
		t.Errorf("an unknown channel: got %v, want Slack's channel_not_found", err)
	}
	_, err = c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "admin.analytics.getFile", Args: url.Values{"type": {"member"}}})
	if slackcall.Code(err) == "" {
		t.Errorf("a user-token method with the bot token: got %v, want Slack's error", err)
	}
	if strings.Contains(err.Error(), "xox") {
		t.Errorf("an error names a token: %v", err)
	}
}

func TestAnExpiredTokenIsRefreshedOnceAndTheCallRetried(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{TokenRotation: true}})
	c := caller(t, h, slackcall.Options{})
	h.Sandbox.AdvanceClock(13 * time.Hour) // Slack's clock: the token has expired; the hub's: it has not
	res, err := c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "team.info"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Sandbox.Stats().Refreshes; got != 1 || res.Retries != 1 || res.Instance.TokenVersion == h.Instance.TokenVersion {
		t.Errorf("refreshes %d, retries %d, token version %d → %d; want one refresh and one retry with the new token",
			got, res.Retries, h.Instance.TokenVersion, res.Instance.TokenVersion)
	}
}

func TestServerErrorsOnReadsAreRetried(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{})
	c := caller(t, h, slackcall.Options{})
	h.Fault(t, slacksim.Fault{Method: "users.list", Status: 503, Count: 2})
	h.Fault(t, slacksim.Fault{Method: "team.info", Malformed: true, Count: 1})
	res, err := c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "users.list", Args: url.Values{"limit": {"2"}}})
	if err != nil || res.Retries != 2 {
		t.Errorf("users.list after two 503s: %v, %d retries; want success after 2", err, resultRetries(res))
	}
	res, err = c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "team.info"})
	if err != nil || res.Retries != 1 {
		t.Errorf("team.info after a truncated answer: %v, %d retries; want success after 1", err, resultRetries(res))
	}

	// More failures than the retries: a clear error.
	h.Fault(t, slacksim.Fault{Method: "users.list", Status: 500})
	_, err = c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "users.list"})
	var ue *slackcall.UnavailableError
	if !errors.As(err, &ue) {
		t.Errorf("users.list failing for good: got %v, want UnavailableError", err)
	}
	h.ClearFaults(t)

	// A write that failed is not sent again: Slack may have acted on it.
	h.Fault(t, slacksim.Fault{Method: "chat.postMessage", Status: 503, Count: 1})
	before := h.Sandbox.Stats().Methods["chat.postMessage"].Calls
	_, err = c.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "chat.postMessage", Args: url.Values{"channel": {"C0NOSUCH"}, "text": {"hi"}}})
	if !errors.As(err, &ue) || h.Sandbox.Stats().Methods["chat.postMessage"].Calls-before != 1 {
		t.Errorf("a write that met a 503: got %v after %d calls; want UnavailableError after 1", err, h.Sandbox.Stats().Methods["chat.postMessage"].Calls-before)
	}
}

func resultRetries(r *slackcall.Result) int {
	if r == nil {
		return -1
	}
	return r.Retries
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	window := 200 * time.Millisecond
	h := hubtest.Start(t, hubtest.Options{Sandbox: slacksim.Config{RateLimits: true, RateWindow: window}})

	// Paced: more calls than a window's budget, and Slack never says 429.
	paced := caller(t, h, slackcall.Options{Pacer: ratelimit.New(ratelimit.Options{Window: window})})
	for range 45 { // users.list is Tier 2: 20 a window
		if _, err := paced.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "users.list", Args: url.Values{"limit": {"1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.Sandbox.Stats().Methods["users.list"].RateLimited; n != 0 {
		t.Errorf("paced calls met %d 429s, want none", n)
	}

	// Unpaced, a 429 is waited out and the call made again.
	h.Fault(t, slacksim.Fault{Method: "team.info", Status: 429, Count: 1})
	unpaced := caller(t, h, slackcall.Options{})
	res, err := unpaced.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "team.info"})
	if err != nil || res.Retries != 1 || res.Waited < time.Second {
		t.Errorf("team.info after one 429: %v, %d retries, waited %s; want success after Retry-After (1 s)", err, resultRetries(res), waited(res))
	}
	// A storm of 429s longer than the Caller waits out ends in RateLimitedError.
	h.Fault(t, slacksim.Fault{Method: "team.info", Status: 429})
	stormy := caller(t, h, slackcall.Options{Policy: slackcall.Policy{RateLimited: 1}, Pacer: ratelimit.New(ratelimit.Options{Window: window})})
	_, err = stormy.Do(ctx, slackcall.Request{Instance: h.Instance, Kind: "bot", Method: "team.info"})
	var rl *slackcall.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("a 429 storm: got %v, want RateLimitedError with Retry-After 1s", err)
	}
}

func waited(r *slackcall.Result) time.Duration {
	if r == nil {
		return 0
	}
	return r.Waited
}

func TestLanes(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{NoInstall: true})
	_ = h
	for _, tc := range []struct {
		method, team, channel string
		orgWide               bool
		want                  string
	}{
		{"users.list", "", "", false, "A1/T1/users.list"},
		{"users.list", "T9", "", false, "A1/T1/users.list"}, // a workspace token ignores team_id
		{"users.list", "T9", "", true, "A1/T9/users.list"},
		{"users.list", "T8", "", true, "A1/E1/users.list"}, // not a workspace the install was granted
		{"users.list", "", "", true, "A1/E1/users.list"},
		{"chat.postMessage", "", "C1", false, "A1/T1/chat.postMessage#C1"},
		{"conversations.history", "", "C1", false, "A1/T1/conversations.history"},
	} {
		in := h.Instance
		in.AppID, in.TeamID, in.EnterpriseID, in.OrgWide = "A1", "T1", "E1", tc.orgWide
		if tc.orgWide {
			in.TeamID, in.Teams = "", []string{"T9", "T7"}
		}
		if got := slackcall.Lane(in, tc.method, tc.team, tc.channel); got != tc.want {
			t.Errorf("Lane(%s team=%q channel=%q org=%v) = %q, want %q", tc.method, tc.team, tc.channel, tc.orgWide, got, tc.want)
		}
	}
	for m, want := range map[string]bool{"users.list": true, "team.accessLogs": true, "conversations.history": true, "chat.postMessage": false, "conversations.join": false, "auth.revoke": false} {
		if slackcall.Read(m) != want {
			t.Errorf("Read(%s) = %v, want %v", m, !want, want)
		}
	}
}
