package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	syncsvc "github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/internal/webhooks"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.json from the routes")

var ctx = context.Background()

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type hub struct {
	url     string
	token   string // the admin's API token
	oc      string // the admin's Open Connectors header
	store   store.Store
	dbDir   string
	logs    *syncBuffer
	sandbox *slacksim.Server
	slack   string
	info    slacksim.Info
}

// start runs a hub on SQLite in front of a sandbox, as `serve` would, with
// its logs (at debug level, through the redacting handler) in a buffer.
func start(t *testing.T) *hub {
	t.Helper()
	h := &hub{logs: &syncBuffer{}, dbDir: t.TempDir()}
	h.sandbox, h.slack = sandboxtest.Start(t, slacksim.Config{Users: 60, TokenRotation: true})
	h.info = h.sandbox.Info(h.slack)
	s, err := sqlite.Open(ctx, filepath.Join(h.dbDir, "connhub.db"), storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h.store = s
	var out bytes.Buffer
	boot, err := tenant.Bootstrap(ctx, s, "", h.dbDir, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "chub_") {
			h.token = f
		}
	}
	body, _ := os.ReadFile(boot.File)
	var us, os_ string
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "open_connectors_user_secret="); ok {
			us = v
		}
		if v, ok := strings.CutPrefix(line, "open_connectors_organization_secret="); ok {
			os_ = v
		}
	}
	h.oc = "User " + us + ", Organization " + os_
	log := slog.New(secrets.RedactingHandler(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}), "chub", "chi", "chus", "chos"))
	ts := httptest.NewUnstartedServer(nil)
	h.url = "http://" + ts.Listener.Addr().String()
	svc, err := instance.New(ctx, instance.Options{Store: s, Slack: slack.New(h.slack, nil), Log: log, CallbackURL: h.url + "/v1/oauth/slack/callback"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureApp(ctx, boot.Org.ID, instance.AppInput{Name: "sandbox", ClientID: h.info.ClientID,
		ClientSecret: secrets.Secret(h.info.ClientSecret), SigningSecret: secrets.Secret(h.info.SigningSecret), BotScopes: []string{"users:read", "team:read"}, UserScopes: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	caller, err := slackcall.New(slackcall.Options{SlackURL: h.slack, Tokens: svc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	syncs, err := syncsvc.New(syncsvc.Config{Store: s, Caller: caller, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := webhooks.New(webhooks.Options{Store: s, Log: log, AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := events.New(events.Options{Store: s, Instances: svc, Records: syncs, Webhooks: hooks, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	scimCaller, err := scim.NewCaller(slackcall.NewStack(slackcall.StackOptions{Log: log}).WithTokens(svc), h.slack, slackcall.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	prov, err := provision.NewService(provision.ServiceOptions{Store: s, Instances: svc, SCIM: scimCaller, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Options{Store: s, Instances: svc, Auth: &tenant.Authenticator{Store: s}, Log: log, Version: "test", Syncs: syncs, Events: evs, Webhooks: hooks,
		Provisioning: prov, Ready: func(ctx context.Context) error { _, _, err := s.MigrationVersion(ctx); return err }})
	ts.Config.Handler = api.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return h
}

// call sends a request with the admin's API token (or auth, when set) and
// decodes the JSON answer into out.
func (h *hub) call(t *testing.T, method, path, auth string, body any, out any) *http.Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth == "" {
		auth = "Bearer " + h.token
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %.200s", method, path, err, raw)
		}
	}
	return resp
}

type apiErr struct{ Code, Message string }

func wantStatus(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: got status %d, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status)
	}
}

// browse follows Slack's redirect to the callback like a browser does.
func browse(t *testing.T, loc *url.URL) string {
	t.Helper()
	resp, err := http.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestTheWholeJourneyLeaksNoSecret runs seed 000's journey over HTTP, then
// searches every log line and the database files for every token and secret
// that passed through.
func TestTheWholeJourneyLeaksNoSecret(t *testing.T) {
	h := start(t)
	var created struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		InstanceToken string `json:"instance_token"`
		AuthorizeURL  string `json:"authorize_url"`
	}
	resp := h.call(t, "POST", "/v1/instances", "", map[string]any{"name": "Acme Slack", "tags": []string{"prod"}}, &created)
	wantStatus(t, resp, http.StatusCreated)
	if created.Status != "pending" || created.AuthorizeURL == "" || resp.Header.Get("Location") != "/v1/instances/"+created.ID {
		t.Fatalf("created %+v", created)
	}
	loc := sandboxtest.Consent(t, created.AuthorizeURL, "allow", nil)
	page := browse(t, loc)
	if !strings.Contains(page, "is connected") || !strings.Contains(page, created.ID) || !strings.Contains(page, "Test in the API docs") {
		t.Fatalf("callback page: %.400s", page)
	}

	var inst map[string]any
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID, "", nil, &inst), http.StatusOK)
	if inst["status"] != "active" || inst["has_bot_token"] != true {
		t.Errorf("instance after consent: %v", inst)
	}
	raw, _ := json.Marshal(inst)
	for _, banned := range []string{"xoxb", "xoxp", "xoxe", "\"refresh_token\":", "\"bot_token\":"} {
		if strings.Contains(string(raw), banned) {
			t.Errorf("GET /v1/instances/{id} shows %q: %s", banned, raw)
		}
	}
	var ping map[string]any
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID+"/ping", "", nil, &ping), http.StatusOK)
	if ping["ok"] != true || ping["team_id"] != h.info.TeamID {
		t.Errorf("ping: %v", ping)
	}
	// The instance token alone, and the Open Connectors header with Element, both act for the instance.
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID+"/ping", "Bearer "+created.InstanceToken, nil, nil), http.StatusOK)
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID+"/ping", h.oc+", Element "+created.InstanceToken, nil, nil), http.StatusOK)

	wantStatus(t, h.call(t, "PATCH", "/v1/instances/"+created.ID, "", map[string]any{"name": "Renamed"}, &inst), http.StatusOK)
	if inst["name"] != "Renamed" {
		t.Errorf("renamed: %v", inst)
	}
	var tok struct {
		InstanceToken string `json:"instance_token"`
	}
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID+"/token", "", nil, &tok), http.StatusOK)
	if tok.InstanceToken != created.InstanceToken {
		t.Errorf("View Token shows another token")
	}
	var creds struct {
		Bearer string `json:"bearer"`
	}
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+created.ID+"/credentials", "", nil, &creds), http.StatusOK)
	if creds.Bearer != "Bearer "+created.InstanceToken {
		t.Errorf("credentials: %+v", creds)
	}
	var named struct {
		Value string `json:"value"`
		Hint  string `json:"hint"`
	}
	wantStatus(t, h.call(t, "POST", "/v1/credentials", "", map[string]any{"name": "cpi-slack", "instance_id": created.ID}, &named), http.StatusCreated)
	if !strings.HasPrefix(named.Value, "User chus_") || strings.Contains(named.Value, h.oc) || !strings.HasSuffix(named.Value, ", Element "+created.InstanceToken) {
		t.Errorf("named credential: %q; want its own User secret, never the admin's", named.Hint)
	}
	var fetched map[string]any
	wantStatus(t, h.call(t, "GET", "/v1/credentials/cpi-slack", "", nil, &fetched), http.StatusOK)
	if fetched["value"] != nil || fetched["hint"] == "" {
		t.Errorf("GET shows a named credential's value, or no hint: %v", fetched)
	}
	var shown struct{ Value string }
	wantStatus(t, h.call(t, "POST", "/v1/credentials/cpi-slack/reveal", "", nil, &shown), http.StatusOK)
	if shown.Value != named.Value {
		t.Errorf("reveal: %q", shown.Value)
	}

	var reauth struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	wantStatus(t, h.call(t, "POST", "/v1/instances/"+created.ID+"/reauthenticate", "", nil, &reauth), http.StatusOK)
	if page := browse(t, sandboxtest.Consent(t, reauth.AuthorizeURL, "allow", nil)); !strings.Contains(page, "is connected") {
		t.Fatalf("re-authentication page: %.300s", page)
	}

	// Gather every secret that passed through before the instance goes.
	stored, err := h.store.GetInstance(ctx, mustOrg(t, h), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	planted := []string{h.token, created.InstanceToken, h.info.ClientSecret, h.info.SigningSecret, loc.Query().Get("code"),
		stored.BotToken.Reveal(), stored.BotRefreshToken.Reveal(), stored.UserToken.Reveal(), stored.UserRefreshToken.Reveal()}
	planted = append(planted, strings.Fields(strings.NewReplacer(",", " ").Replace(h.oc))...)
	planted = append(planted, strings.Fields(strings.NewReplacer(",", " ").Replace(named.Value))...)
	var deletion struct {
		ID      string   `json:"id"`
		Revoked []string `json:"revoked"`
		Kept    []any    `json:"kept"`
	}
	wantStatus(t, h.call(t, "DELETE", "/v1/instances/"+created.ID, "", nil, &deletion), http.StatusOK)
	if deletion.ID != created.ID || len(deletion.Revoked) != 2 || len(deletion.Kept) != 0 {
		t.Errorf("the delete's answer: %+v; want both tokens revoked, none kept", deletion)
	}
	wantStatus(t, h.call(t, "DELETE", "/v1/instances/"+created.ID, "", nil, nil), http.StatusNotFound)
	if st := h.sandbox.Stats(); st.Revocations != 2 {
		t.Errorf("the sandbox saw %d revocations, want 2", st.Revocations)
	}

	logs := h.logs.String()
	if !strings.Contains(logs, "/v1/instances") {
		t.Fatal("the request log is empty; the scan would prove nothing")
	}
	files, _ := filepath.Glob(filepath.Join(h.dbDir, "connhub.db*"))
	var db []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		db = append(db, b...)
	}
	for _, secret := range planted {
		if len(secret) < 8 || secret == "User" || secret == "Organization" {
			continue
		}
		if strings.Contains(logs, secret) {
			t.Errorf("a secret (%s…) is in the logs", secret[:6])
		}
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("a secret (%s…) is in the database files in plain text", secret[:6])
		}
	}
}

