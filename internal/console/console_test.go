package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/console"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	syncsvc "github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

var ctx = context.Background()

// env is a hub with the console mounted in the API, as `serve` mounts it,
// in front of the sandbox, and an admin's API token to sign in with.
type env struct {
	hub   *hubtest.Hub
	url   string
	token string // the admin's API token
	svc   *instance.Service
	syncs *syncsvc.Service // nil unless asked for
	stop  func()           // stops the server at url
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, hubtest.Options{NoInstall: true}, false)
}

// setupWith starts a hub as o says, with a sync service when withSyncs.
func setupWith(t *testing.T, o hubtest.Options, withSyncs bool) *env {
	t.Helper()
	return setupThrottled(t, o, withSyncs, nil)
}

// setupThrottled is setupWith with th throttling failed authentications.
func setupThrottled(t *testing.T, o hubtest.Options, withSyncs bool, th *tenant.Throttle) *env {
	t.Helper()
	hub := hubtest.Start(t, o)
	e := &env{hub: hub}
	var err error
	e.token, err = secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Store.CreateAPICredential(ctx, store.APICredential{OrgID: hub.Admin.Org.ID, UserID: hub.Admin.User.ID, Name: "console test",
		TokenHash: secrets.HashToken(e.token), Hint: tenant.Hint(e.token)}); err != nil {
		t.Fatal(err)
	}
	e.serve(t, hub.Store, withSyncs, th)
	return e
}

// serve starts the services, the console and the API over st, as `serve`
// mounts them, on a server of their own at e.url.
func (e *env) serve(t *testing.T, st store.Store, withSyncs bool, th *tenant.Throttle) {
	t.Helper()
	hub := e.hub
	ts := httptest.NewUnstartedServer(nil)
	e.url = "http://" + ts.Listener.Addr().String()
	var err error
	e.svc, err = instance.New(ctx, instance.Options{Store: st, Slack: slack.New(hub.SlackURL, &http.Client{Timeout: 30 * time.Second}),
		Log: hub.Log, CallbackURL: e.url + "/v1/oauth/slack/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if withSyncs {
		caller, err := slackcall.New(slackcall.Options{SlackURL: hub.SlackURL, Tokens: e.svc, Log: hub.Log})
		if err != nil {
			t.Fatal(err)
		}
		if e.syncs, err = syncsvc.New(syncsvc.Config{Store: st, Caller: caller, Log: hub.Log}); err != nil {
			t.Fatal(err)
		}
	}
	auth := &tenant.Authenticator{Store: st, Throttle: th}
	web, err := console.New(console.Options{Store: st, Instances: e.svc, Auth: auth, Syncs: e.syncs, BaseURL: e.url, Log: hub.Log})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Store: st, Instances: e.svc, Auth: auth, Log: hub.Log, Version: "test", Console: web, Syncs: e.syncs})
	ts.Config.Handler = api.Handler()
	ts.Start()
	e.stop = ts.Close
	t.Cleanup(ts.Close)
}

// browser is a cookie-keeping client that does not follow redirects, so
// that tests see where each one goes.
type browser struct {
	t *testing.T
	e *env
	c *http.Client
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a response with its body read.
type answer struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.e.url + path
	}
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the forms on a page.
func (b *browser) csrf(page answer) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page: %.300s", page.body)
	}
	return m[1]
}

// signin signs in with token and returns the CSRF token of the session.
func (b *browser) signin(token string) string {
	b.t.Helper()
	form := b.get("/signin")
	got := b.post("/signin", url.Values{"csrf": {b.csrf(form)}, "token": {token}, "next": {"/"}})
	if got.status != http.StatusSeeOther || got.location != "/" {
		b.t.Fatalf("sign-in: got %d to %q, want 303 to /: %.300s", got.status, got.location, got.body)
	}
	home := b.get("/")
	if home.status != http.StatusOK {
		b.t.Fatalf("after sign-in, / answered %d", home.status)
	}
	return b.csrf(home)
}

func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("got status %d, want %d: %.500s", a.status, status, a.body)
	}
}

