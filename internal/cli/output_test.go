package cli_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// TestOutputFormats: every list command prints in each of table, json,
// jsonl, csv and yaml, and what it prints parses as that format and holds
// the same objects as the JSON; a single object prints as table, json or
// yaml and refuses the list formats; an unknown format is one line and
// exit 2.
func TestOutputFormats(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Formats", "--tag", "a", "--tag", "b")
	h.cliOK(t, "instances", "update", id, "--set", "region=eu")
	h.cliOK(t, "credentials", "create", "--name", "cpi", "--instance", id)
	h.cliOK(t, "sync", "run", id, "--streams", "users", "--poll-interval", "20ms")
	env := h.env(map[string]string{"CONNHUB_CLI_CONFIG": filepath.Join(t.TempDir(), "cli.yaml")})
	if code, _, errOut := runCLI(t, env, "login", "--token", h.token); code != 0 {
		t.Fatalf("login: exit %d: %s", code, errOut)
	}

	for _, args := range [][]string{
		{"instances", "list"}, {"apps", "list"}, {"credentials", "list"}, {"streams"}, {"sync", "list", id},
		{"records", id, "users", "--limit", "5"}, {"orgs", "list"}, {"users", "list"}, {"tokens", "list"}, {"audit", "list"},
		{"context", "list"},
	} {
		name := strings.Join(args, " ")
		out := map[string]string{}
		for _, format := range []string{"table", "json", "jsonl", "csv", "yaml"} {
			code, stdout, stderr := runCLI(t, env, append(args, "-o", format)...)
			if code != 0 {
				t.Fatalf("%s -o %s: exit %d: %s", name, format, code, stderr)
			}
			out[format] = stdout
		}
		var want []any
		if err := json.Unmarshal([]byte(out["json"]), &want); err != nil || len(want) == 0 {
			t.Fatalf("%s -o json printed what is not a JSON list of something (%v):\n%s", name, err, out["json"])
		}

		header, _, _ := strings.Cut(out["table"], "\n")
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_. ]+$`).MatchString(strings.TrimSpace(header)) || strings.Count(out["table"], "\n") != len(want)+1 {
			t.Errorf("%s -o table printed:\n%s\nwant a header and %d rows", name, out["table"], len(want))
		}

		var lines []any
		sc := bufio.NewScanner(strings.NewReader(out["jsonl"]))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var v any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Errorf("%s -o jsonl printed a line that is not JSON (%v): %s", name, err, sc.Text())
			}
			lines = append(lines, v)
		}
		if !reflect.DeepEqual(lines, want) {
			t.Errorf("%s -o jsonl holds %d objects that differ from -o json's %d", name, len(lines), len(want))
		}

		rows, err := csv.NewReader(strings.NewReader(out["csv"])).ReadAll()
		if err != nil || len(rows) != len(want)+1 {
			t.Errorf("%s -o csv: %d rows (%v); want a header and %d:\n%s", name, len(rows), err, len(want), out["csv"])
		} else if first := firstKey(t, out["jsonl"]); rows[0][0] != first {
			t.Errorf("%s -o csv: the first column is %q; want the objects' first field, %q", name, rows[0][0], first)
		}

		var fromYAML any
		if !strings.HasPrefix(out["yaml"], "- ") {
			t.Errorf("%s -o yaml printed what is not a YAML block list (JSON is YAML too):\n%s", name, out["yaml"])
		}
		if err := yaml.Unmarshal([]byte(out["yaml"]), &fromYAML); err != nil {
			t.Errorf("%s -o yaml printed what is not YAML (%v):\n%s", name, err, out["yaml"])
		} else if got := viaJSON(t, fromYAML); !reflect.DeepEqual(got, viaJSON(t, want)) {
			t.Errorf("%s -o yaml holds other data than -o json:\n%s", name, out["yaml"])
		}

		code, stdout, stderr := runCLI(t, env, append(args, "-o", "xml")...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "want table, json, jsonl, csv or yaml") {
			t.Errorf("%s -o xml: exit %d, printed %q and %q; want exit 2 and one line naming the formats", name, code, stdout, stderr)
		}
	}

	// A CSV spreads an object's fields into columns, and cells that a
	// spreadsheet would run as formulas go through safecsv.
	h.cliOK(t, "instances", "update", id, "--name", "=HYPERLINK(\"http://evil\")")
	rows, err := csv.NewReader(strings.NewReader(h.cliOK(t, "instances", "list", "-o", "csv"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("instances list -o csv: %v, %q", err, rows)
	}
	cell := func(col string) string {
		if i := slices.Index(rows[0], col); i >= 0 {
			return rows[1][i]
		}
		return "(no column " + col + ")"
	}
	if cell("name") != `'=HYPERLINK("http://evil")` || cell("settings.region") != "eu" || cell("tags") != `["a","b"]` {
		t.Errorf("instances list -o csv: name %q, settings.region %q, tags %q; want the name quoted, eu, and the tags as JSON", cell("name"), cell("settings.region"), cell("tags"))
	}

	// One object: table, json or yaml.
	var in map[string]any
	if err := yaml.Unmarshal([]byte(h.cliOK(t, "instances", "get", id, "-o", "yaml")), &in); err != nil || in["id"] != id || in["status"] != connhub.StatusActive {
		t.Errorf("instances get -o yaml: %v, %v; want the instance", err, in)
	}
	for _, format := range []string{"jsonl", "csv"} {
		if code, _, stderr := h.cli(t, "instances", "get", id, "-o", format); code != 2 || !strings.Contains(stderr, "want table, json or yaml") {
			t.Errorf("instances get -o %s: exit %d, %q; want exit 2 naming table, json or yaml", format, code, stderr)
		}
	}
	if code, _, stderr := h.cli(t, "export", id, "users", "-o", "users.csv"); code != 2 || !strings.Contains(stderr, "--file names a file") {
		t.Errorf("export -o users.csv: exit %d, %q; want exit 2 pointing at --file", code, stderr)
	}
}

