package sync_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// control calls one of the sandbox's controls, as a tester would.
func (e *env) control(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.SlackURL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

func (e *env) record(t *testing.T, stream, key string) store.Record {
	t.Helper()
	rec, err := e.Store.GetRecord(ctx, e.Admin.Org.ID, e.Instance.ID, stream, key)
	if err != nil {
		t.Fatalf("%s %s: %v", stream, key, err)
	}
	return rec
}

func TestStreamsThatCannotRunAreSkippedWithTheirReason(t *testing.T) {
	t.Parallel()
	// A free workspace, and an app without files:read or a user token's
	// admin scope: access logs and user groups are for paid plans, files
	// need their scope, billing info an admin.
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 40, Channels: 6, Edition: slacksim.EditionFree},
		Install: &instance.CreateInput{Edition: "free", BotScopes: []string{"users:read", "users:read.email", "channels:read", "groups:read", "team:read", "usergroups:read", "emoji:read", "bookmarks:read"}}},
		sync.Config{})
	r := e.run(t, sync.StartInput{})
	if r.Status != store.RunSucceeded {
		t.Fatalf("a run with skipped streams %s: %s; %s", r.Status, r.Error, states(r))
	}
	for stream, reason := range map[string]string{"files": "files:read", "access_logs": "user token", "usergroups": "plan", "billable_info": "user token"} {
		p := r.State[stream]
		if p.State != sync.StateSkipped || !strings.Contains(p.Reason, reason) {
			t.Errorf("%s: %s %q, want skipped for a reason naming %q", stream, p.State, p.Reason, reason)
		}
	}
	for _, stream := range []string{"users", "channels", "channel_members", "licenses", "license_summary"} {
		if p := r.State[stream]; p.State != sync.StateDone {
			t.Errorf("%s: %s %s%s, want done", stream, p.State, p.Reason, p.Error)
		}
	}
	if n := len(e.records(t, "files")); n != 0 {
		t.Errorf("a skipped stream wrote %d records", n)
	}
}

func TestVanishedRecordsAreMarkedAndDeactivatedUsersKept(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 60, Channels: 8}}, sync.Config{})
	added := e.control(t, "POST", "/_sandbox/channels", map[string]any{"name": "launch-plans"})
	channel := added["channel"].(map[string]any)["id"].(string)
	e.control(t, "POST", "/_sandbox/messages", map[string]any{"channel": channel, "text": "hello"})
	r := e.run(t, sync.StartInput{Streams: []string{"users", "channels", "channel_members", "licenses"}})
	if r.Status != store.RunSucceeded {
		t.Fatalf("first run %s: %s; %s", r.Status, r.Error, states(r))
	}
	if rec := e.record(t, "channels", channel); !rec.DeletedAt.IsZero() {
		t.Fatalf("the new channel is marked deleted after the first run")
	}
	victim := ""
	for _, u := range e.records(t, "users") {
		var d struct {
			IsBot, Deleted bool
			IsPrimaryOwner bool `json:"is_primary_owner"`
		}
		json.Unmarshal(u.Data, &d)
		if !d.IsBot && !d.Deleted && !d.IsPrimaryOwner && u.Key != "USLACKBOT" {
			victim = u.Key
			break
		}
	}
	e.control(t, "POST", "/_sandbox/users/"+victim+"/deactivate", nil)

	// The workspace as generated again: the channel made after is gone.
	// (Its tokens go with it; the instance is installed again.)
	e.Sandbox.Reset("workspace")
	e.Instance = e.Reauthenticate(t, e.Instance.ID, nil)
	e.control(t, "POST", "/_sandbox/users/"+victim+"/deactivate", nil)
	r = e.run(t, sync.StartInput{Streams: []string{"users", "channels", "channel_members", "licenses"}})
	if r.Status != store.RunSucceeded {
		t.Fatalf("second run %s: %s; %s", r.Status, r.Error, states(r))
	}
	gone := e.record(t, "channels", channel)
	if gone.DeletedAt.IsZero() {
		t.Errorf("the vanished channel is not marked deleted")
	}
	if p := r.State["channels"]; p.Deleted != 1 {
		t.Errorf("channels: %d marked deleted, want 1", p.Deleted)
	}
	if rec := e.record(t, "channel_members", channel+"/0000"); rec.DeletedAt.IsZero() {
		t.Errorf("the vanished channel's members are not marked deleted")
	}
	var u struct{ Deleted bool }
	json.Unmarshal(e.record(t, "users", victim).Data, &u)
	var l struct{ Deactivated, Billable bool }
	json.Unmarshal(e.record(t, "licenses", victim).Data, &l)
	if !u.Deleted || !l.Deactivated || l.Billable {
		t.Errorf("a deactivated user: users deleted=%v, licenses deactivated=%v billable=%v; want kept and marked", u.Deleted, l.Deactivated, l.Billable)
	}
}

