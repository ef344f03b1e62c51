package sync_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// issue finds the issue of a code in a stream's progress.
func issue(p sync.StreamProgress, code string) (sync.Issue, bool) {
	i := slices.IndexFunc(p.Issues, func(is sync.Issue) bool { return is.Error == code })
	if i < 0 {
		return sync.Issue{}, false
	}
	return p.Issues[i], true
}

// TestChannelsTheBotIsNotInAreReportedAndJoinedWhenAsked: a messages sync
// whose every channel answers not_in_channel has failed, saying so and what
// to do; with join_public_channels the bot joins the public ones (each join
// audited) and reads them; the archived ones stay reported.
func TestChannelsTheBotIsNotInAreReportedAndJoinedWhenAsked(t *testing.T) {
	t.Parallel()
	slackConnector, _ := connector.Get("slack")
	edition, _ := slackConnector.Edition("business_plus")
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 40, Channels: 8},
		Install: &instance.CreateInput{BotScopes: append(slices.Clone(edition.BotScopes), "channels:join"), UserScopes: edition.UserScopes}}, sync.Config{})

	r := e.run(t, sync.StartInput{Streams: []string{"messages"}})
	channels := e.records(t, "channels")
	open, archived := 0, 0
	for _, rec := range channels {
		var c struct{ IsPrivate, IsArchived bool }
		json.Unmarshal(rec.Data, &struct {
			IsPrivate  *bool `json:"is_private"`
			IsArchived *bool `json:"is_archived"`
		}{&c.IsPrivate, &c.IsArchived})
		switch {
		case c.IsArchived:
			archived++
		case !c.IsPrivate:
			open++
		}
	}
	if open == 0 || archived == 0 {
		t.Fatalf("the workspace has %d open public channels and %d archived: the test needs both", open, archived)
	}
	p := r.State["messages"]
	if r.Status != store.RunFailed || p.State != sync.StateFailed || !strings.Contains(r.Error, "not_in_channel") || !strings.Contains(p.Error, "join_public_channels") {
		t.Errorf("a messages sync that read no channel: %s %q, stream %s %q; want failed, saying not_in_channel and what to do", r.Status, r.Error, p.State, p.Error)
	}
	is, ok := issue(p, "not_in_channel")
	if !ok || is.Count != int64(len(channels)) || is.Count != p.Skipped || !strings.Contains(is.Hint, "join_public_channels") || !strings.Contains(is.Hint, "archived") {
		t.Errorf("issues %+v (skipped %d of %d channels); want not_in_channel for every channel, with a hint naming join_public_channels and the archived", p.Issues, p.Skipped, len(channels))
	}

	t.Logf("without joining: %s: %s", r.Status, r.Error)
	// Asked to, the bot joins the public channels and reads them.
	r = e.run(t, sync.StartInput{Streams: []string{"messages"}, Options: sync.Options{JoinPublicChannels: true}})
	p = r.State["messages"]
	if r.Status != store.RunSucceeded || p.State != sync.StateDone || p.Joined != int64(open) || p.Parents < int64(open) {
		t.Fatalf("with join_public_channels: %s %q, stream %s, joined %d, read %d; want it done, the %d open public channels joined and read; %s",
			r.Status, r.Error, p.State, p.Joined, p.Parents, open, states(r))
	}
	if len(e.records(t, "messages")) == 0 {
		t.Errorf("no messages after joining the channels")
	}
	if is, ok := issue(p, "not_in_channel"); !ok || is.Count != int64(archived) || !strings.Contains(is.Hint, "archived") {
		t.Errorf("after joining: issues %+v; want not_in_channel for the %d archived channels, saying they are", p.Issues, archived)
	}
	t.Logf("joining: %+v", p.Issues)
	joins, _, err := e.Store.ListAudit(ctx, e.Admin.Org.ID, store.AuditFilter{Action: "sync.join_channel"}, store.Page{Limit: 100})
	if err != nil || len(joins) != open {
		t.Errorf("%d joins in the audit log (%v), want %d", len(joins), err, open)
	}

	// An instance whose bot may not join is told so when it asks.
	thin := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10, Channels: 2},
		Install: &instance.CreateInput{BotScopes: []string{"channels:read", "channels:history"}}}, sync.Config{})
	_, err = thin.svc.Start(ctx, thin.Admin, thin.Instance.ID, sync.StartInput{Streams: []string{"messages"}, Options: sync.Options{JoinPublicChannels: true}})
	if err == nil || !strings.Contains(err.Error(), "channels:join") {
		t.Errorf("join_public_channels without channels:join: %v; want refused, naming the scope", err)
	}
}
