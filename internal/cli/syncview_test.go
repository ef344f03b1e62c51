package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/connhub/connhub/pkg/connhub"
)

// These test what the sync and records commands print from the hub's
// answers, without a hub; client_sync_test.go runs them against one.

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestNumbers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		got, want string
	}{
		{count(0), "0"}, {count(999), "999"}, {count(1000), "1,000"}, {count(1234567), "1,234,567"}, {count(-4321), "-4,321"},
		{plural(1, "call"), "1 call"}, {plural(0, "call"), "0 calls"}, {plural(2, "retry"), "2 retries"}, {plural(1200, "record"), "1,200 records"},
		{dur(0), "0s"}, {dur(300 * time.Microsecond), "<1ms"}, {dur(850 * time.Millisecond), "850ms"}, {dur(3240 * time.Millisecond), "3.2s"}, {dur(42 * time.Second), "42s"},
		{dur(83 * time.Second), "1m23s"}, {dur(2*time.Hour + 5*time.Minute + 10*time.Second), "2h05m"},
		{shortDuration(24 * time.Hour), "24h"}, {shortDuration(90 * time.Minute), "1h30m"}, {shortDuration(15 * time.Minute), "15m"},
		{shortDuration(time.Hour + 30*time.Second), "1h0m30s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestProgressAndETA(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		p           connhub.StreamProgress
		parent      string
		done, total int64
		unit        string
		eta         time.Duration
	}{
		{"fan-out counts parents passed over as walked", connhub.StreamProgress{State: connhub.StreamRunning, Parents: 30, Skipped: 10, ParentsTotal: 120, Records: 999, StartedAt: at(0)},
			"channels", 40, 120, "channels", 80 * time.Second},
		{"fan-out without the catalog", connhub.StreamProgress{State: connhub.StreamRunning, Parents: 60, ParentsTotal: 120, StartedAt: at(0)},
			"", 60, 120, "parents", 40 * time.Second},
		{"records toward the last run's", connhub.StreamProgress{State: connhub.StreamRunning, Records: 250, Estimate: 1000, StartedAt: at(0)},
			"", 250, 1000, "records", 120 * time.Second},
		{"past the estimate", connhub.StreamProgress{State: connhub.StreamRunning, Records: 1200, Estimate: 1000, StartedAt: at(0)},
			"", 1200, 1200, "records", 0},
		{"no estimate: no total, no ETA", connhub.StreamProgress{State: connhub.StreamRunning, Records: 50, StartedAt: at(0)}, "", 50, 0, "records", 0},
		{"nothing done yet: no ETA", connhub.StreamProgress{State: connhub.StreamRunning, Estimate: 10, StartedAt: at(0)}, "", 0, 10, "records", 0},
		{"done: no ETA", connhub.StreamProgress{State: connhub.StreamDone, Records: 5, Estimate: 10, StartedAt: at(0)}, "", 5, 10, "records", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, total, unit := progressOf(tc.p, tc.parent)
			if done != tc.done || total != tc.total || unit != tc.unit {
				t.Errorf("progressOf: %d/%d %s; want %d/%d %s", done, total, unit, tc.done, tc.total, tc.unit)
			}
			if got := eta(tc.p, tc.parent, t0.Add(40*time.Second)); got != tc.eta {
				t.Errorf("eta 40s in: %s; want %s", got, tc.eta)
			}
		})
	}
}

func TestStreamDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    connhub.StreamProgress
		want string
	}{
		{connhub.StreamProgress{State: connhub.StreamPending}, ""},
		{connhub.StreamProgress{State: connhub.StreamSkipped, Reason: "needs the scope admin"}, "needs the scope admin"},
		{connhub.StreamProgress{State: connhub.StreamFailed, Error: "slack: ratelimited"}, "slack: ratelimited"},
		{connhub.StreamProgress{State: connhub.StreamRunning, Parents: 30, Skipped: 10, ParentsTotal: 120, Records: 3456, Calls: 41, WaitedMS: 1500, StartedAt: at(0)},
			"40/120 channels, 3,456 records, 41 calls, 10 passed over, waited 1.5s, ETA 1m20s"},
		{connhub.StreamProgress{State: connhub.StreamRunning, Records: 1234, Estimate: 2000, Calls: 13, Retries: 1, StartedAt: at(0)},
			"1,234/2,000 records, 13 calls, 1 retry, ETA 25s"},
		{connhub.StreamProgress{State: connhub.StreamRunning, Records: 7, Calls: 1, StartedAt: at(0)}, "7 records, 1 call"},
		{connhub.StreamProgress{State: connhub.StreamDone, Records: 30, Inserted: 30, Calls: 2, StartedAt: at(0), FinishedAt: at(1200 * time.Millisecond)},
			"30 records, 2 calls, took 1.2s"},
		{connhub.StreamProgress{State: connhub.StreamDone, Records: 90, Parents: 12, ParentsTotal: 12, Calls: 12, WaitedMS: 61000, StartedAt: at(0), FinishedAt: at(70 * time.Second)},
			"90 records, 12 channels, 12 calls, waited 1m01s, took 1m10s"},
	} {
		if got := streamDetail(tc.p, "channels", t0.Add(40*time.Second)); got != tc.want {
			t.Errorf("streamDetail(%+v):\n got %q\nwant %q", tc.p, got, tc.want)
		}
	}
}

