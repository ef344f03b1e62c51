package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slacksim"
)

// The proxy benchmarks compare, in one process and one run, the same load
// against the sandbox directly (with the instance's Slack token) and through
// connhub (with the instance token), the sandbox's limits off:
//
//	go test ./internal/proxy -run '^$' -bench 'Proxy(Latency|Throughput)' -benchtime 3000x
//
// and the pacing benchmark sends 300 users.list calls through connhub at a
// sandbox whose window is one second:
//
//	go test ./internal/proxy -run '^$' -bench Pacing300 -benchtime 1x

type target struct {
	url, auth string
}

func benchHub(b *testing.B, call string) (*hub, target, target) {
	b.Helper()
	h := start(b, hubOptions{sandbox: slacksim.Config{Users: 400, RateLimits: false, TokenRotation: true}, noPacing: true})
	direct := target{h.slack + "/api/" + call, "Bearer " + h.instance.BotToken.Reveal()}
	proxied := target{h.url + "/v1/slack/" + call, "Bearer " + h.token}
	return h, direct, proxied
}

// bareProxy is the least a proxy can be: net/http's ReverseProxy in front
// of the sandbox, passing the caller's Authorization through, with no
// authentication, pacing, retries, metrics or logs. Against it the
// throughput benchmark tells the cost of the second HTTP hop, which any
// proxy pays, from the cost of what connhub does on it.
func bareProxy(b *testing.B, h *hub, call string) target {
	u, err := url.Parse(h.slack)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256}
	ts := httptest.NewServer(rp)
	b.Cleanup(ts.Close)
	return target{ts.URL + "/api/" + call, "Bearer " + h.instance.BotToken.Reveal()}
}

// benchCalls are the loads: a tiny answer, a small page, a full page.
var benchCalls = []struct{ name, call string }{
	{"auth.test", "auth.test"},
	{"users.list-20", "users.list?limit=20"},
	{"users.list-200", "users.list?limit=200"},
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}

func hit(b *testing.B, t target) time.Duration {
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, t.url, nil)
	req.Header.Set("Authorization", t.auth)
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: status %d", t.url, resp.StatusCode)
	}
	return time.Since(start)
}

func percentile(xs []time.Duration, p float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(int(float64(len(s))*p), len(s)-1)]
}

// BenchmarkProxyLatency sends calls one at a time, alternating direct and
// proxied, and reports both latency distributions and what the proxy adds.
func BenchmarkProxyLatency(b *testing.B) {
	for _, c := range benchCalls {
		b.Run(c.name, func(b *testing.B) { benchLatency(b, c.call) })
	}
}

func benchLatency(b *testing.B, call string) {
	_, direct, proxied := benchHub(b, call)
	for range 50 { // warm both paths: connections, the auth cache, the token
		hit(b, direct)
		hit(b, proxied)
	}
	d := make([]time.Duration, 0, b.N)
	p := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		d = append(d, hit(b, direct))
		p = append(p, hit(b, proxied))
	}
	b.StopTimer()
	us := func(x time.Duration) float64 { return float64(x.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(percentile(d, 0.5)), "direct-p50-µs")
	b.ReportMetric(us(percentile(d, 0.99)), "direct-p99-µs")
	b.ReportMetric(us(percentile(p, 0.5)), "proxied-p50-µs")
	b.ReportMetric(us(percentile(p, 0.99)), "proxied-p99-µs")
	b.ReportMetric(us(percentile(p, 0.5)-percentile(d, 0.5)), "added-p50-µs")
	b.ReportMetric(us(percentile(p, 0.99)-percentile(d, 0.99)), "added-p99-µs")
}

// BenchmarkProxyThroughput runs 8 concurrent callers in alternating phases
// against each path and reports calls per second and their ratio; also the
// same against a bare ReverseProxy, and connhub's ratio to it.
func BenchmarkProxyThroughput(b *testing.B) {
	for _, c := range benchCalls {
		b.Run(c.name, func(b *testing.B) { benchThroughput(b, c.call) })
	}
}

func benchThroughput(b *testing.B, call string) {
	h, direct, proxied := benchHub(b, call)
	bare := bareProxy(b, h, call)
	const workers = 8
	const phase = 200 * time.Millisecond
	run := func(t target, until time.Time) int64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for time.Now().Before(until) {
					hit(b, t)
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return n.Load()
	}
	paths := []target{direct, proxied, bare}
	for _, t := range paths { // warm up
		run(t, time.Now().Add(phase))
	}
	var n [3]int64
	var took [3]time.Duration
	b.ResetTimer()
	for slices.Min(n[:]) < int64(b.N) {
		for i, t := range paths {
			s := time.Now()
			n[i] += run(t, s.Add(phase))
			took[i] += time.Since(s)
		}
	}
	b.StopTimer()
	var rate [3]float64
	for i := range paths {
		rate[i] = float64(n[i]) / took[i].Seconds()
	}
	b.ReportMetric(rate[0], "direct-calls/s")
	b.ReportMetric(rate[1], "proxied-calls/s")
	b.ReportMetric(rate[2], "bare-proxy-calls/s")
	b.ReportMetric(rate[1]/rate[0], "ratio")
	b.ReportMetric(rate[2]/rate[0], "bare-ratio")
	b.ReportMetric(rate[1]/rate[2], "of-bare")
}

// BenchmarkPacing300 sends 300 users.list calls (Tier 2: 20 a window) through
// connhub from 20 concurrent callers at a sandbox whose window is a second.
// The least time Slack's limit allows is 14 windows: 20 calls at once, then
// 20 more each window. It reports the time taken against that floor and the
// 429s: those the callers saw and those Slack gave connhub.
func BenchmarkPacing300(b *testing.B) {
	for range b.N {
		window := time.Second
		h := start(b, hubOptions{sandbox: slacksim.Config{Users: 200, RateLimits: true, RateWindow: window}, pacer: ratelimit.Options{Window: window}})
		t := target{h.url + "/v1/slack/users.list?limit=50", "Bearer " + h.token}
		var calls, callers429 atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for range 20 {
			wg.Go(func() {
				for calls.Add(1) <= 300 {
					req, _ := http.NewRequest(http.MethodGet, t.url, nil)
					req.Header.Set("Authorization", t.auth)
					resp, err := benchClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						callers429.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		floor := 14 * window
		b.ReportMetric(elapsed.Seconds(), "seconds")
		b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(callers429.Load()), "429s-to-callers")
		b.ReportMetric(float64(h.sandbox.Stats().Methods["users.list"].RateLimited), "429s-from-slack")
	}
}
