package slacksim_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack/slackevents"

	"github.com/connhub/connhub/internal/slacksim"
)

// allEventTypes are the event types the sandbox emits from workspace changes.
var allEventTypes = slacksim.EventTypes

// TestEventsFollowSlackShapes causes each event type through the controls and
// the Web API and checks what a Request URL receives: signed (checked with
// slack-go's verifier), in Slack's envelope, in the order the changes were
// made, and parsed by slack-go into the event's own type.
func TestEventsFollowSlackShapes(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Seed: 11})
	info := srv.Info(base)
	rc := newReceiver(t, info.SigningSecret)
	bot, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write", "channels:read", "channels:join", "users:read"}})
	if err != nil {
		t.Fatal(err)
	}
	person, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read"}})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"request_url":%q,"bot_events":[%s]}`, rc.url, `"`+strings.Join(allEventTypes, `","`)+`"`)
	sub := controlJSON(t, base, "POST", "/_sandbox/event_subscriptions", body, 200)["subscription"].(map[string]any)
	if sub["state"] != "enabled" || sub["enabled"] != true {
		t.Fatalf("got subscription %v, want it enabled", sub)
	}

	// Each change, and the event types it sends, in order.
	var want []string
	step := func(types ...string) { want = append(want, types...) }

	uid := controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Ada Lovelace","email":"ada@example.org"}`, 201)["user"].(map[string]any)["id"].(string)
	step("team_join")
	controlJSON(t, base, "PATCH", "/_sandbox/users/"+uid, `{"title":"Countess"}`, 200)
	step("user_change")
	cid := controlJSON(t, base, "POST", "/_sandbox/channels", `{"name":"events-test","members":["`+uid+`"]}`, 201)["channel"].(map[string]any)["id"].(string)
	step("channel_created", "member_joined_channel")
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/rename", `{"name":"events-renamed"}`, 200)
	step("channel_rename")
	ts := controlJSON(t, base, "POST", "/_sandbox/messages", `{"channel":"`+cid+`","user":"`+uid+`","text":"hello <@`+uid+`>"}`, 201)["ts"].(string)
	step("message")
	reply := controlJSON(t, base, "POST", "/_sandbox/messages", `{"channel":"`+cid+`","user":"`+uid+`","text":"a reply","thread_ts":"`+ts+`"}`, 201)["ts"].(string)
	step("message")
	got, _ := webAPI(t, base, bot.AccessToken, "conversations.join", url.Values{"channel": {cid}})
	wantOK(t, got)
	step("member_joined_channel", "message")
	got, _ = webAPI(t, base, bot.AccessToken, "chat.postMessage", url.Values{"channel": {cid}, "text": {"from the bot"}})
	wantOK(t, got)
	step("message")
	controlJSON(t, base, "PATCH", "/_sandbox/messages/"+cid+"/"+ts, `{"text":"hello, edited"}`, 200)
	step("message")
	controlJSON(t, base, "DELETE", "/_sandbox/messages/"+cid+"/"+reply, "", 200)
	step("message")
	controlJSON(t, base, "DELETE", "/_sandbox/channels/"+cid+"/members/"+uid, "", 200)
	step("member_left_channel", "message")
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/archive", "", 200)
	step("channel_archive")
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/unarchive", "", 200)
	step("channel_unarchive")
	controlJSON(t, base, "DELETE", "/_sandbox/channels/"+cid, "", 200)
	step("channel_deleted")
	sid := controlJSON(t, base, "POST", "/_sandbox/usergroups", `{"name":"Analysts","handle":"analysts","users":["`+uid+`"]}`, 201)["usergroup"].(map[string]any)["id"].(string)
	step("subteam_created")
	controlJSON(t, base, "PATCH", "/_sandbox/usergroups/"+sid, `{"description":"People who read numbers"}`, 200)
	step("subteam_updated")
	controlJSON(t, base, "PUT", "/_sandbox/usergroups/"+sid+"/users", `{"users":["`+person.UserID+`"]}`, 200)
	step("subteam_members_changed", "subteam_updated")
	controlJSON(t, base, "POST", "/_sandbox/emoji", `{"name":"sandbox-party","url":"https://emoji.example/party.png"}`, 201)
	step("emoji_changed")
	controlJSON(t, base, "DELETE", "/_sandbox/emoji/sandbox-party", "", 200)
	step("emoji_changed")
	emitTest(t, base)
	step("app_mention")
	controlJSON(t, base, "POST", "/_sandbox/tokens/revoke", `{"kind":"user"}`, 200)
	step("tokens_revoked")
	controlJSON(t, base, "POST", "/_sandbox/app/uninstall", `{}`, 200)
	step("tokens_revoked", "app_uninstalled")

	all := rc.waitCount(t, len(want))
	var order []string
	for _, r := range all {
		order = append(order, r.eventType())
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("got events\n%v\nwant, in the order of the changes,\n%v", order, want)
	}
	if rc.unverified != 0 {
		t.Errorf("got %d deliveries slack-go could not verify, want 0", rc.unverified)
	}

	seen := map[string]bool{}
	for i, r := range all {
		checkEnvelope(t, r, info, bot.UserID, seen)
		parsed := parseSlackGo(t, r)
		if parsed.Type != slackevents.CallbackEvent || parsed.InnerEvent.Type != r.eventType() {
			t.Errorf("delivery %d: slack-go parsed %s/%s, want event_callback/%s", i, parsed.Type, parsed.InnerEvent.Type, r.eventType())
		}
		checkInner(t, i, r, parsed, uid, cid, ts)
	}
	if n := len(srv.EventDeliveries()); n != len(want) {
		t.Errorf("got %d deliveries listed, want %d", n, len(want))
	}
	st := srv.Stats().Events
	if st.Emitted != int64(len(want)) || st.Acked != int64(len(want)) || st.Failed != 0 || st.Retried != 0 {
		t.Errorf("got event stats %+v, want %d emitted and acked, none failed or retried", st, len(want))
	}
}

