package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

var ctx = context.Background()

// idp is an identity provider's SCIM client: a base URL and a bearer, as
// PingFederate or Okta are configured, nothing else.
type idp struct {
	t      *testing.T
	base   string
	bearer string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c idp) do(method, path string, body any) answer {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func (c idp) must(want int, method, path string, body any) answer {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != want {
		c.t.Fatalf("%s %s: HTTP %d %.300s; want %d", method, path, a.status, a.raw, want)
	}
	return a
}

// slackUser is users.info through connhub's proxy: what Slack's Web API
// says of the user, apart from SCIM.
func slackUser(t *testing.T, base, token, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/slack/users.info?user="+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		OK    bool           `json:"ok"`
		Error string         `json:"error"`
		User  map[string]any `json:"user"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if !out.OK {
		t.Fatalf("users.info %s: %s", id, out.Error)
	}
	return out.User
}

func start(t *testing.T, cfg slacksim.Config) (*hubtest.Hub, string) {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Sandbox: cfg})
	ts := httptest.NewServer(h.Hub.Handler())
	t.Cleanup(ts.Close)
	return h, ts.URL
}

func instanceToken(t *testing.T, h *hubtest.Hub, id string) string {
	t.Helper()
	tok, err := h.Services.Token(ctx, h.Admin, id)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// An identity provider's view, end to end: with the instance token as the
// bearer, it creates, finds, updates, deactivates and reactivates a user
// and manages a group, each seen by Slack's Web API; the token keeps
// working after Slack's token expired; every call is in the audit log,
// and no Slack token in the log.
func TestAnIdentityProviderProvisionsThroughConnhub(t *testing.T) {
	t.Parallel()
	h, base := start(t, slacksim.Config{TokenRotation: true, TokenTTL: 12 * time.Hour})
	token := instanceToken(t, h, h.Instance.ID)
	c := idp{t: t, base: base + "/scim/v2", bearer: token}

	sp := c.must(http.StatusOK, http.MethodGet, "/ServiceProviderConfig", nil)
	if sp.header.Get("X-Connhub-Instance") != h.Instance.ID {
		t.Errorf("X-Connhub-Instance %q, want %s", sp.header.Get("X-Connhub-Instance"), h.Instance.ID)
	}

	created := c.must(http.StatusCreated, http.MethodPost, "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "grace.hopper", "displayName": "Grace Hopper", "title": "Rear Admiral",
		"name":   map[string]any{"givenName": "Grace", "familyName": "Hopper"},
		"emails": []map[string]any{{"value": "grace@acme.example", "primary": true}},
	})
	id, _ := created.body["id"].(string)
	if id == "" {
		t.Fatalf("the create answered no id: %s", created.raw)
	}
	if u := slackUser(t, base, token, id); u["name"] != "grace.hopper" || u["deleted"] != false {
		t.Errorf("Slack's Web API sees the new user as %v", u)
	}

	found := c.must(http.StatusOK, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "grace.hopper"`), nil)
	if found.body["totalResults"] != 1.0 {
		t.Fatalf("the filter found %v users: %s", found.body["totalResults"], found.raw)
	}
	if r := found.body["Resources"].([]any)[0].(map[string]any); r["id"] != id {
		t.Errorf("the filter found %v, want %s", r["id"], id)
	}

	c.must(http.StatusOK, http.MethodPatch, "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "replace", "path": "title", "value": "Commodore"}},
	})
	if p := slackUser(t, base, token, id)["profile"].(map[string]any); p["title"] != "Commodore" {
		t.Errorf("after the patch Slack says the title is %v", p["title"])
	}

	c.must(http.StatusNoContent, http.MethodDelete, "/Users/"+id, nil)
	if u := slackUser(t, base, token, id); u["deleted"] != true {
		t.Errorf("after DELETE Slack says deleted=%v; SCIM's DELETE deactivates", u["deleted"])
	}

	// Slack's token expires (the sandbox's clock moves 13 hours on): the
	// identity provider's bearer, connhub's instance token, still works.
	before, _ := h.Store.GetInstance(ctx, h.Instance.OrgID, h.Instance.ID)
	h.Sandbox.AdvanceClock(13 * time.Hour)
	reactivated := c.must(http.StatusOK, http.MethodPatch, "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "replace", "path": "active", "value": true}},
	})
	if reactivated.body["active"] != true {
		t.Errorf("the reactivation answered active=%v", reactivated.body["active"])
	}
	after, _ := h.Store.GetInstance(ctx, h.Instance.OrgID, h.Instance.ID)
	if after.TokenVersion <= before.TokenVersion {
		t.Errorf("the Slack token was not refreshed (version %d, then %d)", before.TokenVersion, after.TokenVersion)
	}
	if u := slackUser(t, base, token, id); u["deleted"] != false {
		t.Errorf("after reactivation Slack says deleted=%v", u["deleted"])
	}

	group := c.must(http.StatusCreated, http.MethodPost, "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Compilers", "members": []map[string]any{{"value": id}},
	})
	gid, _ := group.body["id"].(string)
	if gid == "" {
		t.Fatalf("the group's create answered no id: %s", group.raw)
	}
	var oid string
	for _, r := range c.must(http.StatusOK, http.MethodGet, "/Users?count=5&filter="+url.QueryEscape(`active eq true`), nil).body["Resources"].([]any) {
		if rid := r.(map[string]any)["id"].(string); rid != id {
			oid = rid
			break
		}
	}
	c.must(http.StatusOK, http.MethodPatch, "/Groups/"+gid, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{
			{"op": "add", "path": "members", "value": []map[string]any{{"value": oid}}},
			{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)},
		},
	})
	g := c.must(http.StatusOK, http.MethodGet, "/Groups/"+gid, nil)
	members := g.body["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["value"] != oid {
		t.Errorf("the group's members are %v, want only %s", members, oid)
	}

	// The audit log has each call, with what a write changed and never a
	// value of it.
	events, _, err := h.Store.ListAudit(ctx, h.Instance.OrgID, store.AuditFilter{}, store.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var writes, reads int
	var patch map[string]any
	for _, e := range events {
		switch e.Action {
		case "scim.write":
			writes++
			if e.Details["endpoint"] == "PATCH /Users/{id}" && patch == nil {
				patch = e.Details
			}
		case "scim.read":
			reads++
		}
	}
	if writes != 6 || reads < 4 {
		t.Errorf("the audit log has %d SCIM writes and %d reads, want 6 and at least 4", writes, reads)
	}
	if patch == nil || patch["slack_id"] != id || fmt.Sprint(patch["attributes"]) == "[]" {
		t.Errorf("a user's patch is audited as %v", patch)
	}
	audit, _ := json.Marshal(events)
	if strings.Contains(string(audit), "Commodore") {
		t.Error("the audit log holds a value a patch set; it should name the attribute only")
	}
	in, _ := h.Store.GetInstance(ctx, h.Instance.OrgID, h.Instance.ID)
	for _, secret := range []string{in.UserToken.Reveal(), before.UserToken.Reveal(), token} {
		if strings.Contains(h.Logs.String(), secret) || strings.Contains(string(audit), secret) {
			t.Error("a token is in the log or the audit log")
		}
	}
}

