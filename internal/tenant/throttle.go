package tenant

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ThrottledCode is the API error code of a request refused by the Throttle.
const ThrottledCode = "too_many_failed_attempts"

// ThrottledError is why AuthenticateFrom refused a request without looking
// at its credentials: its source, or the credential it presents, failed too
// often lately.
type ThrottledError struct {
	// RetryAfter is how long until one more attempt is let through.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return "too many failed attempts to authenticate from this address or with these credentials; try again in " +
		e.RetryAfterSeconds() + " s"
}

// RetryAfterSeconds is RetryAfter as a Retry-After header's value: whole
// seconds, rounded up, at least 1.
func (e *ThrottledError) RetryAfterSeconds() string {
	s := max(int64((e.RetryAfter+time.Second-1)/time.Second), 1)
	return strconv.FormatInt(s, 10)
}

// Limit is a token bucket of failed attempts: Burst of them at once, then
// one more every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// ThrottleOptions choose a Throttle.
type ThrottleOptions struct {
	// PerSource bounds the failures from one source: an IPv4 address, or an
	// IPv6 /64 (what one host is commonly given).
	PerSource Limit
	// PerCredential bounds the failures with one presented credential (a
	// token, or an Open Connectors header's parts), known by its SHA-256:
	// a leaked but revoked token cannot be hammered from many addresses.
	PerCredential Limit
	// MaxEntries bounds each of the two tables of buckets.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultThrottle is what `connhub serve` uses: 30 failures from a source
// at once, then one every 2 s (30 a minute); 10 with one credential, then
// one every 30 s; 10,000 sources and 10,000 credentials remembered.
var DefaultThrottle = ThrottleOptions{
	PerSource:     Limit{Burst: 30, Every: 2 * time.Second},
	PerCredential: Limit{Burst: 10, Every: 30 * time.Second},
	MaxEntries:    10_000,
}

// Throttle limits failed authentications per source address and per
// presented credential, in memory (each replica keeps its own). A request
// whose source or credential has used up its bucket is refused before its
// credentials are looked up, so a flood of guesses costs a map lookup each.
// Successful attempts cost nothing from either bucket.
//
// Its tables are bounded: when one is full, the buckets that have refilled
// (those that would let a burst through again) are dropped, and if that
// frees less than an eighth of the table, arbitrary others until it does.
// So an attacker with many addresses cannot grow memory, and pays for
// the sweep once every MaxEntries/8 new keys; at worst they reset buckets
// of their own.
type Throttle struct {
	now                  func() time.Time
	mu                   sync.Mutex
	sources, credentials table
}

// NewThrottle returns a Throttle; zero options are DefaultThrottle's.
func NewThrottle(o ThrottleOptions) *Throttle {
	if o.PerSource.Burst <= 0 || o.PerSource.Every <= 0 {
		o.PerSource = DefaultThrottle.PerSource
	}
	if o.PerCredential.Burst <= 0 || o.PerCredential.Every <= 0 {
		o.PerCredential = DefaultThrottle.PerCredential
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultThrottle.MaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Throttle{now: o.Now,
		sources:     table{limit: o.PerSource, max: o.MaxEntries, m: map[string]time.Time{}},
		credentials: table{limit: o.PerCredential, max: o.MaxEntries, m: map[string]time.Time{}}}
}

// check returns how long until source and credential may try again; 0 when
// they may now. An empty key is not limited.
func (t *Throttle) check(source, credential string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(t.sources.wait(source, now), t.credentials.wait(credential, now))
}

// fail counts a failed attempt against source and credential.
func (t *Throttle) fail(source, credential string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sources.charge(source, now)
	t.credentials.charge(credential, now)
}

// Entries reports how many sources and credentials the Throttle remembers.
func (t *Throttle) Entries() (sources, credentials int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sources.m), len(t.credentials.m)
}

// table is a set of token buckets kept as GCRA's "theoretical arrival
// time" each: the bucket is full at tat and every failure moves tat on by
// Every; it lets a failure through while tat is at most (Burst-1)·Every
// ahead of now.
type table struct {
	limit Limit
	max   int
	m     map[string]time.Time
}

func (tb *table) wait(key string, now time.Time) time.Duration {
	tat, ok := tb.m[key]
	if key == "" || !ok {
		return 0
	}
	return max(tat.Sub(now)-time.Duration(tb.limit.Burst-1)*tb.limit.Every, 0)
}

func (tb *table) charge(key string, now time.Time) {
	if key == "" {
		return
	}
	tat, ok := tb.m[key]
	if !ok && len(tb.m) >= tb.max {
		tb.evict(now)
	}
	if tat.Before(now) {
		tat = now
	}
	tb.m[key] = tat.Add(tb.limit.Every)
}

// evict frees at least an eighth of the table: first the buckets that are
// full again, then whichever others the map yields first.
func (tb *table) evict(now time.Time) {
	target := len(tb.m) - tb.max/8 - 1
	for k, tat := range tb.m {
		if !tat.After(now) {
			delete(tb.m, k)
		}
	}
	for k := range tb.m {
		if len(tb.m) <= target {
			break
		}
		delete(tb.m, k)
	}
}

// sourceKey is the bucket of a request's RemoteAddr: its IP address, IPv6
// ones cut to their /64, IPv4 ones mapped into IPv6 unmapped. "" (not
// limited) when addr is empty.
func sourceKey(addr string) string {
	if addr == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// credentialKey is the SHA-256 of the credential an Authorization header
// presents, the same whichever way Authenticate accepts it written: the
// Bearer token, or the Open Connectors parts (names in lower case, sorted).
// "" for an empty header.
func credentialKey(header string) string {
	header = strings.TrimSpace(header)
	if header == "" {
		return ""
	}
	presented := header
	if scheme, rest, _ := strings.Cut(header, " "); strings.EqualFold(scheme, "Bearer") {
		presented = "bearer " + strings.TrimSpace(rest)
	} else {
		var parts []string
		for _, part := range strings.Split(header, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), " ")
			parts = append(parts, strings.ToLower(name)+" "+strings.TrimSpace(value))
		}
		slices.Sort(parts)
		presented = strings.Join(parts, "\x00")
	}
	sum := sha256.Sum256([]byte(presented))
	return string(sum[:])
}

