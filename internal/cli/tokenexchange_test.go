package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

// exchangedToken is one token `token exchange -o json` prints.
type exchangedToken struct {
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	ExpiresAt    *time.Time `json:"expires_at"`
	Scopes       []string   `json:"scopes"`
}

// exchanged is what `token exchange -o json` prints.
type exchanged struct {
	AppID          string          `json:"app_id"`
	TeamID         string          `json:"team_id"`
	TeamName       string          `json:"team_name"`
	EnterpriseID   string          `json:"enterprise_id"`
	EnterpriseName string          `json:"enterprise_name"`
	OrgWide        bool            `json:"is_enterprise_install"`
	BotUserID      string          `json:"bot_user_id"`
	AuthedUserID   string          `json:"authed_user_id"`
	Bot            *exchangedToken `json:"bot"`
	User           *exchangedToken `json:"user"`
}

func TestTokenExchange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		edition slacksim.Edition
		args    []string
		action  string
		extra   func(info slacksim.Info) url.Values
		check   func(t *testing.T, info slacksim.Info, got exchanged)
	}{
		{name: "default scopes", args: nil, action: "allow", check: func(t *testing.T, info slacksim.Info, got exchanged) {
			if got.User == nil || !strings.Contains(got.User.AccessToken, "xoxp-") || strings.Join(got.User.Scopes, ",") != "admin" ||
				got.User.RefreshToken == "" || got.User.ExpiresAt == nil || got.Bot != nil || got.TeamID != info.TeamID {
				t.Errorf("got %+v; want a rotating user token with scope admin for %s", got, info.TeamID)
			}
		}},
		{name: "bot and user scopes", args: []string{"--scopes", "users:read,team:read", "--user-scopes", "admin"}, action: "allow",
			check: func(t *testing.T, info slacksim.Info, got exchanged) {
				if got.Bot == nil || !strings.Contains(got.Bot.AccessToken, "xoxb-") || got.User == nil || got.BotUserID == "" {
					t.Errorf("got %+v; want a bot and a user token", got)
				}
			}},
		{name: "grid org-wide", edition: slacksim.EditionEnterpriseGrid, args: []string{"--grid"}, action: "allow",
			extra: func(info slacksim.Info) url.Values { return url.Values{"install_into": {info.EnterpriseID}} },
			check: func(t *testing.T, info slacksim.Info, got exchanged) {
				if !got.OrgWide || got.EnterpriseID != info.EnterpriseID || got.TeamID != "" || got.User == nil {
					t.Errorf("got %+v; want an org-wide install of %s", got, info.EnterpriseID)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb, err := slacksim.New(slacksim.Config{Users: 30, TokenRotation: true, Edition: tc.edition})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(sb.Handler())
			t.Cleanup(ts.Close)
			info := sb.Info(ts.URL)
			env := map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": info.ClientSecret}
			b := start(t, env, append([]string{"token", "exchange", "--client-id", info.ClientID, "--slack-url", ts.URL, "--output", "json"}, tc.args...)...)
			authorize := waitFor(t, b.stderr, authorizeLine)
			u, _ := url.Parse(authorize)
			redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
			if redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" || u.Query().Get("code_challenge") == "" || len(u.Query().Get("state")) < 32 {
				t.Errorf("authorize URL %s: want a loopback /callback redirect, PKCE and a random state", authorize)
			}
			var extra url.Values
			if tc.extra != nil {
				extra = tc.extra(info)
			}
			status, page := consent(t, authorize, tc.action, extra)
			if code := b.wait(t); code != 0 || status != http.StatusOK || !strings.Contains(page, "Return to the terminal") {
				t.Fatalf("token exchange: exit %d, printed %q; the callback answered HTTP %d:\n%s", code, b.stderr, status, page)
			}
			var got exchanged
			if err := json.Unmarshal([]byte(b.stdout.String()), &got); err != nil {
				t.Fatalf("token exchange -o json printed %q: %v", b.stdout, err)
			}
			tc.check(t, info, got)
			// The tokens are real: Slack answers auth.test with them.
			for _, tok := range []string{tokenOf(got.Bot), tokenOf(got.User)} {
				if tok != "" && !authTest(t, ts.URL, tok) {
					t.Errorf("auth.test refuses the token printed")
				}
			}
			if strings.Contains(b.stderr.String(), info.ClientSecret) || strings.Contains(b.stdout.String(), info.ClientSecret) {
				t.Error("token exchange printed the client secret")
			}
		})
	}
}

