package slacksim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
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

func TestSCIMDiscovery(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	tests := []struct {
		path  string
		check func(t *testing.T, body map[string]any)
	}{
		{"ServiceProviderConfig", func(t *testing.T, b map[string]any) {
			if got := fmt.Sprint(b["schemas"]); got != "[urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig]" {
				t.Errorf("got schemas %s, want the ServiceProviderConfig schema", got)
			}
			if got := b["patch"].(map[string]any)["supported"]; got != true {
				t.Errorf("got patch.supported %v, want true", got)
			}
			if got := b["filter"].(map[string]any)["maxResults"]; got != float64(1000) {
				t.Errorf("got filter.maxResults %v, want 1000", got)
			}
			if got := b["bulk"].(map[string]any)["supported"]; got != false {
				t.Errorf("got bulk.supported %v, want false", got)
			}
		}},
		{"ResourceTypes", func(t *testing.T, b map[string]any) {
			rs := scimResources(t, b)
			if got := scimIDs(rs); !slices.Equal(got, []string{"User", "Group"}) {
				t.Errorf("got resource types %v, want [User Group]", got)
			}
		}},
		{"ResourceTypes/User", func(t *testing.T, b map[string]any) {
			if b["endpoint"] != "/Users" || b["schema"] != "urn:ietf:params:scim:schemas:core:2.0:User" {
				t.Errorf("got %v, want the User resource type", b)
			}
		}},
		{"Schemas", func(t *testing.T, b map[string]any) {
			ids := scimIDs(scimResources(t, b))
			for _, want := range []string{
				"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
				"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User",
			} {
				if !slices.Contains(ids, want) {
					t.Errorf("got schemas %v, want %s among them", ids, want)
				}
			}
		}},
		{"Schemas/Users", func(t *testing.T, b map[string]any) {
			if b["id"] != "urn:ietf:params:scim:schemas:core:2.0:User" {
				t.Errorf("got id %v, want the core User schema", b["id"])
			}
			var names []string
			for _, a := range b["attributes"].([]any) {
				names = append(names, a.(map[string]any)["name"].(string))
			}
			if !slices.Contains(names, "userName") || !slices.Contains(names, "emails") {
				t.Errorf("got attributes %v, want userName and emails", names)
			}
		}},
		{"Schemas/Groups", func(t *testing.T, b map[string]any) {
			if b["id"] != "urn:ietf:params:scim:schemas:core:2.0:Group" {
				t.Errorf("got id %v, want the core Group schema", b["id"])
			}
		}},
		{"Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", func(t *testing.T, b map[string]any) {
			if b["name"] != "EnterpriseUser" {
				t.Errorf("got name %v, want EnterpriseUser", b["name"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			status, hdr, body := e.call(http.MethodGet, tt.path, "Bearer "+e.token, nil)
			if status != http.StatusOK {
				t.Fatalf("got status %d, want 200: %v", status, body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("got Content-Type %q, want JSON", ct)
			}
			tt.check(t, body)
		})
	}
}

func TestSCIMListUsers(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	people := scimPeople(e.webUsers())
	var want []string
	for _, u := range people {
		want = append(want, u["id"].(string))
	}
	slices.Sort(want)

	t.Run("default page", func(t *testing.T) {
		body := e.do(http.MethodGet, "Users", nil, http.StatusOK)
		rs := scimResources(t, body)
		if len(rs) != 10 || body["itemsPerPage"] != float64(10) || body["startIndex"] != float64(1) {
			t.Errorf("got %d resources, itemsPerPage %v, startIndex %v; want 10, 10, 1", len(rs), body["itemsPerPage"], body["startIndex"])
		}
		if got := body["totalResults"]; got != float64(len(want)) {
			t.Errorf("got totalResults %v, want %d people", got, len(want))
		}
	})

	t.Run("every page", func(t *testing.T) {
		var got []string
		for start := 1; ; start += 37 {
			rs := scimResources(t, e.do(http.MethodGet, "Users?startIndex="+strconv.Itoa(start)+"&count=37", nil, http.StatusOK))
			if len(rs) == 0 {
				break
			}
			got = append(got, scimIDs(rs)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %d IDs paging with count=37, want the %d people of users.list in ID order", len(got), len(want))
		}
	})

	tests := []struct {
		query              string
		wantItems, wantIdx int
	}{
		{"startIndex=0&count=3", 3, 1},
		{"startIndex=-5&count=2", 2, 1},
		{"count=0", 0, 1},
		{"count=-1", 0, 1},
		{"count=abc", 10, 1},
		{"startIndex=" + strconv.Itoa(len(want)) + "&count=5", 1, len(want)},
		{"startIndex=100000", 0, 100000},
		{"count=5000", len(want), 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			body := e.do(http.MethodGet, "Users?"+tt.query, nil, http.StatusOK)
			if got := len(scimResources(t, body)); got != tt.wantItems || body["itemsPerPage"] != float64(tt.wantItems) {
				t.Errorf("got %d resources (itemsPerPage %v), want %d", got, body["itemsPerPage"], tt.wantItems)
			}
			if got := body["startIndex"]; got != float64(tt.wantIdx) {
				t.Errorf("got startIndex %v, want %d", got, tt.wantIdx)
			}
			if got := body["totalResults"]; got != float64(len(want)) {
				t.Errorf("got totalResults %v, want %d", got, len(want))
			}
		})
	}

	t.Run("resource shape", func(t *testing.T) {
		m := scimPick(t, people, "active member", scimActiveMember)
		r := e.do(http.MethodGet, "Users/"+m["id"].(string), nil, http.StatusOK)
		schemas := fmt.Sprint(r["schemas"])
		for _, s := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} {
			if !strings.Contains(schemas, s) {
				t.Errorf("got schemas %s, want %s", schemas, s)
			}
		}
		p := scimProfile(m)
		checks := map[string][2]any{
			"userName":    {r["userName"], m["name"]},
			"nickName":    {r["nickName"], m["name"]},
			"active":      {r["active"], true},
			"title":       {r["title"], p["title"]},
			"displayName": {r["displayName"], p["display_name"]},
			"givenName":   {r["name"].(map[string]any)["givenName"], p["first_name"]},
			"familyName":  {r["name"].(map[string]any)["familyName"], p["last_name"]},
			"email":       {scimPrimaryEmail(r), p["email"]},
			"timezone":    {r["timezone"], m["tz"]},
		}
		for name, c := range checks {
			if c[0] != c[1] {
				t.Errorf("got %s %v, want %v (as the Web API says)", name, c[0], c[1])
			}
		}
		meta := r["meta"].(map[string]any)
		if loc := meta["location"].(string); loc != e.url+"/scim/v2/Users/"+m["id"].(string) {
			t.Errorf("got meta.location %q, want the resource URL", loc)
		}
		if _, err := time.Parse(time.RFC3339, meta["created"].(string)); err != nil || meta["resourceType"] != "User" {
			t.Errorf("got meta %v, want created as RFC 3339 and resourceType User", meta)
		}
		if photos := r["photos"].([]any); len(photos) != 1 {
			t.Errorf("got photos %v, want one", photos)
		}
		if _, ok := r["groups"].([]any); !ok {
			t.Errorf("got groups %v, want a list", r["groups"])
		}
	})

	t.Run("guests carry the guest extension", func(t *testing.T) {
		for _, c := range []struct{ flag, want string }{{"is_ultra_restricted", "single"}, {"is_restricted", "multi"}} {
			g := scimPick(t, people, c.flag, func(u map[string]any) bool {
				return u[c.flag] == true && (c.want == "single" || u["is_ultra_restricted"] == false)
			})
			r := e.do(http.MethodGet, "Users/"+g["id"].(string), nil, http.StatusOK)
			ext, _ := r["urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User"].(map[string]any)
			if ext == nil || ext["type"] != c.want {
				t.Errorf("%s: got guest extension %v, want type %q", g["id"], ext, c.want)
			}
			if !strings.Contains(fmt.Sprint(r["schemas"]), "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User") {
				t.Errorf("%s: got schemas %v, want the guest extension named", g["id"], r["schemas"])
			}
		}
	})
}

func TestSCIMListCapsCountAt1000(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	cfg.Users = 1100
	e := scimSetup(t, cfg)
	body := e.do(http.MethodGet, "Users?count=5000", nil, http.StatusOK)
	if got := len(scimResources(t, body)); got != 1000 || body["itemsPerPage"] != float64(1000) {
		t.Errorf("got %d resources (itemsPerPage %v) for count=5000, want 1000", got, body["itemsPerPage"])
	}
	if total := body["totalResults"].(float64); total <= 1000 {
		t.Errorf("got totalResults %v, want over 1000", total)
	}
}

func TestSCIMFilterUsers(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	people := scimPeople(e.webUsers())
	m := scimPick(t, people, "active member with a display name", func(u map[string]any) bool {
		return scimActiveMember(u) && scimProfile(u)["display_name"] != ""
	})
	other := scimPick(t, people, "second active member", func(u map[string]any) bool {
		return scimActiveMember(u) && u["id"] != m["id"]
	})
	name, email := m["name"].(string), scimProfile(m)["email"].(string)
	domain := email[strings.IndexByte(email, '@'):]
	count := func(keep func(u map[string]any) bool) int {
		n := 0
		for _, u := range people {
			if keep(u) {
				n++
			}
		}
		return n
	}
	prefix := name[:2]
	tests := []struct {
		filter string
		want   int
	}{
		{`userName eq "` + name + `"`, 1},
		{`USERNAME EQ "` + strings.ToUpper(name) + `"`, 1},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "` + name + `"`, 1},
		{`emails eq "` + email + `"`, 1},
		{`emails.value eq "` + strings.ToUpper(email) + `"`, 1},
		{`emails[type eq "work" and value eq "` + email + `"]`, 1},
		{`id eq "` + m["id"].(string) + `"`, 1},
		{`userName eq "` + name + `" or userName eq "` + other["name"].(string) + `"`, 2},
		{`userName sw "` + prefix + `"`, count(func(u map[string]any) bool { return strings.HasPrefix(u["name"].(string), prefix) })},
		{`emails co "` + domain + `"`, count(func(u map[string]any) bool {
			em, _ := scimProfile(u)["email"].(string)
			return strings.HasSuffix(em, domain)
		})},
		{`emails ew "` + domain + `"`, count(func(u map[string]any) bool {
			em, _ := scimProfile(u)["email"].(string)
			return strings.HasSuffix(em, domain)
		})},
		{`displayName eq "` + scimProfile(m)["display_name"].(string) + `"`, count(func(u map[string]any) bool {
			return strings.EqualFold(scimProfile(u)["display_name"].(string), scimProfile(m)["display_name"].(string))
		})},
		{`active eq false`, count(func(u map[string]any) bool { return u["deleted"] == true })},
		{`active eq true and userName sw "` + prefix + `"`, count(func(u map[string]any) bool {
			return u["deleted"] == false && strings.HasPrefix(u["name"].(string), prefix)
		})},
		{`not (active eq true)`, count(func(u map[string]any) bool { return u["deleted"] == true })},
		{`title pr`, count(func(u map[string]any) bool { return scimProfile(u)["title"] != "" })},
		{`userName eq "nobody-at-all"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			body := e.do(http.MethodGet, scimFilterPath("Users", tt.filter), nil, http.StatusOK)
			if got := body["totalResults"]; got != float64(tt.want) {
				t.Errorf("got totalResults %v, want %d", got, tt.want)
			}
			if rs := scimResources(t, body); tt.want == 1 && len(rs) == 1 && rs[0]["id"] != m["id"] {
				t.Errorf("got %v, want %v", rs[0]["id"], m["id"])
			}
		})
	}

	bad := []struct{ filter, code string }{
		{``, "no_filters"},
		{`userName eq`, "incomplete_filter"},
		{`userName eq "unclosed`, "incomplete_filter"},
		{`bogus eq "x"`, "invalid_query"},
		{`userName xx "a"`, "invalid_query"},
		{`userName eq "a" extra`, "invalid_query"},
		{`(userName eq "a"`, "invalid_filter_group"},
		{`userName eq "a")`, "invalid_filter_group"},
		{`emails[bogus eq "a"]`, "invalid_query"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.filter, func(t *testing.T) {
			t.Parallel()
			status, _, body := e.call(http.MethodGet, scimFilterPath("Users", tt.filter), "Bearer "+e.token, nil)
			scimWantError(t, status, body, http.StatusBadRequest, tt.code)
		})
	}
}

func TestSCIMUserLifecycle(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	channels := e.issue(slacksim.TokenRequest{Kind: "user", Scopes: []string{"channels:read"}})
	var general string
	for _, ch := range e.apiOK(channels, "conversations.list", url.Values{"limit": {"1000"}})["channels"].([]any) {
		if c := ch.(map[string]any); c["is_general"] == true {
			general = c["id"].(string)
		}
	}
	inGeneral := func(id string) bool {
		t.Helper()
		members := e.apiOK(channels, "conversations.members", url.Values{"channel": {general}, "limit": {"1000"}})["members"].([]any)
		return slices.Contains(members, any(id))
	}

	status, hdr, created := e.call(http.MethodPost, "Users", "Bearer "+e.token, map[string]any{
		"schemas":     append(scimUserSchemas, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
		"userName":    "Ada.Lovelace@analytical.example",
		"name":        map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
		"displayName": "ada",
		"title":       "Analyst",
		"externalId":  "okta-1",
		"emails": []map[string]any{
			{"value": "countess@analytical.example", "type": "home"},
			{"value": "Ada@Analytical.example", "type": "work", "primary": true},
		},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Engines", "manager": map[string]any{"managerId": "U1"}},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /Users: got status %d, want 201: %v", status, created)
	}
	id := created["id"].(string)
	if !strings.HasPrefix(id, "U") {
		t.Errorf("got id %q, want a U… ID", id)
	}
	if loc := hdr.Get("Location"); loc != e.url+"/scim/v2/Users/"+id {
		t.Errorf("got Location %q, want the new user's URL", loc)
	}
	for k, want := range map[string]any{"userName": "ada.lovelace", "displayName": "ada", "title": "Analyst", "externalId": "okta-1", "active": true} {
		if created[k] != want {
			t.Errorf("created: got %s %v, want %v", k, created[k], want)
		}
	}
	if got := fmt.Sprint(created["emails"]); got != "[map[primary:true type:work value:ada@analytical.example] map[primary:false type:home value:countess@analytical.example]]" {
		t.Errorf("created: got emails %s, want the work email primary and the home one second", got)
	}
	if ent := created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any); ent["department"] != "Engines" ||
		ent["manager"].(map[string]any)["managerId"] != "U1" {
		t.Errorf("created: got enterprise extension %v, want department and manager kept", ent)
	}
	if got := e.do(http.MethodGet, "Users/"+id, nil, http.StatusOK); fmt.Sprint(got) != fmt.Sprint(created) {
		t.Errorf("GET after POST: got %v, want what POST answered %v", got, created)
	}
	web := e.webUser(id)
	if web["name"] != "ada.lovelace" || web["real_name"] != "Ada Lovelace" || web["deleted"] != false ||
		scimProfile(web)["email"] != "ada@analytical.example" || scimProfile(web)["title"] != "Analyst" {
		t.Errorf("users.info: got %v, want the SCIM user", web)
	}
	if !slices.ContainsFunc(e.webUsers(), func(u map[string]any) bool { return u["id"] == id }) {
		t.Errorf("users.list: %s is missing", id)
	}
	if !inGeneral(id) {
		t.Errorf("conversations.members: %s is not in #general, want a new user to join it", id)
	}

	patches := []struct {
		name  string
		ops   []map[string]any
		check func(t *testing.T, r, web map[string]any)
	}{
		{"replace name.givenName", []map[string]any{scimOp("replace", "name.givenName", "Augusta")}, func(t *testing.T, r, web map[string]any) {
			if r["name"].(map[string]any)["givenName"] != "Augusta" || web["real_name"] != "Augusta Lovelace" {
				t.Errorf("got name %v and real_name %v, want Augusta Lovelace", r["name"], web["real_name"])
			}
		}},
		{"replace displayName and title", []map[string]any{scimOp("replace", "displayName", "countess"), scimOp("replace", "title", "Countess")},
			func(t *testing.T, r, web map[string]any) {
				if r["displayName"] != "countess" || scimProfile(web)["display_name"] != "countess" || scimProfile(web)["title"] != "Countess" {
					t.Errorf("got displayName %v, profile %v; want countess and Countess", r["displayName"], scimProfile(web))
				}
			}},
		{"add a primary email", []map[string]any{scimOp("add", "emails", []map[string]any{{"value": "ada2@analytical.example", "primary": true}})},
			func(t *testing.T, r, web map[string]any) {
				if scimPrimaryEmail(r) != "ada2@analytical.example" || scimProfile(web)["email"] != "ada2@analytical.example" {
					t.Errorf("got emails %v, profile email %v; want ada2@ primary", r["emails"], scimProfile(web)["email"])
				}
			}},
		{"remove the secondary email by value", []map[string]any{scimOp("remove", `emails[value eq "countess@analytical.example"]`, nil)},
			func(t *testing.T, r, _ map[string]any) {
				if got := len(r["emails"].([]any)); got != 1 {
					t.Errorf("got emails %v, want the primary only", r["emails"])
				}
			}},
		{"replace the work email's value", []map[string]any{scimOp("Replace", `emails[type eq "work"].value`, "ada3@analytical.example")},
			func(t *testing.T, r, web map[string]any) {
				if scimPrimaryEmail(r) != "ada3@analytical.example" || scimProfile(web)["email"] != "ada3@analytical.example" {
					t.Errorf("got emails %v, want ada3@ primary", r["emails"])
				}
			}},
		{"replace externalId", []map[string]any{scimOp("replace", "externalId", "okta-2")}, func(t *testing.T, r, _ map[string]any) {
			body := e.do(http.MethodGet, scimFilterPath("Users", `externalId eq "okta-2"`), nil, http.StatusOK)
			if r["externalId"] != "okta-2" || body["totalResults"] != float64(1) {
				t.Errorf("got externalId %v and %v filter results, want okta-2 and 1", r["externalId"], body["totalResults"])
			}
		}},
		{"deactivate as Azure AD does", []map[string]any{scimOp("Replace", "active", "False")}, func(t *testing.T, r, web map[string]any) {
			if r["active"] != false || web["deleted"] != true || inGeneral(id) {
				t.Errorf("got active %v, deleted %v, in #general %v; want false, true, false", r["active"], web["deleted"], inGeneral(id))
			}
		}},
		{"reactivate and rename without path", []map[string]any{scimOp("replace", "", map[string]any{"active": true, "userName": "Augusta"})},
			func(t *testing.T, r, web map[string]any) {
				if r["active"] != true || r["userName"] != "augusta" || web["name"] != "augusta" || web["deleted"] != false || !inGeneral(id) {
					t.Errorf("got active %v userName %v, users.info name %v deleted %v; want reactivated augusta back in #general",
						r["active"], r["userName"], web["name"], web["deleted"])
				}
			}},
		{"remove name.familyName", []map[string]any{scimOp("remove", "name.familyName", nil)}, func(t *testing.T, r, web map[string]any) {
			if r["name"].(map[string]any)["familyName"] != "" || web["real_name"] != "Augusta" {
				t.Errorf("got name %v, real_name %v; want no family name", r["name"], web["real_name"])
			}
		}},
		{"enterprise sub-attribute", []map[string]any{scimOp("add", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "4130")},
			func(t *testing.T, r, _ map[string]any) {
				if ent := r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any); ent["costCenter"] != "4130" || ent["department"] != "Engines" {
					t.Errorf("got enterprise extension %v, want costCenter added and department kept", ent)
				}
			}},
	}
	for _, p := range patches {
		t.Run("PATCH "+p.name, func(t *testing.T) {
			r := e.do(http.MethodPatch, "Users/"+id, scimPatchBody(p.ops...), http.StatusOK)
			p.check(t, r, e.webUser(id))
		})
	}

	t.Run("PUT replaces", func(t *testing.T) {
		r := e.do(http.MethodPut, "Users/"+id, map[string]any{
			"schemas": scimUserSchemas, "userName": "augusta.king", "emails": []map[string]any{{"value": "augusta@analytical.example"}},
		}, http.StatusOK)
		name := r["name"].(map[string]any)
		if r["userName"] != "augusta.king" || r["title"] != "" || r["externalId"] != "" || name["givenName"] != "" || r["active"] != true ||
			scimPrimaryEmail(r) != "augusta@analytical.example" {
			t.Errorf("got %v, want only userName and email left", r)
		}
		if ent := r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any); ent["department"] != nil {
			t.Errorf("got enterprise extension %v, want it cleared", ent)
		}
		if web := e.webUser(id); web["name"] != "augusta.king" || scimProfile(web)["title"] != "" {
			t.Errorf("users.info: got %v, want the replaced user", web)
		}
	})

	t.Run("DELETE deactivates", func(t *testing.T) {
		status, _, body := e.call(http.MethodDelete, "Users/"+id, "Bearer "+e.token, nil)
		if status != http.StatusNoContent || body != nil {
			t.Fatalf("got %d %v, want 204 and no body", status, body)
		}
		if r := e.do(http.MethodGet, "Users/"+id, nil, http.StatusOK); r["active"] != false {
			t.Errorf("GET after DELETE: got active %v, want false (the account stays)", r["active"])
		}
		if web := e.webUser(id); web["deleted"] != true {
			t.Errorf("users.info after DELETE: got deleted %v, want true", web["deleted"])
		}
		if inGeneral(id) {
			t.Errorf("after DELETE %s is still in #general", id)
		}
		if status, _, _ := e.call(http.MethodDelete, "Users/"+id, "Bearer "+e.token, nil); status != http.StatusNoContent {
			t.Errorf("second DELETE: got %d, want 204", status)
		}
	})
}