// An instance that cannot provision says why in SCIM's error format, and
// how to fix it; another instance's token cannot reach it.
func TestSCIMRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	h, base := start(t, slacksim.Config{})
	bot := h.Install(t, instance.CreateInput{Name: "Bot only", BotScopes: []string{"users:read"}})

	c := idp{t: t, base: base + "/scim/v2", bearer: instanceToken(t, h, bot.ID)}
	a := c.must(http.StatusForbidden, http.MethodGet, "/Users", nil)
	if a.body["code"] != "scim_scope_missing" || a.body["status"] != "403" || !strings.Contains(fmt.Sprint(a.body["schemas"]), "scim:api:messages:2.0:Error") ||
		!strings.Contains(fmt.Sprint(a.body["detail"]), "admin") {
		t.Errorf("an instance without the admin scope: %s", a.raw)
	}

	other := idp{t: t, base: base + "/v1/instances/" + h.Instance.ID + "/scim/v2", bearer: instanceToken(t, h, bot.ID)}
	if a := other.do(http.MethodGet, "/Users", nil); a.status != http.StatusNotFound {
		t.Errorf("another instance's token on /v1/instances/{id}/scim: HTTP %d %s, want 404", a.status, a.raw)
	}
	bad := idp{t: t, base: base + "/scim/v2", bearer: "not-a-token"}
	if a := bad.do(http.MethodGet, "/Users", nil); a.status != http.StatusUnauthorized || a.body["code"] == nil {
		t.Errorf("an unknown bearer: HTTP %d %s, want 401 with a code", a.status, a.raw)
	}
	for _, path := range []string{"/", "/Users/U1/extra", "/../Users"} {
		if a := (idp{t: t, base: base + "/scim/v2", bearer: instanceToken(t, h, h.Instance.ID)}).do(http.MethodGet, path, nil); a.status != http.StatusNotFound {
			t.Errorf("GET /scim/v2%s: HTTP %d, want 404", path, a.status)
		}
	}
	// A named credential of kind bearer, bound to the instance, is an
	// identity provider's bearer too, with an identity of its own.
	cred, err := h.Services.CreateCredential(ctx, h.Admin, "okta", h.Instance.ID, instance.CredentialBearer, "")
	if err != nil {
		t.Fatal(err)
	}
	named := idp{t: t, base: base + "/scim/v2", bearer: strings.TrimPrefix(cred.Value.Reveal(), "Bearer ")}
	named.must(http.StatusOK, http.MethodGet, "/ServiceProviderConfig", nil)

	// Slack's own answers come back as Slack gives them: a bad filter.
	good := idp{t: t, base: base + "/scim/v2", bearer: instanceToken(t, h, h.Instance.ID)}
	if a := good.do(http.MethodGet, "/Users?filter="+url.QueryEscape(`userName zz "x"`), nil); a.status != http.StatusBadRequest || a.body["Errors"] == nil {
		t.Errorf("a bad filter: HTTP %d %s, want Slack's 400", a.status, a.raw)
	}
}

