package cli_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// TestNewcomerJourney is issue 4's "Done when": on the machine where the hub
// runs, with no setup (the API token comes from the hub's data directory),
// a newcomer creates an instance, consents at Slack, pings it, renames it,
// re-authenticates it and deletes it, and Slack shows the token revoked.
func TestNewcomerJourney(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	env := h.env(map[string]string{"CONNHUB_TOKEN": "", "CONNHUB_DATA_DIR": h.dataDir})
	do := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("connhub %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	out := do("instances", "create", "--name", "Acme Slack", "--tag", "eval")
	id, tok, authorize := createdLine.FindStringSubmatch(out), instanceToken.FindStringSubmatch(out), authorizeLine.FindStringSubmatch(out)
	if id == nil || tok == nil || authorize == nil {
		t.Fatalf("instances create printed %q; want the instance ID, its instance token and the authorize URL", out)
	}
	if !strings.Contains(out, "pending") {
		t.Errorf("instances create printed %q; want it to say the instance is pending", out)
	}
	allow(t, authorize[1])

	if out := do("instances", "get", id[1]); !regexp.MustCompile(`Status: +active`).MatchString(out) {
		t.Fatalf("after consent instances get printed %q; want status active", out)
	}
	if out := do("instances", "ping", id[1]); !strings.Contains(out, "ok in") || !strings.Contains(out, h.info.TeamID) {
		t.Errorf("instances ping printed %q; want ok and the workspace %s", out, h.info.TeamID)
	}
	if out := do("instances", "update", id[1], "--name", "Acme Slack (prod)"); !regexp.MustCompile(`Name: +Acme Slack \(prod\)`).MatchString(out) ||
		!strings.Contains(out, "untouched") {
		t.Errorf("instances update printed %q; want the new name and the tokens untouched", out)
	}

	re := start(t, env, "instances", "reauth", id[1], "--wait", "--poll-interval", "20ms")
	allow(t, waitFor(t, re.stdout, authorizeLine))
	if code := re.wait(t); code != 0 || !strings.Contains(re.stdout.String(), "re-authenticated") {
		t.Fatalf("instances reauth --wait: exit %d, printed %q, %q", code, re.stdout, re.stderr)
	}
	if st := h.sandboxStats(t); st.CodeGrants != 2 {
		t.Errorf("the sandbox granted %d codes; want 2 (install and re-authentication)", st.CodeGrants)
	}
	if got := strings.TrimSpace(do("instances", "token", id[1])); got != tok[1] {
		t.Errorf("after re-authentication the instance token is %q; want the one create printed, %q", got, tok[1])
	}

	if out := do("instances", "delete", id[1], "--yes"); !strings.Contains(out, "revoked") {
		t.Errorf("instances delete printed %q", out)
	}
	code, _, errOut := runCLI(t, env, "instances", "get", id[1])
	if code != 1 || !strings.Contains(errOut, "(not_found, request ") {
		t.Errorf("instances get after delete: exit %d, %q; want exit 1 and not_found", code, errOut)
	}
	if st := h.sandboxStats(t); st.Revocations < 1 {
		t.Errorf("the sandbox shows %d revocations after the delete; want at least 1", st.Revocations)
	}
}

func TestCreateWait(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	for _, tc := range []struct {
		action string
		code   int
		says   string
	}{
		{"allow", 0, "is active, authenticated to"},
		{"cancel", 1, "access_denied"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			b := start(t, h.env(nil), "instances", "create", "--name", "Waiting "+tc.action, "--wait", "--poll-interval", "20ms")
			authorize := waitFor(t, b.stdout, authorizeLine)
			consent(t, authorize, tc.action, nil)
			code := b.wait(t)
			if code != tc.code || !strings.Contains(b.stdout.String()+b.stderr.String(), tc.says) {
				t.Errorf("create --wait, %s at Slack: exit %d, printed %q and %q; want exit %d saying %q", tc.action, code, b.stdout, b.stderr, tc.code, tc.says)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		b := start(t, h.env(nil), "instances", "create", "--name", "Waiting json", "--wait", "--poll-interval", "20ms", "-o", "json")
		allow(t, waitFor(t, b.stderr, authorizeLine))
		if code := b.wait(t); code != 0 {
			t.Fatalf("exit %d: %s", code, b.stderr)
		}
		var got connhub.CreatedInstance
		if err := decodeStrict(b.stdout.String(), &got); err != nil || got.Status != connhub.StatusActive || !strings.HasPrefix(got.InstanceToken, "chi_") {
			t.Errorf("create --wait -o json printed %s (%v); want the created instance, active, with its instance token", b.stdout, err)
		}
	})
}

// TestOutputs runs the read commands in both formats.
func TestOutputs(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Pasted token", "--tag", "blue")
	other := h.createFromToken(t, "Another", "--tag", "green")

	list := cliJSON[[]connhub.Instance](t, h, "instances", "list")
	if len(list) != 2 {
		t.Fatalf("instances list -o json: %d instances; want 2", len(list))
	}
	for _, tc := range []struct {
		args []string
		want []string // in the table output
		not  []string
	}{
		{[]string{"instances", "list"}, []string{"ID", "NAME", "STATUS", id, other, "active", "token"}, nil},
		{[]string{"instances", "list", "--tag", "blue"}, []string{id}, []string{other}},
		{[]string{"instances", "list", "--status", "pending"}, []string{"ID"}, []string{id, other}},
		{[]string{"instances", "get", id}, []string{"ID:", id, "Pasted token", "Status:", "blue", "Instance token:", "chi_"}, nil},
		{[]string{"instances", "credentials", id}, []string{"Bearer:", "Bearer chi_"}, []string{"User chus_"}},
		{[]string{"apps", "list"}, []string{"CLIENT ID", h.info.ClientID}, nil},
	} {
		out := h.cliOK(t, tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("connhub %s printed:\n%s\nwant %q in it", strings.Join(tc.args, " "), out, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("connhub %s printed:\n%s\nwant no %q in it", strings.Join(tc.args, " "), out, n)
			}
		}
	}
	// The table's columns line up: every row starts its STATUS cell where the header does.
	lines := strings.Split(strings.TrimSpace(h.cliOK(t, "instances", "list")), "\n")
	col := strings.Index(lines[0], "STATUS")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "active") {
			t.Errorf("row %q does not have its status under STATUS (column %d)", l, col)
		}
	}

	got := cliJSON[connhub.Instance](t, h, "instances", "get", id)
	if got.ID != id || got.Status != connhub.StatusActive || got.AuthMethod != connhub.AuthToken || len(got.Tags) != 1 {
		t.Errorf("instances get -o json: %+v", got)
	}
	if got := cliJSON[connhub.Instance](t, h, "instances", "update", id, "--allow-user-token"); !got.AllowUserToken {
		t.Errorf("instances update --allow-user-token: %+v", got.AllowUserToken)
	}
	if got := cliJSON[connhub.Instance](t, h, "instances", "update", id, "--allow-user-token=false"); got.AllowUserToken {
		t.Errorf("instances update --allow-user-token=false: %+v", got.AllowUserToken)
	}
	tok := strings.TrimSpace(h.cliOK(t, "instances", "token", id))
	if !strings.HasPrefix(tok, "chi_") || strings.Contains(tok, " ") {
		t.Errorf("instances token printed %q; want the instance token alone", tok)
	}
	if j := cliJSON[map[string]string](t, h, "instances", "token", id); j["instance_token"] != tok {
		t.Errorf("instances token -o json: %v; want %s", j, tok)
	}
	creds := cliJSON[connhub.InstanceCredentials](t, h, "instances", "credentials", id)
	if creds.Bearer != "Bearer "+tok {
		t.Errorf("instances credentials -o json: %+v; want the Bearer form with the instance token", creds)
	}
	rotated := strings.TrimSpace(h.cliOK(t, "instances", "token", id, "--rotate"))
	if rotated == tok || !strings.HasPrefix(rotated, "chi_") {
		t.Errorf("instances token --rotate printed %q; want a new instance token", rotated)
	}
	// The rotated token works, for its own instance: it may not list the others.
	code, out, errOut := runCLI(t, h.env(map[string]string{"CONNHUB_TOKEN": rotated}), "instances", "get", id)
	if code != 0 || !strings.Contains(out, id) {
		t.Errorf("instances get with the instance token: exit %d, %q, %q; want its instance", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, h.env(map[string]string{"CONNHUB_TOKEN": rotated}), "instances", "list"); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("instances list with the instance token: exit %d, %q; want forbidden", code, errOut)
	}
	if code, _, errOut := runCLI(t, h.env(map[string]string{"CONNHUB_TOKEN": tok}), "instances", "list"); code != 1 || !strings.Contains(errOut, "invalid_credentials") {
		t.Errorf("the instance token from before the rotation: exit %d, %q; want invalid_credentials", code, errOut)
	}

	ping := cliJSON[connhub.PingResult](t, h, "instances", "ping", id)
	if !ping.OK || ping.TeamID != h.info.TeamID || ping.TokenKind != "bot" {
		t.Errorf("instances ping -o json: %+v", ping)
	}

	upd := cliJSON[connhub.Instance](t, h, "instances", "update", id, "--tag", "red", "--tag", "prod", "--set", "region=eu", "--set", "retries=3")
	if strings.Join(upd.Tags, ",") != "red,prod" || upd.Settings["region"] != "eu" || upd.Settings["retries"] != float64(3) {
		t.Errorf("instances update -o json: tags %v settings %v", upd.Tags, upd.Settings)
	}
	upd = cliJSON[connhub.Instance](t, h, "instances", "update", id, "--no-tags", "--set", "region=null")
	if len(upd.Tags) != 0 || upd.Settings["region"] != nil || upd.Settings["retries"] != float64(3) {
		t.Errorf("instances update --no-tags --set region=null: tags %v settings %v", upd.Tags, upd.Settings)
	}
}

