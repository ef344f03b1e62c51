package slacksim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

// BenchmarkUsersListPages measures users.list pages (limit 200) per second over
// HTTP with rate limits off, interleaved with a baseline in the same run: a
// handler that serves the same page's bytes from memory. The ratio is the share
// of plain serving speed the sandbox keeps while it renders each page.
//
//	go test ./internal/slacksim -run '^$' -bench UsersListPages -benchtime 2000x
func BenchmarkUsersListPages(b *testing.B) {
	srv, err := slacksim.New(slacksim.Config{Users: 10000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	sandbox := httptest.NewServer(srv.Handler())
	defer sandbox.Close()
	tok, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"users:read", "users:read.email"}})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	fetch := func(base string, form url.Values) []byte {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/users.list", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"ok":true`) {
			b.Fatalf("users.list: %d %.100s", resp.StatusCode, body)
		}
		return body
	}
	page := fetch(sandbox.URL, url.Values{"limit": {"200"}})
	static := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(page)
	}))
	defer static.Close()

	var inSandbox, inStatic time.Duration
	cursor := ""
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		body := fetch(sandbox.URL, url.Values{"limit": {"200"}, "cursor": {cursor}})
		inSandbox += time.Since(start)
		cursor = nextCursor(body)

		start = time.Now()
		fetch(static.URL, url.Values{"limit": {"200"}, "cursor": {cursor}})
		inStatic += time.Since(start)
	}
	b.StopTimer()
	sandboxRate := float64(b.N) / inSandbox.Seconds()
	staticRate := float64(b.N) / inStatic.Seconds()
	b.ReportMetric(sandboxRate, "pages/s")
	b.ReportMetric(staticRate, "baseline-pages/s")
	b.ReportMetric(sandboxRate/staticRate, "ratio")
	b.ReportMetric(float64(len(page))/1024, "KiB/page")
}

func nextCursor(body []byte) string {
	const key = `"next_cursor":"`
	s := string(body)
	i := strings.LastIndex(s, key)
	if i < 0 {
		return ""
	}
	s = s[i+len(key):]
	return s[:strings.IndexByte(s, '"')]
}

// BenchmarkWorkspace100k generates a 100,000-user workspace and reports the time
// it takes and the heap it keeps, per user and as a ratio to the size of the
// same users rendered as users.list JSON (the baseline: what a client holding
// the users as Slack sends them would keep).
//
//	go test ./internal/slacksim -run '^$' -bench Workspace100k -benchtime 3x
func BenchmarkWorkspace100k(b *testing.B) {
	const users = 100_000
	var heap uint64
	var srv *slacksim.Server
	for range b.N {
		srv = nil
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var err error
		srv, err = slacksim.New(slacksim.Config{Users: users, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		b.StartTimer()
	}
	b.StopTimer()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	tok, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"users:read", "users:read.email"}})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.PostForm(ts.URL+"/api/users.list", url.Values{"token": {tok.AccessToken}, "limit": {"1000"}})
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jsonPerUser := float64(len(page)) / 1000
	perUser := float64(heap) / users
	b.ReportMetric(float64(heap)/(1<<20), "MiB-heap")
	b.ReportMetric(perUser, "B/user")
	b.ReportMetric(perUser/jsonPerUser, "heap/json-ratio")
	runtime.KeepAlive(srv)
}