// snapshots is a run as the hub reports it at a few polls.
func snapshots() []connhub.SyncRun {
	names := []string{"team", "users", "channels", "channel_members", "access_logs"}
	snap := func(status string, d time.Duration, progress map[string]connhub.StreamProgress) connhub.SyncRun {
		for _, n := range names {
			if _, ok := progress[n]; !ok {
				progress[n] = connhub.StreamProgress{State: connhub.StreamPending}
			}
		}
		return connhub.SyncRun{ID: "run_1", InstanceID: "ins_1", Status: status, Streams: names, Progress: progress,
			CreatedAt: t0, StartedAt: at(0), UpdatedAt: t0.Add(d)}
	}
	return []connhub.SyncRun{
		snap(connhub.RunQueued, 0, map[string]connhub.StreamProgress{}),
		snap(connhub.RunRunning, 2*time.Second, map[string]connhub.StreamProgress{
			"team":        {State: connhub.StreamDone, Records: 1, Inserted: 1, Calls: 1, StartedAt: at(0), FinishedAt: at(time.Second)},
			"users":       {State: connhub.StreamRunning, Records: 100, Estimate: 400, Calls: 1, StartedAt: at(0)},
			"channels":    {State: connhub.StreamRunning, Records: 10, Calls: 1, StartedAt: at(0)},
			"access_logs": {State: connhub.StreamSkipped, Reason: "the workspace's plan (free) has no access logs"},
		}),
		snap(connhub.RunRunning, 4*time.Second, map[string]connhub.StreamProgress{
			"team":            {State: connhub.StreamDone, Records: 1, Inserted: 1, Calls: 1, StartedAt: at(0), FinishedAt: at(time.Second)},
			"users":           {State: connhub.StreamRunning, Records: 200, Estimate: 400, Calls: 2, WaitedMS: 3000, StartedAt: at(0)},
			"channels":        {State: connhub.StreamDone, Records: 40, Calls: 4, StartedAt: at(0), FinishedAt: at(3 * time.Second)},
			"channel_members": {State: connhub.StreamRunning, ParentsTotal: 40, StartedAt: at(3 * time.Second)},
			"access_logs":     {State: connhub.StreamSkipped, Reason: "the workspace's plan (free) has no access logs"},
		}),
		snap(connhub.RunFailed, 9*time.Second, map[string]connhub.StreamProgress{
			"team":            {State: connhub.StreamDone, Records: 1, Inserted: 1, Calls: 1, StartedAt: at(0), FinishedAt: at(time.Second)},
			"users":           {State: connhub.StreamDone, Records: 400, Inserted: 400, Calls: 4, WaitedMS: 3000, StartedAt: at(0), FinishedAt: at(8 * time.Second)},
			"channels":        {State: connhub.StreamDone, Records: 40, Calls: 4, StartedAt: at(0), FinishedAt: at(3 * time.Second)},
			"channel_members": {State: connhub.StreamFailed, Error: "conversations.members: internal_error", Parents: 20, ParentsTotal: 40, StartedAt: at(3 * time.Second)},
			"access_logs":     {State: connhub.StreamSkipped, Reason: "the workspace's plan (free) has no access logs"},
		}),
	}
}

