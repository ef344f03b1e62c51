package journeytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/pkg/connhub"
)

// user is a person at a terminal and a browser, with a hub that `connhub
// serve --sandbox` runs.
type user struct {
	t       *testing.T
	hub     *servetest.Hub
	dataDir string
	env     map[string]string // the CLI's environment: CONNHUB_SERVER and CONNHUB_TOKEN, as the README says
}

// serve starts `connhub serve --sandbox` on a data directory of its own,
// with args added, and reads the admin's API token as the first start printed it.
func serve(t *testing.T, args ...string) *user {
	t.Helper()
	u := &user{t: t, dataDir: t.TempDir()}
	u.start(args...)
	return u
}

func (u *user) start(args ...string) {
	u.t.Helper()
	u.hub = servetest.Start(u.t, append([]string{"--sandbox", "--data-dir", u.dataDir}, args...), map[string]string{"HOME": u.dataDir})
	token := u.hub.APIToken
	if token == "" {
		token = u.credential("api_token")
	}
	u.env = map[string]string{"CONNHUB_SERVER": u.hub.URL, "CONNHUB_TOKEN": token, "HOME": u.dataDir}
}

// credential reads a line of the admin-credentials file the first start wrote.
func (u *user) credential(key string) string {
	u.t.Helper()
	b, err := os.ReadFile(filepath.Join(u.dataDir, "admin-credentials"))
	if err != nil {
		u.t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == key {
			return v
		}
	}
	u.t.Fatalf("the admin-credentials file has no %s", key)
	return ""
}

// run runs a connhub command and returns its exit status and output.
func (u *user) run(args ...string) (code int, stdout, stderr string) {
	u.t.Helper()
	var out, errOut bytes.Buffer
	code = cli.ExecuteEnv(context.Background(), args, &out, &errOut, func(k string) string { return u.env[k] })
	return code, out.String(), errOut.String()
}