// TestJQ: --jq filters the JSON as jq does; a string prints as its text; an
// expression that does not parse, or fails on the data, is one line and a
// non-zero exit.
func TestJQ(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	a, b := h.createFromToken(t, "Alpha"), h.createFromToken(t, "Beta")

	got := strings.Fields(h.cliOK(t, "instances", "list", "--jq", ".[].id"))
	if slices.Sort(got); !slices.Equal(got, sorted(a, b)) {
		t.Errorf("instances list --jq '.[].id' printed %q; want %s and %s", got, a, b)
	}
	if got := h.cliOK(t, "instances", "get", a, "--jq", "{name, status}"); got != `{"name":"Alpha","status":"active"}`+"\n" {
		t.Errorf("instances get --jq '{name, status}' printed %q", got)
	}
	if got := h.cliOK(t, "instances", "list", "--jq", `map(select(.name == "Beta")) | length`, "-o", "json"); got != "1\n" {
		t.Errorf("instances list --jq 'map(select(…)) | length' printed %q; want 1", got)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"instances", "list", "--jq", ".[] | {"}, 2, `--jq ".[] | {"`},
		{[]string{"instances", "list", "--jq", ".name"}, 1, "--jq"},
		{[]string{"instances", "list", "--jq", ".[].id", "-o", "yaml"}, 2, "--jq filters JSON"},
	} {
		code, stdout, stderr := h.cli(t, tc.args...)
		if code != tc.code || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.says) {
			t.Errorf("connhub %s: exit %d, printed %q and %q; want exit %d and one line saying %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.says)
		}
	}
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// firstKey is the first field of the first object of JSON lines.
func firstKey(t *testing.T, jsonl string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(jsonl))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	tok, _ := dec.Token()
	s, _ := tok.(string)
	return s
}

// viaJSON is v as encoding/json reads it back, so that YAML's numbers and
// JSON's compare.
func viaJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