// TestLineView: without a terminal, one line per change of state and a
// summary every so often, and never an escape code.
func TestLineView(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	v := newLineView(&b, map[string]string{"channel_members": "channels"}, 10*time.Second)
	clock := t0
	v.now, v.lastSummary = func() time.Time { return clock }, t0
	for i, run := range snapshots() {
		clock = t0.Add(time.Duration(i) * 6 * time.Second)
		v.update(run)
		v.update(run) // the same snapshot again prints nothing
	}
	v.stop(snapshots()[3])
	want := `sync run_1: queued
sync run_1: running
team: done, 1 record, 1 call, took 1.0s
users: running, 100/400 records, 1 call, ETA 18s
channels: running, 10 records, 1 call
access_logs: skipped: the workspace's plan (free) has no access logs
channels: done, 40 records, 4 calls, took 3.0s
channel_members: running, 0/40 channels, 0 records, 0 calls
sync run_1: running, 3/5 streams finished; running: users 200/400 records ETA 12s, channel_members 0/40 channels; 241 records, 7 calls so far, waited 3.0s for rate limits
users: done, 400 records, 4 calls, waited 3.0s, took 8.0s
channel_members: failed: conversations.members: internal_error
`
	if got := b.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Error("the plain lines hold an escape code")
	}
}

// TestBarView draws the bars as on a terminal (mpb told to draw on a
// buffer): a line a stream with its state and detail, redrawn in place.
func TestBarView(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	runs := snapshots()
	v := newBarView(&b, runs[0], map[string]string{"channel_members": "channels"}, mpb.WithAutoRefresh(), mpb.WithWidth(160))
	v.update(runs[2])
	v.stop(runs[3])
	out := b.String()
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("the bars were not redrawn in place:\n%q", out)
	}
	last := out[strings.LastIndex(out, "\x1b[J")+3:]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^team +done +\[=+\] 1 record, 1 call, took 1\.0s$`),
		regexp.MustCompile(`(?m)^users +done +\[=+\] 400 records, 4 calls, waited 3\.0s, took 8\.0s$`),
		regexp.MustCompile(`(?m)^channel_members +failed .*conversations\.members: internal_error$`),
		regexp.MustCompile(`(?m)^access_logs +skipped +the workspace's plan \(free\) has no access logs$`),
	} {
		if !want.MatchString(last) {
			t.Errorf("the last frame does not match %s:\n%s", want, last)
		}
	}
}