func TestSCIMUserErrors(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	users := e.webUsers()
	people := scimPeople(users)
	m := scimPick(t, people, "active member", scimActiveMember)
	gone := scimPick(t, people, "deactivated member", func(u map[string]any) bool { return u["deleted"] == true })
	bot := scimPick(t, users, "bot", func(u map[string]any) bool { return u["is_bot"] == true })
	mid := m["id"].(string)
	newUser := func(userName, email string) map[string]any {
		return map[string]any{"schemas": scimUserSchemas, "userName": userName, "emails": []map[string]any{{"value": email}}}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"username taken", "POST", "Users", newUser(m["name"].(string), "fresh1@new.example"), 409, "username_taken"},
		{"username taken case-insensitively", "POST", "Users", newUser(strings.ToUpper(m["name"].(string)), "fresh2@new.example"), 409, "username_taken"},
		{"username taken by a deactivated account", "POST", "Users", newUser(gone["name"].(string), "fresh3@new.example"), 409, "username_taken"},
		{"username taken by a channel", "POST", "Users", newUser("general", "fresh4@new.example"), 409, "username_taken"},
		{"email taken", "POST", "Users", newUser("fresh5", scimProfile(m)["email"].(string)), 409, "email_taken"},
		{"no userName", "POST", "Users", map[string]any{"schemas": scimUserSchemas, "emails": []map[string]any{{"value": "x@new.example"}}}, 400, "username_required"},
		{"empty userName", "POST", "Users", newUser(" ", "fresh6@new.example"), 400, "username_empty"},
		{"userName too long", "POST", "Users", newUser("abcdefghijklmnopqrstuvwxyz", "fresh7@new.example"), 400, "username_too_long"},
		{"no email", "POST", "Users", map[string]any{"schemas": scimUserSchemas, "userName": "fresh8"}, 400, "email_empty"},
		{"bad email", "POST", "Users", newUser("fresh9", "not-an-email"), 400, "bad_email_address"},
		{"no schemas", "POST", "Users", map[string]any{"userName": "fresh10", "emails": []map[string]any{{"value": "f10@new.example"}}}, 400, "missing_schema_element"},
		{"malformed JSON", "POST", "Users", `{"schemas": [`, 400, "invalid_request_payload"},
		{"JSON array", "POST", "Users", `[]`, 400, "invalid_request_payload"},
		{"guest outside Grid", "POST", "Users", map[string]any{"schemas": scimUserSchemas, "userName": "fresh11",
			"emails": []map[string]any{{"value": "f11@new.example"}},
			"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User": map[string]any{"type": "multi"}}, 403, "permission_denied"},
		{"unknown PATCH op", "PATCH", "Users/" + mid, scimPatchBody(scimOp("move", "title", "x")), 400, "invalid_request_payload"},
		{"unknown PATCH path", "PATCH", "Users/" + mid, scimPatchBody(scimOp("replace", "favoriteColor", "blue")), 400, "invalid_request_payload"},
		{"PATCH without Operations", "PATCH", "Users/" + mid, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}}, 400, "invalid_request_payload"},
		{"PATCH malformed JSON", "PATCH", "Users/" + mid, `{"Operations": [{"op": }]}`, 400, "invalid_request_payload"},
		{"PATCH remove without path", "PATCH", "Users/" + mid, scimPatchBody(scimOp("remove", "", nil)), 400, "invalid_request_payload"},
		{"PATCH replace without value", "PATCH", "Users/" + mid, scimPatchBody(scimOp("replace", "title", nil)), 400, "invalid_request_payload"},
		{"PATCH active not a boolean", "PATCH", "Users/" + mid, scimPatchBody(scimOp("replace", "active", "maybe")), 400, "invalid_attribute_format"},
		{"PATCH remove the primary email", "PATCH", "Users/" + mid, scimPatchBody(scimOp("remove", "emails[primary eq true]", nil)), 400, "missing_primary_email"},
		{"PATCH bad path filter", "PATCH", "Users/" + mid, scimPatchBody(scimOp("remove", `emails[value eq "x"`, nil)), 400, "invalid_request_payload"},
		{"PATCH password", "PATCH", "Users/" + mid, scimPatchBody(scimOp("replace", "password", "hunter2")), 400, "password_change_not_allowed"},
		{"PUT without userName", "PUT", "Users/" + mid, map[string]any{"schemas": scimUserSchemas}, 400, "username_empty"},
		{"PUT email taken", "PUT", "Users/" + mid, newUser(m["name"].(string), scimProfile(gone)["email"].(string)), 409, "email_taken"},
		{"unknown user", "GET", "Users/U0NOBODY00", nil, 404, "no_such_user"},
		{"bot", "GET", "Users/" + bot["id"].(string), nil, 404, "no_such_user"},
		{"Slackbot", "GET", "Users/USLACKBOT", nil, 404, "no_such_user"},
		{"PATCH unknown user", "PATCH", "Users/U0NOBODY00", scimPatchBody(scimOp("replace", "title", "x")), 404, "no_such_user"},
		{"DELETE unknown user", "DELETE", "Users/U0NOBODY00", nil, 404, "no_such_user"},
		{"DELETE a bot", "DELETE", "Users/" + bot["id"].(string), nil, 404, "no_such_user"},
		{"unknown endpoint", "GET", "Bulk", nil, 404, "bad_endpoint"},
		{"too deep", "GET", "Users/" + mid + "/groups", nil, 404, "bad_endpoint"},
		{"SCIM v1", "GET", "/scim/v1/Users", nil, 404, "unsupported_version"},
		{"DELETE the collection", "DELETE", "Users", nil, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, body := e.call(tt.method, tt.path, "Bearer "+e.token, tt.body)
			scimWantError(t, status, body, tt.status, tt.code)
		})
	}

	t.Run("a failed PATCH changes nothing", func(t *testing.T) {
		t.Parallel()
		target := scimPick(t, people, "another active member", func(u map[string]any) bool { return scimActiveMember(u) && u["id"] != mid })
		before := e.do(http.MethodGet, "Users/"+target["id"].(string), nil, http.StatusOK)
		status, _, body := e.call(http.MethodPatch, "Users/"+target["id"].(string), "Bearer "+e.token, scimPatchBody(
			scimOp("replace", "title", "Changed"),
			scimOp("replace", "emails", []map[string]any{{"value": scimProfile(gone)["email"], "primary": true}}),
		))
		scimWantError(t, status, body, http.StatusConflict, "email_taken")
		if after := e.do(http.MethodGet, "Users/"+target["id"].(string), nil, http.StatusOK); after["title"] != before["title"] {
			t.Errorf("got title %v after a failed PATCH, want %v", after["title"], before["title"])
		}
	})
}

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

