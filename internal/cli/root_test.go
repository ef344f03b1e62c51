package cli_test

import (
	"strings"
	"testing"
)

// TestCommandLineMistakes: a mistyped command, subcommand or flag is one
// readable line that names the right command path and what was meant, and
// exits 2; `connhub version` prints the version.
func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"instancs", "list"}, []string{`unknown command "instancs" for "connhub"`, "did you mean instances?"}},
		{[]string{"instances", "lst"}, []string{`unknown command "lst" for "connhub instances"`, "list", "'connhub instances --help'"}},
		{[]string{"keys", "frob"}, []string{`unknown command "frob" for "connhub keys"`}},
		{[]string{"instances", "list", "--bogus"}, []string{"unknown flag: --bogus", "'connhub instances list --help'"}},
		{[]string{"streams", "extra"}, []string{"takes no arguments", "'connhub streams --help'"}},
	} {
		code, out, errOut := run(t, nil, tc.args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("connhub %s: exit %d, printed %q and %q; want exit 2 and one line", strings.Join(tc.args, " "), code, out, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("connhub %s said %q; want %q in it", strings.Join(tc.args, " "), errOut, w)
			}
		}
	}
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "connhub ") {
		t.Errorf("connhub version: exit %d, %q", code, out)
	}
}