func TestRunTable(t *testing.T) {
	t.Parallel()
	run := snapshots()[2]
	var b bytes.Buffer
	if err := printRunStreams(&b, run, map[string]string{"channel_members": "channels"}, run.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	want := `STREAM           STATE    RECORDS  NEW  DELETED  CALLS  RETRIES  WAITED  TOOK  NOTE
team             done     1        1    0        1      0        0s      1.0s  -
users            running  200      0    0        2      0        3.0s    -     ETA 4.0s
channels         done     40       0    0        4      0        0s      3.0s  -
channel_members  running  0        0    0        0      0        0s      -     0/40 channels
access_logs      skipped  0        0    0        0      0        0s      -     the workspace's plan (free) has no access logs
`
	if got := b.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	final := snapshots()[3]
	final.Status, final.FinishedAt = connhub.RunSucceeded, at(9*time.Second)
	if got, want := outcome(final), "sync run_1 succeeded in 9.0s: 441 records, 9 calls; streams waited 3.0s in all for Slack's rate limits"; got != want {
		t.Errorf("outcome: %q; want %q", got, want)
	}
}

func TestRecordColumns(t *testing.T) {
	t.Parallel()
	rec := func(key, data string) connhub.Record { return connhub.Record{Key: key, Data: json.RawMessage(data)} }
	recs := []connhub.Record{
		rec("U1", `{"id":"U1","team_id":"T1","name":"ada","deleted":false,"color":"","profile":{"email":"ada@example.com"},"real_name":"Ada Lovelace","tz":null,"is_admin":true}`),
		rec("U2", `{"id":"U2","team_id":"T1","name":"bob","deleted":true,"profile":{"email":"bob@example.com"},"real_name":"Bob","is_admin":false}`),
	}
	catalog := []string{"id", "team_id", "name", "deleted", "color", "real_name", "tz", "profile", "is_admin", "is_owner"}
	// The key again, empty and nested fields say nothing in a table.
	if got, want := defaultRecordColumns(recs, catalog), []string{"team_id", "name", "deleted", "real_name", "is_admin"}; !equal(got, want) {
		t.Errorf("with the catalog: %v; want %v", got, want)
	}
	if got, want := defaultRecordColumns(recs, nil), []string{"team_id", "name", "deleted", "real_name", "is_admin"}; !equal(got, want) {
		t.Errorf("in the data's order: %v; want %v", got, want)
	}
	var b bytes.Buffer
	// Slack's own deleted field and the record's deletion are two columns.
	if err := printRecords(&b, recs, []string{"name", "profile.email", "profile", "tz", "deleted"}, true); err != nil {
		t.Fatal(err)
	}
	want := `KEY  NAME  PROFILE.EMAIL    PROFILE                      TZ  DELETED  _DELETED_AT
U1   ada   ada@example.com  {"email":"ada@example.com"}  -   false    -
U2   bob   bob@example.com  {"email":"bob@example.com"}  -   true     -
`
	if got := b.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{`"text"`, "text"}, {`12.50`, "12.50"}, {`true`, "true"}, {`null`, ""}, {` [1, 2] `, "[1,2]"},
		{`"` + strings.Repeat("é", 50) + `"`, strings.Repeat("é", 39) + "…"},
	} {
		if got := cellText(json.RawMessage(tc.in)); got != tc.want {
			t.Errorf("cellText(%s): %q; want %q", tc.in, got, tc.want)
		}
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestNear(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src  string
		pos  int
		want string
	}{
		{"billable = AND x", 12, `near "AND x"`},
		{"billable =", 11, `at the end of "billable ="`},
		{"a = 1", 0, ""},
		{"a = 1", 9, ""},
		{"x = " + strings.Repeat("y", 40), 5, `near "` + strings.Repeat("y", 23) + `…"`},
	} {
		if got := near(tc.src, tc.pos); got != tc.want {
			t.Errorf("near(%q, %d): %q; want %q", tc.src, tc.pos, got, tc.want)
		}
	}
}

// TestWriteFileAtomic: the file appears whole or not at all, and keeps the
// mode of the one it replaces.
func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "users.jsonl")
	write := func(s string, fail error) error {
		return writeFileAtomic(file, func(w io.Writer) error {
			io.WriteString(w, s)
			return fail
		})
	}
	if err := write("one\n", nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("a new export: %v, %v; want mode 0600", fi, err)
	}
	os.Chmod(file, 0o640)
	if err := write("two\n", errors.New("broke off")); err == nil {
		t.Fatal("a failed write returned no error")
	}
	if b, _ := os.ReadFile(file); string(b) != "one\n" {
		t.Errorf("after a failed write the file holds %q; want it as it was", b)
	}
	if err := write("three\n", nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o640 {
		t.Errorf("the replaced file's mode is %v; want 0640 kept", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d files; want no temporary file left", len(entries))
	}
}

// TestAStalledRunShowsNoETA: a run whose replica died is stalled, and its
// streams are too: nothing works on them, so no time is left to count down.
func TestAStalledRunShowsNoETA(t *testing.T) {
	t.Parallel()
	run := snapshots()[2]
	run.Status = connhub.RunStalled
	var b bytes.Buffer
	if err := printRunStreams(&b, run, map[string]string{"channel_members": "channels"}, run.UpdatedAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.Contains(got, "ETA") || !regexp.MustCompile(`(?m)^users +stalled `).MatchString(got) {
		t.Errorf("a stalled run's table:\n%s\nwant its running streams stalled, with no ETA", got)
	}
	if line := summaryLine(run, nil, run.UpdatedAt.Add(time.Minute)); strings.Contains(line, "ETA") {
		t.Errorf("a stalled run's summary: %s", line)
	}
}

// TestIssuesAreShown: channels Slack passed over are said, with what to
// do, in the table and in the line that ends a run.
func TestIssuesAreShown(t *testing.T) {
	t.Parallel()
	final := snapshots()[3]
	final.Status, final.FinishedAt = connhub.RunSucceeded, at(9*time.Second)
	final.Streams = append(final.Streams, "messages")
	final.Progress["messages"] = connhub.StreamProgress{State: connhub.StreamDone, Records: 10, Parents: 3, Skipped: 2,
		Issues: []connhub.Issue{{Error: "not_in_channel", Count: 2, Hint: "the bot is not a member of 2 channels; invite it"}}}
	var b bytes.Buffer
	if err := printRunStreams(&b, final, map[string]string{"messages": "channels"}, final.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.Contains(got, "messages: not_in_channel (2 channels): the bot is not a member of 2 channels; invite it") {
		t.Errorf("the table does not say why channels were passed over:\n%s", got)
	}
	if got := outcome(final); !strings.Contains(got, "messages passed over 2 channels (not_in_channel)") {
		t.Errorf("outcome: %q; want it to say what was passed over", got)
	}
}