func wantIn(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(a.body, p) {
			t.Errorf("the page lacks %q: %.1500s", p, a.body)
		}
	}
}

func wantNotIn(t *testing.T, a answer, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.TrimSpace(p) != "" && strings.Contains(a.body, p) {
			t.Errorf("the page shows %q, and should not", p)
		}
	}
}

func TestSignin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)

	got := b.get("/instances")
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/signin?next=%2Finstances") {
		t.Fatalf("signed out: got %d to %q, want a redirect to sign in", got.status, got.location)
	}
	form := b.get("/signin")
	wantStatus(t, form, http.StatusOK)
	wantIn(t, form, `<label for="token">`, `id="signin"`)
	csrf := b.csrf(form)

	for _, tc := range []struct {
		name, token string
		status      int
		want        string
	}{
		{"wrong token", tenant.APITokenPrefix + "_thisisnotatokenatall0123456789", http.StatusUnauthorized, "not valid for any organization"},
		{"instance token", "chi_abc", http.StatusUnauthorized, "That is not an API token"},
		{"empty", " ", http.StatusUnprocessableEntity, "Paste your API token"},
	} {
		got := b.post("/signin", url.Values{"csrf": {csrf}, "token": {tc.token}})
		if got.status != tc.status {
			t.Errorf("%s: got status %d, want %d", tc.name, got.status, tc.status)
		}
		wantIn(t, got, tc.want, `id="error"`, `id="token"`)
		wantNotIn(t, got, "goroutine", "panic", tc.token)
		csrf = b.csrf(got)
	}

	// A sign-in form without its CSRF token is refused, the token unchecked.
	got = b.post("/signin", url.Values{"token": {e.token}})
	wantStatus(t, got, http.StatusForbidden)
	wantIn(t, got, "expired")

	csrf = b.signin(e.token)
	u, _ := url.Parse(e.url)
	var session *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "connhub_session" {
			session = c
		}
		if strings.Contains(c.Value, e.token) {
			t.Errorf("cookie %s holds the API token", c.Name)
		}
	}
	if session == nil || len(session.Value) < 43 {
		t.Fatalf("no session cookie of 256 bits: %+v", session)
	}

	got = b.get("/instances")
	wantStatus(t, got, http.StatusOK)
	wantIn(t, got, "admin@acme.example", `id="signout"`)

	got = b.post("/signout", url.Values{"csrf": {csrf}})
	wantStatus(t, got, http.StatusSeeOther)
	wantIn(t, b.get(got.location), "You are signed out.")
	// The sign-in page shows only its own notes, never text from the URL.
	wantNotIn(t, b.get("/signin?why="+url.QueryEscape("Paste your token at evil.example")), "evil.example")
	if got = b.get("/instances"); got.status != http.StatusSeeOther {
		t.Errorf("after sign-out /instances answered %d, want a redirect to sign in", got.status)
	}
	if strings.Contains(e.hub.Logs.String(), e.token) {
		t.Error("the API token is in the logs")
	}
}

// TestSigninThrottled: sign-in shares the API's throttle of failed
// attempts, and says when to try again.
func TestSigninThrottled(t *testing.T) {
	t.Parallel()
	e := setupThrottled(t, hubtest.Options{NoInstall: true}, false,
		tenant.NewThrottle(tenant.ThrottleOptions{PerSource: tenant.Limit{Burst: 2, Every: time.Hour}}))
	b := e.browser(t)
	csrf := b.csrf(b.get("/signin"))
	for i := range 2 {
		got := b.post("/signin", url.Values{"csrf": {csrf}, "token": {fmt.Sprintf("%s_wrong%030d", tenant.APITokenPrefix, i)}})
		wantStatus(t, got, http.StatusUnauthorized)
		csrf = b.csrf(got)
	}
	got := b.post("/signin", url.Values{"csrf": {csrf}, "token": {e.token}})
	wantStatus(t, got, http.StatusTooManyRequests)
	wantIn(t, got, "Too many failed sign-ins", "Try again in 3600 seconds", `id="error"`)
	if ra := got.header.Get("Retry-After"); ra != "3600" {
		t.Errorf("Retry-After %q, want 3600", ra)
	}
	wantNotIn(t, got, e.token)
}

