package slacksim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

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
		{`displayName eq "` + scimProfile(m)["display_name"].(string) + `"`, count(func(u map[string]any) bool {
			return strings.EqualFold(scimProfile(u)["display_name"].(string), scimProfile(m)["display_name"].(string))
		})},
		{`active eq false`, count(func(u map[string]any) bool { return u["deleted"] == true })},
		{`active eq true and userName sw "` + prefix + `"`, count(func(u map[string]any) bool {
			return u["deleted"] == false && strings.HasPrefix(u["name"].(string), prefix)
		})},
		{`(active eq false or title pr) and userName pr`, count(func(u map[string]any) bool {
			return u["deleted"] == true || scimProfile(u)["title"] != ""
		})},
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
		// RFC 7644 operators Slack's reference does not list.
		{`userName ne "a"`, "invalid_query"},
		{`emails ew "@x.example"`, "invalid_query"},
		{`not (active eq true)`, "invalid_query"},
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
	if got := fmt.Sprint(created["emails"]); got != "[map[primary:true value:ada@analytical.example] map[primary:false value:countess@analytical.example]]" {
		t.Errorf("created: got emails %s, want the work email primary and the home one second, as value and primary only", got)
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
		{"externalId is kept from the create", []map[string]any{scimOp("replace", "externalId", "okta-2")}, func(t *testing.T, r, _ map[string]any) {
			body := e.do(http.MethodGet, scimFilterPath("Users", `externalId eq "okta-1"`), nil, http.StatusOK)
			if r["externalId"] != "okta-1" || body["totalResults"] != float64(1) {
				t.Errorf("got externalId %v and %v filter results, want okta-1 (Slack does not update it) and 1", r["externalId"], body["totalResults"])
			}
		}},
		{"remove address, as Slack's example does", []map[string]any{scimOp("remove", "address", nil)}, func(t *testing.T, r, _ map[string]any) {
			if r["id"] != id {
				t.Errorf("got %v, want the user", r)
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
		if r["userName"] != "augusta.king" || r["title"] != "" || r["externalId"] != "okta-1" || name["givenName"] != "" || r["active"] != true ||
			scimPrimaryEmail(r) != "augusta@analytical.example" {
			t.Errorf("got %v, want only userName, email and the externalId Slack does not update left", r)
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
		{"nickName too long", "POST", "Users", map[string]any{"schemas": scimUserSchemas, "nickName": "abcdefghijklmnopqrstuvwxyz",
			"emails": []map[string]any{{"value": "fresh12@new.example"}}}, 400, "long_nickname"},
		{"PATCH nickName too long", "PATCH", "Users/" + mid, scimPatchBody(scimOp("replace", "nickName", "abcdefghijklmnopqrstuvwxyz")), 400, "long_nickname"},
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
		{"DELETE a bot", "DELETE", "Users/" + bot["id"].(string), nil, 403, "cannot_disable_bot_user_with_scim"},
		{"DELETE Slackbot", "DELETE", "Users/USLACKBOT", nil, 403, "cannot_disable_bot_user_with_scim"},
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

// TestSCIMUsernamesFollowRenames: a username is taken while an account uses
// it and free once none does, whoever renamed the account (the controls or
// SCIM).
func TestSCIMUsernamesFollowRenames(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	people := scimPeople(e.webUsers())
	a := scimPick(t, people, "active member", scimActiveMember)
	b := scimPick(t, people, "second active member", func(u map[string]any) bool { return scimActiveMember(u) && u["id"] != a["id"] })
	aOld, bOld := a["name"].(string), b["name"].(string)
	create := func(userName string, n int) (int, map[string]any) {
		status, _, body := e.call(http.MethodPost, "Users", "Bearer "+e.token, map[string]any{"schemas": scimUserSchemas,
			"userName": userName, "emails": []map[string]any{{"value": "rename" + strconv.Itoa(n) + "@new.example"}}})
		return status, body
	}

	controlJSON(t, e.url, "PATCH", "/_sandbox/users/"+a["id"].(string), `{"name":"Renamed.By.Control"}`, http.StatusOK)
	e.do(http.MethodPatch, "Users/"+b["id"].(string), scimPatchBody(scimOp("replace", "userName", "renamed.by.scim")), http.StatusOK)
	for i, name := range []string{"renamed.by.control", "RENAMED.BY.SCIM"} {
		status, body := create(name, i)
		scimWantError(t, status, body, http.StatusConflict, "username_taken")
	}
	for i, name := range []string{aOld, bOld} {
		if status, body := create(name, 10+i); status != http.StatusCreated {
			t.Errorf("POST /Users %s after its account was renamed: got %d %v, want 201", name, status, body)
		}
	}
	// Renaming to one's own name, in another case, is not a conflict.
	e.do(http.MethodPatch, "Users/"+b["id"].(string), scimPatchBody(scimOp("replace", "userName", "Renamed.By.SCIM")), http.StatusOK)
}
