package sync_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

var ctx = context.Background()

type env struct {
	*hubtest.Hub
	svc    *sync.Service
	caller *slackcall.Caller
}

func setup(t testing.TB, o hubtest.Options, cfg sync.Config, callerOpts ...func(*slackcall.Options)) *env {
	t.Helper()
	// The hub's own sync service and caller, with the test's options.
	o.Sync = func(c *sync.Config) {
		st, caller, log := c.Store, c.Caller, c.Log
		*c = cfg
		c.Store, c.Caller, c.Log = st, caller, log
	}
	o.Caller = func(co *slackcall.Options) {
		for _, f := range callerOpts {
			f(co)
		}
	}
	h := hubtest.Start(t, o)
	return &env{Hub: h, svc: h.Hub.Syncs, caller: h.Hub.Caller}
}

// replica is another sync service on e's hub: a second replica, or the hub
// started again.
func (e *env) replica(t testing.TB, cfg sync.Config) *sync.Service {
	t.Helper()
	cfg.Store, cfg.Caller, cfg.Log = e.Store, e.caller, e.Log
	svc, err := sync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// twin is a second instance of e's hub with the same Slack tokens: a sync
// of it reads the same workspace to the byte (a second install would not:
// the install itself is in the data, as the bot user's "updated" and an
// integration log).
func (e *env) twin(t testing.TB) *env {
	t.Helper()
	in := e.Instance
	in.ID, in.Name, in.InstanceToken, in.InstanceTokenHint = "", "reference", "", ""
	in.InstanceTokenHash = []byte("reference instance, no token: " + e.Instance.ID)
	in, err := e.Store.CreateInstance(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	hub := *e.Hub
	hub.Instance = in
	return &env{Hub: &hub, svc: e.svc, caller: e.caller}
}

// run starts a sync and works it to its end in this goroutine.
func (e *env) run(t testing.TB, in sync.StartInput) sync.Run {
	t.Helper()
	r, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Execute(ctx, r.OrgID, r.ID); err != nil {
		t.Fatal(err)
	}
	r, err = e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// await reads the run each time worker, the service that works it, changes
// a run, until done says it is what the test waits for; it fails the test
// if the run ends first. No clock: the test's own timeout bounds the wait.
func await(t *testing.T, e *env, worker *sync.Service, id, what string, done func(sync.Run) bool) sync.Run {
	t.Helper()
	for {
		changed := worker.Changes()
		r, err := e.svc.Get(ctx, e.Admin, e.Instance.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if done(r) {
			return r
		}
		if ended(r) {
			t.Fatalf("the run %s (%s) before %s; %s", r.Status, r.Error, what, states(r))
		}
		<-changed
	}
}

// waitRun waits for the run to end, as worker works it.
func waitRun(t *testing.T, e *env, worker *sync.Service, id string) sync.Run {
	t.Helper()
	return await(t, e, worker, id, "its end", ended)
}

// ended says the run is over: no replica will work it again unasked.
func ended(r sync.Run) bool {
	switch r.Status {
	case store.RunQueued, store.RunRunning, store.RunInterrupted, sync.RunStalled:
		return false
	}
	return true
}

// records reads a stream's live records.
func (e *env) records(t testing.TB, stream string) []store.Record {
	t.Helper()
	var out []store.Record
	after := ""
	for {
		page, next, err := e.Store.ListRecords(ctx, e.Admin.Org.ID, e.Instance.ID, stream, store.RecordFilter{}, store.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		after = next
	}
}

func states(r sync.Run) string {
	var parts []string
	for name, p := range r.State {
		s := name + "=" + p.State
		if p.Reason != "" || p.Error != "" {
			s += "(" + p.Reason + p.Error + ")"
		}
		parts = append(parts, s)
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func TestAFullSyncRetrievesEveryStream(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 150, Channels: 12}}, sync.Config{})
	r := e.run(t, sync.StartInput{})
	if r.Status != store.RunSucceeded {
		t.Fatalf("run %s: %s; streams: %s", r.Status, r.Error, states(r))
	}
	for _, name := range sync.DefaultStreams() {
		if p := r.State[name]; p.State != sync.StateDone {
			t.Errorf("stream %s: %s %s%s", name, p.State, p.Reason, p.Error)
		}
		// The sandbox answers full pages, as Slack mostly does: a stream
		// that calls more often than its data needs asks for smaller pages
		// than Slack allows, or reads something twice.
		if p := r.State[name]; p.Calls != p.Fewest {
			t.Errorf("stream %s: %d calls, the fewest its data needs %d", name, p.Calls, p.Fewest)
		}
	}
	// What the bot can see, counted by slack-go: a Slack client nobody here wrote.
	api := slackgo.New(e.Instance.BotToken.Reveal(), slackgo.OptionAPIURL(e.SlackURL+"/api/"))
	channels, cursor := 0, ""
	for {
		page, next, err := api.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		channels += len(page)
		if cursor = next; cursor == "" {
			break
		}
	}
	files := 0
	for p := (slackgo.ListFilesParameters{Limit: 200}); ; {
		page, next, err := api.ListFilesContext(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		files += len(page)
		if next.Cursor == "" {
			break
		}
		p = *next
	}
	sum := e.Sandbox.Summary()
	for stream, want := range map[string]int{"users": sum.Teams[0].Users, "channels": channels, "files": files,
		"usergroups": sum.Usergroups, "team": 1, "subscriptions": 1, "licenses": sum.Teams[0].Users, "license_summary": 1, "license_snapshots": 1} {
		if got := len(e.records(t, stream)); got != want {
			t.Errorf("%s: %d records, want %d", stream, got, want)
		}
	}
	for _, stream := range []string{"billable_info", "access_logs", "member_analytics", "channel_members", "usergroup_members", "emoji", "integration_logs", "bookmarks"} {
		if len(e.records(t, stream)) == 0 {
			t.Errorf("%s: no records", stream)
		}
	}
	var summary map[string]any
	json.Unmarshal(e.records(t, "license_summary")[0].Data, &summary)
	t.Logf("summary: %v", summary)
}

// TestStreamsDeclareTheirFieldsTypes syncs every stream and checks each
// record's top-level fields against the stream's declared fields and types,
// which where checks its values against: a wrong declaration would refuse a
// question that has answers.
func TestStreamsDeclareTheirFieldsTypes(t *testing.T) {
	t.Parallel()
	slackConnector, _ := connector.Get("slack")
	edition, _ := slackConnector.Edition("business_plus")
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 60, Channels: 8},
		Install: &instance.CreateInput{BotScopes: append(slices.Clone(edition.BotScopes), "channels:join"), UserScopes: edition.UserScopes}}, sync.Config{})
	bot := slackgo.New(e.Instance.BotToken.Reveal(), slackgo.OptionAPIURL(e.SlackURL+"/api/"))
	chans, _, err := bot.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chans {
		if _, _, _, err := bot.JoinConversationContext(ctx, c.ID); err != nil {
			t.Fatalf("join %s: %v", c.ID, err)
		}
	}
	r := e.run(t, sync.StartInput{Streams: sync.StreamNames()})
	if r.Status != store.RunSucceeded {
		t.Fatalf("run %s: %s; streams: %s", r.Status, r.Error, states(r))
	}
	reported := map[string]bool{}
	once := func(k string) bool { r := reported[k]; reported[k] = true; return !r }
	for _, info := range sync.Streams() {
		recs := e.records(t, info.Name)
		if len(recs) == 0 {
			t.Errorf("%s: no records to check", info.Name)
		}
		for _, rec := range recs {
			var data map[string]any
			if err := json.Unmarshal(rec.Data, &data); err != nil {
				t.Fatalf("%s %s: %v", info.Name, rec.Key, err)
			}
			for k, v := range data {
				if !slices.Contains(info.Fields, k) {
					if once(info.Name + "." + k) {
						t.Errorf("%s: a record has the field %s, which the stream does not declare", info.Name, k)
					}
					continue
				}
				if want, ok := info.Types[k]; ok && v != nil && jsonType(v) != want && once(info.Name+"."+k) {
					t.Errorf("%s.%s is declared %s, and record %s holds %s %v", info.Name, k, want, rec.Key, jsonType(v), v)
				}
			}
		}
	}
}

func jsonType(v any) query.Type {
	switch v.(type) {
	case string:
		return query.TypeString
	case float64:
		return query.TypeNumber
	case bool:
		return query.TypeBool
	case map[string]any:
		return query.TypeObject
	case []any:
		return query.TypeArray
	}
	return query.TypeAny
}