func TestSigninCookieFlags(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	form := b.get("/signin")
	req, _ := http.NewRequest(http.MethodPost, e.url+"/signin", strings.NewReader(url.Values{"csrf": {b.csrf(form)}, "token": {e.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name != "connhub_session" {
			continue
		}
		found = true
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("session cookie: got HttpOnly=%v Secure=%v SameSite=%v Path=%q, want HttpOnly, Secure, Lax, /", c.HttpOnly, c.Secure, c.SameSite, c.Path)
		}
	}
	if !found {
		t.Fatal("no session cookie set")
	}
}

func TestRevokedTokenEndsSession(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.signin(e.token)
	cred, err := e.hub.Store.APICredentialByTokenHash(ctx, secrets.HashToken(e.token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.hub.Store.UpdateAPICredential(ctx, cred.OrgID, cred.ID, func(c *store.APICredential) error { c.RevokedAt = time.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	got := b.get("/instances")
	if got.status != http.StatusSeeOther || !strings.Contains(got.location, "revoked") {
		t.Fatalf("with a revoked token: got %d to %q, want a redirect to sign in saying why", got.status, got.location)
	}
	wantIn(t, b.get(got.location), "was revoked")
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)
	for _, tc := range []struct{ name, csrf string }{{"missing", ""}, {"wrong", csrf[:len(csrf)-2] + "xx"}} {
		got := b.post("/connectors/slack/instances", url.Values{"csrf": {tc.csrf}, "name": {"Forged"}})
		if got.status != http.StatusForbidden {
			t.Errorf("%s CSRF token: got %d, want 403", tc.name, got.status)
		}
		wantIn(t, got, "CSRF")
	}
	list, _, err := e.svc.List(ctx, e.hub.Admin, store.InstanceFilter{}, store.Page{})
	if err != nil || len(list) != 0 {
		t.Fatalf("a forged form made instances: %d, %v", len(list), err)
	}
	// Another session's token is no good either.
	other := e.browser(t)
	otherCSRF := other.signin(e.token)
	if got := b.post("/signout", url.Values{"csrf": {otherCSRF}}); got.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: got %d, want 403", got.status)
	}
}

// A form whose body passes the API's limit is told so, not taken for a
// stale one.
func TestFormTooLarge(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)
	got := b.post("/settings/tokens", url.Values{"csrf": {csrf}, "name": {strings.Repeat("x", 1<<20)}})
	wantStatus(t, got, http.StatusRequestEntityTooLarge)
	wantIn(t, got, "larger than the hub takes in one request (1024 KiB)")
	wantNotIn(t, got, "CSRF")
}

func TestConnectorSearch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.signin(e.token)
	for _, tc := range []struct {
		q     string
		slack bool
	}{{"", true}, {"slack", true}, {"Enterprise Grid", true}, {"salesforce", false}} {
		got := b.get("/?q=" + url.QueryEscape(tc.q))
		wantStatus(t, got, http.StatusOK)
		wantIn(t, got, `<label for="connector-search">`, `value="`+tc.q+`"`)
		if has := strings.Contains(got.body, `id="authenticate-slack"`); has != tc.slack {
			t.Errorf("q=%q: got the Slack card %v, want %v", tc.q, has, tc.slack)
		}
		if !tc.slack {
			wantIn(t, got, `id="no-connectors"`)
		}
	}
}

var instanceIDField = regexp.MustCompile(`id="instance-id">([^<]+)<`)

// install runs the console's Authenticate flow through the sandbox's
// consent page (action "allow" or "cancel") and returns the callback page.
func (b *browser) install(csrf, name, action string) answer {
	b.t.Helper()
	form := b.get("/connectors/slack/authenticate")
	wantStatus(b.t, form, http.StatusOK)
	wantIn(b.t, form, `<label for="instance-name">`, `<label for="instance-edition">`, `id="create-instance"`, `value="enterprise_grid"`)
	got := b.post("/connectors/slack/instances", url.Values{"csrf": {csrf}, "name": {name}, "edition": {"business_plus"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, b.e.hub.SlackURL+"/oauth/v2/authorize") {
		b.t.Fatalf("Create Instance: got %d to %q, want a redirect to the sandbox's consent page: %.300s", got.status, got.location, got.body)
	}
	back := sandboxtest.Consent(b.t, got.location, action, nil)
	if !strings.HasPrefix(back.String(), b.e.url+"/v1/oauth/slack/callback") {
		b.t.Fatalf("the sandbox sent the browser to %s", back)
	}
	return b.get(back.String())
}

func TestInstanceJourney(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)

	// Create Instance with a missing name: the form again, with why.
	got := b.post("/connectors/slack/instances", url.Values{"csrf": {csrf}, "name": {""}, "edition": {"pro"}})
	wantStatus(t, got, http.StatusBadRequest)
	wantIn(t, got, "name is required", `id="instance-name"`)

	page := b.install(csrf, "Console Slack", "allow")
	wantStatus(t, page, http.StatusOK)
	wantIn(t, page, "The connector instance Console Slack is connected", "Test in the API docs")
	m := instanceIDField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the callback page does not name the instance: %.500s", page.body)
	}
	id := m[1]
	wantIn(t, page, `href="/docs?instance=`+id+`"`, `href="/instances/`+id+`"`)
	token, err := e.svc.Token(ctx, e.hub.Admin, id)
	if err != nil {
		t.Fatal(err)
	}

	list := b.get("/instances")
	wantStatus(t, list, http.StatusOK)
	wantIn(t, list, "Console Slack", `id="instance-id-`+id+`"`, `id="status-`+id+`">active<`, `id="edition-`+id+`">Business`, `id="ping-`+id+`"`,
		`id="view-token-`+id+`"`, `href="/docs?instance=`+id+`"`, `id="edit-`+id+`"`, `id="delete-`+id+`"`)
	wantNotIn(t, list, token.Reveal())
	if in, err := e.svc.Get(ctx, e.hub.Admin, id); err != nil || in.TeamName == "" {
		t.Fatalf("the installed instance: %+v %v", in, err)
	} else {
		wantIn(t, list, `id="workspace-`+id+`">`+in.TeamName+" ("+e.hub.Info.TeamID+")")
	}

	// View Token: only in answer to the POST, never cached.
	wantNotIn(t, b.get("/instances/"+id), token.Reveal())
	got = b.post("/instances/"+id+"/token", url.Values{"csrf": {csrf}})
	wantStatus(t, got, http.StatusOK)
	wantIn(t, got, `id="instance-token" value="`+token.Reveal()+`"`, `id="copy-instance-token"`,
		`href="/docs?instance=`+id+`#token=`+token.Reveal()+`"`)
	if cc := got.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the token page: Cache-Control %q, want no-store", cc)
	}

	// Ping, then back to the card with the result.
	got = b.post("/instances/"+id+"/ping", url.Values{"csrf": {csrf}})
	if got.status != http.StatusSeeOther || got.location != "/instances/"+id {
		t.Fatalf("ping: got %d to %q", got.status, got.location)
	}
	card := b.get(got.location)
	wantIn(t, card, `id="flash"`, "Ping OK")
	wantNotIn(t, card, `id="last-ping-`+id+`">never`)

	// Update: name and tags, no re-auth.
	edit := b.get("/instances/" + id + "/edit")
	wantIn(t, edit, `<label for="edit-name">`, `<label for="edit-tags">`, `id="update-instance"`, `id="reauthenticate-instance"`)
	got = b.post("/instances/"+id+"/edit", url.Values{"csrf": {csrf}, "name": {"Renamed Slack"}, "tags": {"prod, hr"}})
	wantStatus(t, got, http.StatusSeeOther)
	wantIn(t, b.get(got.location), "Renamed Slack", "prod, hr", "not re-authenticated")
	in, err := e.svc.Get(ctx, e.hub.Admin, id)
	if err != nil || in.Name != "Renamed Slack" || strings.Join(in.Tags, ",") != "prod,hr" || in.Status != store.StatusActive {
		t.Fatalf("after Update: got %q %v %s, %v", in.Name, in.Tags, in.Status, err)
	}

	// Re-Authenticate goes to the consent page and back, keeping the ID.
	got = b.post("/instances/"+id+"/reauthenticate", url.Values{"csrf": {csrf}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, e.hub.SlackURL) {
		t.Fatalf("Re-Authenticate: got %d to %q", got.status, got.location)
	}
	back := sandboxtest.Consent(t, got.location, "allow", nil)
	wantIn(t, b.get(back.String()), "Renamed Slack is connected", id)

	// Credentials: the base URL at once, the header on request.
	creds := b.get("/instances/" + id + "/credentials")
	wantIn(t, creds, `id="base-url" value="`+e.url+`"`, `id="reveal-credentials"`)
	wantNotIn(t, creds, token.Reveal())
	got = b.post("/instances/"+id+"/credentials", url.Values{"csrf": {csrf}})
	wantIn(t, got, `id="authorization-header" value="Authorization: Bearer `+token.Reveal()+`"`)

	// Delete asks first, saying what goes.
	confirm := b.get("/instances/" + id + "/delete")
	wantIn(t, confirm, "revoked at Slack", "instance token", "named credentials", "synced records", `id="confirm-delete"`, `<label for="delete-force">`)
	got = b.post("/instances/"+id+"/delete", url.Values{"csrf": {csrf}})
	if got.status != http.StatusSeeOther || got.location != "/instances" {
		t.Fatalf("delete: got %d to %q: %.300s", got.status, got.location, got.body)
	}
	wantIn(t, b.get("/instances"), "Deleted Renamed Slack", `id="no-instances"`)
	if _, err := e.svc.Get(ctx, e.hub.Admin, id); err == nil {
		t.Error("the instance is still there after Delete")
	}
	wantIn(t, b.get("/instances/"+id), "no such instance")

	logs := e.hub.Logs.String()
	for name, secret := range map[string]string{"API token": e.token, "instance token": token.Reveal()} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the logs", name)
		}
	}
}