// TestErrors: every failure is one line "connhub: …", exit 1 for what the
// hub refused and 2 for what the command line got wrong.
func TestErrors(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Kept")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says []string
	}{
		{"unknown instance", nil, []string{"instances", "get", "ins_nosuchinstance"}, 1, []string{"no such instance", "(not_found, request "}},
		{"bad token", map[string]string{"CONNHUB_TOKEN": "chub_notarealtokennotarealtoken"}, []string{"instances", "list"}, 1, []string{"(invalid_credentials, request "}},
		{"delete without --yes and no terminal", nil, []string{"instances", "delete", id}, 2, []string{"pass --yes", id}},
		{"no token anywhere", map[string]string{"CONNHUB_TOKEN": ""}, []string{"instances", "list"}, 2, []string{"set CONNHUB_TOKEN"}},
		{"no token in the data dir", map[string]string{"CONNHUB_TOKEN": "", "CONNHUB_DATA_DIR": t.TempDir()}, []string{"apps", "list"}, 2, []string{"admin-credentials", "set CONNHUB_TOKEN"}},
		{"hub not running", map[string]string{"CONNHUB_SERVER": "http://127.0.0.1:1"}, []string{"instances", "list"}, 1, []string{"cannot reach connhub at http://127.0.0.1:1"}},
		{"not a URL", nil, []string{"instances", "list", "--server", "localhost:8080"}, 2, []string{"--server"}},
		{"bad output", nil, []string{"instances", "list", "--output", "xml"}, 2, []string{"--output", "want table, json, jsonl, csv or yaml"}},
		{"missing ID", nil, []string{"instances", "get"}, 2, []string{"takes ID"}},
		{"nothing to update", nil, []string{"instances", "update", id}, 2, []string{"nothing to update"}},
		{"no name", nil, []string{"instances", "create"}, 2, []string{"--name is required"}},
		{"no token in the env", nil, []string{"instances", "create", "--name", "x", "--token-from-env"}, 2, []string{"CONNHUB_SLACK_TOKEN"}},
		{"a token Slack refuses", map[string]string{"CONNHUB_SLACK_TOKEN": "xoxb-1-refused"}, []string{"instances", "create", "--name", "x", "--token-from-env"}, 1, []string{"(slack_invalid_auth, request "}},
		{"bad edition", nil, []string{"instances", "create", "--name", "x", "--edition", "gold"}, 1, []string{"gold"}},
		{"ping a pending instance", nil, []string{"instances", "ping", "PENDING"}, 1, []string{"(not_authenticated, request "}},
		{"bad credential kind", nil, []string{"credentials", "create", "--name", "n", "--instance", id, "--kind", "basic"}, 2, []string{"--kind"}},
		{"unknown credential", nil, []string{"credentials", "get", "nope"}, 1, []string{"(not_found, request "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[len(tc.args)-1] == "PENDING" {
				out := h.cliOK(t, "instances", "create", "--name", "Pending")
				tc.args[len(tc.args)-1] = createdLine.FindStringSubmatch(out)[1]
			}
			code, out, errOut := runCLI(t, h.env(tc.env), tc.args...)
			if code != tc.code || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "connhub: ") {
				t.Errorf("connhub %s: exit %d, stderr %q; want exit %d and one line", strings.Join(tc.args, " "), code, errOut, tc.code)
			}
			for _, s := range tc.says {
				if !strings.Contains(errOut, s) {
					t.Errorf("connhub %s said %q; want %q in it", strings.Join(tc.args, " "), errOut, s)
				}
			}
			if out != "" {
				t.Errorf("connhub %s failed and printed %q on stdout", strings.Join(tc.args, " "), out)
			}
			if slackToken.MatchString(errOut) || strings.Contains(errOut, "chub_notarealtoken") {
				t.Errorf("the error shows a token: %q", errOut)
			}
		})
	}
	// The refused delete deleted nothing.
	h.cliOK(t, "instances", "get", id)
}