func mustOrg(t *testing.T, h *hub) string {
	t.Helper()
	p, err := (&tenant.Authenticator{Store: h.store}).Authenticate(ctx, "Bearer "+h.token)
	if err != nil {
		t.Fatal(err)
	}
	return p.Org.ID
}

func TestErrorsAreJSONWithAStableCode(t *testing.T) {
	t.Parallel()
	h := start(t)
	for _, tc := range []struct {
		name, method, path, auth string
		body                     any
		status                   int
		code                     string
	}{
		{"no credentials", "GET", "/v1/instances", "Basic eDp5", nil, 401, "malformed_credentials"},
		{"wrong token", "GET", "/v1/instances", "Bearer chub_wrong", nil, 401, "invalid_credentials"},
		{"unknown instance", "GET", "/v1/instances/ins_nope", "", nil, 404, "not_found"},
		{"empty name", "POST", "/v1/instances", "", map[string]any{"name": ""}, 422, "invalid_request"},
		{"unknown field value", "POST", "/v1/instances", "", map[string]any{"name": "x", "edition": "platinum"}, 422, "invalid_request"},
		{"unknown connector", "POST", "/v1/instances", "", map[string]any{"name": "x", "connector": "github"}, 400, "unknown_connector"},
		{"bad app", "POST", "/v1/apps", "", map[string]any{"client_id": "abc", "client_secret": ""}, 400, "invalid_app"},
		{"pasted garbage", "POST", "/v1/instances", "", map[string]any{"name": "x", "auth_method": "token", "token": "xoxb-nope"}, 400, "slack_invalid_auth"},
		{"ping a pending instance", "GET", "/v1/instances/PENDING/ping", "", nil, 409, "not_authenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if strings.Contains(path, "PENDING") {
				var c struct{ ID string }
				h.call(t, "POST", "/v1/instances", "", map[string]any{"name": "pending"}, &c)
				path = strings.Replace(path, "PENDING", c.ID, 1)
			}
			var e apiErr
			resp := h.call(t, tc.method, path, tc.auth, tc.body, &e)
			if resp.StatusCode != tc.status || e.Code != tc.code || e.Message == "" {
				t.Errorf("got %d %+v, want %d %s with a message", resp.StatusCode, e, tc.status, tc.code)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	// A body over the limit.
	big := map[string]any{"name": strings.Repeat("x", 2<<20)}
	if resp := h.call(t, "POST", "/v1/instances", "", big, nil); resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a 2 MiB body: got %d, want 413", resp.StatusCode)
	}
	var cb struct {
		OK   bool
		Code string
	}
	req, _ := http.NewRequest("GET", h.url+"/v1/oauth/slack/callback?state=forged.AAAA&code=x", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&cb)
	resp.Body.Close()
	if resp.StatusCode != 400 || cb.OK || cb.Code != "invalid_state" {
		t.Errorf("a forged callback: got %d %+v", resp.StatusCode, cb)
	}
	// The page people see may not be framed, and loads nothing.
	resp, err = http.Get(h.url + "/v1/oauth/slack/callback?state=forged.AAAA&code=x")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(string(page), "<style>") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the callback page: CSP %q, X-Frame-Options %q; want frame-ancestors 'none', default-src 'none' and DENY", csp, resp.Header.Get("X-Frame-Options"))
	}
	if m := regexp.MustCompile(`style-src '(sha256-[^']+)'`).FindStringSubmatch(csp); m == nil {
		t.Errorf("the CSP allows no style: %q", csp)
	} else {
		_, rest, _ := strings.Cut(string(page), "<style>")
		style, _, _ := strings.Cut(rest, "</style>")
		sum := sha256.Sum256([]byte(style))
		if m[1] != "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("the CSP's style hash %s is not the page's style's", m[1])
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/docs.js"} {
		resp, err := http.Get(h.url + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, resp, err)
		}
	}
}