func TestDeniedConsent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)
	page := b.install(csrf, "Refused Slack", "cancel")
	wantStatus(t, page, http.StatusBadRequest)
	wantIn(t, page, "was not connected", "access_denied", "Refused Slack", `id="retry"`)
	m := instanceIDField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the failure page does not name the instance: %.500s", page.body)
	}
	wantIn(t, page, `href="/instances/`+m[1]+`/edit"`)
	card := b.get("/instances/" + m[1])
	wantIn(t, card, `id="status-`+m[1]+`">failed<`, "access_denied", `id="reauthenticate-`+m[1]+`"`)

	// Retry from the card: Re-Authenticate, Allow, connected.
	got := b.post("/instances/"+m[1]+"/reauthenticate", url.Values{"csrf": {csrf}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, e.hub.SlackURL) {
		t.Fatalf("Re-Authenticate: got %d to %q", got.status, got.location)
	}
	back := sandboxtest.Consent(t, got.location, "allow", nil)
	wantIn(t, b.get(back.String()), "Refused Slack is connected")
	wantNotIn(t, b.get("/instances/"+m[1]), `id="reauthenticate-`+m[1]+`"`)

}

func TestPingOfPendingInstance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	csrf := b.signin(e.token)
	got := b.post("/connectors/slack/instances", url.Values{"csrf": {csrf}, "name": {"Waiting Slack"}, "edition": {"free"}})
	wantStatus(t, got, http.StatusSeeOther)
	list, _, err := e.svc.List(ctx, e.hub.Admin, store.InstanceFilter{}, store.Page{})
	if err != nil || len(list) != 1 {
		t.Fatalf("instances: %d, %v", len(list), err)
	}
	id := list[0].ID
	wantIn(t, b.get("/instances"), `id="status-`+id+`">pending<`, "waiting for consent", `id="edition-`+id+`">Free`)
	got = b.post("/instances/"+id+"/ping", url.Values{"csrf": {csrf}, "from": {"list"}})
	if got.status != http.StatusSeeOther || got.location != "/instances#instance-"+id {
		t.Fatalf("ping: got %d to %q", got.status, got.location)
	}
	wantIn(t, b.get("/instances"), "Ping failed", "waiting for consent at Slack")
}

