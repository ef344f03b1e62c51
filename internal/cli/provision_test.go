package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// Provisioning from a directory file, as an identity team at a terminal: a
// file with problems is refused row by row, a plan over the brake in one
// line, a good file is planned as a diff, applied by its plan ID alone and
// followed to success, and its run and outcomes are listed; a change Slack
// refuses fails the run, which says which change and why.
func TestProvisionCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	out := h.cliOK(t, "instances", "create", "--name", "Directory")
	m := createdLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("instances create printed %q", out)
	}
	allow(t, authorizeLine.FindStringSubmatch(out)[1])
	id := m[1]
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	code, out, errOut := h.cli(t, "provision", "plan", id, "--from", write("bad.csv", "userName,email,shoe_size\nada,not-an-email,42\n"))
	if code == 0 || !strings.Contains(errOut, "invalid_file") || !regexp.MustCompile(`(?m)^row 1: shoe_size: unknown column`).MatchString(errOut) ||
		!regexp.MustCompile(`(?m)^row 2: email: `).MatchString(errOut) || out != "" {
		t.Errorf("a file with problems: exit %d\nstderr: %s\nstdout: %s\nwant non-zero and each problem on a line with its row and column", code, errOut, out)
	}

	made := h.cliOK(t, "scim", "users", "create", id, "--user-name", "ada.lovelace", "--email", "ada@acme.example", "--title", "Analyst")
	if !strings.Contains(made, "made ada.lovelace") {
		t.Fatalf("scim users create printed %q", made)
	}
	code, _, errOut = h.cli(t, "provision", "plan", id, "--from", write("one.csv", "userName,email\nada.lovelace,ada@acme.example\n"), "--deactivate-missing")
	if code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "(brake") || !strings.Contains(errOut, "--force") {
		t.Errorf("a plan over the brake: exit %d, %q; want non-zero, one line naming the brake and --force", code, errOut)
	}

	people := write("people.csv", "userName,email,title,groups\n"+
		"ada.lovelace,ada@acme.example,Countess,Analysts\n"+
		"grace.hopper,grace@acme.example,Rear Admiral,Analysts\n"+
		"alan.turing,alan@acme.example,Fellow,\n")
	plan := h.cliOK(t, "provision", "plan", id, "--from", people)
	for _, want := range []string{`(?m)^\+ \[\d\] create grace@acme\.example \(row 3\)$`, `(?m)^~ \[\d\] update ada@acme\.example  U\w+ \(row 2\)$`,
		`(?m)^ +title: +"Analyst" → "Countess"$`, `(?m)^\+ \[\d\] create group "Analysts"$`,
		`(?m)^Plan: 2 to create, 1 to update, 0 to reactivate, 0 to deactivate; groups: 1 to create`, "(?m)^Apply it with `connhub provision apply pln_\\w+`$"} {
		if !regexp.MustCompile(want).MatchString(plan) {
			t.Errorf("the plan does not match %s:\n%s", want, plan)
		}
	}
	planID := regexp.MustCompile(`provision apply (pln_\w+)`).FindStringSubmatch(plan)[1]
	if plans := h.cliOK(t, "provision", "plans", id); !regexp.MustCompile(`(?m)^` + planID + ` +\S+ \S+ +4 +2 +1 +0 +0 +1 +0 +-$`).MatchString(plans) {
		t.Errorf("provision plans does not list the plan, unapplied:\n%s", plans)
	}

	applied := h.cliOK(t, "provision", "apply", planID, "--poll-interval", "20ms")
	run := regexp.MustCompile(`(?m)^connhub: run (\w+) succeeded in \S+: 4/4 changes: 4 done, 0 failed, 0 skipped$`).FindStringSubmatch(applied)
	if run == nil || strings.Contains(applied, "\x1b[") {
		t.Fatalf("provision apply printed:\n%s\nwant plain lines ending in the run's success", applied)
	}
	if runs := h.cliOK(t, "provision", "runs", id); !regexp.MustCompile(`(?m)^` + run[1] + ` +` + planID + ` +succeeded +4 +4 +0 +0 `).MatchString(runs) {
		t.Errorf("provision runs:\n%s", runs)
	}
	shown := h.cliOK(t, "provision", "run", id, run[1])
	for _, want := range []string{`(?m)^Progress: +4/4 changes: 4 done, 0 failed, 0 skipped$`, `(?m)^\[\d\] +create +grace@acme\.example +done +U\w+ +201 +1 `,
		`(?m)^\[\d\] +group_create +Analysts +done +S\w+ `} {
		if !regexp.MustCompile(want).MatchString(shown) {
			t.Errorf("provision run does not match %s:\n%s", want, shown)
		}
	}
	got := cliJSON[connhub.ProvisioningRun](t, h, "provision", "run", id, run[1], "--limit", "2")
	if got.Status != connhub.RunSucceeded || len(got.Outcomes) != 2 || got.OutcomesAfter != 2 {
		t.Errorf("provision run --limit 2 -o json: %+v; want 2 outcomes and where the next page starts", got)
	}
	if code, _, errOut := h.cli(t, "provision", "apply", planID); code == 0 || !strings.Contains(errOut, "plan_applied") || !strings.Contains(errOut, run[1]) {
		t.Errorf("applying a plan twice: exit %d, %q; want non-zero naming its run", code, errOut)
	}
	if code, _, errOut := h.cli(t, "provision", "resume", id, run[1]); code == 0 || !strings.Contains(errOut, "run_not_stopped") {
		t.Errorf("resuming a run that succeeded: exit %d, %q", code, errOut)
	}
	if again := h.cliOK(t, "provision", "plan", id, "--from", people); !strings.Contains(again, "Slack already matches the file") {
		t.Errorf("the same file planned again:\n%s", again)
	}

	// A create Slack refuses: the email was taken at Slack since the plan.
	late := h.cliOK(t, "provision", "plan", id, "--from", write("late.csv", "userName,email\nkatherine.johnson,katherine@acme.example\n"))
	lateID := regexp.MustCompile(`provision apply (pln_\w+)`).FindStringSubmatch(late)[1]
	h.cliOK(t, "scim", "users", "create", id, "--user-name", "kj", "--email", "katherine@acme.example")
	code, out, errOut = h.cli(t, "provision", "apply", lateID, "--poll-interval", "20ms")
	if code == 0 || !regexp.MustCompile(`(?m)^connhub: run \w+ failed in \S+: 1/1 changes: 0 done, 1 failed, 0 skipped$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\[1\] +create +katherine@acme\.example +failed +- +409 `).MatchString(out) || !strings.Contains(errOut, "provision resume "+id) {
		t.Errorf("a run with a change Slack refuses: exit %d\nstdout: %s\nstderr: %s\nwant non-zero, the failed change listed, and how to resume", code, out, errOut)
	}

	// --no-wait starts it and says how to follow it.
	h.cliOK(t, "scim", "users", "create", id, "--user-name", "dorothy.vaughan", "--email", "dorothy@acme.example")
	quiet := h.cliOK(t, "provision", "plan", id, "--from", write("title.csv", "userName,email,title\ndorothy.vaughan,dorothy@acme.example,Supervisor\n"))
	quietID := regexp.MustCompile(`provision apply (pln_\w+)`).FindStringSubmatch(quiet)[1]
	started := h.cliOK(t, "provision", "apply", quietID, "--no-wait")
	follow := regexp.MustCompile("Follow it with `connhub provision run " + id + ` (\w+) --watch` + "`").FindStringSubmatch(started)
	if follow == nil {
		t.Fatalf("provision apply --no-wait printed %q", started)
	}
	if watched := h.cliOK(t, "provision", "run", id, follow[1], "--watch", "--poll-interval", "20ms"); !strings.Contains(watched, "succeeded") {
		t.Errorf("provision run --watch printed:\n%s", watched)
	}
}