func TestASyncThroughFaultsStopsCleanlyAndResumesToTheSameData(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 120, Channels: 10}}, sync.Config{}, func(o *slackcall.Options) { o.Policy.Retries = 6 })
	reference := e.twin(t)
	want := reference.run(t, sync.StartInput{})
	if want.Status != store.RunSucceeded {
		t.Fatalf("reference run %s: %s", want.Status, want.Error)
	}

	e.Fault(t, slacksim.Fault{Method: "*", Status: 503, Rate: 0.15})
	e.Fault(t, slacksim.Fault{Method: "*", Malformed: true, Rate: 0.05})
	e.Fault(t, slacksim.Fault{Method: "conversations.members", LatencyMS: 30, Rate: 0.3})
	e.Fault(t, slacksim.Fault{Method: "users.list", Status: 429, Count: 6}) // a storm of 429s
	r := e.run(t, sync.StartInput{})
	retries := int64(0)
	for _, p := range r.State {
		retries += p.Retries
	}
	if retries == 0 {
		t.Errorf("no call was retried through the faults")
	}
	// Whatever happened, the run ended with a state and a clear reason.
	if r.Status != store.RunSucceeded && (r.Status != store.RunFailed || r.Error == "") {
		t.Fatalf("a run through faults ended %s %q", r.Status, r.Error)
	}
	// Then the sandbox is out of a long outage: every call fails until the
	// run gives up, keeping its checkpoints.
	e.ClearFaults(t)
	e.Fault(t, slacksim.Fault{Method: "*", Status: 500})
	again := e.run(t, sync.StartInput{Streams: []string{"users", "channels", "channel_members"}})
	if again.Status != store.RunFailed || !strings.Contains(again.Error, "500") {
		t.Errorf("a run against a dead Slack: %s %q, want failed naming the 500", again.Status, again.Error)
	}
	e.ClearFaults(t)
	if _, err := e.svc.Resume(ctx, e.Admin, again.InstanceID, again.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Execute(ctx, again.OrgID, again.ID); err != nil {
		t.Fatal(err)
	}
	if r.Status == store.RunFailed {
		if _, err := e.svc.Resume(ctx, e.Admin, r.InstanceID, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Execute(ctx, r.OrgID, r.ID); err != nil {
			t.Fatal(err)
		}
		if r, _ = e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID); r.Status != store.RunSucceeded {
			t.Fatalf("the resumed run %s: %s", r.Status, r.Error)
		}
	}
	for _, stream := range []string{"users", "billable_info", "channels", "channel_members", "files", "usergroup_members", "licenses"} {
		if got, want := dataOf(e.records(t, stream)), dataOf(reference.records(t, stream)); got != want {
			t.Errorf("%s after faults and a resume differs from a clean sync's (%d vs %d bytes)", stream, len(got), len(want))
		}
	}
}

// dataOf is a stream's live records as text, without what depends on the
// moment a sync ran: the licenses' as_of, the days since each person was
// last active and the counts of the active and inactive (two syncs seconds
// apart may straddle someone's day boundary).
func dataOf(recs []store.Record) string {
	var b strings.Builder
	for _, r := range recs {
		data := string(r.Data)
		if strings.Contains(data, `"days_inactive"`) || strings.Contains(data, `"as_of"`) {
			var m map[string]any
			if json.Unmarshal(r.Data, &m) == nil {
				for k := range m {
					if k == "as_of" || k == "days_inactive" || strings.HasPrefix(k, "active_") || strings.HasPrefix(k, "billable_inactive_") {
						delete(m, k)
					}
				}
				raw, _ := json.Marshal(m)
				data = string(raw)
			}
		}
		b.WriteString(r.Key + " " + r.TeamID + " " + data + "\n")
	}
	return b.String()
}