// checkEnvelope checks Slack's event_callback wrapper on a workspace (not
// Grid) install.
func checkEnvelope(t *testing.T, r received, info slacksim.Info, botUser string, seen map[string]bool) {
	t.Helper()
	env := r.env
	id, _ := env["event_id"].(string)
	if !strings.HasPrefix(id, "Ev") || len(id) != 12 || seen[id] {
		t.Errorf("%s: got event_id %q, want a new Ev… ID", r.eventType(), id)
	}
	seen[id] = true
	if env["type"] != "event_callback" || env["team_id"] != info.TeamID || env["api_app_id"] != info.AppID || env["token"] == "" {
		t.Errorf("%s: envelope %v, want event_callback for %s and %s with a token", r.eventType(), env, info.TeamID, info.AppID)
	}
	if et, ok := env["event_time"].(float64); !ok || et <= 0 {
		t.Errorf("%s: got event_time %v, want unix seconds", r.eventType(), env["event_time"])
	}
	if env["is_ext_shared_channel"] != false || !strings.HasPrefix(fmt.Sprint(env["event_context"]), "4-") {
		t.Errorf("%s: got is_ext_shared_channel %v, event_context %v", r.eventType(), env["is_ext_shared_channel"], env["event_context"])
	}
	if _, grid := env["enterprise_id"]; grid {
		t.Errorf("%s: enterprise_id on a workspace that is not Grid", r.eventType())
	}
	auths, _ := env["authorizations"].([]any)
	if len(auths) != 1 {
		t.Fatalf("%s: got authorizations %v, want one", r.eventType(), env["authorizations"])
	}
	a := auths[0].(map[string]any)
	wantUser := botUser
	if r.eventType() == "tokens_revoked" && len(r.event()["tokens"].(map[string]any)["bot"].([]any)) == 0 {
		wantUser = "" // the user grant revoked: its user
	}
	if a["team_id"] != info.TeamID || a["is_bot"] != (wantUser != "") || a["is_enterprise_install"] != false || a["enterprise_id"] != nil ||
		(wantUser != "" && a["user_id"] != wantUser) {
		t.Errorf("%s: got authorization %v, want the bot %s in %s", r.eventType(), a, botUser, info.TeamID)
	}
	if r.eventType() != "app_uninstalled" && r.event()["event_ts"] == nil {
		t.Errorf("%s: no event_ts", r.eventType())
	}
}

