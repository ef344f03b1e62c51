package tenant_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// clock is a time that the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func throttled(err error) (*tenant.ThrottledError, bool) {
	var te *tenant.ThrottledError
	return te, errors.As(err, &te)
}

// counter reads a counter from reg, with the reason label when reason is
// not empty.
func counter(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if reason == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == reason) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s{reason=%q} in the registry", name, reason)
	return 0
}

func TestThrottlePerSource(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, userSecret, orgSecret, _ := firstStart(t, s, dir)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	reg := prometheus.NewRegistry()
	auth := &tenant.Authenticator{Store: s, Metrics: tenant.NewMetrics(reg), Throttle: tenant.NewThrottle(tenant.ThrottleOptions{
		PerSource: tenant.Limit{Burst: 5, Every: 10 * time.Second}, PerCredential: tenant.Limit{Burst: 100, Every: time.Second}, Now: clk.now})}
	const scanner = "203.0.113.7:4444"

	// Five wrong tokens, each different, are refused as such; the sixth
	// attempt is throttled before its token is looked at, good or not.
	for i := range 5 {
		_, err := auth.AuthenticateFrom(ctx, scanner, fmt.Sprintf("Bearer chub_wrong%030d", i))
		if _, ok := throttled(err); ok || err == nil {
			t.Fatalf("attempt %d: got %v, want invalid_credentials", i+1, err)
		}
	}
	for _, header := range []string{"Bearer chub_wrongagain", "Bearer " + token} {
		_, err := auth.AuthenticateFrom(ctx, scanner, header)
		te, ok := throttled(err)
		if !ok {
			t.Fatalf("the sixth attempt: got %v, want a ThrottledError", err)
		}
		if te.RetryAfter != 10*time.Second || te.RetryAfterSeconds() != "10" {
			t.Errorf("RetryAfter %v (%s s), want 10s", te.RetryAfter, te.RetryAfterSeconds())
		}
		if strings.Contains(te.Error(), "chub_") {
			t.Errorf("the error shows the credential: %q", te.Error())
		}
	}
	// Another address of the same IPv6 /64 is the same source; another
	// source is not held back, with either header form.
	for _, src := range []string{"198.51.100.1:1", "[2001:db8::1]:1"} {
		if _, err := auth.AuthenticateFrom(ctx, src, "Bearer "+token); err != nil {
			t.Errorf("the good token from %s: %v", src, err)
		}
	}
	if _, err := auth.AuthenticateFrom(ctx, "198.51.100.1:2", "User "+userSecret+", Organization "+orgSecret); err != nil {
		t.Errorf("the good secrets from another source: %v", err)
	}
	for i := range 5 {
		auth.AuthenticateFrom(ctx, fmt.Sprintf("[2001:db8::%x]:1", i+2), fmt.Sprintf("Bearer chub_v6wrong%d", i))
	}
	if _, err := auth.AuthenticateFrom(ctx, "[2001:db8::ffff]:1", "Bearer "+token); err == nil {
		t.Error("five failures from one IPv6 /64, then the good token from another address in it: authenticated, want throttled")
	}

	// A bucket refills: one attempt every 10 s.
	clk.add(10 * time.Second)
	if _, err := auth.AuthenticateFrom(ctx, scanner, "Bearer "+token); err != nil {
		t.Errorf("10 s later, the good token: %v", err)
	}
	if _, err := auth.AuthenticateFrom(ctx, scanner, "Bearer chub_wrongonce"); err == nil {
		t.Fatal("a wrong token authenticated")
	} else if _, ok := throttled(err); ok {
		t.Errorf("10 s later, a wrong token: throttled, want one more try")
	}
	if _, err := auth.AuthenticateFrom(ctx, scanner, "Bearer chub_wrongtwice"); err == nil {
		t.Fatal("a wrong token authenticated")
	} else if _, ok := throttled(err); !ok {
		t.Errorf("the try after that: %v, want throttled", err)
	}

	if got := counter(t, reg, "connhub_auth_failures_total", "invalid_credentials"); got != 11 {
		t.Errorf("connhub_auth_failures_total{reason=invalid_credentials} = %v, want 11", got)
	}
	if got := counter(t, reg, "connhub_auth_throttled_total", ""); got != 4 {
		t.Errorf("connhub_auth_throttled_total = %v, want 4", got)
	}
}

