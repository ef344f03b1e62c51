package slacksim_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

func TestRateLimitsFollowTheTiers(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{RateLimits: true, RateWindow: time.Second})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read", "channels:read", "team:read"}}).AccessToken

	burst := func(method string, n int) (ok int, limited *http.Response, body map[string]any) {
		for i := 0; i < n; i++ {
			got, resp := webAPI(t, base, tok, method, url.Values{"limit": {"1"}})
			if resp.StatusCode == http.StatusTooManyRequests {
				return ok, resp, got
			}
			if got["ok"] != true && got["error"] != "invalid_arguments" {
				t.Fatalf("%s: got %v", method, got)
			}
			ok++
		}
		return ok, nil, nil
	}
	for _, tc := range []struct {
		method string
		budget int
	}{
		{"users.list", 20},             // Tier 2
		{"conversations.list", 20},     // Tier 2, its own budget
		{"team.info", 50},              // Tier 3
		{"users.conversations", 50},    // Tier 3
		{"conversations.members", 100}, // Tier 4 (invalid_arguments without a channel counts too)
	} {
		ok, resp, body := burst(tc.method, tc.budget+5)
		if ok != tc.budget || resp == nil {
			t.Fatalf("%s: %d calls succeeded before a 429, want %d", tc.method, ok, tc.budget)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("%s: got Retry-After %q, want 1 (whole seconds of a 1s window)", tc.method, ra)
		}
		wantError(t, body, "ratelimited")
	}

	// Refused calls do not count: a window later the whole budget is back.
	srv.AdvanceClock(time.Second)
	if ok, _, _ := burst("users.list", 20); ok != 20 {
		t.Errorf("after the window: %d users.list calls succeeded, want 20", ok)
	}
	if st := srv.Stats().Methods["users.list"]; st.RateLimited != 1 || st.OK != 40 {
		t.Errorf("users.list stats: got %+v, want 40 ok and 1 rate-limited", st)
	}
}

func TestRetryAfterCountsDownTheWindow(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{RateLimits: true, RateWindow: time.Minute})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	for i := 0; i < 20; i++ {
		got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}})
		wantOK(t, got)
	}
	srv.AdvanceClock(25 * time.Second)
	_, resp := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "35" {
		t.Fatalf("got status %d Retry-After %q, want 429 and 35", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	srv.AdvanceClock(35 * time.Second)
	got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}})
	wantOK(t, got)
}

func TestBudgetsArePerWorkspace(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Workspaces: 2, RateLimits: true, RateWindow: time.Second})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}, Org: true}).AccessToken
	teams := srv.Summary().Teams
	for _, tm := range teams {
		for i := 0; i < 20; i++ {
			got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}, "team_id": {tm.ID}})
			wantOK(t, got)
		}
	}
	got, resp := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}, "team_id": {teams[0].ID}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("21st call in one workspace: got %d %v, want 429", resp.StatusCode, got)
	}
}

func TestRateLimitsOff(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{RateLimits: false})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	for i := 0; i < 60; i++ {
		got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1"}})
		wantOK(t, got)
	}
}