func TestNotFoundAndAPIUntouched(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.signin(e.token)
	got := b.get("/instances/ins_nosuch")
	wantStatus(t, got, http.StatusNotFound)
	wantIn(t, got, "no such instance")
	got = b.get("/nowhere")
	wantStatus(t, got, http.StatusNotFound)

	// The API's own paths still answer as the API, with its credentials.
	got = b.get("/v1/instances")
	wantStatus(t, got, http.StatusUnauthorized)
	got = b.get("/v1/nosuch")
	if got.status != http.StatusUnauthorized && got.status != http.StatusNotFound {
		t.Errorf("/v1/nosuch: got %d", got.status)
	}
	if !strings.HasPrefix(got.header.Get("Content-Type"), "application/json") {
		t.Errorf("/v1/nosuch: got Content-Type %q, want JSON", got.header.Get("Content-Type"))
	}
	if got = b.get("/healthz"); got.status != http.StatusOK {
		t.Errorf("/healthz: got %d", got.status)
	}
	if got = b.get("/static/console.css"); got.status != http.StatusOK || !strings.Contains(got.body, ".card") {
		t.Errorf("/static/console.css: got %d", got.status)
	}
	if got.header.Get("X-Request-Id") == "" {
		t.Error("console answers lack the API's X-Request-Id")
	}
}

