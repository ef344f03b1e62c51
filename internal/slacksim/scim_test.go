package slacksim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

// scimEnv is a sandbox served over real HTTP with an admin token of the
// primary owner, for the SCIM tests.
type scimEnv struct {
	t     *testing.T
	srv   *slacksim.Server
	url   string
	token string
	user  string // the token's user: the primary owner
}

var scimAdminScopes = []string{"admin", "users:read", "users:read.email", "usergroups:read"}

func scimConfig() slacksim.Config {
	return slacksim.Config{Seed: 1, Users: 200, Edition: slacksim.EditionBusinessPlus, RateLimits: true, RateWindow: time.Second}
}

func scimSetup(t *testing.T, cfg slacksim.Config) *scimEnv {
	t.Helper()
	srv, err := slacksim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() })
	e := &scimEnv{t: t, srv: srv, url: ts.URL}
	tok, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: scimAdminScopes, Org: cfg.Edition == slacksim.EditionEnterpriseGrid})
	if err != nil {
		t.Fatal(err)
	}
	e.token, e.user = tok.AccessToken, tok.UserID
	return e
}

func (e *scimEnv) issue(req slacksim.TokenRequest) string {
	e.t.Helper()
	tok, err := e.srv.IssueToken(req)
	if err != nil {
		e.t.Fatalf("IssueToken(%+v): %v", req, err)
	}
	return tok.AccessToken
}

// call sends a SCIM request with the given Authorization header value ("" for
// none). body is sent as is when it is a string, as JSON otherwise.
func (e *scimEnv) call(method, path, auth string, body any) (int, http.Header, map[string]any) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = strings.NewReader(string(j))
	}
	u := path
	if !strings.HasPrefix(path, "/") {
		u = "/scim/v2/" + path
	}
	req, err := http.NewRequest(method, e.url+u, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON (%v): %.300s", method, u, err, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// do sends a SCIM request with the admin token and checks the status.
func (e *scimEnv) do(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	status, _, out := e.call(method, path, "Bearer "+e.token, body)
	if status != want {
		e.t.Fatalf("%s %s: got status %d, want %d: %.300s", method, path, status, want, scimJSON(out))
	}
	return out
}

// scimWantError checks a SCIM error answer: the status and Slack's body.
func scimWantError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("got status %d, want %d: %.300s", status, wantStatus, scimJSON(body))
	}
	errs, _ := body["Errors"].(map[string]any)
	if errs == nil {
		t.Fatalf("got body %v, want Slack's {\"Errors\":{...}}", body)
	}
	if got := errs["description"]; got != wantCode {
		t.Errorf("got Errors.description %v, want %q", got, wantCode)
	}
	if got := errs["code"]; got != float64(wantStatus) {
		t.Errorf("got Errors.code %v, want %d", got, wantStatus)
	}
	if got := body["status"]; got != float64(wantStatus) {
		t.Errorf("got status field %v, want %d", got, wantStatus)
	}
}

func scimJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// api calls a Web API method with a Bearer token.
func (e *scimEnv) api(token, method string, args url.Values) map[string]any {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/api/"+method, strings.NewReader(args.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	return out
}

func (e *scimEnv) apiOK(token, method string, args url.Values) map[string]any {
	e.t.Helper()
	out := e.api(token, method, args)
	if out["ok"] != true {
		e.t.Fatalf("%s %v: got %v, want ok", method, args, out)
	}
	return out
}

// webUsers lists every account through users.list.
func (e *scimEnv) webUsers() []map[string]any {
	e.t.Helper()
	out := e.apiOK(e.token, "users.list", url.Values{"limit": {"1000"}})
	var users []map[string]any
	for _, m := range out["members"].([]any) {
		users = append(users, m.(map[string]any))
	}
	return users
}

func (e *scimEnv) webUser(id string) map[string]any {
	e.t.Helper()
	return e.apiOK(e.token, "users.info", url.Values{"user": {id}})["user"].(map[string]any)
}

// people are the accounts SCIM shows: no bots, no Slackbot.
func scimPeople(users []map[string]any) []map[string]any {
	var out []map[string]any
	for _, u := range users {
		if u["is_bot"] == true || u["id"] == "USLACKBOT" {
			continue
		}
		out = append(out, u)
	}
	return out
}

