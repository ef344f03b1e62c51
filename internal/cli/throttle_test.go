package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/tenant"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (all of 127.0.0.0/8 is this machine's on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

type answer struct {
	status     int
	code       string
	retryAfter string
}

func call(t *testing.T, c *http.Client, method, url, header string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", header)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &body)
	return answer{resp.StatusCode, body.Code, resp.Header.Get("Retry-After")}
}

// TestServeThrottlesFailedAuthentication: a real `connhub serve` answers a
// stream of wrong tokens from one address with 401s, then 429
// too_many_failed_attempts with Retry-After, on the API and the proxy alike,
// while the good token from another address still works; the metrics count
// both.
func TestServeThrottlesFailedAuthentication(t *testing.T) {
	t.Parallel()
	token, _ := secrets.NewToken(tenant.APITokenPrefix)
	hub := servetest.Start(t, []string{"--data-dir", t.TempDir()}, map[string]string{"CONNHUB_ADMIN_TOKEN": token})
	scanner, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	burst := tenant.DefaultThrottle.PerSource.Burst
	for i := range burst {
		wrong, _ := secrets.NewToken(tenant.APITokenPrefix)
		if a := call(t, scanner, "GET", hub.URL+"/v1/instances", "Bearer "+wrong); a.status != http.StatusUnauthorized || a.code != "invalid_credentials" {
			t.Fatalf("wrong token %d: %+v, want 401 invalid_credentials", i+1, a)
		}
	}
	// The bucket refills one failure every few seconds: on a slow machine a
	// few more may be let through before the 429.
	var throttled answer
	for i := 0; i < 50 && throttled.status == 0; i++ {
		wrong, _ := secrets.NewToken(tenant.APITokenPrefix)
		if a := call(t, scanner, "GET", hub.URL+"/v1/instances", "Bearer "+wrong); a.status == http.StatusTooManyRequests {
			throttled = a
		} else if a.status != http.StatusUnauthorized {
			t.Fatalf("a wrong token after %d: %+v", burst, a)
		}
	}
	if throttled.code != tenant.ThrottledCode {
		t.Fatalf("after %d wrong tokens and 50 more: no 429 %s (last %+v)", burst, tenant.ThrottledCode, throttled)
	}
	if s, err := strconv.Atoi(throttled.retryAfter); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want a number of seconds", throttled.retryAfter)
	}
	// From the throttled address even the good token waits, on the proxy too.
	for _, path := range []string{"/v1/instances", "/v1/slack/auth.test"} {
		if a := call(t, scanner, "GET", hub.URL+path, "Bearer "+token); a.status != http.StatusTooManyRequests || a.code != tenant.ThrottledCode || a.retryAfter == "" {
			t.Errorf("GET %s with the good token from the throttled address: %+v, want 429 with Retry-After", path, a)
		}
	}
	if a := call(t, other, "GET", hub.URL+"/v1/instances", "Bearer "+token); a.status != http.StatusOK {
		t.Errorf("the good token from another address: %+v, want 200", a)
	}

	resp, err := http.Get(hub.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	failures := regexp.MustCompile(`(?m)^connhub_auth_failures_total\{reason="invalid_credentials"\} (\d+)$`).FindSubmatch(metrics)
	throttledTotal := regexp.MustCompile(`(?m)^connhub_auth_throttled_total (\d+)$`).FindSubmatch(metrics)
	if failures == nil || throttledTotal == nil {
		t.Fatalf("/metrics lacks connhub_auth_failures_total or connhub_auth_throttled_total:\n%s", grepLines(string(metrics), "connhub_auth"))
	}
	if n, _ := strconv.Atoi(string(failures[1])); n < burst {
		t.Errorf("connhub_auth_failures_total{reason=invalid_credentials} = %d, want at least %d", n, burst)
	}
	if n, _ := strconv.Atoi(string(throttledTotal[1])); n < 3 {
		t.Errorf("connhub_auth_throttled_total = %d, want at least 3", n)
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