// checkInner checks the fields of each kind of event that an app reads.
func checkInner(t *testing.T, i int, r received, parsed slackevents.EventsAPIEvent, uid, cid, ts string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("delivery %d (%s): "+format, append([]any{i, r.eventType()}, args...)...)
	}
	switch ev := parsed.InnerEvent.Data.(type) {
	case *slackevents.UserChangeEvent:
		if ev.User.ID != uid || ev.User.Profile.Title != "Countess" || ev.CacheTS == 0 {
			fail("got user %s title %q cache_ts %d", ev.User.ID, ev.User.Profile.Title, ev.CacheTS)
		}
	case *slackevents.TeamJoinEvent:
		if ev.User == nil || ev.User.ID != uid || ev.User.RealName != "Ada Lovelace" {
			fail("got user %+v", ev.User)
		}
	case *slackevents.ChannelCreatedEvent:
		if ev.Channel.ID != cid || ev.Channel.Name != "events-test" || ev.Channel.Creator == "" || ev.Channel.Created == 0 {
			fail("got channel %+v", ev.Channel)
		}
	case *slackevents.ChannelRenameEvent:
		if ev.Channel.ID != cid || ev.Channel.Name != "events-renamed" {
			fail("got channel %+v", ev.Channel)
		}
	case *slackevents.ChannelArchiveEvent:
		if ev.Channel != cid || ev.User == "" {
			fail("got %+v", ev)
		}
	case *slackevents.ChannelUnarchiveEvent:
		if ev.Channel != cid || ev.User == "" {
			fail("got %+v", ev)
		}
	case *slackevents.ChannelDeletedEvent:
		if ev.Channel != cid {
			fail("got %+v", ev)
		}
	case *slackevents.MemberJoinedChannelEvent:
		if ev.Channel != cid || ev.ChannelType != "C" || ev.User == "" || ev.Team == "" {
			fail("got %+v", ev)
		}
	case *slackevents.MemberLeftChannelEvent:
		if ev.Channel != cid || ev.User != uid || ev.ChannelType != "C" {
			fail("got %+v", ev)
		}
	case *slackevents.MessageEvent:
		if ev.Channel != cid || ev.ChannelType != "channel" || ev.EventTimeStamp == "" {
			fail("got channel %s type %s", ev.Channel, ev.ChannelType)
		}
		switch ev.SubType {
		case "":
			if ev.TimeStamp == "" || ev.Text == "" || ev.User == "" {
				fail("got %+v", ev)
			}
			if ev.Text == "a reply" && ev.ThreadTimeStamp != ts {
				fail("a thread reply with thread_ts %q, want %s", ev.ThreadTimeStamp, ts)
			}
			if ev.Text == "from the bot" && ev.BotID == "" {
				fail("a bot's message without bot_id")
			}
		case "message_changed":
			if ev.Message == nil || ev.Message.Text != "hello, edited" || ev.Message.Timestamp != ts || ev.Message.Edited == nil ||
				ev.PreviousMessage == nil || ev.PreviousMessage.Text == "hello, edited" {
				fail("got message %+v previous %+v", ev.Message, ev.PreviousMessage)
			}
		case "message_deleted":
			if ev.DeletedTimeStamp == "" || ev.PreviousMessage == nil || ev.PreviousMessage.Text != "a reply" {
				fail("got deleted_ts %q previous %+v", ev.DeletedTimeStamp, ev.PreviousMessage)
			}
		case "channel_join", "channel_leave":
		default:
			fail("unexpected subtype %q", ev.SubType)
		}
	case *slackevents.SubteamCreatedEvent:
		if ev.Subteam.Handle != "analysts" || len(ev.Subteam.Users) != 1 {
			fail("got %+v", ev.Subteam)
		}
	case *slackevents.SubteamUpdatedEvent:
		if ev.Subteam.Description != "People who read numbers" {
			fail("got %+v", ev.Subteam)
		}
	case *slackevents.SubteamMembersChangedEvent:
		if ev.AddedUsersCount != 1 || len(ev.RemovedUsers) != 1 || ev.RemovedUsers[0] != uid || ev.DateUpdate == 0 {
			fail("got %+v", ev)
		}
	case *slackevents.EmojiChangedEvent:
		if (ev.Subtype != "add" || ev.Name != "sandbox-party" || ev.Value == "") && (ev.Subtype != "remove" || len(ev.Names) != 1) {
			fail("got %+v", ev)
		}
	case *slackevents.TokensRevokedEvent:
		if len(ev.Tokens.Oauth)+len(ev.Tokens.Bot) == 0 {
			fail("got %+v", ev)
		}
	case *slackevents.AppUninstalledEvent:
	case *slackevents.AppMentionEvent:
		if ev.Text != "<@U2> hi" {
			fail("got %+v", ev)
		}
	default:
		fail("slack-go parsed it as %T", parsed.InnerEvent.Data)
	}
}

