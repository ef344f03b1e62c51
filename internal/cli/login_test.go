package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/slacksim"
)

// TestLoginAndContexts: login checks the token at the hub before it saves
// anything, and saves it in a file only its owner may read; the client
// commands then call the current context's hub; `context use` switches
// hubs; flags and the environment come before the context, and a context's
// token never goes to another hub; no command prints a saved token.
func TestLoginAndContexts(t *testing.T) {
	t.Parallel()
	a, b := startHub(t, slacksim.Config{}), startHub(t, slacksim.Config{})
	a.createFromToken(t, "On hub A")
	b.createFromToken(t, "On hub B")
	dir := filepath.Join(t.TempDir(), "conf")
	file := filepath.Join(dir, "connhub", "cli.yaml")
	env := map[string]string{"XDG_CONFIG_HOME": dir} // neither CONNHUB_SERVER nor CONNHUB_TOKEN
	var printed strings.Builder
	run := func(env map[string]string, args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		printed.WriteString(out + errOut)
		return code, out, errOut
	}
	ok := func(env map[string]string, args ...string) string {
		t.Helper()
		code, out, errOut := run(env, args...)
		if code != 0 {
			t.Fatalf("connhub %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	names := func(env map[string]string, args ...string) string {
		t.Helper()
		return strings.TrimSpace(ok(env, append([]string{"instances", "list", "--jq", ".[].name"}, args...)...))
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range env {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	// A token the hub refuses is not saved.
	code, _, errOut := run(env, "login", "--server", a.url, "--token", "chub_notarealtokennotarealtokennotareal")
	if code != 1 || !strings.Contains(errOut, "refused the token") || !strings.Contains(errOut, "nothing was saved") {
		t.Errorf("login with a wrong token: exit %d, %q; want refused and nothing saved", code, errOut)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("after a refused login %s exists (%v); want no file", file, err)
	}

	// --token works, and warns.
	code, _, errOut = run(env, "login", "--server", a.url, "--context", "a", "--token", a.token)
	if code != 0 || !strings.Contains(errOut, "warning: --token leaves the token in your shell's history") {
		t.Fatalf("login --token: exit %d, %q; want a warning", code, errOut)
	}
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{file, 0o600}, {filepath.Dir(file), 0o700}} {
		if fi, err := os.Stat(p.path); err != nil || fi.Mode().Perm() != p.mode {
			t.Fatalf("%s: %v, %v; want mode %04o", p.path, fi, err, p.mode)
		}
	}
	if got := names(env); got != "On hub A" {
		t.Errorf("after login to A, instances list shows %q; want hub A's", got)
	}
	ok(env, "login", "--server", b.url, "--context", "b", "--token", b.token)
	if got := names(env); got != "On hub B" {
		t.Errorf("after login to B, instances list shows %q; want hub B's (the new context is current)", got)
	}
	if out := ok(env, "context", "use", "a"); !strings.Contains(out, a.url) {
		t.Errorf("context use a printed %q", out)
	}
	if got := names(env); got != "On hub A" {
		t.Errorf("after context use a, instances list shows %q; want hub A's", got)
	}
	if got := strings.Fields(ok(env, "context", "current")); !slices.Equal(got, []string{"a", a.url}) {
		t.Errorf("context current printed %q; want a and its server", got)
	}

	// Flags and the environment come before the current context.
	if got := names(env, "--context", "b"); got != "On hub B" {
		t.Errorf("--context b shows %q; want hub B's", got)
	}
	if got := names(with(map[string]string{"CONNHUB_SERVER": b.url, "CONNHUB_TOKEN": b.token})); got != "On hub B" {
		t.Errorf("CONNHUB_SERVER and CONNHUB_TOKEN of B, context a: %q; want hub B's", got)
	}
	if got := names(with(map[string]string{"CONNHUB_CONTEXT": "b"})); got != "On hub B" {
		t.Errorf("CONNHUB_CONTEXT=b shows %q; want hub B's", got)
	}
	// A's token is not sent to the hub that CONNHUB_SERVER names.
	code, _, errOut = run(with(map[string]string{"CONNHUB_SERVER": b.url}), "instances", "list")
	if code != 2 || !strings.Contains(errOut, "no API token") {
		t.Errorf("CONNHUB_SERVER of B with context a's token only: exit %d, %q; want no token (a's token stays with a)", code, errOut)
	}
	if code, _, errOut := run(env, "instances", "list", "--context", "c"); code != 2 || !strings.Contains(errOut, `--context "c"`) || !strings.Contains(errOut, "a, b") {
		t.Errorf("--context c: exit %d, %q; want no such context, naming a and b", code, errOut)
	}

	// context list: the servers and hints, never the tokens.
	var infos []struct {
		Name      string `json:"name"`
		Server    string `json:"server"`
		TokenHint string `json:"token_hint"`
		Current   bool   `json:"current"`
	}
	if err := json.Unmarshal([]byte(ok(env, "context", "list", "-o", "json")), &infos); err != nil || len(infos) != 2 ||
		infos[0].Name != "a" || infos[0].Server != a.url || !infos[0].Current || infos[1].Name != "b" || infos[1].Current ||
		!strings.HasPrefix(infos[0].TokenHint, "chub_") {
		t.Errorf("context list -o json: %+v (%v)", infos, err)
	}
	for _, format := range []string{"table", "jsonl", "csv", "yaml"} {
		ok(env, "context", "list", "-o", format)
	}

	// A file others may read is refused until it is private again.
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(env, "instances", "list"); code != 1 || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("with the config file mode 0644: exit %d, %q; want refused", code, errOut)
	}
	ok(env, "context", "use", "b")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("after context use, the config file is %v (%v); want 0600 again", fi, err)
	}

	// logout removes the current context; its hub is no longer called.
	if out := ok(env, "logout"); !strings.Contains(out, `removed context "b"`) || !strings.Contains(out, "tokens revoke") {
		t.Errorf("logout printed %q", out)
	}
	if code, _, errOut := run(env, "instances", "list"); code != 2 || !strings.Contains(errOut, "connhub login") {
		t.Errorf("after logout: exit %d, %q; want no token, pointing at connhub login", code, errOut)
	}
	ok(env, "context", "delete", "a")
	if out := ok(env, "context", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("after removing both, context list printed %q", out)
	}

	data, _ := os.ReadFile(file)
	for _, tok := range []string{a.token, b.token} {
		if strings.Contains(printed.String(), tok) {
			t.Errorf("a command printed the token %s…", tok[:9])
		}
		if strings.Contains(string(data), tok) {
			t.Errorf("the config file still holds a token after logout and context delete")
		}
	}
}

// TestLoginTokenStdin: login reads the token from stdin with --token-stdin,
// and without a token nor a terminal says how to give one. Not parallel: it
// sets the prompts' stdin.
func TestLoginTokenStdin(t *testing.T) {
	h := startHub(t, slacksim.Config{})
	file := filepath.Join(t.TempDir(), "cli.yaml")
	env := map[string]string{"CONNHUB_CLI_CONFIG": file}

	if code, _, errOut := runCLI(t, env, "login", "--server", h.url); code != 2 || !strings.Contains(errOut, "--token-stdin") {
		t.Errorf("login without a token or a terminal: exit %d, %q", code, errOut)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.SetStdin(r)()
	go func() {
		w.WriteString(h.token + "\n")
		w.Close()
	}()
	code, out, errOut := runCLI(t, env, "login", "--server", h.url, "--token-stdin")
	if code != 0 || !strings.Contains(out, "logged in to "+h.url+" as admin@") || strings.Contains(out+errOut, h.token) {
		t.Fatalf("login --token-stdin: exit %d, printed %q and %q", code, out, errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", file, fi, err)
	}
	if code, _, errOut := runCLI(t, env, "apps", "list"); code != 0 {
		t.Errorf("apps list with the saved context: exit %d, %q", code, errOut)
	}
}