// Metrics counts authentication failures and throttled requests.
type Metrics struct {
	failures  *prometheus.CounterVec
	throttled prometheus.Counter
}

// NewMetrics registers connhub_auth_failures_total{reason} and
// connhub_auth_throttled_total with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connhub_auth_failures_total",
			Help: "Requests whose credentials were refused, by reason (the API error code)."}, []string{"reason"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{Name: "connhub_auth_throttled_total",
			Help: "Requests refused with 429 too_many_failed_attempts, before their credentials were looked at."}),
	}
	for _, reason := range []string{"missing_credentials", "malformed_credentials", "invalid_credentials", "revoked_credentials", "expired_credentials"} {
		m.failures.WithLabelValues(reason)
	}
	reg.MustRegister(m.failures, m.throttled)
	return m
}

// AuthenticateFrom is Authenticate for a request from remoteAddr (an
// http.Request's RemoteAddr; "" for none), the way every network-facing
// caller authenticates: the API's Middleware, the proxy, the console's
// sign-in. With a Throttle, a source or credential that failed too often
// lately is refused with a *ThrottledError before anything is looked up,
// and a refusal (an *AuthError, but missing_credentials) counts against
// both. With Metrics, failures and throttled requests are counted.
func (a *Authenticator) AuthenticateFrom(ctx context.Context, remoteAddr, header string) (Principal, error) {
	var source, credential string
	if a.Throttle != nil {
		source, credential = sourceKey(remoteAddr), credentialKey(header)
		if wait := a.Throttle.check(source, credential); wait > 0 {
			if a.Metrics != nil {
				a.Metrics.throttled.Inc()
			}
			return Principal{}, &ThrottledError{RetryAfter: wait}
		}
	}
	p, err := a.Authenticate(ctx, header)
	var ae *AuthError
	if errors.As(err, &ae) {
		if a.Metrics != nil {
			a.Metrics.failures.WithLabelValues(ae.Code).Inc()
		}
		if a.Throttle != nil && ae.Code != "missing_credentials" {
			a.Throttle.fail(source, credential)
		}
	}
	return p, err
}