// TestPrivateChannelAndUserEvents: a private channel's life is told with
// group_* events and channel_type "G"/"group"; an event type in user_events
// reaches a user install, authorized as that user.
func TestPrivateChannelAndUserEvents(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Seed: 5})
	info := srv.Info(base)
	rc := newReceiver(t, info.SigningSecret)
	person, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"groups:read"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = srv.SetEventSubscription(context.Background(), slacksim.EventSubscription{RequestURL: rc.url,
		UserEvents: []string{"channel_created", "group_rename", "group_archive", "group_deleted", "member_joined_channel", "message"}})
	if err != nil {
		t.Fatal(err)
	}
	cid := controlJSON(t, base, "POST", "/_sandbox/channels", `{"name":"secret-room","private":true}`, 201)["channel"].(map[string]any)["id"].(string)
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/rename", `{"name":"secret-room-2"}`, 200)
	uid := controlJSON(t, base, "POST", "/_sandbox/users", `{"real_name":"Quiet Person"}`, 201)["user"].(map[string]any)["id"].(string)
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/members", `{"user":"`+uid+`"}`, 200)
	controlJSON(t, base, "POST", "/_sandbox/channels/"+cid+"/archive", "", 200)
	controlJSON(t, base, "DELETE", "/_sandbox/channels/"+cid, "", 200)

	got := rc.waitCount(t, 5)
	var order []string
	for _, r := range got {
		order = append(order, r.eventType())
		a := r.env["authorizations"].([]any)[0].(map[string]any)
		if a["is_bot"] != false || a["user_id"] != person.UserID {
			t.Errorf("%s: got authorization %v, want the user %s", r.eventType(), a, person.UserID)
		}
		parseSlackGo(t, r)
	}
	if want := "group_rename member_joined_channel message group_archive group_deleted"; strings.Join(order, " ") != want {
		t.Errorf("got %v, want %s (no channel_created for a private channel)", order, want)
	}
	if ct := got[1].event()["channel_type"]; ct != "G" {
		t.Errorf("member_joined_channel: got channel_type %v, want G", ct)
	}
	if ct := got[2].event()["channel_type"]; ct != "group" {
		t.Errorf("message: got channel_type %v, want group", ct)
	}
}

// TestSCIMChangesAreEvents: SCIM provisioning is a change to the workspace
// like any other: team_join, user_change, subteam_created,
// subteam_members_changed and subteam_updated follow it.
func TestSCIMChangesAreEvents(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	rc := newReceiver(t, e.srv.Info(e.url).SigningSecret)
	if _, err := e.srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"users:read"}}); err != nil {
		t.Fatal(err)
	}
	subscribe(t, e.srv, rc, "team_join", "user_change", "subteam_created", "subteam_updated", "subteam_members_changed")
	id := e.do("POST", "Users", map[string]any{"schemas": scimUserSchemas, "userName": "provisioned", "displayName": "Provisioned Person",
		"emails": []map[string]any{{"value": "provisioned@example.org"}}}, 201)["id"].(string)
	e.do("PATCH", "Users/"+id, scimPatchBody(scimOp("replace", "title", "Auditor")), 200)
	gid := e.do("POST", "Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Auditors"}, 201)["id"].(string)
	e.do("PATCH", "Groups/"+gid, scimPatchBody(scimOp("add", "members", []map[string]any{{"value": id}})), 200)
	e.do("DELETE", "Users/"+id, nil, 204)
	e.do("DELETE", "Groups/"+gid, nil, 204)

	got := rc.waitCount(t, 7)
	var order []string
	for _, r := range got {
		order = append(order, r.eventType())
		parseSlackGo(t, r)
	}
	want := "team_join user_change subteam_created subteam_members_changed subteam_updated user_change subteam_updated"
	if strings.Join(order, " ") != want {
		t.Fatalf("got %v, want %s", order, want)
	}
	if u := got[1].event()["user"].(map[string]any); u["id"] != id || u["profile"].(map[string]any)["title"] != "Auditor" {
		t.Errorf("user_change: got %v, want %s titled Auditor", u["id"], id)
	}
	if u := got[5].event()["user"].(map[string]any); u["deleted"] != true {
		t.Errorf("user_change after DELETE: got deleted %v, want true", u["deleted"])
	}
	if g := got[6].event()["subteam"].(map[string]any); g["id"] != gid || g["date_delete"] == 0.0 {
		t.Errorf("subteam_updated after DELETE: got %v, want date_delete set", g)
	}
}

// TestAuthRevokeSendsTokensRevoked: auth.revoke, like Slack, tells the app
// with tokens_revoked, authorized as the grant it revoked.
func TestAuthRevokeSendsTokensRevoked(t *testing.T) {
	t.Parallel()
	srv, base, rc := setupEvents(t, slacksim.Config{})
	subscribe(t, srv, rc, "tokens_revoked")
	bot, err := srv.IssueToken(slacksim.TokenRequest{Scopes: []string{"chat:write"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := webAPI(t, base, bot.AccessToken, "auth.revoke", nil)
	wantOK(t, got)
	r := rc.waitCount(t, 1)[0]
	ev := parseSlackGo(t, r).InnerEvent.Data.(*slackevents.TokensRevokedEvent)
	a := r.env["authorizations"].([]any)[0].(map[string]any)
	if len(ev.Tokens.Bot) != 1 || ev.Tokens.Bot[0] != bot.UserID || a["user_id"] != bot.UserID || a["is_bot"] != true {
		t.Errorf("got tokens %+v, authorization %v; want the bot %s", ev.Tokens, a, bot.UserID)
	}
}