func TestSCIMGroups(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	people := scimPeople(e.webUsers())
	var m []string
	for _, u := range people {
		if scimActiveMember(u) {
			m = append(m, u["id"].(string))
		}
	}
	gone := scimPick(t, people, "deactivated member", func(u map[string]any) bool { return u["deleted"] == true })["id"].(string)
	single := scimPick(t, people, "single-channel guest", func(u map[string]any) bool {
		return u["is_ultra_restricted"] == true && u["deleted"] == false
	})["id"].(string)
	webMembers := func(id string) []string {
		t.Helper()
		out := e.api(e.token, "usergroups.users.list", url.Values{"usergroup": {id}})
		if out["ok"] != true {
			t.Fatalf("usergroups.users.list %s: %v", id, out)
		}
		var ids []string
		for _, u := range out["users"].([]any) {
			ids = append(ids, u.(string))
		}
		return ids
	}
	scimMembers := func(g map[string]any) []string {
		var ids []string
		for _, x := range g["members"].([]any) {
			ids = append(ids, x.(map[string]any)["value"].(string))
		}
		return ids
	}
	webGroupName := func(id string) string {
		for _, g := range e.apiOK(e.token, "usergroups.list", nil)["usergroups"].([]any) {
			if g := g.(map[string]any); g["id"] == id {
				return g["name"].(string)
			}
		}
		return ""
	}

	t.Run("list matches usergroups.list", func(t *testing.T) {
		web := e.apiOK(e.token, "usergroups.list", nil)["usergroups"].([]any)
		body := e.do(http.MethodGet, "Groups?count=1000", nil, http.StatusOK)
		rs := scimResources(t, body)
		if len(rs) != len(web) || body["totalResults"] != float64(len(web)) {
			t.Fatalf("got %d groups (totalResults %v), want the %d enabled groups of usergroups.list", len(rs), body["totalResults"], len(web))
		}
		g := rs[len(rs)-1]
		if got, want := scimMembers(g), webMembers(g["id"].(string)); !slices.Equal(got, want) {
			t.Errorf("group %s: got members %v, want %v", g["id"], got, want)
		}
		byName := e.do(http.MethodGet, scimFilterPath("Groups", `displayName eq "`+g["displayName"].(string)+`"`), nil, http.StatusOK)
		if got := scimIDs(scimResources(t, byName)); !slices.Equal(got, []string{g["id"].(string)}) {
			t.Errorf("filter displayName eq: got %v, want [%s]", got, g["id"])
		}
		paged := e.do(http.MethodGet, "Groups?startIndex=2&count=2", nil, http.StatusOK)
		if got := scimIDs(scimResources(t, paged)); !slices.Equal(got, scimIDs(rs[1:3])) {
			t.Errorf("page 2..3: got %v, want %v", got, scimIDs(rs[1:3]))
		}
	})

	status, hdr, g := e.call(http.MethodPost, "Groups", "Bearer "+e.token, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "SCIM Crew",
		"members": []map[string]any{{"value": m[1]}, {"value": m[0]}},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /Groups: got %d, want 201: %v", status, g)
	}
	gid := g["id"].(string)
	if !strings.HasPrefix(gid, "S") || hdr.Get("Location") != e.url+"/scim/v2/Groups/"+gid {
		t.Errorf("got id %q and Location %q, want an S… ID and its URL", gid, hdr.Get("Location"))
	}
	if got, want := webMembers(gid), []string{m[0], m[1]}; !slices.Equal(got, want) {
		t.Errorf("usergroups.users.list: got %v, want %v", got, want)
	}
	if name := webGroupName(gid); name != "SCIM Crew" {
		t.Errorf("usergroups.list: got name %q, want SCIM Crew", name)
	}
	user := e.do(http.MethodGet, "Users/"+m[0], nil, http.StatusOK)
	if got := fmt.Sprint(user["groups"]); !strings.Contains(got, "map[display:SCIM Crew value:"+gid+"]") {
		t.Errorf("GET /Users/%s: got groups %s, want the new group", m[0], got)
	}

	steps := []struct {
		name        string
		method      string
		body        any
		wantMembers []string
		wantName    string
	}{
		{"PATCH add a member", "PATCH", scimPatchBody(scimOp("add", "members", []map[string]any{{"value": m[2]}})), []string{m[0], m[1], m[2]}, "SCIM Crew"},
		{"PATCH remove one by filter", "PATCH", scimPatchBody(scimOp("remove", `members[value eq "`+m[1]+`"]`, nil)), []string{m[0], m[2]}, "SCIM Crew"},
		{"PATCH remove unquoted, as Slack's docs write it", "PATCH", scimPatchBody(scimOp("remove", `members[value eq `+m[2]+`]`, nil)), []string{m[0]}, "SCIM Crew"},
		{"PATCH replace displayName", "PATCH", scimPatchBody(scimOp("replace", "displayName", "SCIM Crew 2")), []string{m[0]}, "SCIM Crew 2"},
		{"PATCH without path, Azure style", "PATCH", scimPatchBody(scimOp("Add", "", map[string]any{"members": []map[string]any{{"value": m[3]}}})),
			[]string{m[0], m[3]}, "SCIM Crew 2"},
		{"PATCH remove listed members", "PATCH", scimPatchBody(scimOp("remove", "members", []map[string]any{{"value": m[0]}})), []string{m[3]}, "SCIM Crew 2"},
		{"PATCH replace members", "PATCH", scimPatchBody(scimOp("replace", "members", []map[string]any{{"value": m[4]}, {"value": m[5]}})),
			[]string{m[4], m[5]}, "SCIM Crew 2"},
		{"PUT replaces name and members", "PUT", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "SCIM Crew 3", "members": []map[string]any{{"value": m[6]}}}, []string{m[6]}, "SCIM Crew 3"},
		{"PATCH remove all members", "PATCH", scimPatchBody(scimOp("remove", "members", nil)), nil, "SCIM Crew 3"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := e.do(s.method, "Groups/"+gid, s.body, http.StatusOK)
			if got := scimMembers(r); !slices.Equal(got, s.wantMembers) {
				t.Errorf("got members %v, want %v", got, s.wantMembers)
			}
			if got := webMembers(gid); !slices.Equal(got, s.wantMembers) {
				t.Errorf("usergroups.users.list: got %v, want %v", got, s.wantMembers)
			}
			if r["displayName"] != s.wantName || webGroupName(gid) != s.wantName {
				t.Errorf("got displayName %v (usergroups.list %q), want %q", r["displayName"], webGroupName(gid), s.wantName)
			}
		})
	}

	t.Run("deactivating a user leaves the group", func(t *testing.T) {
		e.do(http.MethodPatch, "Groups/"+gid, scimPatchBody(scimOp("add", "members", []map[string]any{{"value": m[7]}})), http.StatusOK)
		e.do(http.MethodDelete, "Users/"+m[7], nil, http.StatusNoContent)
		if got := scimMembers(e.do(http.MethodGet, "Groups/"+gid, nil, http.StatusOK)); len(got) != 0 {
			t.Errorf("got members %v, want none after deactivating %s", got, m[7])
		}
	})

	taken := e.apiOK(e.token, "usergroups.list", nil)["usergroups"].([]any)[0].(map[string]any)["name"].(string)
	bad := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"no displayName", "POST", "Groups", map[string]any{"schemas": []string{"x"}, "members": []any{}}, 400, "invalid_request_payload"},
		{"name taken", "POST", "Groups", map[string]any{"schemas": []string{"x"}, "displayName": "scim crew 3"}, 409, "name_already_exists"},
		{"unknown member", "POST", "Groups", map[string]any{"schemas": []string{"x"}, "displayName": "G1", "members": []map[string]any{{"value": "U0NOBODY00"}}}, 400, "no_such_group_members"},
		{"deactivated member", "POST", "Groups", map[string]any{"schemas": []string{"x"}, "displayName": "G2", "members": []map[string]any{{"value": gone}}}, 400, "unable_to_add_deleted_or_guest_to_group"},
		{"single-channel guest", "PATCH", "Groups/" + gid, scimPatchBody(scimOp("add", "members", []map[string]any{{"value": single}})), 400, "unable_to_add_deleted_or_guest_to_group"},
		{"no schemas", "POST", "Groups", map[string]any{"displayName": "G3"}, 400, "missing_schema_element"},
		{"malformed JSON", "PUT", "Groups/" + gid, `{"displayName":`, 400, "invalid_request_payload"},
		{"unknown op", "PATCH", "Groups/" + gid, scimPatchBody(scimOp("merge", "members", []any{})), 400, "invalid_request_payload"},
		{"unknown path", "PATCH", "Groups/" + gid, scimPatchBody(scimOp("replace", "owner", "x")), 400, "invalid_request_payload"},
		{"rename to a taken name", "PATCH", "Groups/" + gid, scimPatchBody(scimOp("replace", "displayName", strings.ToUpper(taken))), 409, "name_already_exists"},
		{"unknown group", "GET", "Groups/S0NOTHERE0", nil, 404, "no_such_group"},
		{"PATCH unknown group", "PATCH", "Groups/S0NOTHERE0", scimPatchBody(scimOp("remove", "members", nil)), 404, "no_such_group"},
		{"bad filter", "GET", scimFilterPath("Groups", `members.nope eq "x"`), nil, 400, "invalid_query"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.call(tt.method, tt.path, "Bearer "+e.token, tt.body)
			scimWantError(t, status, body, tt.status, tt.code)
		})
	}

	t.Run("DELETE removes the group", func(t *testing.T) {
		status, _, body := e.call(http.MethodDelete, "Groups/"+gid, "Bearer "+e.token, nil)
		if status != http.StatusNoContent || body != nil {
			t.Fatalf("got %d %v, want 204 and no body", status, body)
		}
		status, _, body = e.call(http.MethodGet, "Groups/"+gid, "Bearer "+e.token, nil)
		scimWantError(t, status, body, http.StatusNotFound, "no_such_group")
		if out := e.api(e.token, "usergroups.users.list", url.Values{"usergroup": {gid}}); out["error"] != "no_such_subteam" {
			t.Errorf("usergroups.users.list after DELETE: got %v, want no_such_subteam", out)
		}
		if name := webGroupName(gid); name != "" {
			t.Errorf("usergroups.list after DELETE: got %q, want the group gone", name)
		}
	})
}