func TestThrottlePerCredential(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, userSecret, orgSecret, res := firstStart(t, s, dir)
	revoked, _ := secrets.NewToken(tenant.APITokenPrefix)
	if _, err := s.CreateAPICredential(ctx, store.APICredential{OrgID: res.Org.ID, UserID: res.Admin.ID, Name: "leaked", TokenHash: secrets.HashToken(revoked), RevokedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	auth := &tenant.Authenticator{Store: s, Throttle: tenant.NewThrottle(tenant.ThrottleOptions{
		PerSource: tenant.Limit{Burst: 100, Every: time.Second}, PerCredential: tenant.Limit{Burst: 3, Every: time.Minute}, Now: clk.now})}

	// The leaked token, from a new address each time, in the spellings
	// Authenticate accepts: three refusals, then throttled.
	for i, header := range []string{"Bearer " + revoked, "bearer  " + revoked, "BEARER " + revoked + " ", "Bearer " + revoked} {
		_, err := auth.AuthenticateFrom(ctx, fmt.Sprintf("192.0.2.%d:1", i+1), header)
		var ae *tenant.AuthError
		if _, ok := throttled(err); ok != (i == 3) || (i < 3 && (!errors.As(err, &ae) || ae.Code != "revoked_credentials")) {
			t.Fatalf("attempt %d with the revoked token: got %v", i+1, err)
		}
	}
	// Open Connectors parts in any order are one credential.
	wrong := []string{"User " + userSecret + ", Organization chos_wrong", "organization chos_wrong, user " + userSecret, "Organization  chos_wrong ,User " + userSecret}
	for i, header := range wrong {
		if _, err := auth.AuthenticateFrom(ctx, fmt.Sprintf("192.0.2.%d:1", i+10), header); err == nil {
			t.Fatal("a wrong organization secret authenticated")
		} else if _, ok := throttled(err); ok {
			t.Fatalf("attempt %d with a wrong organization secret: throttled too soon", i+1)
		}
	}
	if _, err := auth.AuthenticateFrom(ctx, "192.0.2.20:1", wrong[0]); err == nil {
		t.Fatal("a wrong organization secret authenticated")
	} else if _, ok := throttled(err); !ok {
		t.Errorf("the fourth try of one wrong pair: %v, want throttled", err)
	}
	// The live credentials are not held back, however often they are used.
	for range 10 {
		if _, err := auth.AuthenticateFrom(ctx, "192.0.2.1:1", "Bearer "+token); err != nil {
			t.Fatalf("the good token: %v", err)
		}
		if _, err := auth.AuthenticateFrom(ctx, "192.0.2.1:1", "User "+userSecret+", Organization "+orgSecret); err != nil {
			t.Fatalf("the good secrets: %v", err)
		}
	}
}

// TestThrottleTablesStayBounded fails from many sources with many
// credentials: the tables never grow past MaxEntries, and the newest
// source is still throttled.
func TestThrottleTablesStayBounded(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	const max = 200
	th := tenant.NewThrottle(tenant.ThrottleOptions{PerSource: tenant.Limit{Burst: 2, Every: time.Hour},
		PerCredential: tenant.Limit{Burst: 2, Every: time.Hour}, MaxEntries: max, Now: clk.now})
	auth := &tenant.Authenticator{Store: s, Throttle: th}
	for i := range 2000 {
		src := fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
		auth.AuthenticateFrom(ctx, src, fmt.Sprintf("Bearer chi_guess%d", i))
		auth.AuthenticateFrom(ctx, src, fmt.Sprintf("Bearer chi_guess%d", i))
		if sources, creds := th.Entries(); sources > max || creds > max {
			t.Fatalf("after %d sources: the tables hold %d sources and %d credentials, want at most %d each", i+1, sources, creds, max)
		}
		if i%500 == 499 {
			clk.add(time.Minute)
		}
	}
	if _, err := auth.AuthenticateFrom(ctx, "10.0.7.207:1", "Bearer chi_another"); err == nil {
		t.Fatal("a wrong instance token authenticated")
	} else if _, ok := throttled(err); !ok {
		t.Errorf("the latest source after two failures: %v, want throttled", err)
	}
	// Buckets that have refilled go first: a long while later, the tables
	// empty out as new failures come.
	clk.add(3 * time.Hour)
	for i := range max + 1 {
		auth.AuthenticateFrom(ctx, fmt.Sprintf("172.16.%d.%d:1", i>>8, i&255), "Bearer chi_late")
	}
	if sources, _ := th.Entries(); sources > max {
		t.Errorf("the tables hold %d sources, want at most %d", sources, max)
	}
}

// TestMiddlewareThrottles answers 429 with Retry-After and the JSON code.
func TestMiddlewareThrottles(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, _, _, _ := firstStart(t, s, dir)
	auth := &tenant.Authenticator{Store: s, Throttle: tenant.NewThrottle(tenant.ThrottleOptions{PerSource: tenant.Limit{Burst: 2, Every: time.Hour}})}
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	get := func(addr, header string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/instances", nil)
		req.RemoteAddr = addr
		req.Header.Set("Authorization", header)
		h.ServeHTTP(rec, req)
		return rec
	}
	for range 2 {
		if rec := get("192.0.2.1:1", "Bearer chub_nope"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %d, want 401", rec.Code)
		}
	}
	rec := get("192.0.2.1:1", "Bearer "+token)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"too_many_failed_attempts"`) || rec.Header().Get("Retry-After") != "3600" {
		t.Errorf("after two failures: %d %s Retry-After %q, want 429 too_many_failed_attempts with Retry-After 3600", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
	if rec := get("192.0.2.2:1", "Bearer "+token); rec.Code != http.StatusOK {
		t.Errorf("the good token from another source: %d, want 200", rec.Code)
	}
}