// pick returns the first account keep accepts.
func scimPick(t *testing.T, users []map[string]any, what string, keep func(u map[string]any) bool) map[string]any {
	t.Helper()
	for _, u := range users {
		if keep(u) {
			return u
		}
	}
	t.Fatalf("the generated workspace has no %s", what)
	return nil
}

func scimProfile(u map[string]any) map[string]any { return u["profile"].(map[string]any) }

func scimActiveMember(u map[string]any) bool {
	return u["deleted"] == false && u["is_admin"] == false && u["is_restricted"] == false && u["is_bot"] == false &&
		u["id"] != "USLACKBOT" && u["is_invited_user"] != true
}

func scimResources(t *testing.T, list map[string]any) []map[string]any {
	t.Helper()
	if got := list["schemas"]; fmt.Sprint(got) != "[urn:ietf:params:scim:api:messages:2.0:ListResponse]" {
		t.Fatalf("got schemas %v, want the ListResponse schema", got)
	}
	var out []map[string]any
	for _, r := range list["Resources"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func scimIDs(rs []map[string]any) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r["id"].(string))
	}
	return ids
}

func scimFilterPath(resource, filter string) string {
	return resource + "?" + url.Values{"filter": {filter}, "count": {"1000"}}.Encode()
}

func scimPatchBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func scimOp(op, path string, value any) map[string]any {
	m := map[string]any{"op": op}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

func scimPrimaryEmail(r map[string]any) string {
	for _, e := range r["emails"].([]any) {
		if em := e.(map[string]any); em["primary"] == true {
			return em["value"].(string)
		}
	}
	return ""
}

var scimUserSchemas = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}

