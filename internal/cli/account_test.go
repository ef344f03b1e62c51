package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// TestOrgsUsersTokensAndAudit: the first admin is the hub's operator; they
// make an organization, whose admin adds a member; the member's scoped
// token can do what its scope says only; revoking it takes effect at once;
// and the audit log has it all, verifiably.
func TestOrgsUsersTokensAndAudit(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	org := cliJSON[connhub.NewOrganization](t, h, "orgs", "create", "Globex", "--admin-email", "hank@globex.example")
	if org.Organization.Name != "Globex" || !strings.HasPrefix(org.Secrets.APIToken, "chub_") || org.Admin.Role != "admin" {
		t.Fatalf("orgs create: %+v", org.Organization)
	}
	if out := h.cliOK(t, "orgs", "list"); !strings.Contains(out, "Globex") || !strings.Contains(out, "Default organization") {
		t.Errorf("orgs list printed %q", out)
	}
	globex := func(token string) map[string]string { return h.env(map[string]string{"CONNHUB_TOKEN": token}) }
	// Globex's admin is no operator, and sees none of the first organization.
	if code, _, errOut := runCLI(t, globex(org.Secrets.APIToken), "orgs", "list"); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("orgs list as another organization's admin: exit %d, %q", code, errOut)
	}
	code, out, errOut := runCLI(t, globex(org.Secrets.APIToken), "users", "create", "marge@globex.example", "--name", "Marge")
	member := regexp.MustCompile(`API token: +(chub_\S+)`).FindStringSubmatch(out)
	if code != 0 || member == nil {
		t.Fatalf("users create: exit %d, %q, %q", code, out, errOut)
	}
	if _, out, _ := runCLI(t, globex(org.Secrets.APIToken), "users", "list"); !strings.Contains(out, "marge@globex.example") || !strings.Contains(out, "member") {
		t.Errorf("users list printed %q", out)
	}
	// The member makes a token that may only read records: it cannot list instances.
	code, out, errOut = runCLI(t, globex(member[1]), "tokens", "create", "reader", "--scopes", "records:read", "--expires-in", "24h")
	scoped := regexp.MustCompile(`(chub_\S+)`).FindStringSubmatch(out)
	if code != 0 || scoped == nil {
		t.Fatalf("tokens create: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, globex(scoped[1]), "instances", "list"); code != 1 || !strings.Contains(errOut, "scopes") {
		t.Errorf("instances list with a records:read token: exit %d, %q; want refused for its scopes", code, errOut)
	}
	if code, _, errOut := runCLI(t, globex(scoped[1]), "tokens", "create", "stronger"); code != 0 {
		t.Errorf("a scoped token making a token of its own scopes: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, globex(scoped[1]), "tokens", "create", "stronger", "--scopes", "secrets:reveal"); code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("a scoped token minting a stronger one: exit %d, %q", code, errOut)
	}
	tokens := func() []connhub.APIToken {
		_, out, _ := runCLI(t, globex(member[1]), "tokens", "list", "--output", "json")
		var list []connhub.APIToken
		if err := decodeStrict(out, &list); err != nil {
			t.Fatalf("tokens list -o json: %v\n%s", err, out)
		}
		return list
	}
	var readerID string
	for _, tok := range tokens() {
		if tok.Name == "reader" {
			readerID = tok.ID
		}
	}
	if code, _, errOut := runCLI(t, globex(member[1]), "tokens", "revoke", readerID); code != 0 {
		t.Fatalf("tokens revoke: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, globex(scoped[1]), "records", "users", "ins_x"); code != 1 || !strings.Contains(errOut, "revoked") {
		t.Errorf("a revoked token: exit %d, %q; want revoked at once", code, errOut)
	}
	// The organization's last admin stays one.
	if code, _, errOut := runCLI(t, globex(org.Secrets.APIToken), "users", "update", org.Admin.ID, "--role", "member"); code != 1 || !strings.Contains(errOut, "last_admin") {
		t.Errorf("demoting the last admin: exit %d, %q", code, errOut)
	}
	// The audit log has the story, and holds.
	if _, out, _ := runCLI(t, globex(org.Secrets.APIToken), "audit", "list", "--action", "token."); !strings.Contains(out, "token.create") || !strings.Contains(out, "token.revoke") {
		t.Errorf("audit list --action token. printed %q", out)
	}
	if code, out, errOut := runCLI(t, globex(org.Secrets.APIToken), "audit", "verify"); code != 0 || !strings.Contains(out, "holds") {
		t.Errorf("audit verify: exit %d, %q, %q", code, out, errOut)
	}
	if code, out, _ := runCLI(t, globex(org.Secrets.APIToken), "audit", "export", "--since", "1h"); code != 0 || strings.Count(out, "\n") < 5 || !strings.Contains(out, `"organization.create"`) {
		t.Errorf("audit export: exit %d, %q", code, out)
	}
	if code, _, errOut := runCLI(t, globex(member[1]), "audit", "list"); code != 1 || !strings.Contains(errOut, "admins") {
		t.Errorf("audit list as a member: exit %d, %q", code, errOut)
	}
}