func TestSCIMRateLimit(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return start } // the window only passes when the test moves the clock
	e := scimSetup(t, cfg)
	id := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	admin := scimPick(t, scimPeople(e.webUsers()), "admin", func(u map[string]any) bool {
		return u["is_admin"] == true && u["deleted"] == false && u["id"] != e.user
	})["id"].(string)
	other := "Bearer " + e.issue(slacksim.TokenRequest{Kind: "user", UserID: admin, Scopes: []string{"admin"}})
	for i := range 300 {
		if status, _, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil); status != http.StatusOK {
			t.Fatalf("call %d: got %d %v, want 200 within the 300-call budget", i+1, status, body)
		}
	}
	status, hdr, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil)
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("got Retry-After %q, want whole seconds, at least 1", hdr.Get("Retry-After"))
	}
	status, _, body = e.call(http.MethodGet, "Users/"+id, other, nil)
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if status, _, _ := e.call(http.MethodGet, "Users?count=1", "Bearer "+e.token, nil); status != http.StatusOK {
		t.Errorf("list after the single-user budget ran out: got %d, want 200 (another class)", status)
	}

	e.srv.AdvanceClock(time.Second)
	if status, _, body := e.call(http.MethodGet, "Users/"+id, "Bearer "+e.token, nil); status != http.StatusOK {
		t.Errorf("after the window: got %d %v, want 200", status, body)
	}

	resp, err := http.Get(e.url + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats slacksim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"GET /Users/{id}": 303, "GET /Users": 1, "ratelimited": 2} {
		if got := stats.SCIM[key]; got != want {
			t.Errorf("stats.scim[%q]: got %d, want %d", key, got, want)
		}
	}
}

