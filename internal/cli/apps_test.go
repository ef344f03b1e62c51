package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

func TestAppsCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	const clientSecret, signingSecret = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	secrets := map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": clientSecret, "CONNHUB_SLACK_SIGNING_SECRET": signingSecret}

	code, out, errOut := runCLI(t, h.env(secrets), "apps", "create", "--client-id", "1111.2222", "--name", "Provisioner",
		"--bot-scopes", "users:read,team:read", "--user-scopes", "admin")
	if code != 0 || !regexp.MustCompile(`Redirect URL: +`+regexp.QuoteMeta(h.url)+`/v1/oauth/slack/callback`).MatchString(out) ||
		!regexp.MustCompile(`Signing secret: +stored`).MatchString(out) {
		t.Fatalf("apps create: exit %d, printed %q, %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, clientSecret) || strings.Contains(out+errOut, signingSecret) {
		t.Error("apps create printed a secret")
	}
	id := regexp.MustCompile(`ID: +(app_\w+)`).FindStringSubmatch(out)[1]

	apps := cliJSON[[]connhub.App](t, h, "apps", "list")
	if len(apps) != 2 {
		t.Fatalf("apps list: %d apps; want the sandbox's and the new one", len(apps))
	}
	got := cliJSON[connhub.App](t, h, "apps", "get", id)
	if got.Name != "Provisioner" || got.ClientID != "1111.2222" || !got.HasClientSecret || !got.HasSigningSecret ||
		strings.Join(got.BotScopes, ",") != "users:read,team:read" || strings.Join(got.UserScopes, ",") != "admin" {
		t.Errorf("apps get -o json: %+v", got)
	}
	if out := h.cliOK(t, "apps", "list"); !strings.Contains(out, "Provisioner") || !strings.Contains(out, "1111.2222") {
		t.Errorf("apps list printed %q", out)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"no client secret and no terminal", nil, []string{"apps", "create", "--client-id", "3333.4444"}, 2, "CONNHUB_SLACK_CLIENT_SECRET"},
		{"no client ID", secrets, []string{"apps", "create"}, 2, "--client-id is required"},
		{"same client ID again", secrets, []string{"apps", "create", "--client-id", "1111.2222"}, 1, "(app_exists, request "},
		{"bad client ID", secrets, []string{"apps", "create", "--client-id", "abc"}, 1, "(invalid_app, request "},
		{"a secret is never a flag", secrets, []string{"apps", "create", "--client-id", "3333.4444", "--client-secret", "x"}, 2, "unknown flag"},
		{"an app in use", nil, []string{"apps", "delete", apps[0].ID}, 1, "(app_in_use, request "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "an app in use" {
				h.cliOK(t, "instances", "create", "--name", "Uses the sandbox app", "--app", apps[0].ID)
			}
			code, out, errOut := runCLI(t, h.env(tc.env), tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.says) || out != "" {
				t.Errorf("connhub %s: exit %d, printed %q and %q; want exit %d saying %q", strings.Join(tc.args, " "), code, out, errOut, tc.code, tc.says)
			}
		})
	}

	if out := h.cliOK(t, "apps", "delete", id); !strings.Contains(out, "deleted app "+id) {
		t.Errorf("apps delete printed %q", out)
	}
	if code, _, errOut := h.cli(t, "apps", "get", id); code != 1 || !strings.Contains(errOut, "not_found") {
		t.Errorf("apps get after delete: exit %d, %q", code, errOut)
	}
}

func TestAppsUpdate(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	apps := cliJSON[[]connhub.App](t, h, "apps", "list")
	if len(apps) == 0 {
		t.Fatal("no app")
	}
	id := apps[0].ID
	if out := h.cliOK(t, "apps", "update", id, "--name", "Renamed app"); !strings.Contains(out, "Renamed app") {
		t.Errorf("apps update --name printed %q", out)
	}
	// No instance can prove a new client secret: refused unless said.
	env := h.env(map[string]string{"CONNHUB_SLACK_CLIENT_SECRET": "22222222222222222222222222222222"})
	if code, _, errOut := runCLI(t, env, "apps", "update", id, "--client-secret"); code != 1 || !strings.Contains(errOut, "cannot_verify") {
		t.Errorf("apps update --client-secret without an instance to prove it: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, h.env(nil), "apps", "update", id); code != 2 || !strings.Contains(errOut, "say what to change") {
		t.Errorf("apps update with nothing to change: exit %d, %q", code, errOut)
	}
}