func TestListsAndTenancy(t *testing.T) {
	t.Parallel()
	h := start(t)
	for i := range 5 {
		h.call(t, "POST", "/v1/instances", "", map[string]any{"name": "n" + string(rune('a'+i)), "tags": []string{map[bool]string{true: "even", false: "odd"}[i%2 == 0]}}, nil)
	}
	var page struct {
		Instances  []map[string]any `json:"instances"`
		NextCursor string           `json:"next_cursor"`
	}
	var all []string
	cursor := ""
	for {
		h.call(t, "GET", "/v1/instances?limit=2&cursor="+cursor, "", nil, &page)
		for _, in := range page.Instances {
			all = append(all, in["id"].(string))
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(all) != 5 {
		t.Errorf("paged through %d instances, want 5", len(all))
	}
	h.call(t, "GET", "/v1/instances?tag=even&status=pending", "", nil, &page)
	if len(page.Instances) != 3 {
		t.Errorf("tag=even: got %d, want 3", len(page.Instances))
	}
	// An instance token sees its own instance only.
	var c struct {
		ID            string `json:"id"`
		InstanceToken string `json:"instance_token"`
	}
	h.call(t, "POST", "/v1/instances", "", map[string]any{"name": "mine"}, &c)
	wantStatus(t, h.call(t, "GET", "/v1/instances", "Bearer "+c.InstanceToken, nil, nil), http.StatusForbidden)
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+c.ID, "Bearer "+c.InstanceToken, nil, nil), http.StatusOK)
	wantStatus(t, h.call(t, "GET", "/v1/instances/"+all[0], "Bearer "+c.InstanceToken, nil, nil), http.StatusNotFound)
}