func TestEnterpriseGridSyncsEachGrantedWorkspace(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 90, Channels: 12, Edition: slacksim.EditionEnterpriseGrid, Workspaces: 3}, NoInstall: true}, sync.Config{})
	teams := e.Sandbox.Summary().Teams
	e.Instance = e.InstallWith(t, instance.CreateInput{Edition: "enterprise_grid", Team: e.Info.EnterpriseID},
		url.Values{"install_into": {e.Info.EnterpriseID}, "org_team": {teams[0].ID, teams[1].ID}})
	r := e.run(t, sync.StartInput{Streams: []string{"team", "users", "channels", "channel_members", "billable_info", "licenses", "license_summary"}})
	if r.Status != store.RunSucceeded {
		t.Fatalf("org sync %s: %s; %s", r.Status, r.Error, states(r))
	}
	seen := map[string]map[string]bool{}
	for _, stream := range []string{"team", "channels", "channel_members", "billable_info"} {
		seen[stream] = map[string]bool{}
		for _, rec := range e.records(t, stream) {
			seen[stream][rec.TeamID] = true
		}
		if !seen[stream][teams[0].ID] || !seen[stream][teams[1].ID] || seen[stream][teams[2].ID] || len(seen[stream]) != 2 {
			t.Errorf("%s: records of workspaces %v; want those of the two granted, %s and %s", stream, seen[stream], teams[0].ID, teams[1].ID)
		}
	}
	if n := len(e.records(t, "team")); n != 2 {
		t.Errorf("team: %d records, want one per granted workspace", n)
	}

	// An org admin adds the app to the third workspace: the next sync reads
	// the grant again and takes it in.
	resp, err := http.Post(e.SlackURL+"/_sandbox/org-install/teams", "application/json", strings.NewReader(`{"team_id":"`+teams[2].ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := e.run(t, sync.StartInput{Streams: []string{"team"}}); r.Status != store.RunSucceeded {
		t.Fatalf("the sync after a workspace was granted: %s %s", r.Status, r.Error)
	}
	if n := len(e.records(t, "team")); n != 3 {
		t.Errorf("team after a third workspace was granted: %d records, want 3", n)
	}

	// The org admin removes the app from the first workspace: the next sync,
	// whatever its streams, marks that workspace's records of every stream
	// deleted, and leaves the others'.
	req, _ := http.NewRequest(http.MethodDelete, e.SlackURL+"/_sandbox/org-install/teams/"+teams[0].ID, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("remove a workspace from the org install: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := e.run(t, sync.StartInput{Streams: []string{"team"}}); r.Status != store.RunSucceeded {
		t.Fatalf("the sync after a workspace was removed: %s %s", r.Status, r.Error)
	}
	for _, stream := range []string{"team", "channels", "channel_members", "billable_info", "users"} {
		for _, rec := range e.records(t, stream) {
			if rec.TeamID == teams[0].ID {
				t.Errorf("%s: record %s of the removed workspace %s is still live", stream, rec.Key, teams[0].ID)
			}
		}
	}
	if n := len(e.records(t, "channels")); n == 0 {
		t.Error("channels: the records of the workspace still granted were marked too")
	}
	in, err := e.Store.GetInstance(ctx, e.Instance.OrgID, e.Instance.ID)
	if err != nil || slices.Contains(in.Teams, teams[0].ID) || len(in.Teams) != 2 {
		t.Errorf("the instance's workspaces after one was removed: %v (%v)", in.Teams, err)
	}
}

func TestMemberAnalyticsAreFetchedOncePerDay(t *testing.T) {
	t.Parallel()
	var mu gosync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 50, Channels: 4}}, sync.Config{Now: now})
	calls := func() int64 { return e.Sandbox.Stats().Methods["admin.analytics.getFile"].Calls }
	in := sync.StartInput{Streams: []string{"member_analytics"}, Options: sync.Options{AnalyticsDays: 3}}
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls() != 3 {
		t.Fatalf("first run %s %s: %d files fetched, want 3", r.Status, r.Error, calls())
	}
	first := len(e.records(t, "member_analytics"))
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls() != 3 {
		t.Errorf("a second run the same day fetched %d files in all, want still 3", calls())
	}
	// Two days on, at Slack and here: the two new days only.
	e.Sandbox.AdvanceClock(48 * time.Hour)
	mu.Lock()
	clock = clock.Add(48 * time.Hour)
	mu.Unlock()
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls() != 5 {
		t.Errorf("two days later: %d files in all, want 5", calls())
	}
	// The mark is the last day fetched: yesterday, by both clocks.
	cp, err := e.Store.GetCheckpoint(ctx, e.Admin.Org.ID, e.Instance.ID, "member_analytics")
	yesterday := now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if err != nil || !strings.Contains(string(cp.Cursor), `"mark":"`+yesterday+`"`) {
		t.Errorf("the checkpoint after two more days: %s %v; want the mark %s", cp.Cursor, err, yesterday)
	}
	if n := len(e.records(t, "member_analytics")); n < first {
		t.Errorf("member_analytics: %d records after the new days, %d before", n, first)
	}
}