func TestTokenExchangeTable(t *testing.T) {
	t.Parallel()
	sb, err := slacksim.New(slacksim.Config{Users: 30, TokenRotation: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	info := sb.Info(ts.URL)
	env := map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": info.ClientSecret}
	b := start(t, env, "token", "exchange", "--client-id", info.ClientID, "--slack-url", ts.URL, "--no-browser")
	authorize := waitFor(t, b.stderr, authorizeLine)
	consent(t, authorize, "allow", nil)
	if code := b.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, b.stderr)
	}
	out := b.stdout.String()
	for _, re := range []string{`User access token: +\S*xoxp-`, `User refresh token: +xoxe-`, `User token expires: +\S+ \(in `, `User scopes: +admin`, `Team: +.*` + info.TeamID} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("token exchange printed:\n%s\nwant a line matching %s", out, re)
		}
	}
}

func TestTokenExchangeFailures(t *testing.T) {
	t.Parallel()
	sb, err := slacksim.New(slacksim.Config{Users: 30, TokenRotation: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	info := sb.Info(ts.URL)
	base := []string{"token", "exchange", "--client-id", info.ClientID, "--slack-url", ts.URL}

	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		b := start(t, map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": info.ClientSecret}, base...)
		consent(t, waitFor(t, b.stderr, authorizeLine), "cancel", nil)
		if code := b.wait(t); code != 1 || !strings.Contains(b.stderr.String(), "access_denied") || b.stdout.String() != "" {
			t.Errorf("denied consent: exit %d, printed %q and %q", code, b.stdout, b.stderr)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		b := start(t, map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": "00000000000000000000000000000000"}, base...)
		consent(t, waitFor(t, b.stderr, authorizeLine), "allow", nil)
		if code := b.wait(t); code != 1 || !strings.Contains(b.stderr.String(), "bad_client_secret") {
			t.Errorf("wrong client secret: exit %d, printed %q", code, b.stderr)
		}
	})
	t.Run("forged state", func(t *testing.T) {
		t.Parallel()
		b := start(t, map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": info.ClientSecret}, append(base, "--timeout", "2s")...)
		authorize, _ := url.Parse(waitFor(t, b.stderr, authorizeLine))
		forged := authorize.Query().Get("redirect_uri") + "?code=stolen&state=forged"
		resp, err := http.Get(forged)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a callback with a forged state: HTTP %d; want 400", resp.StatusCode)
		}
		// The forged redirect was ignored: the command still waits, then times out.
		if code := b.wait(t); code != 1 || !strings.Contains(b.stderr.String(), "no redirect from Slack") {
			t.Errorf("after a forged callback: exit %d, %q; want the timeout", code, b.stderr)
		}
	})
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		says string
	}{
		{"no secret", nil, base, "CONNHUB_SLACK_CLIENT_SECRET"},
		{"no client ID", map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": "x"}, []string{"token", "exchange"}, "--client-id"},
		{"bad slack URL", map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": "x"}, append(base, "--slack-url", "slack.com"), "--slack-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tc.env, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.says) {
				t.Errorf("exit %d, %q; want exit 2 saying %q", code, errOut, tc.says)
			}
		})
	}
}

func tokenOf(t *exchangedToken) string {
	if t == nil {
		return ""
	}
	return t.AccessToken
}

// authTest reports whether the sandbox accepts a token.
func authTest(t *testing.T, sandboxURL, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, sandboxURL+"/api/auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		OK bool `json:"ok"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.OK
}
