package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/tenant"
)

var ctx = context.Background()

type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logSink) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type hub struct {
	url      string
	sandbox  *slacksim.Server
	slack    string
	store    store.Store
	svc      *instance.Service
	admin    tenant.Principal
	apiToken string
	instance store.Instance
	token    string // the instance token
	logs     *logSink
	px       *proxy.Proxy
	pacer    *ratelimit.Pacer
}

type hubOptions struct {
	sandbox  slacksim.Config
	pacer    ratelimit.Options
	noPacing bool // the sandbox has no limits: send every call at once
	proxy    proxy.Options
}

// start runs a sandbox and a hub with the proxy, and installs one instance.
func start(t testing.TB, o hubOptions) *hub {
	t.Helper()
	if o.sandbox.Users == 0 {
		o.sandbox.Users = 120
	}
	h := &hub{logs: &logSink{}}
	h.sandbox, h.slack = sandboxtest.Start(t, o.sandbox)
	info := h.sandbox.Info(h.slack)
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connhub.db"), storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h.store = s
	log := slog.New(secrets.RedactingHandler(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), "chub", "chi"))
	ts := httptest.NewUnstartedServer(nil)
	h.url = "http://" + ts.Listener.Addr().String()
	h.svc, err = instance.New(ctx, instance.Options{Store: s, Slack: slack.New(h.slack, nil), Log: log, CallbackURL: h.url + "/v1/oauth/slack/callback"})
	if err != nil {
		t.Fatal(err)
	}
	o.proxy.SlackURL, o.proxy.Instances, o.proxy.Auth, o.proxy.Log = h.slack, h.svc, &tenant.Authenticator{Store: s}, log
	if !o.noPacing {
		o.proxy.Pacer = ratelimit.New(o.pacer)
	}
	px, err := proxy.New(o.proxy)
	if err != nil {
		t.Fatal(err)
	}
	h.px, h.pacer = px, o.proxy.Pacer
	api := httpapi.New(httpapi.Options{Store: s, Instances: h.svc, Auth: o.proxy.Auth, Log: log, Proxy: px})
	ts.Config.Handler = api.Handler()
	ts.Start()
	t.Cleanup(ts.Close)

	org, err := s.CreateOrganization(ctx, store.Organization{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{OrgID: org.ID, Email: "admin@acme.example", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	h.apiToken, _ = secrets.NewToken("chub")
	if _, err := s.CreateAPICredential(ctx, store.APICredential{OrgID: org.ID, UserID: u.ID, Name: "t", TokenHash: secrets.HashToken(h.apiToken)}); err != nil {
		t.Fatal(err)
	}
	h.admin = tenant.Principal{Org: org, User: u}
	if _, err := h.svc.EnsureApp(ctx, org.ID, instance.AppInput{ClientID: info.ClientID, ClientSecret: secrets.Secret(info.ClientSecret)}); err != nil {
		t.Fatal(err)
	}
	c, err := h.svc.Create(ctx, h.admin, instance.CreateInput{Name: "acme", BotScopes: []string{"users:read", "users:read.email", "channels:read", "channels:join", "channels:history", "chat:write", "team:read"},
		UserScopes: []string{"users:read", "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	loc := sandboxtest.Consent(t, c.AuthorizeURL, "allow", nil)
	res, err := h.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
	if err != nil || !res.OK {
		t.Fatalf("install: %+v %v", res, err)
	}
	h.instance, h.token = res.Instance, c.InstanceToken.Reveal()
	return h
}

func (h *hub) do(t testing.TB, method, path, auth string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, h.url+path, body)
	for k, v := range header {
		req.Header[k] = v
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestSlackGoWorksUnmodifiedThroughTheProxy(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: false, TokenRotation: true}})
	api := slackgo.New(h.token, slackgo.OptionAPIURL(h.url+"/v1/slack/"))
	who, err := api.AuthTest()
	if err != nil || who.TeamID != h.instance.TeamID || who.UserID != h.instance.BotUserID {
		t.Fatalf("AuthTest through the proxy: %+v %v", who, err)
	}
	users, err := api.GetUsers(slackgo.GetUsersOptionLimit(37))
	if err != nil {
		t.Fatal(err)
	}
	if want := h.sandbox.Summary().Users["total"]; len(users) != want {
		t.Errorf("GetUsers through the proxy: %d users, want %d", len(users), want)
	}
	chans, _, err := api.GetConversations(&slackgo.GetConversationsParameters{Limit: 200})
	if err != nil || len(chans) == 0 {
		t.Fatalf("GetConversations: %d %v", len(chans), err)
	}
	var general string
	for _, c := range chans {
		if c.IsGeneral {
			general = c.ID
		}
	}
	if _, _, _, err := api.JoinConversation(general); err != nil {
		t.Fatal(err)
	}
	ch, ts, err := api.PostMessage(general, slackgo.MsgOptionText("hello through connhub", false))
	if err != nil || ch != general || ts == "" {
		t.Errorf("PostMessage: %s %s %v", ch, ts, err)
	}
	_, err = slackgo.New("chi_wrong", slackgo.OptionAPIURL(h.url+"/v1/slack/")).AuthTest()
	if err == nil {
		t.Error("a wrong instance token worked")
	}
	if strings.Contains(h.logs.String(), h.token) || strings.Contains(h.logs.String(), h.instance.BotToken.Reveal()) {
		t.Error("a token is in the logs")
	}
}

func TestCredentialFormsAndTokenKinds(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{TokenRotation: true}})
	var who struct {
		OK     bool   `json:"ok"`
		UserID string `json:"user_id"`
	}
	// The user token only where the instance allows it.
	resp, body := h.do(t, "POST", "/v1/slack/auth.test", "Bearer "+h.token, nil, http.Header{"X-Connhub-Token": {"user"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "user_token_not_allowed") {
		t.Errorf("the user token on an instance that does not allow it: %d %s; want 403 user_token_not_allowed", resp.StatusCode, body)
	}
	allow := true
	if _, err := h.svc.Update(ctx, h.admin, h.instance.ID, instance.Patch{AllowUserToken: &allow}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, auth string
		header           http.Header
		wantUser         string
	}{
		{"instance token", "/v1/slack/auth.test", "Bearer " + h.token, nil, h.instance.BotUserID},
		{"API token and instance path", "/v1/instances/" + h.instance.ID + "/slack/auth.test", "Bearer " + h.apiToken, nil, h.instance.BotUserID},
		{"user token on request", "/v1/slack/auth.test", "Bearer " + h.token, http.Header{"X-Connhub-Token": {"user"}}, h.instance.AuthedUserID},
		{"token in the query, as old clients send it", "/v1/slack/auth.test?token=" + h.token, "", nil, h.instance.BotUserID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do(t, "POST", tc.path, tc.auth, nil, tc.header)
			json.Unmarshal(body, &who)
			if resp.StatusCode != 200 || !who.OK || who.UserID != tc.wantUser {
				t.Errorf("got %d %s; want Slack's ok answer for %s", resp.StatusCode, body, tc.wantUser)
			}
			if resp.Header.Get("X-Oauth-Scopes") == "" || resp.Header.Get("X-Connhub-Instance") != h.instance.ID || resp.Header.Get("X-Connhub-Pacing-Wait-Ms") == "" {
				t.Errorf("headers: %v", resp.Header)
			}
		})
	}
	// A form body with the token, as slack-go sends it: the token goes, the arguments stay.
	resp, body = h.do(t, "POST", "/v1/slack/users.info", "", strings.NewReader(url.Values{"token": {h.token}, "user": {h.instance.AuthedUserID}}.Encode()),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok":true`) || !strings.Contains(string(body), h.instance.AuthedUserID) {
		t.Errorf("users.info with a form token: %d %.200s", resp.StatusCode, body)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{})
	for _, tc := range []struct {
		name, method, path, auth string
		body                     io.Reader
		status                   int
		code                     string
	}{
		{"no credentials", "POST", "/v1/slack/auth.test", "", nil, 401, "missing_credentials"},
		{"unknown instance token", "POST", "/v1/slack/auth.test", "Bearer chi_unknown", nil, 401, "invalid_credentials"},
		{"not a method name", "POST", "/v1/slack/users", "Bearer " + h.token, nil, 400, "invalid_method"},
		{"a path for a method", "POST", "/v1/slack/users.list/../../etc", "Bearer " + h.token, nil, 400, "invalid_method"},
		{"an API token names no instance", "POST", "/v1/slack/auth.test", "Bearer " + h.apiToken, nil, 400, "no_instance"},
		{"another organization's instance", "POST", "/v1/instances/ins_nope/slack/auth.test", "Bearer " + h.apiToken, nil, 404, "not_found"},
		{"PUT", "PUT", "/v1/slack/auth.test", "Bearer " + h.token, nil, 405, "method_not_allowed"},
		{"oversized body", "POST", "/v1/slack/chat.postMessage", "Bearer " + h.token, strings.NewReader(strings.Repeat("x", 11<<20)), 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.do(t, tc.method, tc.path, tc.auth, tc.body, nil)
			var e struct{ Code, Message string }
			if json.Unmarshal(body, &e); resp.StatusCode != tc.status || e.Code != tc.code || e.Message == "" {
				t.Errorf("got %d %s; want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
	// Slack's own errors come back as Slack sent them.
	resp, body := h.do(t, "POST", "/v1/slack/users.fly", "Bearer "+h.token, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"error":"unknown_method"`) {
		t.Errorf("an unknown Slack method: %d %s", resp.StatusCode, body)
	}
}

func TestSlackUnreachable(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{})
	px, err := proxy.New(proxy.Options{SlackURL: "http://127.0.0.1:1", Instances: h.svc, Auth: &tenant.Authenticator{Store: h.store}, Pacer: ratelimit.New(ratelimit.Options{}), Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(px)
	defer ts.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/slack/auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(body), "slack_unreachable") {
		t.Errorf("got %d %s, want 502 slack_unreachable", resp.StatusCode, body)
	}
}

func TestTokenExpiredIsRefreshedOnceAndRetried(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{TokenRotation: true, TokenTTL: time.Hour}})
	h.sandbox.AdvanceClock(2 * time.Hour) // Slack's clock only: the hub thinks the token is fresh
	resp, body := h.do(t, "POST", "/v1/slack/auth.test", "Bearer "+h.token, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok":true`) || resp.Header.Get("X-Connhub-Retries") != "1" {
		t.Errorf("got %d %s retries %q; want one refresh and a successful retry", resp.StatusCode, body, resp.Header.Get("X-Connhub-Retries"))
	}
	if st := h.sandbox.Stats(); st.Refreshes != 1 {
		t.Errorf("refreshes: %d, want 1", st.Refreshes)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: true, RateWindow: time.Second}})
	fault := func(body string) {
		resp, err := http.Post(h.slack+"/_sandbox/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	auth := "Bearer " + h.token
	// A 5xx on a read is retried.
	fault(`{"method":"users.list","status":503,"count":1}`)
	resp, body := h.do(t, "POST", "/v1/slack/users.list?limit=5", auth, nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Connhub-Retries") != "1" {
		t.Errorf("a 503 on users.list: got %d %.100s retries %q", resp.StatusCode, body, resp.Header.Get("X-Connhub-Retries"))
	}
	// A 5xx on a write is not: the caller decides.
	fault(`{"method":"chat.postMessage","status":503,"count":1}`)
	resp, _ = h.do(t, "POST", "/v1/slack/chat.postMessage?channel=C1&text=x", auth, nil, nil)
	if resp.StatusCode != 503 {
		t.Errorf("a 503 on chat.postMessage: got %d, want it passed back", resp.StatusCode)
	}
	// A 429 within the cap is waited out.
	fault(`{"method":"team.info","status":429,"count":1}`)
	resp, body = h.do(t, "POST", "/v1/slack/team.info", auth, nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Connhub-Retries") != "1" || !strings.Contains(string(body), `"ok":true`) {
		t.Errorf("a 429 on team.info: got %d %.100s retries %q", resp.StatusCode, body, resp.Header.Get("X-Connhub-Retries"))
	}
}

func TestRetryAfterAboveTheCapGoesBackToTheCaller(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{proxy: proxy.Options{MaxRetryAfter: 500 * time.Millisecond}})
	resp, err := http.Post(h.slack+"/_sandbox/faults", "application/json", strings.NewReader(`{"method":"team.info","status":429,"count":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, body := h.do(t, "POST", "/v1/slack/team.info", "Bearer "+h.token, nil, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), "ratelimited") {
		t.Errorf("got %d %s Retry-After %q; want Slack's 429 passed back", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}

// TestPacingMeetsNo429 sends three windows' worth of users.list at once
// through the proxy; the pacer spreads them so that Slack answers none with 429.
func TestPacingMeetsNo429(t *testing.T) {
	t.Parallel()
	window := 500 * time.Millisecond
	h := start(t, hubOptions{sandbox: slacksim.Config{RateLimits: true, RateWindow: window}, pacer: ratelimit.Options{Window: window}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	waited := 0
	for range 60 {
		wg.Go(func() {
			resp, _ := h.do(t, "GET", "/v1/slack/users.list?limit=1", "Bearer "+h.token, nil, nil)
			mu.Lock()
			statuses[resp.StatusCode]++
			if resp.Header.Get("X-Connhub-Pacing-Wait-Ms") != "0" {
				waited++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if st := h.sandbox.Stats().Methods["users.list"]; st.RateLimited != 0 || statuses[200] != 60 {
		t.Errorf("Slack answered %d calls with 429; statuses %v", st.RateLimited, statuses)
	}
	if waited < 40 {
		t.Errorf("%d of 60 calls waited for budget, want the 40 past the first window's 20", waited)
	}
}

// TestMetricsNameOnlySlacksMethods: calls are counted by method and status,
// and a method Slack does not have is counted as "unknown", so invented names
// cannot grow the metrics without bound.
func TestMetricsNameOnlySlacksMethods(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := start(t, hubOptions{proxy: proxy.Options{Metrics: proxy.NewMetrics(reg)}})
	for _, m := range []string{"users.list", "users.list", "users.fly", "made.up.one", "made.up.two"} {
		if resp, body := h.do(t, "POST", "/v1/slack/"+m, "Bearer "+h.token, nil, nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", m, resp.StatusCode, body)
		}
	}
	h.do(t, "POST", "/v1/slack/invented.method", "Bearer chi_unknown", nil, nil)

	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
		}
	}
	want := map[string]float64{
		"connhub_proxy_requests_total method=users.list status=200":            2,
		"connhub_proxy_requests_total method=unknown status=200":               3,
		"connhub_proxy_rejected_total code=invalid_credentials method=unknown": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.Contains(k, "made.up") || strings.Contains(k, "users.fly") || strings.Contains(k, "invented") {
			t.Errorf("a method Slack does not have is a label: %s", k)
		}
	}
}

// TestWritesAndTheUserTokenAreOnRecord: a proxied write (by Slack's method,
// never its arguments) and every call with the user token are in the audit
// log before they reach Slack; reads with the bot token are not; and with
// the log unwritable the write is not sent.
func TestWritesAndTheUserTokenAreOnRecord(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{})
	allow := true
	if _, err := h.svc.Update(ctx, h.admin, h.instance.ID, instance.Patch{AllowUserToken: &allow}); err != nil {
		t.Fatal(err)
	}
	const channel = "C1" // Slack's answer does not matter here: the attempt is what is recorded
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	post := func() (*http.Response, []byte) {
		return h.do(t, "POST", "/v1/slack/chat.postMessage", "Bearer "+h.token, strings.NewReader(url.Values{"channel": {channel}, "text": {"a secret plan"}}.Encode()), form)
	}
	if resp, body := post(); resp.StatusCode != 200 {
		t.Fatalf("chat.postMessage: %d %s", resp.StatusCode, body)
	}
	h.do(t, "GET", "/v1/slack/auth.test", "Bearer "+h.token, nil, nil)
	h.do(t, "GET", "/v1/slack/auth.test", "Bearer "+h.token, nil, http.Header{"X-Connhub-Token": {"user"}})
	events, _, err := h.store.ListAudit(ctx, h.admin.Org.ID, store.AuditFilter{Action: "proxy."}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action+" "+fmt.Sprint(e.Details["method"]))
		if e.ActorKind != "instance" || e.ActorID != h.instance.ID || e.CredentialID != "instance_token" || e.SourceIP != "127.0.0.1" {
			t.Errorf("event %+v: want the instance token's, from 127.0.0.1", e)
		}
		for _, v := range e.Details {
			if strings.Contains(fmt.Sprint(v), "secret plan") {
				t.Errorf("the event holds the call's arguments: %v", e.Details)
			}
		}
	}
	if want := []string{"proxy.user_token auth.test", "proxy.write chat.postMessage"}; !slices.Equal(got, want) {
		t.Errorf("proxy events %v, want %v (newest first; no event for a read with the bot token)", got, want)
	}

	// Hold the audit log's chain head: the write is refused, not sent.
	sent := h.sandbox.Stats().Methods["chat.postMessage"].Calls
	release := hubtest.HoldAudit(t, h.store, h.admin.Org.ID)
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	req, _ := http.NewRequestWithContext(short, "POST", h.url+"/v1/slack/chat.postMessage", strings.NewReader(url.Values{"channel": {channel}, "text": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+h.token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("a write went through while the audit log could not be written")
		}
	}
	cancel()
	release()
	if after := h.sandbox.Stats().Methods["chat.postMessage"].Calls; after != sent {
		t.Errorf("Slack saw %d chat.postMessage calls while the log was held, want none", after-sent)
	}
}

// TestUserOnlyMethodsGoWithTheUserToken: a method Slack takes user tokens
// only for goes with the user token without the caller asking, where the
// instance allows it; where it does not, the answer names the setting
// instead of Slack's not_allowed_token_type.
func TestUserOnlyMethodsGoWithTheUserToken(t *testing.T) {
	t.Parallel()
	h := start(t, hubOptions{})
	resp, body := h.do(t, "GET", "/v1/slack/team.accessLogs?count=5", "Bearer "+h.token, nil, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "allow_user_token") {
		t.Errorf("a user-token method where the instance forbids it: %d %s; want 403 naming allow_user_token", resp.StatusCode, body)
	}
	allow := true
	if _, err := h.svc.Update(ctx, h.admin, h.instance.ID, instance.Patch{AllowUserToken: &allow}); err != nil {
		t.Fatal(err)
	}
	resp, body = h.do(t, "GET", "/v1/slack/team.accessLogs?count=5", "Bearer "+h.token, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok":true`) {
		t.Errorf("a user-token method where the instance allows it: %d %.300s; want Slack's ok answer", resp.StatusCode, body)
	}
	// The caller can still insist on the bot token, and hears Slack's answer.
	_, body = h.do(t, "GET", "/v1/slack/team.accessLogs?count=5", "Bearer "+h.token, nil, http.Header{"X-Connhub-Token": {"bot"}})
	if !strings.Contains(string(body), "not_allowed_token_type") {
		t.Errorf("team.accessLogs with the bot token asked for: %.300s; want Slack's not_allowed_token_type", body)
	}
	// A method bots may call goes with the bot token.
	_, body = h.do(t, "GET", "/v1/slack/auth.test", "Bearer "+h.token, nil, nil)
	if !strings.Contains(string(body), h.instance.BotUserID) {
		t.Errorf("auth.test: %.300s; want the bot's identity", body)
	}
}
