package slacksim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

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