func TestSCIMAuthorization(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	people := scimPeople(e.webUsers())
	primary := scimPick(t, people, "primary owner", func(u map[string]any) bool { return u["is_primary_owner"] == true })["id"].(string)
	members := []string{}
	for _, u := range people {
		if scimActiveMember(u) {
			members = append(members, u["id"].(string))
		}
	}
	// Make the roles the cases need through the controls rather than hope
	// the generator made them.
	admin, owner, member, target := members[0], members[1], members[2], members[3]
	setRole := func(id, role string) {
		req, _ := http.NewRequest(http.MethodPatch, e.url+"/_sandbox/users/"+id, strings.NewReader(`{"role":"`+role+`"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("making %s %s: %v %v", id, role, err, resp)
		}
		resp.Body.Close()
	}
	setRole(admin, "admin")
	setRole(owner, "owner")
	tokenOf := func(user string, scopes ...string) string {
		return "Bearer " + e.issue(slacksim.TokenRequest{Kind: "user", UserID: user, Scopes: scopes})
	}
	adminTok, ownerTok := tokenOf(admin, "admin"), tokenOf(owner, "admin")
	// Only admins may grant the admin scope, so the member's token comes from
	// an admin who was demoted afterwards: the token lives on, the rank does not.
	setRole(member, "admin")
	memberTok := tokenOf(member, "admin")
	setRole(member, "member")
	bot := "Bearer " + e.issue(slacksim.TokenRequest{Kind: "bot", Scopes: []string{"users:read"}})
	noAdmin := tokenOf(members[4], "users:read") // a grant accumulates scopes, so not a user who has admin

	pro := scimConfig()
	pro.Edition = slacksim.EditionPro
	proEnv := scimSetup(t, pro)

	deactivate := scimPatchBody(scimOp("replace", "active", false))
	tests := []struct {
		name         string
		env          *scimEnv
		method, path string
		auth         string
		body         any
		status       int
		code         string
	}{
		{"no header", e, "GET", "Users", "", nil, 401, "missing_authentication"},
		{"unknown token", e, "GET", "Users", "Bearer xoxp-1-2-3-nope", nil, 401, "invalid_authentication"},
		{"not Bearer", e, "GET", "Users", "Basic " + e.token, nil, 401, "invalid_authentication"},
		{"Bearer without token", e, "GET", "Users", "Bearer ", nil, 401, "invalid_authentication"},
		{"bot token", e, "GET", "Users", bot, nil, 401, "invalid_authentication"},
		{"user token without admin", e, "GET", "Users", noAdmin, nil, 401, "invalid_authentication"},
		{"token of a member", e, "GET", "Users", memberTok, nil, 403, "permission_denied"},
		{"Pro plan", proEnv, "GET", "Users", "Bearer " + proEnv.token, nil, 403, "plus_teams_only"},
		{"Pro plan discovery", proEnv, "GET", "ServiceProviderConfig", "Bearer " + proEnv.token, nil, 403, "plus_teams_only"},
		{"admin changes an owner", e, "PATCH", "Users/" + owner, adminTok, scimPatchBody(scimOp("replace", "title", "x")), 403, "cannot_modify_owner"},
		{"admin deactivates an owner", e, "DELETE", "Users/" + owner, adminTok, nil, 403, "cannot_modify_owner"},
		{"admin replaces the primary owner", e, "PUT", "Users/" + primary, adminTok,
			map[string]any{"schemas": scimUserSchemas, "userName": "x"}, 403, "cannot_modify_owner"},
		{"owner deactivates the primary owner", e, "DELETE", "Users/" + primary, ownerTok, nil, 403, "cannot_modify_owner"},
		{"primary owner deletes themself", e, "DELETE", "Users/" + primary, "Bearer " + e.token, nil, 403, "cannot_disable_primary_owner"},
		{"primary owner deactivates themself", e, "PATCH", "Users/" + primary, "Bearer " + e.token, deactivate, 403, "cannot_disable_primary_owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := tt.env.call(tt.method, tt.path, tt.auth, tt.body)
			scimWantError(t, status, body, tt.status, tt.code)
		})
	}

	allowed := []struct {
		name, auth, path string
	}{
		{"admin changes a member", adminTok, "Users/" + target},
		{"owner changes an admin", ownerTok, "Users/" + admin},
		{"primary owner changes an owner", "Bearer " + e.token, "Users/" + owner},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := e.call(http.MethodPatch, tt.path, tt.auth, scimPatchBody(scimOp("replace", "title", tt.name)))
			if status != http.StatusOK || body["title"] != tt.name {
				t.Errorf("got %d %v, want 200 and the new title", status, body)
			}
		})
	}
}

// FuzzSCIMPatch sends arbitrary PATCH bodies and filters: every answer is a
// SCIM answer below 500, never a panic.
func FuzzSCIMPatch(f *testing.F) {
	f.Add(`{"schemas":["x"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b.example"}]}`, `userName eq "a"`)
	f.Add(`{"schemas":["x"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{}}]}`, `emails[value co "@"] or not (active eq true)`)
	f.Add(`{"schemas":["x"],"Operations":[{"op":"remove","path":"members[value eq U1]"}]}`, `((title pr)`)
	f.Add(`{"schemas":["x"],"Operations":[{"op":"replace","value":{"name.givenName":"İ","active":"True"}}]}`, `name.givenName sw 'x'`)
	f.Add(`{"schemas":["x"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:İ[a eq 1]"}]}`, "\xff eq \"\xff\"")
	cfg := scimConfig()
	cfg.Users, cfg.RateLimits = 20, false
	srv, err := slacksim.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	f.Cleanup(ts.Close)
	tok, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: scimAdminScopes})
	if err != nil {
		f.Fatal(err)
	}
	send := func(t *testing.T, method, path, body string) {
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			return // not a request an HTTP client can send
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: got %d %s, want a SCIM answer below 500", method, path, body, resp.StatusCode, raw)
		}
	}
	f.Fuzz(func(t *testing.T, body, filter string) {
		send(t, http.MethodPatch, "/scim/v2/Users/"+tok.UserID, body)
		send(t, http.MethodPatch, "/scim/v2/Groups/S0NOTHERE0", body)
		send(t, http.MethodPost, "/scim/v2/Groups", body)
		send(t, http.MethodGet, "/scim/v2/Users?"+url.Values{"filter": {filter}}.Encode(), "")
		send(t, http.MethodGet, "/scim/v2/Groups?"+url.Values{"filter": {filter}}.Encode(), "")
	})
}