func TestRunsGoThroughTheQueueAndSchedulesStartThem(t *testing.T) {
	t.Parallel()
	var mu gosync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 30, Channels: 4}}, sync.Config{Now: now, SweepEvery: 100 * time.Millisecond})
	db := e.Store.(interface{ DB() *sql.DB }).DB()
	q := hubtest.SyncQueue(t, e.svc, db, "sqlite", e.DSN, 50*time.Millisecond)
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- q.Work(serveCtx, e.svc.Serve) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	r, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users", "licenses"}})
	if err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, e, e.svc, r.ID)
	if r.Status != store.RunSucceeded || len(e.records(t, "licenses")) == 0 {
		t.Fatalf("a queued run %s: %s", r.Status, r.Error)
	}

	if _, err := e.svc.SetSchedule(ctx, e.Admin, e.Instance.ID, sync.ScheduleInput{Every: time.Minute, Enabled: true}); err == nil {
		t.Errorf("a schedule of every minute was taken")
	}
	sc, err := e.svc.SetSchedule(ctx, e.Admin, e.Instance.ID, sync.ScheduleInput{Every: 24 * time.Hour, Streams: []string{"team"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	runs, _, _ := e.svc.List(ctx, e.Admin, e.Instance.ID, store.Page{Limit: 10})
	changed := e.svc.Changes()
	mu.Lock()
	clock = sc.NextRunAt.Add(time.Second)
	mu.Unlock()
	// The next sweep starts the scheduled run.
	for {
		latest, _, _ := e.svc.List(ctx, e.Admin, e.Instance.ID, store.Page{Limit: 10})
		if len(latest) > len(runs) {
			if got := waitRun(t, e, e.svc, latest[0].ID); got.Trigger != "schedule" || got.Status != store.RunSucceeded {
				t.Errorf("the scheduled run: trigger %q, %s %s", got.Trigger, got.Status, got.Error)
			}
			break
		}
		<-changed
		changed = e.svc.Changes()
	}
	next, _ := e.svc.GetSchedule(ctx, e.Admin, e.Instance.ID)
	if !next.NextRunAt.After(clock) {
		t.Errorf("the schedule's next run is %s, not after now (%s)", next.NextRunAt, clock)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestMessagesAndTheirThreadsAreReadAgainOnlyWhenTheyMove(t *testing.T) {
	t.Parallel()
	// The app reads the history of the channels its bot is in: an admin
	// lets it join them (channels:join on top of the edition's scopes).
	slackConnector, _ := connector.Get("slack")
	edition, _ := slackConnector.Edition("business_plus")
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 60, Channels: 8},
		Install: &instance.CreateInput{BotScopes: append(slices.Clone(edition.BotScopes), "channels:join"), UserScopes: edition.UserScopes}}, sync.Config{})
	bot := slackgo.New(e.Instance.BotToken.Reveal(), slackgo.OptionAPIURL(e.SlackURL+"/api/"))
	chans, _, err := bot.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Types: []string{"public_channel"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chans {
		if !c.IsArchived {
			if _, _, _, err := bot.JoinConversationContext(ctx, c.ID); err != nil {
				t.Fatalf("join %s: %v", c.ID, err)
			}
		}
	}
	calls := func(method string) int64 { return e.Sandbox.Stats().Methods[method].Calls }
	in := sync.StartInput{Streams: []string{"messages"}}
	if r := e.run(t, in); r.Status != store.RunSucceeded || r.State["messages"].State != sync.StateDone {
		t.Fatalf("messages: %s %s; %s", r.Status, r.Error, states(r))
	}
	// Find a thread the app can see, and count what the first sync read.
	var parent, channel, author string
	replies := 0
	for _, rec := range e.records(t, "messages") {
		var m struct {
			TS         string `json:"ts"`
			Thread     string `json:"thread_ts"`
			ReplyCount int    `json:"reply_count"`
			ChannelID  string `json:"channel_id"`
			User       string `json:"user"`
		}
		json.Unmarshal(rec.Data, &m)
		if m.Thread != "" && m.Thread != m.TS {
			replies++
		}
		if m.ReplyCount > 0 && parent == "" {
			parent, channel, author = m.TS, m.ChannelID, m.User
		}
	}
	if parent == "" || replies == 0 {
		t.Fatalf("the first sync read no thread (%d replies of %d messages); %+v", replies, len(e.records(t, "messages")), e.svc)
	}
	threads := calls("conversations.replies")

	// Nothing moved: no thread is read again.
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls("conversations.replies") != threads {
		t.Errorf("a second sync read %d threads again, want none (%s %s)", calls("conversations.replies")-threads, r.Status, r.Error)
	}
	// A new message, then a reply to it: the thread moved within the
	// lookback window, so that one thread is read again, and the reply kept.
	post := func(body map[string]any) string {
		body["channel"], body["user"] = channel, author
		return e.control(t, "POST", "/_sandbox/messages", body)["message"].(map[string]any)["ts"].(string)
	}
	parent = post(map[string]any{"text": "who has the launch notes?"})
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls("conversations.replies") != threads {
		t.Errorf("a new message without replies read %d threads (%s %s)", calls("conversations.replies")-threads, r.Status, r.Error)
	}
	ts := post(map[string]any{"thread_ts": parent, "text": "one more thing"})
	if r := e.run(t, in); r.Status != store.RunSucceeded || calls("conversations.replies") != threads+1 {
		t.Errorf("after a reply, %d threads read again, want 1 (%s %s)", calls("conversations.replies")-threads, r.Status, r.Error)
	}
	if rec := e.record(t, "messages", channel+"/"+ts); !strings.Contains(string(rec.Data), "one more thing") {
		t.Errorf("the new reply: %s", rec.Data)
	}
}

// TestAUserTokenOnlyInstallSyncs: an install with user-token scopes only (seed
// 003, Certero's) syncs the team, users, channels, billing and licenses with
// its user token, where Slack takes user tokens for the methods.
func TestAUserTokenOnlyInstallSyncs(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 40, Channels: 5}, Install: &instance.CreateInput{Name: "Certero",
		UserScopes: []string{"admin", "users:read", "users:read.email", "team:read", "team.billing:read", "channels:read"}}}, sync.Config{})
	if !e.Instance.BotToken.IsZero() {
		t.Fatal("the install has a bot token: the test would prove nothing")
	}
	r := e.run(t, sync.StartInput{Streams: []string{"team", "subscriptions", "users", "channels", "billable_info", "licenses"}})
	if r.Status != store.RunSucceeded {
		t.Fatalf("the sync of a user-token-only install: %s %s; %s", r.Status, r.Error, states(r))
	}
	for _, stream := range []string{"team", "subscriptions", "users", "channels", "billable_info", "licenses"} {
		if r.State[stream].State != sync.StateDone || len(e.records(t, stream)) == 0 {
			t.Errorf("%s: %s (%s), %d records; want it done with records", stream, r.State[stream].State, r.State[stream].Reason, len(e.records(t, stream)))
		}
	}
}

