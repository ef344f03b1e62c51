package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

func TestCredentialsCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "For Cloud Integration")
	tok := strings.TrimSpace(h.cliOK(t, "instances", "token", id))

	out := h.cliOK(t, "credentials", "create", "--name", "slack-oc", "--instance", id, "--description", "iFlow")
	value := regexp.MustCompile(`Value: +(User chus_\S+, Organization chos_\S+, Element \S+)`).FindStringSubmatch(out)
	if !strings.Contains(out, `credential "slack-oc"`) || value == nil || !strings.HasSuffix(value[1], "Element "+tok) {
		t.Fatalf("credentials create printed %q; want the name and its own value, once", out)
	}
	bearer := cliJSON[connhub.Credential](t, h, "credentials", "create", "--name", "slack-bearer", "--instance", id, "--kind", "bearer")
	if bearer.Kind != connhub.KindBearer || !strings.HasPrefix(bearer.Value, "Bearer chub_") {
		t.Errorf("credentials create --kind bearer -o json: %+v", bearer)
	}

	list := cliJSON[[]connhub.Credential](t, h, "credentials", "list")
	if len(list) != 2 {
		t.Fatalf("credentials list: %d; want 2", len(list))
	}
	if out := h.cliOK(t, "credentials", "list"); !strings.Contains(out, "slack-oc") || !strings.Contains(out, "KIND") || strings.Contains(out, tok) {
		t.Errorf("credentials list printed %q; want the names and no values", out)
	}
	for _, tc := range []struct{ ref, want string }{
		{"slack-oc", value[1]}, {bearer.ID, bearer.Value},
	} {
		if out := h.cliOK(t, "credentials", "get", tc.ref); strings.Contains(out, tc.want) || !strings.Contains(out, "Hint:") {
			t.Errorf("credentials get %s printed %q; want the hint, never the value", tc.ref, out)
		}
		if out := h.cliOK(t, "credentials", "reveal", tc.ref); !regexp.MustCompile(`Value: +` + regexp.QuoteMeta(tc.want)).MatchString(out) {
			t.Errorf("credentials reveal %s printed %q; want the value", tc.ref, out)
		}
	}
	rotated := cliJSON[connhub.Credential](t, h, "credentials", "rotate", "slack-bearer")
	if rotated.Value == "" || rotated.Value == bearer.Value {
		t.Errorf("credentials rotate -o json: %+v; want a new value", rotated.Hint)
	}
	if code, _, errOut := h.cli(t, "credentials", "create", "--name", "slack-oc", "--instance", id); code != 1 || !strings.Contains(errOut, "credential_exists") {
		t.Errorf("a second credential of one name: exit %d, %q", code, errOut)
	}
	if out := h.cliOK(t, "credentials", "delete", bearer.ID); !strings.Contains(out, "deleted credential") {
		t.Errorf("credentials delete printed %q", out)
	}
	if code, _, _ := h.cli(t, "credentials", "get", bearer.ID); code != 1 {
		t.Error("the deleted credential is still there")
	}
}