// Calls through connhub are paced under Slack's org-wide SCIM limits: a
// burst of creates, more than a user-create burst and a window's budget,
// all succeed and Slack answers none of them 429.
func TestSCIMCallsArePacedUnderSlacksLimits(t *testing.T) {
	t.Parallel()
	h, base := start(t, slacksim.Config{RateLimits: true, RateWindow: time.Second})
	c := idp{t: t, base: base + "/scim/v2", bearer: instanceToken(t, h, h.Instance.ID)}
	const n = 240 // POST /Users: 180 a window, burst 20
	errs := make(chan string, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			a := c.do(http.MethodPost, "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": fmt.Sprintf("paced%d", i),
				"emails":   []map[string]any{{"value": fmt.Sprintf("paced%d@acme.example", i), "primary": true}},
			})
			if a.status != http.StatusCreated {
				errs <- fmt.Sprintf("create %d: HTTP %d %.200s", i, a.status, a.raw)
				return
			}
			errs <- ""
		}()
	}
	for range n {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
	st := h.Sandbox.Stats()
	if st.SCIM["POST /Users"] != n || st.SCIM["ratelimited"] != 0 {
		t.Errorf("Slack saw %d creates and answered %d with 429; want %d and none", st.SCIM["POST /Users"], st.SCIM["ratelimited"], n)
	}
}

// connhub's own SCIM calls (a provisioning run's) go through the same
// stack: a Caller pages through Slack's users at SCIM's largest page.
func TestCallerPagesThroughUsers(t *testing.T) {
	t.Parallel()
	h, _ := start(t, slacksim.Config{Users: 2500, RateLimits: true, RateWindow: time.Second})
	c, err := scim.NewCaller(h.Stack, h.SlackURL, slackcall.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for start := 1; ; {
		status, body, err := c.Do(ctx, h.Instance, http.MethodGet, "Users", url.Values{"startIndex": {fmt.Sprint(start)}, "count": {"1000"}}, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("page at %d: HTTP %d %v %.200s", start, status, err, body)
		}
		var page struct {
			TotalResults int
			Resources    []struct{ ID string }
		}
		json.Unmarshal(body, &page)
		for _, r := range page.Resources {
			seen[r.ID] = true
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			if len(seen) != page.TotalResults || len(seen) < 2000 { // bots are not SCIM users
				t.Errorf("read %d distinct users of %d", len(seen), page.TotalResults)
			}
			break
		}
	}
}