// TestARunThatSkipsEveryStreamFails: nothing retrieved is not a success.
func TestARunThatSkipsEveryStreamFails(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10, Channels: 2}, Install: &instance.CreateInput{Name: "thin", BotScopes: []string{"chat:write"}}}, sync.Config{})
	r := e.run(t, sync.StartInput{Streams: []string{"users", "emoji"}})
	if r.Status != store.RunFailed || !strings.Contains(r.Error, "every stream was skipped") || !strings.Contains(r.Error, "users:read") {
		t.Errorf("a run whose every stream was skipped: %s %q; want failed, saying why", r.Status, r.Error)
	}
}

// TestASyncWithARevokedTokenMarksTheInstance: when Slack says the token is
// revoked, the run fails saying so, and the instance is marked revoked with
// the reason, as a ping would mark it: the next caller is told at once.
func TestASyncWithARevokedTokenMarksTheInstance(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10, Channels: 2}}, sync.Config{})
	req, _ := http.NewRequest(http.MethodPost, e.SlackURL+"/api/auth.revoke", nil)
	req.Header.Set("Authorization", "Bearer "+e.Instance.BotToken.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var revoked struct {
		OK      bool `json:"ok"`
		Revoked bool `json:"revoked"`
	}
	json.NewDecoder(resp.Body).Decode(&revoked)
	resp.Body.Close()
	if !revoked.OK || !revoked.Revoked {
		t.Fatalf("auth.revoke at the sandbox: %+v", revoked)
	}
	r := e.run(t, sync.StartInput{Streams: []string{"users"}})
	if r.Status != store.RunFailed || !strings.Contains(r.Error, "token_revoked") {
		t.Errorf("a sync with a revoked token: %s %q; want failed, saying token_revoked", r.Status, r.Error)
	}
	in, err := e.Store.GetInstance(ctx, e.Instance.OrgID, e.Instance.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != store.StatusRevoked || !strings.Contains(in.StatusReason, "token_revoked") || !strings.Contains(in.StatusReason, "bot token") {
		t.Errorf("the instance after the sync: %s %q; want revoked, saying token_revoked of the bot token", in.Status, in.StatusReason)
	}
}