func TestSCIMWriteBudget(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return start }
	e := scimSetup(t, cfg)
	id := scimPick(t, scimPeople(e.webUsers()), "active member", scimActiveMember)["id"].(string)
	patch := scimPatchBody(scimOp("replace", "title", "Tester"))
	for i := range 180 {
		if status, _, body := e.call(http.MethodPatch, "Users/"+id, "Bearer "+e.token, patch); status != http.StatusOK {
			t.Fatalf("write %d: got %d %v, want 200 within the 180-write budget", i+1, status, body)
		}
	}
	status, _, body := e.call(http.MethodPost, "Users", "Bearer "+e.token, map[string]any{
		"schemas": scimUserSchemas, "userName": "late", "emails": []map[string]any{{"value": "late@new.example"}}})
	scimWantError(t, status, body, http.StatusTooManyRequests, "too_many_requests")
	if status, _, _ := e.call(http.MethodPatch, "Groups/S0NOTHERE0", "Bearer "+e.token, patch); status != http.StatusNotFound {
		t.Errorf("group write after the user budget ran out: got %d, want 404 (its own budget)", status)
	}
}

func TestSCIMEnterpriseGrid(t *testing.T) {
	t.Parallel()
	cfg := scimConfig()
	cfg.Edition, cfg.Workspaces = slacksim.EditionEnterpriseGrid, 2
	e := scimSetup(t, cfg)
	sum := e.srv.Summary()
	people := sum.Users["total"] - sum.Users["bots"] - sum.Users["slackbot"]

	body := e.do(http.MethodGet, "Users?count=1000", nil, http.StatusOK)
	if got := body["totalResults"]; got != float64(people) {
		t.Errorf("got totalResults %v, want the %d people of the whole org", got, people)
	}
	rs := scimResources(t, body)
	if ids := scimIDs(rs); !slices.IsSorted(ids) || !strings.HasPrefix(ids[0], "W") {
		t.Errorf("got IDs %v…, want W… IDs in order", ids[:3])
	}

	workspace := e.issue(slacksim.TokenRequest{Kind: "user", Scopes: scimAdminScopes, TeamID: sum.Teams[1].ID})
	status, _, errBody := e.call(http.MethodGet, "Users", "Bearer "+workspace, nil)
	scimWantError(t, status, errBody, http.StatusForbidden, "non_org_teams_only")

	guestExt := "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User"
	created := e.do(http.MethodPost, "Users", map[string]any{
		"schemas": append(scimUserSchemas, guestExt), "userName": "guestUser", "displayName": "TestGuestUser",
		"emails": []map[string]any{{"value": "guest@partner.example"}},
		guestExt: map[string]any{"type": "multi", "expiration": "2030-11-30T23:59:59Z"},
	}, http.StatusCreated)
	id := created["id"].(string)
	ext, _ := created[guestExt].(map[string]any)
	if !strings.HasPrefix(id, "W") || created["userName"] != "guestuser" || ext["type"] != "multi" || ext["expiration"] != "2030-11-30T23:59:59Z" {
		t.Errorf("got %v, want a W… multi-channel guest named guestuser expiring 2030-11-30", created)
	}
	if given := created["name"].(map[string]any)["givenName"]; given != "TestGuestUser" {
		t.Errorf("got givenName %v, want the display name, as Slack fills it", given)
	}
	info := e.apiOK(e.token, "users.info", url.Values{"user": {id}, "team_id": {sum.Teams[0].ID}})["user"].(map[string]any)
	if info["is_restricted"] != true || info["is_ultra_restricted"] != false {
		t.Errorf("users.info: got is_restricted %v is_ultra_restricted %v, want a multi-channel guest", info["is_restricted"], info["is_ultra_restricted"])
	}

	full := e.do(http.MethodPatch, "Users/"+id, scimPatchBody(scimOp("remove", guestExt, nil)), http.StatusOK)
	if _, still := full[guestExt]; still {
		t.Errorf("got %v, want the guest extension gone after converting to a full member", full[guestExt])
	}
	info = e.apiOK(e.token, "users.info", url.Values{"user": {id}, "team_id": {sum.Teams[0].ID}})["user"].(map[string]any)
	if info["is_restricted"] != false {
		t.Errorf("users.info: got is_restricted %v, want a full member", info["is_restricted"])
	}

	status, _, errBody = e.call(http.MethodPatch, "Users/"+e.user, "Bearer "+e.token, scimPatchBody(scimOp("add", guestExt, map[string]any{"type": "multi"})))
	scimWantError(t, status, errBody, http.StatusBadRequest, "cannot_make_user_guest")
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
