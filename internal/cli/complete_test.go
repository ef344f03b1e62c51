package cli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
)

// TestCompletion: `connhub completion SHELL` prints the shell's script, and
// the hidden `__complete` that the script calls offers the hub's instance
// IDs, its streams, an instance's syncs, and the editions; with the hub
// unreachable it offers nothing, quietly, and never file names.
func TestCompletion(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	a, b := h.createFromToken(t, "Alpha"), h.createFromToken(t, "Beta")
	h.cliOK(t, "sync", "run", a, "--streams", "users", "--poll-interval", "20ms")
	syncID := strings.TrimSpace(h.cliOK(t, "sync", "list", a, "--jq", ".[0].id"))
	webhookID := strings.TrimSpace(h.cliOK(t, "webhooks", "create", "--url", "https://hooks.example.com/complete", "--events", "*", "--jq", ".id"))

	for shell, want := range map[string]string{"bash": "__start_connhub", "zsh": "#compdef connhub", "fish": "complete -c connhub"} {
		if out := h.cliOK(t, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s printed no %q:\n%.300s", shell, want, out)
		}
	}

	// complete runs `connhub __complete args…` and returns the choices
	// (without their descriptions) and the directive line.
	complete := func(env map[string]string, args ...string) ([]string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, append([]string{"__complete"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
			t.Fatalf("__complete %s: exit %d, printed %q, %q", strings.Join(args, " "), code, out, errOut)
		}
		var choices []string
		for _, l := range lines[:len(lines)-1] {
			choice, _, _ := strings.Cut(l, "\t")
			choices = append(choices, choice)
		}
		slices.Sort(choices)
		return choices, lines[len(lines)-1]
	}
	const noFiles = ":4"
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"instances", "get", ""}, sorted(a, b)},
		{[]string{"instances", "delete", a[:6]}, sorted(a, b)},
		{[]string{"sync", "status", a, ""}, []string{syncID}},
		{[]string{"instances", "create", "--edition", ""}, sorted("free", "pro", "business_plus", "enterprise_grid", "compliance")},
		{[]string{"instances", "list", "-o", ""}, sorted("table", "json", "jsonl", "csv", "yaml")},
		{[]string{"instances", "get", a, ""}, nil}, // one ID is all it takes
		{[]string{"events", "list", ""}, sorted(a, b)},
		{[]string{"events", "tail", "--instance", ""}, sorted(a, b)},
		{[]string{"events", "replay", ""}, []string{webhookID}},
		{[]string{"webhooks", "deliveries", ""}, []string{webhookID}},
		{[]string{"webhooks", "retry", webhookID, ""}, nil}, // no delivery yet
		{[]string{"webhooks", "create", "--format", ""}, sorted("slack", "standard")},
		{[]string{"events", "tail", "-o", ""}, sorted("table", "jsonl")},
		{[]string{"provision", "plan", ""}, sorted(a, b)},
		{[]string{"provision", "resume", a, ""}, nil}, // no run yet
		{[]string{"provision", "apply", ""}, nil},     // no plan yet
		{[]string{"provision", "plan", a, "--groups", ""}, sorted("merge", "overwrite")},
	} {
		got, dir := complete(h.env(nil), tc.args...)
		if !slices.Equal(got, tc.want) || dir != noFiles {
			t.Errorf("__complete %s: %q %s; want %q %s", strings.Join(tc.args, " "), got, dir, tc.want, noFiles)
		}
	}
	got, dir := complete(h.env(nil), "records", a, "")
	if !slices.Contains(got, "users") || !slices.Contains(got, "licenses") || dir != noFiles {
		t.Errorf("__complete records ID '': %q %s; want the hub's streams", got, dir)
	}
	got, _ = complete(h.env(nil), "sync", "run", a, "--streams", "users,lic")
	if !slices.Contains(got, "users,licenses") {
		t.Errorf("__complete sync run --streams users,lic: %q; want users,licenses", got)
	}

	for name, env := range map[string]map[string]string{
		"hub down":  h.env(map[string]string{"CONNHUB_SERVER": "http://127.0.0.1:1"}),
		"bad token": h.env(map[string]string{"CONNHUB_TOKEN": "chub_notarealtokennotarealtoken"}),
		"no token":  h.env(map[string]string{"CONNHUB_TOKEN": ""}),
	} {
		if got, dir := complete(env, "instances", "get", ""); len(got) != 0 || dir != noFiles {
			t.Errorf("__complete instances get '' (%s): %q %s; want nothing and no files", name, got, dir)
		}
	}
}
