package cli_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// fault makes the sandbox misbehave for a method (POST /_sandbox/faults).
func (h *testHub) fault(t *testing.T, f slacksim.Fault) {
	t.Helper()
	b, _ := json.Marshal(f)
	resp, err := http.Post(h.sbURL+"/_sandbox/faults", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST /_sandbox/faults %s: HTTP %d", b, resp.StatusCode)
	}
}

// oneLine wants what a failed command printed to be one line saying all of says.
func oneLine(t *testing.T, what, stderr string, says ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "connhub: ") {
		t.Errorf("%s printed %q; want one line", what, stderr)
	}
	for _, s := range says {
		if !strings.Contains(stderr, s) {
			t.Errorf("%s printed %q; want it to say %q", what, stderr, s)
		}
	}
}

// TestSyncAndRecordsCommands runs a real sync of the sandbox's users with
// `connhub sync run`, printing plain lines (stdout is not a terminal), then
// reads the records with `connhub records` and `connhub export`.
func TestSyncAndRecordsCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Synced")

	if out := h.cliOK(t, "streams"); !regexp.MustCompile(`(?m)^users +users\.list +users:read +full +yes$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^channel_members +conversations\.members +.* full \(over channels\) +yes$`).MatchString(out) {
		t.Errorf("streams printed:\n%s\nwant a row for users and one for channel_members", out)
	}

	// users.list answers after 2.5s, so that the run is seen running: the
	// hub saves a run's progress every second.
	h.fault(t, slacksim.Fault{Method: "users.list", LatencyMS: 2500, Count: 1})
	code, out, errOut := h.cli(t, "sync", "run", id, "--streams", "users", "--poll-interval", "20ms", "--summary-every", "200ms")
	if code != 0 {
		t.Fatalf("sync run: exit %d: %s\n%s", code, errOut, out)
	}
	runID := regexp.MustCompile(`started sync (\S+) of instance`).FindStringSubmatch(out)
	if runID == nil {
		t.Fatalf("sync run printed:\n%s\nwant the sync's ID", out)
	}
	for _, want := range []string{
		`(?m)^sync ` + runID[1] + `: running$`,
		`(?m)^users: running, \d+ records?, \d+ calls?`,
		`(?m)^sync ` + runID[1] + `: running, 0/1 streams finished; running: users \d+ records; \d+ records, \d+ calls? so far`,
		`(?m)^users: done, (3\d) records, 1 call, took \d`,
		`(?m)^STREAM +STATE +RECORDS +NEW +DELETED +CALLS +RETRIES +WAITED +TOOK +NOTE$`,
		`(?m)^users +done +3\d +3\d +0 +1 +0 +`,
		`(?m)^connhub: sync ` + runID[1] + ` succeeded in \S+: 3\d records, 1 call$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("sync run printed:\n%s\nwant a line matching %s", out, want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("sync run printed an escape code to what is not a terminal:\n%q", out)
	}

	if out := h.cliOK(t, "sync", "status", id); !regexp.MustCompile(`(?m)^Sync: +`+runID[1]+`$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Status: +succeeded$`).MatchString(out) || !regexp.MustCompile(`(?m)^users +done +3\d`).MatchString(out) {
		t.Errorf("sync status (the latest) printed:\n%s", out)
	}
	if out := h.cliOK(t, "sync", "status", id, runID[1], "--watch"); !strings.Contains(out, "succeeded") {
		t.Errorf("sync status --watch of a finished sync printed:\n%s", out)
	}
	if out := h.cliOK(t, "sync", "list", id); !regexp.MustCompile(`(?m)^` + runID[1] + ` +succeeded +manual +1 +3\d +1 `).MatchString(out) {
		t.Errorf("sync list printed:\n%s", out)
	}
	runs := cliJSON[[]connhub.SyncRun](t, h, "sync", "list", id)
	if len(runs) != 1 || runs[0].ID != runID[1] {
		t.Errorf("sync list -o json: %+v", runs)
	}
	records := runs[0].Progress["users"].Records

	for _, tc := range []struct {
		args []string
		says []string
	}{
		{[]string{"sync", "cancel", id, runID[1]}, []string{"sync_finished"}},
		{[]string{"sync", "resume", id, runID[1]}, []string{"sync_finished"}},
		{[]string{"sync", "run", id, "--streams", "nope"}, []string{"unknown_stream", "users"}},
		{[]string{"sync", "status", id, "run_nosuchrun"}, []string{"not_found"}},
		{[]string{"records", id, "users", "--where", "is_bot = = true"}, []string{"invalid_where", `near "= true"`}},
		{[]string{"records", id, "users", "--fields", "name,nope"}, []string{"unknown_field", "is_bot"}},
		{[]string{"records", id, "nope"}, []string{"unknown_stream"}},
		{[]string{"export", id, "users", "--where", "(("}, []string{"invalid_where"}},
		{[]string{"records", id, "licenses", "--where", "billable = 'true'"}, []string{"invalid_where", "billable is a boolean", "true or false"}},
		{[]string{"records", id, "licenses", "--where", "days_inactive > '30'"}, []string{"invalid_where", "a number such as 30"}},
	} {
		code, _, errOut := h.cli(t, tc.args...)
		if code != 1 {
			t.Errorf("connhub %s: exit %d; want 1", strings.Join(tc.args, " "), code)
		}
		oneLine(t, "connhub "+strings.Join(tc.args, " "), errOut, tc.says...)
	}

	// The bots, in a table of the fields asked for.
	bots := cliJSON[[]connhub.Record](t, h, "records", id, "users", "--where", "is_bot = true", "--limit", "0")
	out = h.cliOK(t, "records", id, "users", "--where", "is_bot = true", "--fields", "name,is_bot", "--order-by", "name desc")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(bots) == 0 || len(lines) != len(bots)+1 || !regexp.MustCompile(`^KEY +NAME +IS_BOT$`).MatchString(lines[0]) {
		t.Fatalf("records --where 'is_bot = true' printed:\n%s\nwant a header and the %d bots", out, len(bots))
	}
	for _, l := range lines[1:] {
		if !strings.HasSuffix(l, " true") {
			t.Errorf("records --where 'is_bot = true' printed a row %q that is not a bot", l)
		}
	}
	// Parts of objects, and the record's own fields.
	out = h.cliOK(t, "records", id, "users", "--fields", "name,profile.first_name,_last_seen_at", "--limit", "1", "--where", "is_bot = false")
	if !regexp.MustCompile(`^KEY +NAME +PROFILE\.FIRST_NAME +_LAST_SEEN_AT\n\S+ +\S+ +[A-Z]\w+ +20\d\d-\d\d-\d\dT`).MatchString(out) {
		t.Errorf("records --fields name,profile.first_name,_last_seen_at printed:\n%s", out)
	}
	// A few columns by default; the first five records, and a note that
	// more match.
	code, out, errOut = h.cli(t, "records", id, "users", "--limit", "5", "--page-size", "2")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 6 || !regexp.MustCompile(`^KEY +TEAM_ID +NAME +DELETED +COLOR +REAL_NAME$`).MatchString(lines[0]) ||
		!strings.Contains(errOut, "stopped at --limit 5") {
		t.Errorf("records --limit 5: exit %d, printed:\n%s%s", code, out, errOut)
	}
	code, out, _ = h.cli(t, "records", id, "users", "-o", "jsonl", "--limit", "3")
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var rec connhub.Record
		if err := decodeStrict(sc.Text(), &rec); err != nil || rec.Key == "" {
			t.Errorf("records -o jsonl printed a line %q: %v", sc.Text(), err)
		}
		n++
	}
	if code != 0 || n != 3 {
		t.Errorf("records -o jsonl --limit 3: exit %d, %d lines", code, n)
	}

	// The whole stream to a file, declared complete by the hub.
	dir := t.TempDir()
	file := filepath.Join(dir, "users.jsonl")
	out = h.cliOK(t, "export", id, "users", "--file", file)
	if want := fmt.Sprintf("connhub: exported %d records of users to %s\n", records, file); out != want {
		t.Errorf("export --file printed %q; want %q", out, want)
	}
	data, err := os.ReadFile(file)
	if err != nil || int64(strings.Count(string(data), "\n")) != records {
		t.Errorf("the export file holds %d lines (%v); want %d", strings.Count(string(data), "\n"), err, records)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the export left %d files in its folder; want only the export", len(entries))
	}
	out = h.cliOK(t, "export", id, "users", "-o", "csv", "--where", "is_bot = true", "--fields", "name")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != len(bots)+1 || strings.Join(rows[0], ",") != "_key,_team_id,name,_deleted_at" {
		t.Errorf("export -o csv printed:\n%s\nwant a header and the %d bots (%v)", out, len(bots), err)
	}
	if code, _, errOut := h.cli(t, "export", id, "users", "--format", "xml"); code != 2 || !strings.Contains(errOut, "want jsonl or csv") {
		t.Errorf("export --format xml: exit %d, %q; want a usage error", code, errOut)
	}

	// A second sync: sync list --limit shows the newest that many, 0 every one.
	out = h.cliOK(t, "sync", "run", id, "--streams", "team", "--poll-interval", "20ms")
	second := regexp.MustCompile(`started sync (\S+) of instance`).FindStringSubmatch(out)
	if second == nil {
		t.Fatalf("sync run printed:\n%s\nwant the sync's ID", out)
	}
	if runs := cliJSON[[]connhub.SyncRun](t, h, "sync", "list", id, "--limit", "1"); len(runs) != 1 || runs[0].ID != second[1] {
		t.Errorf("sync list --limit 1: %d runs, want the newest, %s", len(runs), second[1])
	}
	if runs := cliJSON[[]connhub.SyncRun](t, h, "sync", "list", id, "--limit", "0"); len(runs) != 2 || runs[0].ID != second[1] || runs[1].ID != runID[1] {
		t.Errorf("sync list --limit 0: %d runs, want %s then %s", len(runs), second[1], runID[1])
	}
	if code, _, errOut := h.cli(t, "sync", "list", id, "--limit", "-1"); code != 2 || !strings.Contains(errOut, "--limit -1") {
		t.Errorf("sync list --limit -1: exit %d, %q; want a usage error", code, errOut)
	}
}

// TestTruncatedExport: a hub whose export breaks off (here a server that
// answers without the trailer that declares an export complete) makes
// `connhub export` say so in one line and exit 1, and leaves no file.
func TestTruncatedExport(t *testing.T) {
	t.Parallel()
	for _, cut := range []bool{false, true} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", connhub.ExportRecordsTrailer)
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("X-Request-Id", "req_42")
			io.WriteString(w, `{"key":"U1","data":{}}`+"\n"+`{"key":"U2","data":{}}`+"\n")
			if cut {
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
		}))
		t.Cleanup(ts.Close)
		env := map[string]string{"CONNHUB_SERVER": ts.URL, "CONNHUB_TOKEN": "chub_x"}
		code, out, errOut := runCLI(t, env, "export", "ins_1", "users")
		if code != 1 || !strings.Contains(out, `"U1"`) {
			t.Errorf("a truncated export to stdout: exit %d, printed %q; want exit 1 after what arrived", code, out)
		}
		says := []string{"the export of users is truncated", "what was written to stdout is incomplete", "request req_42"}
		if !cut {
			says = append(says, "no Connhub-Export-Records trailer", "after 2 records")
		}
		oneLine(t, "a truncated export", errOut, says...)

		dir := t.TempDir()
		file := filepath.Join(dir, "users.jsonl")
		code, _, errOut = runCLI(t, env, "export", "ins_1", "users", "--file", file)
		oneLine(t, "a truncated export to a file", errOut, "truncated", file+" was not written")
		if entries, _ := os.ReadDir(dir); code != 1 || len(entries) != 0 {
			t.Errorf("a truncated export to a file: exit %d, left %d files; want exit 1 and none", code, len(entries))
		}
	}
}

// TestFollowAndDetach: Ctrl-C while `sync run` follows leaves the sync
// running at the hub, and says how to follow it again; a sync that fails
// makes the command exit 1 saying why, and resumes.
func TestFollowAndDetach(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Followed")
	env := h.env(nil)

	h.fault(t, slacksim.Fault{Method: "users.list", LatencyMS: 2000, Count: 1})
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.ExecuteEnv(ctx, []string{"sync", "run", id, "--streams", "users", "--poll-interval", "20ms"}, stdout, stderr,
			func(k string) string { return env[k] })
	}()
	waitFor(t, stdout, regexpOf(`(?m)^users: running`))
	runID := waitFor(t, stdout, regexpOf(`started sync (\S+) of instance`))
	interrupt() // Ctrl-C
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("sync run after Ctrl-C: exit %d; want 1", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sync run did not stop following within 30s of Ctrl-C")
	}
	oneLine(t, "sync run after Ctrl-C", stderr.String(), "sync "+runID+" keeps running at the hub",
		"`connhub sync status "+id+" "+runID+" --watch`")
	if out := h.cliOK(t, "sync", "status", id, runID, "--watch", "--poll-interval", "20ms"); !strings.Contains(out, "sync "+runID+" succeeded") {
		t.Errorf("sync status --watch after the detach printed:\n%s\nwant it to follow the sync to its success", out)
	}

	// A sync whose stream fails ends the command with exit 1.
	h.fault(t, slacksim.Fault{Method: "users.list", Error: "fatal_error"})
	code, out, errOut := h.cli(t, "sync", "run", id, "--streams", "users", "--poll-interval", "20ms")
	if code != 1 || !regexp.MustCompile(`(?m)^users: failed: .*fatal_error`).MatchString(out) || !regexp.MustCompile(`(?m)^users +failed `).MatchString(out) {
		t.Errorf("a failing sync: exit %d, printed:\n%s", code, out)
	}
	oneLine(t, "a failing sync", errOut, " failed", "connhub sync resume "+id)
	failed := regexpOf(`sync (\S+) failed`).FindStringSubmatch(errOut)
	if failed == nil {
		t.Fatal("no failed sync ID")
	}
	req, _ := http.NewRequest(http.MethodDelete, h.sbURL+"/_sandbox/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if out := h.cliOK(t, "sync", "resume", id, failed[1]); !strings.Contains(out, "queued again") {
		t.Errorf("sync resume printed %q", out)
	}
	if code, out, errOut := h.cli(t, "sync", "status", id, failed[1], "--watch", "--poll-interval", "20ms"); code != 0 || !strings.Contains(out, "succeeded") {
		t.Errorf("sync status --watch of the resumed sync: exit %d:\n%s%s", code, out, errOut)
	}
}

// TestScheduleCommands sets, shows, disables and deletes a sync schedule.
func TestScheduleCommands(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Scheduled")
	code, _, errOut := h.cli(t, "sync", "schedule", id)
	if code != 1 {
		t.Errorf("sync schedule with none: exit %d", code)
	}
	oneLine(t, "sync schedule with none", errOut, "no sync schedule", "--every 24h")

	out := h.cliOK(t, "sync", "schedule", id, "--every", "6h", "--streams", "users,channels")
	for _, want := range []string{`(?m)^Every: +6h$`, `(?m)^Streams: +users,channels$`, `(?m)^Enabled: +yes$`, `(?m)^Next run: +\S+ \(in (5h59m|6h0m)`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("sync schedule --every 6h printed:\n%s\nwant a line matching %s", out, want)
		}
	}
	out = h.cliOK(t, "sync", "schedule", id, "--disable")
	if !regexp.MustCompile(`(?m)^Every: +6h$`).MatchString(out) || !regexp.MustCompile(`(?m)^Enabled: +no$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^Streams: +users,channels$`).MatchString(out) {
		t.Errorf("sync schedule --disable printed:\n%s\nwant the schedule kept, disabled", out)
	}
	sc := cliJSON[connhub.Schedule](t, h, "sync", "schedule", id)
	if sc.Enabled || sc.Every != "6h0m0s" {
		t.Errorf("sync schedule -o json: %+v", sc)
	}
	for _, args := range [][]string{{"--every", "5m"}, {"--enable", "--disable"}, {"--delete", "--every", "1h"}} {
		if code, _, errOut := h.cli(t, append([]string{"sync", "schedule", id}, args...)...); code != 2 {
			t.Errorf("sync schedule %v: exit %d, %q; want a usage error", args, code, errOut)
		}
	}
	if out := h.cliOK(t, "sync", "schedule", id, "--delete"); !strings.Contains(out, "deleted the sync schedule") {
		t.Errorf("sync schedule --delete printed %q", out)
	}
	if code, _, _ := h.cli(t, "sync", "schedule", id); code != 1 {
		t.Errorf("sync schedule after the delete: exit %d; want 1", code)
	}
}

// TestASyncOfChannelsTheBotIsNotInSaysSo: every channel answering
// not_in_channel is a failed sync that says why and what to do, not "done,
// 0 records"; --join-public-channels has the bot join them and read them.
func TestASyncOfChannelsTheBotIsNotInSaysSo(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{Users: 30, Channels: 4})
	tok := h.issue(t, slacksim.TokenRequest{Scopes: []string{"channels:read", "channels:history", "channels:join"}, Rotation: new(false)})
	code, out, errOut := runCLI(t, h.env(map[string]string{"CONNHUB_SLACK_TOKEN": tok.AccessToken}), "instances", "create", "--name", "Outsider", "--token-from-env")
	m := createdLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("instances create --token-from-env: exit %d, printed %q, %q", code, out, errOut)
	}
	id := m[1]
	code, out, errOut = h.cli(t, "sync", "run", id, "--streams", "messages", "--poll-interval", "20ms")
	if code == 0 || !strings.Contains(errOut, "not_in_channel") || !strings.Contains(errOut, "join_public_channels") {
		t.Errorf("sync run --streams messages, the bot in no channel: exit %d\nstderr: %s\nstdout: %s\nwant a failure saying not_in_channel and what to do", code, errOut, out)
	}
	if strings.Contains(errOut, "sync resume") || !strings.Contains(errOut, "--join-public-channels") {
		t.Errorf("the failure suggests %q; want --join-public-channels, not a resume that asks Slack the same again", errOut)
	}
	if !strings.Contains(out, "Passed over:") {
		t.Errorf("the table does not say what was passed over:\n%s", out)
	}
	code, out, errOut = h.cli(t, "sync", "run", id, "--streams", "messages", "--join-public-channels", "--poll-interval", "20ms")
	if code != 0 || !regexp.MustCompile(`(?m)^connhub: sync \S+ succeeded`).MatchString(out) {
		t.Errorf("sync run --join-public-channels: exit %d\nstderr: %s\nstdout: %s\nwant it to succeed", code, errOut, out)
	}
}
