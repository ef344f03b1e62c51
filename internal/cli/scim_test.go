package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
)

// The SCIM commands, as an admin at a terminal: the instance says it is
// ready, its credentials give the SCIM URL and token, and users and groups
// are found, made, changed, deactivated and reactivated through the hub.
func TestSCIMCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	out := h.cliOK(t, "instances", "create", "--name", "Provisioned")
	id := createdLine.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("instances create printed %q", out)
	}
	allow(t, authorizeLine.FindStringSubmatch(out)[1])

	if out := h.cliOK(t, "instances", "ping", id[1]); !regexp.MustCompile(`(?m)^SCIM: +ready$`).MatchString(out) {
		t.Errorf("ping does not say SCIM is ready:\n%s", out)
	}
	creds := h.cliOK(t, "instances", "credentials", id[1])
	if !strings.Contains(creds, "SCIM base URL:") || !strings.Contains(creds, h.url+"/scim/v2") || !regexp.MustCompile(`(?m)^SCIM token: +\S+`).MatchString(creds) {
		t.Errorf("credentials do not give the SCIM connection:\n%s", creds)
	}

	made := h.cliOK(t, "scim", "users", "create", id[1], "--user-name", "ada.lovelace", "--email", "ada@acme.example", "--title", "Analyst")
	uid := regexp.MustCompile(`made ada\.lovelace at Slack: (U\w+)`).FindStringSubmatch(made)
	if uid == nil {
		t.Fatalf("scim users create printed %q", made)
	}
	found := h.cliOK(t, "scim", "users", "list", id[1], "--filter", `userName eq "ada.lovelace"`)
	if !regexp.MustCompile(`(?m)^` + uid[1] + ` +ada\.lovelace +\S+ +ada@acme\.example +Analyst +true$`).MatchString(found) {
		t.Errorf("the filter's table:\n%s", found)
	}
	h.cliOK(t, "scim", "users", "update", id[1], uid[1], "--set", "title=Countess")
	h.cliOK(t, "scim", "users", "deactivate", id[1], uid[1])
	var u struct {
		Title  string `json:"title"`
		Active bool   `json:"active"`
	}
	if err := json.Unmarshal([]byte(h.cliOK(t, "scim", "users", "get", id[1], uid[1])), &u); err != nil || u.Title != "Countess" || u.Active {
		t.Errorf("after update and deactivate: %+v %v", u, err)
	}
	if out := h.cliOK(t, "scim", "users", "reactivate", id[1], uid[1]); !strings.Contains(out, "active: true") {
		t.Errorf("reactivate printed %q", out)
	}

	g := regexp.MustCompile(`made the group Analysts at Slack: (S\w+), 1 members`).FindStringSubmatch(
		h.cliOK(t, "scim", "groups", "create", id[1], "Analysts", "--member", uid[1]))
	if g == nil {
		t.Fatal("scim groups create did not make the group")
	}
	if out := h.cliOK(t, "scim", "groups", "remove-members", id[1], g[1], uid[1]); !strings.Contains(out, "now has 0 members") {
		t.Errorf("remove-members printed %q", out)
	}

	// Slack's own refusal, in one line, non-zero.
	code, _, errOut := h.cli(t, "scim", "users", "list", id[1], "--filter", `userName zz "x"`)
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "slack_") {
		t.Errorf("a bad filter: exit %d, %q", code, errOut)
	}
}