// ok runs a command that must succeed and returns what it printed.
func (u *user) ok(args ...string) string {
	u.t.Helper()
	code, out, errOut := u.run(args...)
	if code != 0 {
		u.t.Fatalf("connhub %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// refused runs a command that must fail with one readable line that says
// each of says.
func (u *user) refused(args []string, says ...string) {
	u.t.Helper()
	code, out, errOut := u.run(args...)
	if code == 0 {
		u.t.Errorf("connhub %s: exit 0, want a failure; printed %s", strings.Join(args, " "), out)
		return
	}
	if n := strings.Count(strings.TrimSpace(errOut), "\n"); n > 0 {
		u.t.Errorf("connhub %s printed %d lines, want one:\n%s", strings.Join(args, " "), n+1, errOut)
	}
	for _, s := range says {
		if !strings.Contains(errOut, s) {
			u.t.Errorf("connhub %s said %q, want it to say %q", strings.Join(args, " "), errOut, s)
		}
	}
}

// json runs a command with -o json and decodes what it printed.
func runJSON[T any](u *user, args ...string) T {
	u.t.Helper()
	var v T
	out := u.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		u.t.Fatalf("connhub %s -o json printed %q: %v", strings.Join(args, " "), out, err)
	}
	return v
}

// browser follows redirects as a browser does.
var browser = &http.Client{Timeout: 30 * time.Second}

// allow does at Slack what a person does: open the authorize URL, press
// Allow (with form's choices: an Enterprise Grid org, its workspaces), and
// follow Slack's redirect back to connhub. It returns connhub's page.
func (u *user) allow(authorizeURL string, form url.Values) string {
	u.t.Helper()
	resp, err := browser.Get(sandboxtest.Consent(u.t, authorizeURL, "allow", form).String())
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		u.t.Fatalf("connhub's callback answered HTTP %d:\n%s", resp.StatusCode, body)
	}
	return string(body)
}

// call calls the hub's REST API or proxy with an Authorization header and
// decodes a JSON answer into out (when not nil).
func (u *user) call(method, path, authorization string, body io.Reader, out any) int {
	u.t.Helper()
	req, err := http.NewRequest(method, u.hub.URL+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := browser.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			u.t.Fatalf("%s %s answered %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// slack calls the sandbox as Slack's own pages and an org admin do.
func (u *user) slack(method, path string, body any, out any) int {
	u.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u.hub.SlackURL+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := browser.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// create makes an instance with the CLI and returns it with its authorize URL.
func (u *user) create(args ...string) connhub.CreatedInstance {
	u.t.Helper()
	c := runJSON[connhub.CreatedInstance](u, append([]string{"instances", "create", "--no-browser"}, args...)...)
	if c.ID == "" || !strings.HasPrefix(c.InstanceToken, "chi_") {
		u.t.Fatalf("instances create printed %+v: no ID or instance token", c)
	}
	return c
}

func (u *user) instance(id string) connhub.Instance {
	u.t.Helper()
	return runJSON[connhub.Instance](u, "instances", "get", id)
}

// syncRun runs a sync to its end and returns it.
func (u *user) syncRun(id string, streams ...string) connhub.SyncRun {
	u.t.Helper()
	args := []string{"sync", "run", id, "--summary-every", "0"}
	if len(streams) > 0 {
		args = append(args, "--streams", strings.Join(streams, ","))
	}
	code, out, errOut := u.run(args...)
	runs := runJSON[[]connhub.SyncRun](u, "sync", "list", id)
	if len(runs) == 0 {
		u.t.Fatalf("sync run %s: exit %d, and sync list shows no run:\n%s%s", id, code, out, errOut)
	}
	if code != 0 || runs[0].Status != "succeeded" {
		u.t.Fatalf("sync run %s: exit %d, %s %s\n%s%s", id, code, runs[0].Status, runs[0].Error, out, errOut)
	}
	return runs[0]
}

func (u *user) records(id, stream string, args ...string) []connhub.Record {
	u.t.Helper()
	return runJSON[[]connhub.Record](u, append([]string{"records", id, stream, "--limit", "0"}, args...)...)
}

// TestSeedJourneys runs each seed document's journey on a hub of its own.
func TestSeedJourneys(t *testing.T) {
	t.Parallel()
	t.Run("000 Open Connectors and Cloud Integration", func(t *testing.T) { t.Parallel(); openConnectorsAndCPI(t) })
	t.Run("001 PingFederate provisioner", func(t *testing.T) { t.Parallel(); pingFederate(t) })
	t.Run("001 Enterprise Grid through connhub", func(t *testing.T) { t.Parallel(); gridThroughConnhub(t) })
	t.Run("002 Open Connectors instances", func(t *testing.T) { t.Parallel(); openConnectorsInstances(t) })
	t.Run("003 Certero", func(t *testing.T) { t.Parallel(); certero(t) })
	t.Run("004 Snow Atlas", func(t *testing.T) { t.Parallel(); snowAtlas(t) })
}

// openConnectorsAndCPI: find the Slack connector in a catalog, Authenticate,
// name the instance, Slack consent (Allow), success; "Test in the API docs":
// ping answers 200; copy the User / Organization / Element secrets and
// deploy them as named credentials that integration flows use.
func openConnectorsAndCPI(t *testing.T) {
	u := serve(t)
	admin := "Bearer " + u.env["CONNHUB_TOKEN"]
	var catalog struct{ Connectors []connhub.Connector }
	if st := u.call("GET", "/v1/connectors?q=slack", admin, nil, &catalog); st != http.StatusOK || len(catalog.Connectors) != 1 || catalog.Connectors[0].Key != "slack" {
		t.Fatalf("the catalog searched for slack: %d %+v", st, catalog)
	}
	c := u.create("--name", "CPI Slack")
	if page := u.allow(c.AuthorizeURL, nil); !strings.Contains(page, "is connected") || !strings.Contains(page, "/docs") {
		t.Errorf("the page after Allow does not say the instance is connected and link to the API docs:\n%s", page)
	}
	if in := u.instance(c.ID); in.Status != connhub.StatusActive {
		t.Fatalf("after Allow the instance is %s: %s", in.Status, in.StatusReason)
	}
	// The API docs' Try it out sends the Open Connectors header: the
	// admin's User and Organization secrets and the instance's Element token.
	oc := "User " + u.credential("open_connectors_user_secret") + ", Organization " + u.credential("open_connectors_organization_secret") +
		", Element " + c.InstanceToken
	var ping connhub.PingResult
	if st := u.call("GET", "/v1/instances/"+c.ID+"/ping", oc, nil, &ping); st != http.StatusOK || !ping.OK {
		t.Errorf("ping as the API docs send it: %d %+v", st, ping)
	}
	if st := u.call("GET", "/docs", "", nil, nil); st != http.StatusOK {
		t.Errorf("GET /docs: %d", st)
	}
	// Deploy security material for an integration flow: a named credential
	// whose value is the whole Authorization header, and which calls Slack.
	cred := runJSON[connhub.Credential](u, "credentials", "create", "--name", "cpi-slack", "--instance", c.ID)
	if cred.Value == "" {
		t.Fatalf("credentials create printed no value: %+v", cred)
	}
	var users struct {
		OK      bool             `json:"ok"`
		Members []map[string]any `json:"members"`
	}
	if st := u.call("GET", "/v1/slack/users.list?limit=5", cred.Value, nil, &users); st != http.StatusOK || !users.OK || len(users.Members) == 0 {
		t.Errorf("users.list through the proxy with the named credential: %d %+v", st, users)
	}
	// What the credential was made for and nothing more: it cannot reveal
	// the instance's token.
	if st := u.call("GET", "/v1/instances/"+c.ID+"/token", cred.Value, nil, nil); st != http.StatusForbidden {
		t.Errorf("the named credential read the instance token: %d, want 403", st)
	}
}

// pingFederate: exchange a Slack app's client ID and secret for an access
// token; a Standard workspace and an Enterprise Grid org-wide install; the
// token feeds a provisioning connection (SCIM).
func pingFederate(t *testing.T) {
	for _, tc := range []struct {
		edition string
		grid    bool
	}{{"business_plus", false}, {"enterprise_grid", true}} {
		t.Run(tc.edition, func(t *testing.T) {
			// Slack, as a standalone sandbox: it prints its app's credentials.
			sb := background(t, nil, "sandbox", "--addr", "127.0.0.1:0", "--edition", tc.edition, "--users", "40")
			var info struct {
				APIURL, ClientID, ClientSecret, SCIMURL, EnterpriseID string
			}
			line := waitLine(t, sb.stdout)
			if err := json.Unmarshal([]byte(line), &struct {
				APIURL       *string `json:"api_url"`
				ClientID     *string `json:"client_id"`
				ClientSecret *string `json:"client_secret"`
				SCIMURL      *string `json:"scim_url"`
				EnterpriseID *string `json:"enterprise_id"`
			}{&info.APIURL, &info.ClientID, &info.ClientSecret, &info.SCIMURL, &info.EnterpriseID}); err != nil {
				t.Fatalf("connhub sandbox printed %q: %v", line, err)
			}
			slackURL := strings.TrimSuffix(info.APIURL, "/api/")
			args := []string{"token", "exchange", "--client-id", info.ClientID, "--slack-url", slackURL, "--no-browser", "-o", "json"}
			var form url.Values
			if tc.grid {
				args, form = append(args, "--grid"), url.Values{"install_into": {info.EnterpriseID}}
			}
			ex := background(t, map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": info.ClientSecret}, args...)
			authorize := waitMatch(t, ex.stderr, "http://", "/oauth/v2/authorize?")
			resp, err := browser.Get(sandboxtest.Consent(t, authorize, "allow", form).String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if code := ex.wait(t); code != 0 {
				t.Fatalf("token exchange: exit %d: %s", code, ex.stderr)
			}
			var got struct {
				OrgWide bool `json:"is_enterprise_install"`
				User    *struct {
					AccessToken  string `json:"access_token"`
					RefreshToken string `json:"refresh_token"`
				} `json:"user"`
			}
			if err := json.Unmarshal([]byte(ex.stdout.String()), &got); err != nil || got.User == nil || got.OrgWide != tc.grid {
				t.Fatalf("token exchange printed %q (%v); want a user token, org-wide %v", ex.stdout, err, tc.grid)
			}
			// The provisioning connection: SCIM with the token.
			req, _ := http.NewRequest("GET", info.SCIMURL+"Users?count=5", nil)
			req.Header.Set("Authorization", "Bearer "+got.User.AccessToken)
			resp, err = browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var list struct {
				TotalResults int              `json:"totalResults"`
				Resources    []map[string]any `json:"Resources"`
			}
			json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || list.TotalResults == 0 || len(list.Resources) == 0 {
				t.Errorf("SCIM GET /Users with the exchanged token: %d, %d users", resp.StatusCode, list.TotalResults)
			}
		})
	}
}

// gridThroughConnhub is the README's Enterprise Grid tour, PingFederate's
// org-wide install kept by connhub: an org install that Slack grants no
// workspace yet, a workspace granted by the org admin, then synced; a
// workspace removed, its records marked; and a restart of serve, after which
// the instance still pings.
func gridThroughConnhub(t *testing.T) {
	u := serve(t, "--sandbox-edition", "enterprise_grid")
	var org struct {
		EnterpriseID string `json:"enterprise_id"`
		Teams        []struct {
			ID string `json:"id"`
		} `json:"teams"`
	}
	if st := u.slack("GET", "/_sandbox/workspace", nil, &org); st != http.StatusOK || org.EnterpriseID == "" || len(org.Teams) < 2 {
		t.Fatalf("the sandbox's workspace: %d %+v; want an Enterprise Grid org", st, org)
	}
	c := u.create("--name", "Acme Grid", "--edition", "enterprise_grid", "--team", org.EnterpriseID)
	u.allow(c.AuthorizeURL, url.Values{"install_into": {org.EnterpriseID}}) // the whole org, no workspace ticked
	if in := u.instance(c.ID); in.Status != connhub.StatusNeedsWorkspaces || !strings.Contains(in.StatusReason, "org admin") {
		t.Fatalf("an org install with no workspace: %s (%s), want needs_workspaces saying how to grant one", in.Status, in.StatusReason)
	}
	u.refused([]string{"sync", "run", c.ID, "--summary-every", "0"}, "needs_workspaces")
	for _, team := range org.Teams[:2] {
		if st := u.slack("POST", "/_sandbox/org-install/teams", map[string]string{"team_id": team.ID}, nil); st != http.StatusOK {
			t.Fatalf("the org admin grants %s: %d", team.ID, st)
		}
	}
	if ping := runJSON[connhub.PingResult](u, "instances", "ping", c.ID); !ping.OK {
		t.Fatalf("ping after a workspace was granted: %+v", ping)
	}
	if in := u.instance(c.ID); in.Status != connhub.StatusActive || len(in.Teams) != 2 {
		t.Fatalf("after the grant and a ping: %s with workspaces %v", in.Status, in.Teams)
	}
	u.syncRun(c.ID, "team", "users", "channels")
	teamsOf := func() map[string]bool {
		seen := map[string]bool{}
		for _, r := range u.records(c.ID, "channels") {
			seen[r.TeamID] = true
		}
		return seen
	}
	if seen := teamsOf(); !seen[org.Teams[0].ID] || !seen[org.Teams[1].ID] {
		t.Errorf("channels of workspaces %v, want both granted", seen)
	}
	// The org admin removes the app from a workspace: the next ping reads the
	// grant, and that workspace's records are marked deleted.
	if st := u.slack("DELETE", "/_sandbox/org-install/teams/"+org.Teams[0].ID, nil, nil); st != http.StatusOK {
		t.Fatalf("the org admin removes %s: %d", org.Teams[0].ID, st)
	}
	u.ok("instances", "ping", c.ID)
	if seen := teamsOf(); seen[org.Teams[0].ID] || !seen[org.Teams[1].ID] {
		t.Errorf("after %s was removed, live channels of workspaces %v", org.Teams[0].ID, seen)
	}
	// Stop serve and start it again on the same data directory: the sandbox
	// and the hub keep their word.
	if code := u.hub.Stop(t); code != 0 {
		t.Fatalf("serve stopped with exit %d", code)
	}
	u.start()
	if ping := runJSON[connhub.PingResult](u, "instances", "ping", c.ID); !ping.OK {
		t.Errorf("ping after a restart of serve --sandbox: %+v", ping)
	}
}

// openConnectorsInstances: the instance ID and token; the token in a header
// on every call; view the token; test an endpoint as the API docs do; update
// without re-authenticating; re-authenticate; delete for good.
func openConnectorsInstances(t *testing.T) {
	u := serve(t)
	c := u.create("--name", "Acme Slack", "--tag", "prod")
	u.allow(c.AuthorizeURL, nil)
	element := "Bearer " + c.InstanceToken
	var page struct {
		OK      bool             `json:"ok"`
		Members []map[string]any `json:"members"`
	}
	if st := u.call("GET", "/v1/slack/users.list?limit=3", element, nil, &page); st != http.StatusOK || !page.OK || len(page.Members) != 3 {
		t.Errorf("users.list with the instance token: %d %+v", st, page)
	}
	var self connhub.Instance
	if st := u.call("GET", "/v1/instances/"+c.ID, element, nil, &self); st != http.StatusOK || self.ID != c.ID {
		t.Errorf("the instance read with its own token: %d %+v", st, self)
	}
	shown := runJSON[struct {
		Token string `json:"instance_token"`
	}](u, "instances", "token", c.ID)
	if shown.Token != c.InstanceToken {
		t.Errorf("instances token shows %q, want the token made at create", shown.Token)
	}
	// Update without re-authenticating: same tokens, still working.
	u.ok("instances", "update", c.ID, "--name", "Acme Slack (prod)")
	if in := u.instance(c.ID); in.Name != "Acme Slack (prod)" || in.Status != connhub.StatusActive {
		t.Errorf("after update: %s %s", in.Name, in.Status)
	}
	if ping := runJSON[connhub.PingResult](u, "instances", "ping", c.ID); !ping.OK {
		t.Errorf("ping after update: %+v", ping)
	}
	// Re-authenticate: a new consent; the same ID and instance token.
	re := runJSON[connhub.Reauthentication](u, "instances", "reauth", c.ID, "--no-browser")
	u.allow(re.AuthorizeURL, nil)
	if st := u.call("GET", "/v1/slack/auth.test", element, nil, nil); st != http.StatusOK {
		t.Errorf("auth.test with the instance token after re-authentication: %d", st)
	}
	// Delete for good: the instance and its token.
	u.ok("instances", "delete", c.ID, "--yes")
	u.refused([]string{"instances", "get", c.ID}, "not_found")
	if st := u.call("GET", "/v1/slack/auth.test", element, nil, nil); st != http.StatusUnauthorized {
		t.Errorf("the deleted instance's token: %d, want 401", st)
	}
}

// certeroScopes are the user-token scopes Certero's guide lists.
var certeroScopes = "admin,users:read,calls:read,channels:read,im:history,channels:history,files:read,groups:read,usergroups:read," +
	"users.profile:read,team:read,mpim:read,im:read"

// certero: an app with user-token scopes only, installed by Authorize, or
// its token pasted; the connector retrieves usage data with it.
func certero(t *testing.T) {
	u := serve(t)
	c := u.create("--name", "Certero", "--user-scopes", certeroScopes, "--bot-scopes", "")
	q, _ := url.Parse(c.AuthorizeURL)
	if q.Query().Get("scope") != "" || q.Query().Get("user_scope") != certeroScopes {
		t.Errorf("the authorize URL asks for bot scopes %q and user scopes %q, want none and Certero's", q.Query().Get("scope"), q.Query().Get("user_scope"))
	}
	u.allow(c.AuthorizeURL, nil)
	in := u.instance(c.ID)
	if in.Status != connhub.StatusActive || in.HasBotToken || !in.HasUserToken {
		t.Fatalf("the Certero install: %s, bot token %v, user token %v", in.Status, in.HasBotToken, in.HasUserToken)
	}
	run := u.syncRun(c.ID)
	for _, stream := range []string{"users", "team", "channels", "access_logs", "billable_info", "licenses"} {
		if p := run.Progress[stream]; p.State != "done" || len(u.records(c.ID, stream)) == 0 {
			t.Errorf("the user-token-only sync: %s is %s (%s) with %d records", stream, p.State, p.Reason, len(u.records(c.ID, stream)))
		}
	}
	// A user-token method through the proxy, with no header to choose the token.
	var logins struct {
		OK     bool             `json:"ok"`
		Error  string           `json:"error"`
		Logins []map[string]any `json:"logins"`
	}
	if st := u.call("GET", "/v1/slack/team.accessLogs?count=5", "Bearer "+c.InstanceToken, nil, &logins); st != http.StatusOK || !logins.OK {
		t.Errorf("team.accessLogs through the proxy: %d %+v", st, logins)
	}

	// Or paste the token: the app's page at Slack shows a User OAuth Token.
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	if st := u.slack("POST", "/_sandbox/tokens", map[string]any{"kind": "user", "scopes": strings.Split(certeroScopes, ","), "rotation": false}, &issued); st != http.StatusCreated {
		t.Fatalf("the sandbox issued no user token: %d", st)
	}
	u.env["CONNHUB_SLACK_TOKEN"] = issued.AccessToken
	pasted := runJSON[connhub.CreatedInstance](u, "instances", "create", "--name", "Certero pasted", "--token-from-env")
	delete(u.env, "CONNHUB_SLACK_TOKEN")
	if pasted.Status != connhub.StatusActive || !pasted.HasUserToken {
		t.Fatalf("the pasted user token: %s %s", pasted.Status, pasted.StatusReason)
	}
	u.syncRun(pasted.ID, "users", "licenses")
	if n := len(u.records(pasted.ID, "licenses")); n == 0 {
		t.Error("the pasted token's sync wrote no licenses")
	}
}

// snowAtlas: editions and the scopes of each; the authorize URL built with
// state; the code exchanged at oauth.v2.access; the refresh token from
// authed_user kept; subscriptions, users and user activity retrieved.
func snowAtlas(t *testing.T) {
	u := serve(t)
	admin := "Bearer " + u.env["CONNHUB_TOKEN"]
	var catalog struct{ Connectors []connhub.Connector }
	u.call("GET", "/v1/connectors?q=slack", admin, nil, &catalog)
	if len(catalog.Connectors) != 1 {
		t.Fatalf("the catalog: %+v", catalog)
	}
	editions := map[string]connhub.Edition{}
	for _, e := range catalog.Connectors[0].Editions {
		editions[e.Key] = e
	}
	for _, key := range []string{"free", "pro", "business_plus", "enterprise_grid", "compliance"} {
		if _, ok := editions[key]; !ok {
			t.Errorf("the catalog has no edition %s", key)
		}
	}
	c := u.create("--name", "Snow Atlas", "--edition", "business_plus")
	q, _ := url.Parse(c.AuthorizeURL)
	if q.Query().Get("state") == "" || q.Query().Get("user_scope") != strings.Join(editions["business_plus"].UserScopes, ",") {
		t.Errorf("the authorize URL %s: want a state and the edition's user scopes %v", c.AuthorizeURL, editions["business_plus"].UserScopes)
	}
	u.allow(c.AuthorizeURL, nil)
	in := u.instance(c.ID)
	if in.Status != connhub.StatusActive || !in.HasUserToken || in.UserTokenExpiresAt == nil {
		t.Fatalf("the Snow Atlas install: %s, user token %v expiring %v: want the rotating user token and its refresh token kept", in.Status, in.HasUserToken, in.UserTokenExpiresAt)
	}
	u.syncRun(c.ID, "subscriptions", "users", "access_logs", "member_analytics", "licenses", "license_summary")
	if subs := u.records(c.ID, "subscriptions"); len(subs) != 1 {
		t.Errorf("subscriptions: %d records, want the workspace's plan", len(subs))
	}
	billable := u.records(c.ID, "licenses", "--where", "billable = true")
	inactive := u.records(c.ID, "licenses", "--where", "billable = true AND days_inactive > 30")
	if len(billable) == 0 || len(inactive) > len(billable) {
		t.Errorf("licenses: %d billable, %d of them inactive for 30 days", len(billable), len(inactive))
	}
	// A question asked with the wrong type is an error, not zero rows.
	u.refused([]string{"records", c.ID, "licenses", "--where", "billable = 'true'"}, "invalid_where", "billable is a boolean")
	u.refused([]string{"records", c.ID, "licenses", "--where", "days_inactive > '30'"}, "invalid_where", "a number such as 30")
	// And the data leaves as a file, each column once.
	file := filepath.Join(t.TempDir(), "licenses.csv")
	u.ok("export", c.ID, "licenses", "-o", "csv", "--file", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Split(strings.SplitN(string(b), "\n", 2)[0], ",")
	for i, h := range header {
		if slices.Contains(header[:i], h) {
			t.Errorf("the CSV header repeats %s: %v", h, header)
		}
	}
}

// bg is a command running in the background.
type bg struct {
	stdout, stderr *servetest.Buffer
	done           chan int
}

func background(t *testing.T, env map[string]string, args ...string) *bg {
	t.Helper()
	b := &bg{stdout: &servetest.Buffer{}, stderr: &servetest.Buffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		b.done <- cli.ExecuteEnv(ctx, args, b.stdout, b.stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() { cancel(); <-b.done })
	return b
}

func (b *bg) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		b.done <- code
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("the command did not end within 60s: %s", b.stderr)
	}
	return 0
}

// waitLine waits for a first whole line and returns it.
func waitLine(t *testing.T, b *servetest.Buffer) string {
	t.Helper()
	return waitFor(t, b, func(s string) (string, bool) {
		line, _, ok := strings.Cut(s, "\n")
		return line, ok
	})
}

// waitMatch waits for a word that begins with prefix and holds part.
func waitMatch(t *testing.T, b *servetest.Buffer, prefix, part string) string {
	t.Helper()
	return waitFor(t, b, func(s string) (string, bool) {
		for _, w := range strings.Fields(s) {
			if strings.HasPrefix(w, prefix) && strings.Contains(w, part) {
				return w, true
			}
		}
		return "", false
	})
}

func waitFor(t *testing.T, b *servetest.Buffer, found func(string) (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, ok := found(b.String()); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("not printed within 30s; got:\n%s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