// TestOpenAPIDocument holds the generated OpenAPI document still: a route
// change shows in the diff of testdata/openapi.json (go test -run OpenAPI -update).
func TestOpenAPIDocument(t *testing.T) {
	h := start(t)
	resp, err := http.Get(h.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(doc, "", "  ")
	got = append(got, '\n')
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/httpapi -run OpenAPI -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the OpenAPI document differs from %s; if the change is meant, run go test ./internal/httpapi -run OpenAPI -update and review the diff", golden)
	}
	d := doc.(map[string]any)
	if d["openapi"] != "3.1.0" {
		t.Errorf("openapi version %v", d["openapi"])
	}
	paths := d["paths"].(map[string]any)
	for _, p := range []string{"/v1/instances", "/v1/instances/{id}", "/v1/instances/{id}/ping", "/v1/oauth/slack/callback", "/v1/connectors", "/v1/credentials",
		"/v1/streams", "/v1/instances/{id}/syncs", "/v1/instances/{id}/syncs/{sync}", "/v1/instances/{id}/sync-schedule",
		"/v1/instances/{id}/records/{stream}", "/v1/instances/{id}/records/{stream}/export",
		"/v1/slack/{method}", "/v1/instances/{id}/slack/{method}"} {
		if paths[p] == nil {
			t.Errorf("the document lacks %s", p)
		}
	}
	// The API reference's Authorize dialog offers one input per scheme:
	// each way to authenticate is its own.
	schemes := d["components"].(map[string]any)["securitySchemes"].(map[string]any)
	for name, scheme := range map[string]string{"apiToken": "bearer", "instanceToken": "bearer", "openConnectors": ""} {
		sc, ok := schemes[name].(map[string]any)
		if !ok {
			t.Errorf("the document lacks the security scheme %s", name)
			continue
		}
		if scheme != "" && sc["scheme"] != scheme {
			t.Errorf("security scheme %s: got scheme %v, want %s", name, sc["scheme"], scheme)
		}
	}
	_ = time.Second
}

// TestValidationErrorsInWords: a request the schema refuses is answered with
// where and what, in words, never Go's rendering of the body nor a long
// value echoed whole.
func TestValidationErrorsInWords(t *testing.T) {
	t.Parallel()
	h := start(t)
	var e struct{ Code, Message string }
	resp := h.call(t, "POST", "/v1/instances", "", map[string]any{"nme": "x"}, &e)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(e.Message, "map[") || !strings.Contains(e.Message, "name") {
		t.Errorf("a misspelt field: %d %+v; want 422 naming name, without Go's map syntax", resp.StatusCode, e)
	}
	long := strings.Repeat("n", 5000)
	resp = h.call(t, "POST", "/v1/instances", "", map[string]any{"name": long}, &e)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(e.Message, long[:300]) || len(e.Message) > 600 {
		t.Errorf("a 5,000-character name: %d, a message of %d characters; want 422 without the name echoed", resp.StatusCode, len(e.Message))
	}
}
