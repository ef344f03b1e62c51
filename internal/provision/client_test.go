package provision_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/provision"
)

func TestReadStatePagesAtTheLargestPage(t *testing.T) {
	t.Parallel()
	cfg := sandboxConfig()
	cfg.Users = 1150
	e := setup(t, cfg)
	var total struct {
		TotalResults int `json:"totalResults"`
	}
	e.do(http.MethodGet, "/Users", url.Values{"count": {"1"}}, nil, &total)
	if total.TotalResults <= provision.PageSize {
		t.Fatalf("the sandbox has %d SCIM users; the test needs more than a page", total.TotalResults)
	}
	before := e.srv.Stats().SCIM["GET /Users"]
	st := e.state()
	if got := e.srv.Stats().SCIM["GET /Users"] - before; got != 2 {
		t.Errorf("got %d list calls for %d users, want 2 pages of %d", got, total.TotalResults, provision.PageSize)
	}
	if len(st.Users) != total.TotalResults {
		t.Errorf("got %d users, want %d", len(st.Users), total.TotalResults)
	}
	seen := map[string]bool{}
	for _, u := range st.Users {
		if seen[u.ID] {
			t.Errorf("user %s read twice", u.ID)
		}
		seen[u.ID] = true
	}
	if len(st.Groups) == 0 {
		t.Error("got no groups; the generated workspace has some")
	}
}

func TestHTTPClientReportsRetryAfter(t *testing.T) {
	t.Parallel()
	cfg := sandboxConfig()
	cfg.RateWindow = time.Hour // GET /Users/{id} has 300 a window: the 301st is refused, however slow the machine
	e := setup(t, cfg)
	for i := range 301 {
		status, body, err := e.client.Do(context.Background(), http.MethodGet, "/Users/"+e.owner, nil, nil)
		var rl *provision.RateLimitError
		if errors.As(err, &rl) {
			if status != http.StatusTooManyRequests || rl.RetryAfter < time.Second || len(body) == 0 {
				t.Errorf("429: got status %d, Retry-After %s, body %q", status, rl.RetryAfter, body)
			}
			return
		}
		if err != nil || status != http.StatusOK {
			t.Fatalf("call %d: got %d, %v", i+1, status, err)
		}
	}
	t.Fatal("301 reads by ID in one window: none was rate limited")
}

func TestHTTPClientAnswersErrorsAsValues(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	status, body, err := e.client.Do(context.Background(), http.MethodGet, "/Users/UNOSUCH", nil, nil)
	if err != nil || status != http.StatusNotFound {
		t.Fatalf("got %d, %v; want 404 and no error", status, err)
	}
	if len(body) == 0 {
		t.Error("got no body; want Slack's error")
	}
	bad := &provision.HTTPClient{BaseURL: e.client.BaseURL, Token: "xoxp-not-a-token"}
	if status, _, err := bad.Do(context.Background(), http.MethodGet, "/Users", nil, nil); err != nil || status != http.StatusUnauthorized {
		t.Errorf("bad token: got %d, %v; want 401", status, err)
	}
}

func TestReadStateRetriesAndStops(t *testing.T) {
	t.Parallel()
	e := setup(t, sandboxConfig())
	s := &sleeps{}
	e.proxy.add(&fault{method: http.MethodGet, route: "/Users", status: http.StatusServiceUnavailable, count: 2})
	e.proxy.add(&fault{method: http.MethodGet, route: "/Groups", status: http.StatusTooManyRequests, retryAfter: "3", count: 1})
	st, err := provision.ReadState(context.Background(), e.client, provision.Retry{Sleep: s.sleep})
	if err != nil {
		t.Fatalf("ReadState through two 503s and a 429: %v", err)
	}
	if len(st.Users) == 0 || len(st.Groups) == 0 {
		t.Errorf("got %d users and %d groups", len(st.Users), len(st.Groups))
	}
	if w := s.all(); len(w) != 3 || w[2] != 3*time.Second {
		t.Errorf("got waits %v, want two backoffs and the 429's 3s", w)
	}

	e.proxy.add(&fault{method: http.MethodGet, route: "/Users", status: http.StatusBadGateway})
	_, err = provision.ReadState(context.Background(), e.client, provision.Retry{Sleep: s.sleep, Attempts: 3})
	var stopped *provision.StoppedError
	if !errors.As(err, &stopped) || stopped.Status != http.StatusBadGateway {
		t.Fatalf("a 502 storm: got %v, want a StoppedError with status 502", err)
	}
	t.Log(err)
}