// TestOtherWaysIn makes instances from a pasted token and from an imported
// refresh token, and checks that no command but token exchange ever prints
// a Slack token, nor does the hub log one.
func TestOtherWaysIn(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	bot := h.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read", "team:read"}})
	user := h.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin"}})
	var printed strings.Builder
	cmd := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, h.env(env), args...)
		printed.WriteString(out + errOut)
		if code != 0 {
			t.Fatalf("connhub %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	pasted := createdLine.FindStringSubmatch(cmd(map[string]string{"CONNHUB_SLACK_TOKEN": bot.AccessToken, "CONNHUB_SLACK_REFRESH_TOKEN": bot.RefreshToken},
		"instances", "create", "--name", "Pasted", "--token-from-env"))
	imported := createdLine.FindStringSubmatch(cmd(map[string]string{"CONNHUB_SLACK_CLIENT_ID": h.info.ClientID, "CONNHUB_SLACK_CLIENT_SECRET": h.info.ClientSecret,
		"CONNHUB_SLACK_REFRESH_TOKEN": user.RefreshToken}, "instances", "create", "--name", "Imported", "--import-refresh-token", "--edition", "pro"))
	if pasted == nil || imported == nil {
		t.Fatalf("the creates printed no instance IDs:\n%s", &printed)
	}
	for _, c := range []struct {
		id, method, kind string
	}{{pasted[1], connhub.AuthToken, "bot"}, {imported[1], connhub.AuthRefreshToken, "user"}} {
		in := cliJSON[connhub.Instance](t, h, "instances", "get", c.id)
		if in.Status != connhub.StatusActive || in.AuthMethod != c.method {
			t.Errorf("instance %s: status %s, auth method %s; want active, %s", c.id, in.Status, in.AuthMethod, c.method)
		}
		for _, output := range []string{"table", "json"} {
			for _, args := range [][]string{
				{"instances", "get", c.id}, {"instances", "list"}, {"instances", "ping", c.id}, {"instances", "token", c.id},
				{"instances", "credentials", c.id}, {"instances", "update", c.id, "--name", "Renamed " + output},
			} {
				cmd(nil, append(args, "--output", output)...)
			}
		}
		if p := cliJSON[connhub.PingResult](t, h, "instances", "ping", c.id); p.TokenKind != c.kind {
			t.Errorf("instance %s pings with a %s token; want %s", c.id, p.TokenKind, c.kind)
		}
		cmd(nil, "credentials", "create", "--name", "creds-"+c.id, "--instance", c.id)
		cmd(nil, "credentials", "get", "creds-"+c.id)
		cmd(nil, "instances", "delete", c.id, "--yes")
	}
	if st := h.sandboxStats(t); st.Refreshes < 1 || st.Revocations < 2 {
		t.Errorf("sandbox stats: %d refreshes, %d revocations; want the import's refresh and both deletes' revocations", st.Refreshes, st.Revocations)
	}
	if slackToken.MatchString(printed.String()) {
		t.Errorf("a command printed a Slack token:\n%s", slackToken.FindString(printed.String()))
	}
	for _, secret := range []string{bot.AccessToken, bot.RefreshToken, user.RefreshToken, h.info.ClientSecret} {
		if strings.Contains(printed.String(), secret) || strings.Contains(h.logs.String(), secret) {
			t.Errorf("a secret of the sandbox (%.8s…) was printed or logged", secret)
		}
	}
}

func TestDeleteForce(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Doomed")
	// Slack cannot revoke: the delete is refused, unless forced.
	resp, err := http.Post(h.sbURL+"/_sandbox/faults", "application/json", strings.NewReader(`{"method":"auth.revoke","status":500}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault: HTTP %d", resp.StatusCode)
	}
	if code, _, errOut := h.cli(t, "instances", "delete", id, "--yes"); code != 1 || !strings.Contains(errOut, "revoke_failed") {
		t.Errorf("delete while Slack fails: exit %d, %q; want exit 1 and revoke_failed", code, errOut)
	}
	if out := h.cliOK(t, "instances", "delete", id, "--yes", "--force"); !strings.Contains(out, "deleted instance "+id) {
		t.Errorf("delete --force printed %q", out)
	}
	if code, _, _ := h.cli(t, "instances", "get", id); code != 1 {
		t.Errorf("the forced delete left the instance")
	}
}