func TestSyncStatusAndRecords(t *testing.T) {
	t.Parallel()
	e := setupWith(t, hubtest.Options{}, true)
	id := e.hub.Instance.ID
	b := e.browser(t)
	csrf := b.signin(e.token)
	wantIn(t, b.get("/instances"), `id="syncs-`+id+`"`, `id="records-`+id+`"`)
	wantIn(t, b.get("/instances/"+id+"/syncs"), `id="no-runs"`, `<label for="sync-streams">`, `id="start-sync"`)

	got := b.post("/instances/"+id+"/syncs", url.Values{"csrf": {csrf}, "streams": {"users"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/instances/"+id+"/syncs?run=") {
		t.Fatalf("Sync now: got %d to %q: %.300s", got.status, got.location, got.body)
	}
	runID := strings.TrimPrefix(got.location, "/instances/"+id+"/syncs?run=")
	queued := b.get(got.location)
	wantIn(t, queued, "queued", `http-equiv="refresh"`, `id="stream-users"`)

	// Work the run as a queue's worker would, then look again.
	if err := e.syncs.Execute(ctx, e.hub.Admin.Org.ID, runID); err != nil {
		t.Fatal(err)
	}
	done := b.get(got.location)
	wantIn(t, done, `id="run-status">succeeded<`, `id="stream-users"`, `<span class="status done">done</span>`)
	wantNotIn(t, done, `http-equiv="refresh"`)

	form := b.get("/instances/" + id + "/records")
	wantIn(t, form, `<label for="records-stream">`, `<label for="records-where">`, `id="records-submit"`)
	all := b.get("/instances/" + id + "/records?stream=users")
	wantStatus(t, all, http.StatusOK)
	rows := strings.Count(all.body, `<tr id="record-`)
	if rows == 0 {
		t.Fatalf("no user records shown: %.800s", all.body)
	}
	admins := b.get("/instances/" + id + "/records?stream=users&where=" + url.QueryEscape("is_admin = true"))
	wantStatus(t, admins, http.StatusOK)
	if n := strings.Count(admins.body, `<tr id="record-`); n == 0 || n >= rows {
		t.Errorf("where is_admin = true: got %d rows of %d", n, rows)
	}
	for _, tc := range []struct{ where, want string }{
		{"is_admin = = true", "at position"},
		{"nosuch = 1", "has no field nosuch"},
	} {
		got := b.get("/instances/" + id + "/records?stream=users&where=" + url.QueryEscape(tc.where))
		wantStatus(t, got, http.StatusBadRequest)
		wantIn(t, got, tc.want, `id="records-where"`)
	}
}

// openConnectorsSecrets gives the hub's admin and organization their Open
// Connectors secrets.
func (e *env) openConnectorsSecrets(t *testing.T) (user, org string) {
	t.Helper()
	user, _ = secrets.NewToken(tenant.UserSecretPrefix)
	org, _ = secrets.NewToken(tenant.OrgSecretPrefix)
	if _, err := e.hub.Store.UpdateOrganization(ctx, e.hub.Admin.Org.ID, func(o *store.Organization) error {
		o.SecretHash, o.Secret = secrets.HashToken(org), secrets.Secret(org)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.hub.Store.UpdateUser(ctx, e.hub.Admin.Org.ID, e.hub.Admin.User.ID, func(u *store.User) error {
		u.SecretHash, u.Secret = secrets.HashToken(user), secrets.Secret(user)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return user, org
}

func TestSigninWithSecrets(t *testing.T) {
	t.Parallel()
	e := setup(t)
	user, org := e.openConnectorsSecrets(t)
	b := e.browser(t)
	form := b.get("/signin")
	wantIn(t, form, `<label for="user-secret">`, `<label for="organization-secret">`, `id="signin-secrets"`)

	got := b.post("/signin", url.Values{"csrf": {b.csrf(form)}, "method": {"secrets"}, "user_secret": {user}, "organization_secret": {"chos_wrong"}})
	wantStatus(t, got, http.StatusUnauthorized)
	wantIn(t, got, "not valid for any organization")
	wantNotIn(t, got, user)

	got = b.post("/signin", url.Values{"csrf": {b.csrf(got)}, "method": {"secrets"}, "user_secret": {user}, "organization_secret": {org}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("sign-in with secrets: got %d: %.300s", got.status, got.body)
	}
	wantIn(t, b.get("/instances"), `id="signout"`, "admin@acme.example")

	// A changed user secret ends the session.
	e.openConnectorsSecrets(t)
	if got := b.get("/instances"); got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/signin") {
		t.Errorf("after the secrets changed: got %d to %q, want a redirect to sign in", got.status, got.location)
	}
	for _, s := range []string{user, org} {
		if strings.Contains(e.hub.Logs.String(), s) {
			t.Error("a secret is in the logs")
		}
	}
}

func TestMemberMayNotSeeSecrets(t *testing.T) {
	t.Parallel()
	e := setupWith(t, hubtest.Options{}, false)
	id := e.hub.Instance.ID
	u, err := e.hub.Store.CreateUser(ctx, store.User{OrgID: e.hub.Admin.Org.ID, Email: "member@acme.example", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	token, _ := secrets.NewToken(tenant.APITokenPrefix)
	if _, err := e.hub.Store.CreateAPICredential(ctx, store.APICredential{OrgID: u.OrgID, UserID: u.ID, Name: "member", TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token)}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	csrf := b.signin(token)
	wantIn(t, b.get("/instances"), `id="instance-`+id+`"`, "member@acme.example")
	for _, action := range []string{"token", "credentials"} {
		got := b.post("/instances/"+id+"/"+action, url.Values{"csrf": {csrf}})
		wantStatus(t, got, http.StatusSeeOther)
		wantIn(t, b.get(got.location), "only organization admins")
	}
	got := b.post("/instances/"+id+"/delete", url.Values{"csrf": {csrf}})
	wantStatus(t, got, http.StatusForbidden)
	wantIn(t, got, "only organization admins", `id="confirm-delete"`)
	if _, err := e.svc.Get(ctx, e.hub.Admin, id); err != nil {
		t.Errorf("a member deleted the instance: %v", err)
	}
}
