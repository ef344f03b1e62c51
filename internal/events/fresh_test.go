package events_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// freshStreams are the streams events keep fresh.
var freshStreams = []string{"users", "channels", "channel_members", "usergroups", "usergroup_members", "emoji", "messages"}

// syncStreams runs a sync of streams to its end and returns it.
func syncStreams(t *testing.T, h *hubtest.Hub, streams ...string) sync.Run {
	t.Helper()
	r, err := h.Hub.Syncs.Start(ctx, h.Admin, h.Instance.ID, sync.StartInput{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	for {
		changed := h.Hub.Syncs.Changes()
		if r, err = h.Hub.Syncs.Get(ctx, h.Admin, h.Instance.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		switch r.Status {
		case store.RunSucceeded:
			return r
		case store.RunFailed, store.RunCanceled:
			t.Fatalf("the sync of %v: %s %s", streams, r.Status, r.Error)
		}
		<-changed
	}
}

// sandboxDo calls one of the sandbox's controls and decodes its answer.
func sandboxDo(t *testing.T, h *hubtest.Hub, method, path, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, h.SlackURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// record reads a record; a missing one is the zero record.
func record(h *hubtest.Hub, stream, key string) store.Record {
	rec, _ := h.Store.GetRecord(ctx, h.Admin.Org.ID, h.Instance.ID, stream, key)
	return rec
}

func field(rec store.Record, name string) any {
	var obj map[string]any
	json.Unmarshal(rec.Data, &obj)
	return obj[name]
}

// channelMembers are the user IDs of a channel's live channel_members pages.
func channelMembers(t *testing.T, h *hubtest.Hub, channel string) []string {
	recs, _, err := h.Store.ListRecords(ctx, h.Admin.Org.ID, h.Instance.ID, "channel_members", store.RecordFilter{KeyPrefix: channel + "/"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		var p struct {
			UserIDs []string `json:"user_ids"`
		}
		json.Unmarshal(r.Data, &p)
		out = append(out, p.UserIDs...)
	}
	slices.Sort(out)
	return out
}

// TestEventsKeepEveryStreamFresh: changes in the sandbox to channels, their
// members, user groups, emoji and messages reach the synced records through
// Slack's events, without a sync, each record saying which event wrote it;
// the next full sync finds nothing to correct. An event that says what is
// not so is corrected by the next sync, which counts it.
func TestEventsKeepEveryStreamFresh(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3}})
	if _, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: h.URL + "/v1/events/slack", BotEvents: slacksim.EventTypes}); err != nil {
		t.Fatal(err)
	}
	// The bot reads the history of the channels it is in.
	sandboxDo(t, h, http.MethodPost, "/_sandbox/channels", `{"name": "bot-home", "members": ["`+h.Instance.BotUserID+`"]}`)
	syncStreams(t, h, freshStreams...)
	users, _, err := h.Store.ListRecords(ctx, h.Admin.Org.ID, h.Instance.ID, "users", store.RecordFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var people []string
	for _, u := range users {
		if field(u, "is_bot") != true && u.Key != "USLACKBOT" && field(u, "deleted") != true && field(u, "is_restricted") != true {
			people = append(people, u.Key)
		}
	}
	if len(people) < 3 {
		t.Fatalf("the sandbox has %d people, want 3", len(people))
	}
	ada, bob, cy, bot := people[0], people[1], people[2], h.Instance.BotUserID

	// Channels and their members.
	created := sandboxDo(t, h, http.MethodPost, "/_sandbox/channels", `{"name": "fresh-events", "members": ["`+ada+`", "`+bot+`"]}`)
	ch, creator := created["channel"].(map[string]any)["id"].(string), created["channel"].(map[string]any)["creator"].(string)
	sandboxDo(t, h, http.MethodPost, "/_sandbox/channels/"+ch+"/rename", `{"name": "renamed-by-event"}`)
	sandboxDo(t, h, http.MethodPost, "/_sandbox/channels/"+ch+"/members", `{"user": "`+bob+`"}`)
	sandboxDo(t, h, http.MethodDelete, "/_sandbox/channels/"+ch+"/members/"+ada, ``)
	archived := sandboxDo(t, h, http.MethodPost, "/_sandbox/channels", `{"name": "to-archive"}`)["channel"].(map[string]any)["id"].(string)
	sandboxDo(t, h, http.MethodPost, "/_sandbox/channels/"+archived+"/archive", `{}`)
	// User groups and their members.
	group := sandboxDo(t, h, http.MethodPost, "/_sandbox/usergroups", `{"name": "Fresh", "handle": "fresh", "users": ["`+ada+`", "`+bob+`"]}`)["usergroup"].(map[string]any)["id"].(string)
	sandboxDo(t, h, http.MethodPut, "/_sandbox/usergroups/"+group+"/users", `{"users": ["`+bob+`", "`+cy+`"]}`)
	// Emoji.
	sandboxDo(t, h, http.MethodPost, "/_sandbox/emoji", `{"name": "fresh", "url": "https://emoji.example/fresh.png"}`)
	sandboxDo(t, h, http.MethodPost, "/_sandbox/emoji", `{"name": "stale", "url": "https://emoji.example/stale.png"}`)
	sandboxDo(t, h, http.MethodDelete, "/_sandbox/emoji/stale", ``)
	// Messages.
	kept := sandboxDo(t, h, http.MethodPost, "/_sandbox/messages", `{"channel": "`+ch+`", "user": "`+bob+`", "text": "first"}`)["ts"].(string)
	sandboxDo(t, h, http.MethodPatch, "/_sandbox/messages/"+ch+"/"+kept, `{"text": "edited by an event"}`)
	gone := sandboxDo(t, h, http.MethodPost, "/_sandbox/messages", `{"channel": "`+ch+`", "user": "`+bob+`", "text": "soon gone"}`)["ts"].(string)
	sandboxDo(t, h, http.MethodDelete, "/_sandbox/messages/"+ch+"/"+gone, ``)

	checks := []struct {
		what string
		ok   func() bool
	}{
		{"the new channel, renamed", func() bool {
			r := record(h, "channels", ch)
			prev, _ := field(r, "previous_names").([]any)
			return field(r, "name") == "renamed-by-event" && slices.Contains(prev, any("fresh-events"))
		}},
		{"the archived channel", func() bool { return field(record(h, "channels", archived), "is_archived") == true }},
		{"the channel's members", func() bool {
			return slices.Equal(channelMembers(t, h, ch), slices.Sorted(slices.Values([]string{creator, bob, bot})))
		}},
		{"the user group", func() bool { return field(record(h, "usergroups", group), "name") == "Fresh" }},
		{"the user group's members", func() bool {
			return record(h, "usergroup_members", group+"/"+bob).DeletedAt.IsZero() && record(h, "usergroup_members", group+"/"+cy).SeenRunID != "" &&
				record(h, "usergroup_members", group+"/"+cy).DeletedAt.IsZero() && !record(h, "usergroup_members", group+"/"+ada).DeletedAt.IsZero()
		}},
		{"the emoji added", func() bool { return field(record(h, "emoji", "fresh"), "url") == "https://emoji.example/fresh.png" }},
		{"the emoji removed", func() bool { return !record(h, "emoji", "stale").DeletedAt.IsZero() }},
		{"the edited message", func() bool { return field(record(h, "messages", ch+"/"+kept), "text") == "edited by an event" }},
		{"the deleted message", func() bool { return !record(h, "messages", ch+"/"+gone).DeletedAt.IsZero() }},
	}
	for _, c := range checks {
		eventually(t, c.what, c.ok)
	}
	for stream, key := range map[string]string{"channels": ch, "channel_members": ch + "/0000", "usergroups": group, "usergroup_members": group + "/" + cy,
		"emoji": "fresh", "messages": ch + "/" + kept} {
		if r := record(h, stream, key); !r.WrittenByEvent() {
			t.Errorf("%s %s: written by %q, want the event that changed it", stream, key, r.SeenRunID)
		}
	}

	// The next full sync agrees with what the events wrote.
	run := syncStreams(t, h, freshStreams...)
	for _, s := range freshStreams {
		if n := run.Stats[s+".corrected"]; n != 0 {
			t.Errorf("the sync after the events corrected %d %s records, want none: the events kept them as Slack has them", n, s)
		}
	}
	for _, c := range checks {
		if !c.ok() {
			t.Errorf("after the sync: %s is not as Slack has it", c.what)
		}
	}

	// An event that says what is not so: the next sync corrects the record,
	// and counts it.
	sandboxDo(t, h, http.MethodPost, "/_sandbox/events", `{"event": {"type": "channel_rename", "channel": {"id": "`+ch+`", "name": "a-lie", "name_normalized": "a-lie"}}}`)
	eventually(t, "the lie in the channels records", func() bool { return field(record(h, "channels", ch), "name") == "a-lie" })
	run = syncStreams(t, h, "channels")
	if n := run.Stats["channels.corrected"]; n != 1 {
		t.Errorf("the sync after a wrong event corrected %d channels, want 1 (stats %v)", n, run.Stats)
	}
	if r := record(h, "channels", ch); field(r, "name") != "renamed-by-event" || r.SeenRunID != run.ID {
		t.Errorf("after the sync the channel is %v, written by %s; want Slack's name, by the run %s", field(r, "name"), r.SeenRunID, run.ID)
	}
}