// BenchmarkEventDelivery measures events per second from emission to a 2xx,
// through one subscription to a local Request URL that verifies each
// signature with slack-go, against a baseline in the same run: one goroutine
// posting the same signed bodies to the same receiver itself. The ratio is
// the share of a bare signed POST loop the sandbox's sender keeps.
//
//	go test ./internal/slacksim -run '^$' -bench EventDelivery -benchtime 5000x
func BenchmarkEventDelivery(b *testing.B) {
	srv, err := slacksim.New(slacksim.Config{Users: 50, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	info := srv.Info("http://sandbox.invalid")
	if _, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write"}}); err != nil {
		b.Fatal(err)
	}
	rc := newReceiver(b, info.SigningSecret)
	subscribe(b, srv, rc, "app_mention")
	event := map[string]any{"type": "app_mention", "user": "U1", "text": "<@U2> hi", "channel": "C1", "ts": "1.000001"}

	start := time.Now()
	for range b.N {
		if _, err := srv.EmitEvent("", event); err != nil {
			b.Fatal(err)
		}
	}
	got := rc.waitCount(b, b.N)
	sandboxRate := float64(b.N) / time.Since(start).Seconds()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	start = time.Now()
	for _, r := range got {
		req, _ := http.NewRequest(http.MethodPost, rc.url, strings.NewReader(string(r.body)))
		for _, h := range []string{"Content-Type", "X-Slack-Signature", "X-Slack-Request-Timestamp"} {
			req.Header.Set(h, r.header.Get(h))
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	baseRate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(sandboxRate, "events/s")
	b.ReportMetric(baseRate, "baseline/s")
	b.ReportMetric(sandboxRate/baseRate, "ratio")
}

// scimBench is a sandbox of users people over HTTP with rate limits off, and
// an admin token for its SCIM API.
func scimBench(b *testing.B, users int) (base, auth string, client *http.Client) {
	b.Helper()
	srv, err := slacksim.New(slacksim.Config{Users: users, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	b.Cleanup(func() { srv.Close() })
	tok, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin"}})
	if err != nil {
		b.Fatal(err)
	}
	return ts.URL, "Bearer " + tok.AccessToken, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

func scimDo(b *testing.B, client *http.Client, method, url, auth, body string, want int) []byte {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d %.200s", method, url, resp.StatusCode, out)
	}
	return out
}

// BenchmarkSCIMListPages measures GET /scim/v2/Users?count=1000 pages of a
// 10,000-user sandbox, walking every page in turn, against a baseline in the
// same run: a handler that serves the same page's bytes from memory.
//
//	go test ./internal/slacksim -run '^$' -bench SCIMListPages -benchtime 200x
func BenchmarkSCIMListPages(b *testing.B) {
	base, auth, client := scimBench(b, 10_000)
	page := scimDo(b, client, http.MethodGet, base+"/scim/v2/Users?count=1000", auth, "", http.StatusOK)
	static := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(page)
	}))
	defer static.Close()

	var inSandbox, inStatic time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		scimDo(b, client, http.MethodGet, base+"/scim/v2/Users?count=1000&startIndex="+strconv.Itoa(1+(i%10)*1000), auth, "", http.StatusOK)
		inSandbox += time.Since(start)
		start = time.Now()
		scimDo(b, client, http.MethodGet, static.URL, auth, "", http.StatusOK)
		inStatic += time.Since(start)
	}
	b.StopTimer()
	sandboxRate, staticRate := float64(b.N)/inSandbox.Seconds(), float64(b.N)/inStatic.Seconds()
	b.ReportMetric(sandboxRate, "pages/s")
	b.ReportMetric(staticRate, "baseline-pages/s")
	b.ReportMetric(sandboxRate/staticRate, "ratio")
	b.ReportMetric(float64(len(page))/1024, "KiB/page")
}

// BenchmarkSCIMCreate measures POST /scim/v2/Users into a 10,000-user
// sandbox, against a baseline in the same run: the same creates into a
// 1,000-user sandbox. A ratio near 1 says a create costs the same however
// many people there are: the username and email checks are lookups, not
// scans.
//
//	go test ./internal/slacksim -run '^$' -bench SCIMCreate -benchtime 2000x
func BenchmarkSCIMCreate(b *testing.B) {
	big, bigAuth, client := scimBench(b, 10_000)
	small, smallAuth, _ := scimBench(b, 1_000)
	body := func(i int) string {
		return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench` + strconv.Itoa(i) +
			`","name":{"givenName":"Bench","familyName":"Mark"},"emails":[{"value":"bench` + strconv.Itoa(i) + `@bench.example"}]}`
	}
	var inBig, inSmall time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		scimDo(b, client, http.MethodPost, big+"/scim/v2/Users", bigAuth, body(i), http.StatusCreated)
		inBig += time.Since(start)
		start = time.Now()
		scimDo(b, client, http.MethodPost, small+"/scim/v2/Users", smallAuth, body(i), http.StatusCreated)
		inSmall += time.Since(start)
	}
	b.StopTimer()
	bigRate, smallRate := float64(b.N)/inBig.Seconds(), float64(b.N)/inSmall.Seconds()
	b.ReportMetric(bigRate, "creates/s")
	b.ReportMetric(smallRate, "baseline-creates/s")
	b.ReportMetric(bigRate/smallRate, "ratio")
}
