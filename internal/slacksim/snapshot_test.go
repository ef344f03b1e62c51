package slacksim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// TestSnapshotRoundTripsTheWorld: the world rebuilt from its snapshot is the
// world, field for field and pointer for pointer (reflect.DeepEqual follows
// the graph), after installs, controls and SCIM have changed it; and the ID
// stream goes on where it was. A pointer field added to the model and not to
// the snapshot fails here.
func TestSnapshotRoundTripsTheWorld(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Users: 120, Edition: EditionEnterpriseGrid, Workspaces: 2, TokenRotation: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	admin, err := s.IssueToken(TokenRequest{Kind: "user", Org: true, Scopes: []string{"admin", "users:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueToken(TokenRequest{Scopes: []string{"chat:write", "channels:read"}}); err != nil {
		t.Fatal(err)
	}
	w := s.world.Load()
	general := ""
	for _, c := range w.teams[0].channels {
		if c.General {
			general = c.ID
		}
	}
	post := func(path, auth, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	ts1 := post("/_sandbox/messages", "", `{"channel":"`+general+`","text":"hello"}`)["ts"].(string)
	post("/_sandbox/messages", "", `{"channel":"`+general+`","text":"a reply","thread_ts":"`+ts1+`"}`)
	post("/_sandbox/channels", "", `{"name":"launch","private":true}`)
	post("/scim/v2/Users", admin.AccessToken, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName":"grace","externalId":"ext-7","name":{"givenName":"Grace","familyName":"Hopper"},"emails":[{"value":"grace@example.org","primary":true}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Navy","employeeNumber":"1906"}}`)

	w.mu.RLock()
	sw, err := snapshotWorld(w)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(sw)
	w.mu.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	var back snapWorld
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got, err := restoreWorld(&back)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.scim.users) == 0 {
		t.Fatal("the SCIM create left no SCIM extras: the test does not cover them")
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"edition", got.edition, w.edition}, {"enterprise", got.enterprise, w.enterprise}, {"teams", got.teams, w.teams},
		{"users", got.users, w.users}, {"channels", got.channels, w.channels}, {"files", got.files, w.files},
		{"calls", got.calls, w.calls}, {"groups", got.groups, w.groups}, {"seq", got.seq, w.seq},
		{"emailIndex", got.emailIndex, w.emailIndex}, {"handles", got.handles, w.handles}, {"owner", got.owner, w.owner}, {"scim", got.scim, w.scim}, {"anchor", got.anchor, w.anchor},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("the world's %s differs after a round trip through its snapshot", f.name)
		}
	}
	for range 3 {
		if a, b := got.newID("U"), w.newID("U"); a != b {
			t.Errorf("after a round trip the ID stream gives %s, want %s", a, b)
		}
	}
}
