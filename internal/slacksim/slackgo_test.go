package slacksim_test

// The slack-go conformance suite: the real slack-go client, unmodified, talks
// to the sandbox over HTTP for every Web API method the sandbox emulates that
// slack-go supports, and for slack-go's OAuth functions. If slack-go cannot
// parse the sandbox, or reads a value that disagrees with what the sandbox says
// it generated (Summary, IssueToken), the sandbox is wrong.
//
// Every test runs its own sandbox on a fixed clock, so that rate windows and
// token lifetimes move only when a test advances the clock.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/slacksim"
)

// sgEpoch is the sandbox clock of every test in this file.
var sgEpoch = time.Date(2026, time.March, 2, 15, 4, 5, 0, time.UTC)

// sgEnv is one sandbox served over HTTP.
type sgEnv struct {
	srv  *slacksim.Server
	base string // scheme and host
	info slacksim.Info
}

// setupSlackGo starts a sandbox for one test: 150 users unless cfg says
// otherwise, on a clock frozen at sgEpoch unless cfg brings its own.
func setupSlackGo(t *testing.T, cfg slacksim.Config) *sgEnv {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 150
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return sgEpoch }
	}
	srv, err := slacksim.New(cfg)
	if err != nil {
		t.Fatalf("slacksim.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &sgEnv{srv: srv, base: ts.URL, info: srv.Info(ts.URL)}
}

// client is slack-go pointed at the sandbox.
func (e *sgEnv) client(token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(e.base+"/api/"))
}

func (e *sgEnv) apiURL() slack.OAuthOption { return slack.OAuthOptionAPIURL(e.base + "/api/") }

// issue grants a token without the browser. Grants of one app, kind and place
// accumulate scopes, as on Slack, so a test that needs a token without some
// scope uses its own sandbox.
func (e *sgEnv) issue(t *testing.T, req slacksim.TokenRequest) slacksim.IssuedToken {
	t.Helper()
	tok, err := e.srv.IssueToken(req)
	if err != nil {
		t.Fatalf("IssueToken(%+v): %v", req, err)
	}
	return tok
}

// The scopes of a bot and of a user (the primary owner) that may read
// everything slack-go reads.
var (
	sgBotScopes = []string{
		"bookmarks:read", "calls:read", "channels:history", "channels:join", "channels:read", "chat:write",
		"emoji:read", "files:read", "groups:history", "groups:read", "im:history", "im:read", "mpim:history",
		"mpim:read", "team:read", "usergroups:read", "users.profile:read", "users:read", "users:read.email",
	}
	sgUserScopes = []string{
		"admin", "bookmarks:read", "channels:history", "channels:read", "files:read", "groups:history",
		"groups:read", "im:history", "im:read", "mpim:history", "mpim:read", "usergroups:read", "users:read",
	}
	sgAllTypes = []string{"public_channel", "private_channel", "mpim", "im"}
)

// sgErrCode is the Slack error code slack-go reports, or "" when err is not a
// Slack error response.
func sgErrCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func sgWantErr(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := sgErrCode(err); got != code {
		t.Errorf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

func sgCheck(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sgWalkUsers pages through users.list with GetUsersPaginated.
func sgWalkUsers(t *testing.T, api *slack.Client, opts ...slack.GetUsersOption) (users []slack.User, pages int) {
	t.Helper()
	p := api.GetUsersPaginated(opts...)
	var err error
	for {
		p, err = p.Next(t.Context())
		if p.Done(err) {
			return users, pages
		}
		sgCheck(t, fmt.Sprintf("users.list page %d", pages+1), err)
		pages++
		users = append(users, p.Users...)
		if pages > 1000 {
			t.Fatal("users.list: more than 1000 pages; the cursor does not advance")
		}
	}
}

// sgWalkConversations pages through conversations.list with GetConversations
// and the cursor it returns.
func sgWalkConversations(t *testing.T, api *slack.Client, params slack.GetConversationsParameters) []slack.Channel {
	t.Helper()
	var out []slack.Channel
	for pages := 1; ; pages++ {
		chs, next, err := api.GetConversations(&params)
		sgCheck(t, fmt.Sprintf("conversations.list page %d", pages), err)
		out = append(out, chs...)
		if next == "" {
			return out
		}
		if pages > 1000 {
			t.Fatal("conversations.list: more than 1000 pages; the cursor does not advance")
		}
		params.Cursor = next
	}
}

func sgIDs[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func sgChannelID(c slack.Channel) string { return c.ID }
func sgUserID(u slack.User) string       { return u.ID }

// sgDups lists the IDs that occur more than once.
func sgDups(ids []string) []string {
	seen := map[string]int{}
	var dups []string
	for _, id := range ids {
		if seen[id]++; seen[id] == 2 {
			dups = append(dups, id)
		}
	}
	return dups
}

func sgSorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// sgTS reads a message timestamp as microseconds, failing the test on a
// malformed one.
func sgTS(t *testing.T, ts string) int64 {
	t.Helper()
	sec, frac, ok := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || len(frac) != 6 || err1 != nil || err2 != nil {
		t.Fatalf("message ts %q is not Slack's seconds.micros", ts)
	}
	return s*1e6 + f
}

// sgCovered names, for each emulated method, the slack-go functions this file
// drives it with. sgNotInSlackGo lists the emulated methods slack-go has no
// function for (FACTS 6), which only raw HTTP reaches.
var (
	sgCovered = map[string]string{
		"oauth.v2.access":       "GetOAuthV2Response, RefreshOAuthV2Token (TestSlackGoOAuth, TestSlackGoOAuthPKCE)",
		"auth.test":             "AuthTest (TestSlackGoAuth)",
		"auth.revoke":           "SendAuthRevoke (TestSlackGoAuth)",
		"auth.teams.list":       "ListTeams (TestSlackGoEnterpriseGrid)",
		"users.list":            "GetUsersPaginated, GetUsers (TestSlackGoUsers)",
		"users.info":            "GetUserInfo, GetUsersInfo (TestSlackGoUsers)",
		"users.lookupByEmail":   "GetUserByEmail (TestSlackGoUsers)",
		"users.profile.get":     "GetUserProfile (TestSlackGoUsers)",
		"users.getPresence":     "GetUserPresence (TestSlackGoUsers)",
		"users.conversations":   "GetConversationsForUser (TestSlackGoConversations)",
		"conversations.list":    "GetConversations, GetConversationsPaginated (TestSlackGoConversations)",
		"conversations.info":    "GetConversationInfo (TestSlackGoConversations)",
		"conversations.members": "GetUsersInConversation (TestSlackGoConversations)",
		"conversations.history": "GetConversationHistory (TestSlackGoHistory)",
		"conversations.replies": "GetConversationReplies (TestSlackGoHistory)",
		"conversations.join":    "JoinConversation (TestSlackGoHistory)",
		"chat.postMessage":      "PostMessage (TestSlackGoHistory)",
		"usergroups.list":       "GetUserGroups (TestSlackGoUserGroups)",
		"usergroups.users.list": "GetUserGroupMembers (TestSlackGoUserGroups)",
		"team.info":             "GetTeamInfo (TestSlackGoTeam)",
		"team.billableInfo":     "GetBillableInfo (TestSlackGoTeam)",
		"team.accessLogs":       "GetAccessLogs (TestSlackGoTeam)",
		"files.list":            "GetFiles, ListFiles (TestSlackGoFiles)",
		"emoji.list":            "GetEmoji (TestSlackGoEmojiBookmarksCalls)",
		"bookmarks.list":        "ListBookmarks (TestSlackGoEmojiBookmarksCalls)",
		"calls.info":            "GetCall (TestSlackGoEmojiBookmarksCalls)",
	}
	sgNotInSlackGo = []string{"admin.analytics.getFile", "oauth.v2.exchange", "team.billing.info", "team.integrationLogs"}
)

// TestSlackGoCoverage fails when the sandbox emulates a method this suite does
// not drive through slack-go, so a new method comes with its conformance test.
func TestSlackGoCoverage(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	emulated := e.srv.Emulated()
	for _, m := range emulated {
		if _, ok := sgCovered[m]; !ok && !slices.Contains(sgNotInSlackGo, m) {
			t.Errorf("%s is emulated but not driven through slack-go here (nor listed as unsupported by slack-go)", m)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(sgCovered)) {
		if !slices.Contains(emulated, m) {
			t.Errorf("%s is covered here but the sandbox no longer emulates it", m)
		}
	}
}

func TestSlackGoAuth(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read", "channels:read"}})
	user := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "search:read"}})
	team := e.srv.Summary().Teams[0]

	tests := []struct {
		name       string
		tok        slacksim.IssuedToken
		wantBotID  string
		wantScopes string
	}{
		{"bot", bot, bot.BotID, "channels:read,users:read"},
		{"user", user, "", "search:read,users:read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.client(tt.tok.AccessToken).AuthTest()
			sgCheck(t, "AuthTest", err)
			if got.UserID != tt.tok.UserID {
				t.Errorf("user_id: got %q, want %q", got.UserID, tt.tok.UserID)
			}
			if got.TeamID != team.ID || got.Team != team.Name {
				t.Errorf("team: got %q %q, want %q %q", got.TeamID, got.Team, team.ID, team.Name)
			}
			if want := "https://" + team.Domain + ".slack.com/"; got.URL != want {
				t.Errorf("url: got %q, want %q", got.URL, want)
			}
			if got.User == "" {
				t.Error("user: got empty, want the handle")
			}
			if got.BotID != tt.wantBotID {
				t.Errorf("bot_id: got %q, want %q", got.BotID, tt.wantBotID)
			}
			if got.EnterpriseID != "" {
				t.Errorf("enterprise_id: got %q, want none outside Enterprise Grid", got.EnterpriseID)
			}
			if h := got.Header.Get("X-OAuth-Scopes"); h != tt.wantScopes {
				t.Errorf("X-OAuth-Scopes: got %q, want %q", h, tt.wantScopes)
			}
		})
	}

	t.Run("revoke", func(t *testing.T) {
		api := e.client(bot.AccessToken)
		got, err := api.SendAuthRevoke("")
		sgCheck(t, "SendAuthRevoke", err)
		if !got.Revoked {
			t.Errorf("revoked: got false, want true")
		}
		_, err = api.AuthTest()
		sgWantErr(t, "AuthTest after revoke", err, "token_revoked")
		_, err = api.SendAuthRevoke("")
		sgWantErr(t, "SendAuthRevoke twice", err, "token_revoked")
		// Revoking the bot leaves the user's grant alone.
		_, err = e.client(user.AccessToken).AuthTest()
		sgCheck(t, "AuthTest of the user token after the bot's revoke", err)
	})
}

func TestSlackGoUsers(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{Users: 180})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: sgBotScopes})
	owner := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read"}})
	api := e.client(bot.AccessToken)
	sum := e.srv.Summary()
	team := sum.Teams[0]

	users, pages := sgWalkUsers(t, api, slack.GetUsersOptionLimit(40))
	if len(users) != team.Users || len(users) != sum.Users["total"] {
		t.Fatalf("users.list walk: got %d users, want %d (Summary: workspace %d, org %d)", len(users), team.Users, team.Users, sum.Users["total"])
	}
	if want := (team.Users + 39) / 40; pages != want {
		t.Errorf("users.list walk: got %d pages of 40, want %d", pages, want)
	}
	if d := sgDups(sgIDs(users, sgUserID)); len(d) > 0 {
		t.Errorf("users.list walk: users seen more than once: %v", d)
	}

	byID := map[string]slack.User{}
	counts := map[string]int{}
	var picks struct{ owner, bot, otherBot, deleted, guest, slackbot, human slack.User }
	for _, u := range users {
		byID[u.ID] = u
		switch {
		case u.ID == "USLACKBOT":
			picks.slackbot = u
			counts["slackbot"]++
		case u.IsBot:
			counts["bots"]++
			if u.ID == bot.UserID {
				picks.bot = u
			} else if !u.Deleted && picks.otherBot.ID == "" {
				picks.otherBot = u
			}
		}
		if u.Deleted {
			counts["deactivated"]++
			if !u.IsBot && picks.deleted.ID == "" {
				picks.deleted = u
			}
		}
		if u.IsPrimaryOwner {
			counts["primary_owners"]++
			picks.owner = u
		}
		if u.IsInvitedUser {
			counts["invited"]++
		}
		if u.IsUltraRestricted {
			counts["single_channel_guests"]++
		} else if u.IsRestricted {
			counts["multi_channel_guests"]++
			if !u.Deleted && picks.guest.ID == "" {
				picks.guest = u
			}
		}
		if !u.Deleted && !u.IsBot && !u.IsRestricted && !u.IsAdmin && u.ID != "USLACKBOT" && !u.IsInvitedUser && picks.human.ID == "" {
			picks.human = u
		}

		if !strings.HasPrefix(u.ID, "U") || u.Name == "" || u.TeamID != team.ID {
			t.Errorf("user %q: got name %q team %q, want a U… ID, a handle and team %q", u.ID, u.Name, u.TeamID, team.ID)
		}
		if u.Profile.RealName == "" || u.Profile.Team == "" || u.Profile.Image48 == "" || u.Profile.AvatarHash == "" {
			t.Errorf("user %s: profile real_name %q team %q image_48 %q avatar_hash %q, want all set", u.ID, u.Profile.RealName, u.Profile.Team, u.Profile.Image48, u.Profile.AvatarHash)
		}
		if u.Locale == "" {
			t.Errorf("user %s: locale empty, but GetUsers sends include_locale=true", u.ID)
		}
		if u.ID != "USLACKBOT" && u.Updated == 0 {
			t.Errorf("user %s: updated is 0", u.ID)
		}
		if human := !u.IsBot && u.ID != "USLACKBOT"; human && u.Profile.Email == "" {
			t.Errorf("user %s: no profile.email although the token has users:read.email", u.ID)
		}
		if u.Has2FA != nil {
			t.Errorf("user %s: has_2fa shown to a bot token; Slack shows it only to admins", u.ID)
		}
	}
	for _, k := range []string{"bots", "deactivated", "primary_owners", "invited", "single_channel_guests", "multi_channel_guests", "slackbot"} {
		if counts[k] != sum.Users[k] {
			t.Errorf("users.list %s: got %d, want %d (Summary)", k, counts[k], sum.Users[k])
		}
	}
	if picks.owner.ID != owner.UserID {
		t.Fatalf("primary owner: users.list says %q, the issued user token %q", picks.owner.ID, owner.UserID)
	}
	if picks.bot.ID == "" || picks.bot.Profile.BotID != bot.BotID || !picks.bot.IsBot {
		t.Errorf("the app's bot user %s: got %+v in users.list, want is_bot with profile.bot_id %q", bot.UserID, picks.bot.Profile, bot.BotID)
	}
	for name, u := range map[string]slack.User{"deleted": picks.deleted, "guest": picks.guest, "member": picks.human, "slackbot": picks.slackbot, "other bot": picks.otherBot} {
		if u.ID == "" {
			t.Fatalf("the workspace has no %s user to test with", name)
		}
	}
	pickList := []slack.User{picks.owner, picks.bot, picks.deleted, picks.guest, picks.human, picks.slackbot}

	t.Run("GetUsers", func(t *testing.T) {
		t.Parallel()
		all, err := api.GetUsers()
		sgCheck(t, "GetUsers", err)
		if !reflect.DeepEqual(all, users) {
			t.Errorf("GetUsers (limit 200) and a walk by 40: got %d users, want the same %d users in the same order", len(all), len(users))
		}
	})

	t.Run("GetUserInfo", func(t *testing.T) {
		t.Parallel()
		for _, want := range pickList {
			got, err := api.GetUserInfo(want.ID)
			sgCheck(t, "GetUserInfo "+want.ID, err)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetUserInfo(%s): got %+v, want the users.list entry %+v", want.ID, *got, want)
			}
		}
		_, err := api.GetUserInfo("U0NOSUCHUS")
		sgWantErr(t, "GetUserInfo of an unknown user", err, "user_not_found")
	})

	t.Run("GetUsersInfo", func(t *testing.T) {
		t.Parallel()
		got, err := api.GetUsersInfo(sgIDs(pickList, sgUserID)...)
		sgCheck(t, "GetUsersInfo", err)
		if got == nil || !reflect.DeepEqual(*got, pickList) {
			t.Errorf("GetUsersInfo: got %v, want the users.list entries of %v in order", got, sgIDs(pickList, sgUserID))
		}
		_, err = api.GetUsersInfo(picks.owner.ID, "U0NOSUCHUS")
		sgWantErr(t, "GetUsersInfo with an unknown user", err, "user_not_found")
	})

	t.Run("GetUserByEmail", func(t *testing.T) {
		t.Parallel()
		for _, want := range []slack.User{picks.owner, picks.guest, picks.human} {
			got, err := api.GetUserByEmail(strings.ToUpper(want.Profile.Email))
			sgCheck(t, "GetUserByEmail "+want.Profile.Email, err)
			// users.lookupByEmail takes no include_locale, so no locale comes.
			want.Locale = ""
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("GetUserByEmail(%s): got user %s, want %s as in users.list", want.Profile.Email, got.ID, want.ID)
			}
		}
		_, err := api.GetUserByEmail("nobody@nowhere.example")
		sgWantErr(t, "GetUserByEmail of an unknown address", err, "users_not_found")
		_, err = api.GetUserByEmail(picks.deleted.Profile.Email)
		sgWantErr(t, "GetUserByEmail of a deactivated user", err, "users_not_found")
	})

	t.Run("GetUserProfile", func(t *testing.T) {
		t.Parallel()
		for _, want := range pickList {
			got, err := api.GetUserProfile(&slack.GetUserProfileParameters{UserID: want.ID})
			sgCheck(t, "GetUserProfile "+want.ID, err)
			if !reflect.DeepEqual(*got, want.Profile) {
				t.Errorf("GetUserProfile(%s): got %+v, want the users.list profile %+v", want.ID, *got, want.Profile)
			}
		}
		self, err := api.GetUserProfile(&slack.GetUserProfileParameters{})
		sgCheck(t, "GetUserProfile of the caller", err)
		if self.BotID != bot.BotID {
			t.Errorf("GetUserProfile of the caller: got bot_id %q, want the bot's %q", self.BotID, bot.BotID)
		}
		_, err = api.GetUserProfile(&slack.GetUserProfileParameters{UserID: "U0NOSUCHUS"})
		sgWantErr(t, "GetUserProfile of an unknown user", err, "user_not_found")
	})

	t.Run("GetUserPresence", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name, user, want string
		}{
			{"the caller (a bot)", "", "active"},
			{"another app's bot", picks.otherBot.ID, "active"},
			{"a deactivated user", picks.deleted.ID, "away"},
			{"a member", picks.human.ID, ""},
		}
		for _, tt := range tests {
			got, err := api.GetUserPresence(tt.user)
			sgCheck(t, "GetUserPresence "+tt.name, err)
			if got.Presence != "active" && got.Presence != "away" {
				t.Errorf("GetUserPresence(%s): got presence %q, want active or away", tt.name, got.Presence)
			}
			if tt.want != "" && got.Presence != tt.want {
				t.Errorf("GetUserPresence(%s): got %q, want %q", tt.name, got.Presence, tt.want)
			}
			self := tt.user == ""
			if self && (!got.Online || got.ConnectionCount != 1 || got.LastActivity == 0) {
				t.Errorf("GetUserPresence(caller): got online %v connection_count %d last_activity %d, want the caller's details", got.Online, got.ConnectionCount, got.LastActivity)
			}
			if !self && (got.Online || got.LastActivity != 0) {
				t.Errorf("GetUserPresence(%s): got online/last_activity %v/%d, which Slack gives only for the caller", tt.name, got.Online, got.LastActivity)
			}
		}
		_, err := api.GetUserPresence("U0NOSUCHUS")
		sgWantErr(t, "GetUserPresence of an unknown user", err, "user_not_found")
	})

	t.Run("without users:read.email", func(t *testing.T) {
		t.Parallel()
		got, err := e.client(owner.AccessToken).GetUsers()
		sgCheck(t, "GetUsers with a user token", err)
		if len(got) != len(users) {
			t.Fatalf("GetUsers with a user token: got %d users, want %d", len(got), len(users))
		}
		for _, u := range got {
			if u.Profile.Email != "" {
				t.Errorf("user %s: got profile.email %q without users:read.email, want none", u.ID, u.Profile.Email)
			}
			// The primary owner is an admin: Slack shows admins has_2fa for people.
			if human := !u.IsBot && u.ID != "USLACKBOT"; human != (u.Has2FA != nil) {
				t.Errorf("user %s: has_2fa present %v for an admin caller, want %v", u.ID, u.Has2FA != nil, human)
			}
		}
		_, err = e.client(owner.AccessToken).GetUserByEmail(picks.human.Profile.Email)
		sgWantErr(t, "GetUserByEmail without users:read.email", err, "missing_scope")
	})
}

// sgMemberOfEveryKind finds a person who is in a private channel, a group DM
// and a DM, and returns a user token for them: the person whose view of
// conversations.list shows every kind. Nothing outside the person's own
// token can tell who that is, so it asks each person in turn.
func sgMemberOfEveryKind(t *testing.T, e *sgEnv) slacksim.IssuedToken {
	t.Helper()
	bot := e.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	users, err := e.client(bot.AccessToken).GetUsers()
	sgCheck(t, "GetUsers", err)
	for _, u := range users {
		if u.Deleted || u.IsBot || u.ID == "USLACKBOT" || u.IsRestricted || u.IsInvitedUser {
			continue
		}
		// Not admin: only admins and owners may grant it, and this person is
		// most likely neither.
		scopes := slices.DeleteFunc(slices.Clone(sgUserScopes), func(s string) bool { return s == "admin" })
		tok := e.issue(t, slacksim.TokenRequest{Kind: "user", UserID: u.ID, Scopes: scopes})
		chs, _, err := e.client(tok.AccessToken).GetConversationsForUser(&slack.GetConversationsForUserParameters{Types: sgAllTypes, Limit: 999})
		sgCheck(t, "GetConversationsForUser of "+u.ID, err)
		private := slices.ContainsFunc(chs, func(c slack.Channel) bool { return c.IsPrivate && !c.IsIM && !c.IsMpIM })
		mpim := slices.ContainsFunc(chs, func(c slack.Channel) bool { return c.IsMpIM })
		im := slices.ContainsFunc(chs, func(c slack.Channel) bool { return c.IsIM })
		if private && mpim && im {
			return tok
		}
	}
	t.Fatal("nobody in the workspace is in a private channel, a group DM and a DM")
	return slacksim.IssuedToken{}
}

func TestSlackGoConversations(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	viewer := sgMemberOfEveryKind(t, e)
	api := e.client(viewer.AccessToken)
	sum := e.srv.Summary()
	team := sum.Teams[0]
	me := viewer.UserID

	all := sgWalkConversations(t, api, slack.GetConversationsParameters{Types: sgAllTypes, Limit: 9})
	if d := sgDups(sgIDs(all, sgChannelID)); len(d) > 0 {
		t.Errorf("conversations.list walk: conversations seen more than once: %v", d)
	}
	kinds := map[string]int{}
	var general, im slack.Channel
	for _, c := range all {
		kind := "public_channel"
		switch {
		case c.IsIM:
			kind = "im"
			im = c
			if !strings.HasPrefix(c.ID, "D") || c.User == "" || c.User == me || c.Name != "" {
				t.Errorf("IM %s: got user %q name %q, want a D… ID naming the other party", c.ID, c.User, c.Name)
			}
			// Slack's DM object has none of the channel fields.
			if c.IsPrivate || c.IsChannel || c.PendingShared != nil || c.PreviousNames != nil {
				t.Errorf("IM %s: got is_private %v, is_channel %v, pending_shared present %v, previous_names present %v; want the DM shape without them",
					c.ID, c.IsPrivate, c.IsChannel, c.PendingShared != nil, c.PreviousNames != nil)
			}
		case c.IsMpIM:
			kind = "mpim"
		case c.IsPrivate:
			kind = "private_channel"
		}
		kinds[kind]++
		if c.IsGeneral {
			general = c
		}
		if c.ContextTeamID != team.ID {
			t.Errorf("conversation %s: context_team_id %q, want %q", c.ID, c.ContextTeamID, team.ID)
		}
		if c.Created == 0 {
			t.Errorf("conversation %s: created is 0", c.ID)
		}
		if c.IsIM {
			continue
		}
		if !strings.HasPrefix(c.ID, "C") || c.Name == "" || c.Creator == "" || c.NumMembers == 0 {
			t.Errorf("conversation %s: got name %q creator %q num_members %d, want a C… ID and all set", c.ID, c.Name, c.Creator, c.NumMembers)
		}
		// Slack writes "pending_shared": [] and "previous_names": [] on every
		// channel; slack-go reads an absent array as nil.
		if c.PendingShared == nil || c.PreviousNames == nil {
			t.Errorf("conversation %s: pending_shared present %v, previous_names present %v; want both, even when empty", c.ID, c.PendingShared != nil, c.PreviousNames != nil)
		}
		if c.IsChannel != (kind == "public_channel" || kind == "private_channel") {
			t.Errorf("conversation %s (%s): is_channel %v", c.ID, kind, c.IsChannel)
		}
		if kind != "public_channel" && !c.IsMember {
			t.Errorf("%s %s listed for a caller who is not a member", kind, c.ID)
		}
	}
	if kinds["public_channel"] != sum.Channels["public_channel"] {
		t.Errorf("public channels: got %d, want every one of the %d (Summary)", kinds["public_channel"], sum.Channels["public_channel"])
	}
	for _, k := range sgAllTypes {
		if kinds[k] == 0 || kinds[k] > sum.Channels[k] {
			t.Errorf("%s: got %d, want between 1 and %d (Summary)", k, kinds[k], sum.Channels[k])
		}
	}
	if general.ID == "" || general.Name != "general" || !general.IsMember {
		t.Fatalf("#general: got %+v, want it listed with is_member", general.GroupConversation)
	}

	t.Run("GetConversationsPaginated", func(t *testing.T) {
		t.Parallel()
		p := api.GetConversationsPaginated(slack.GetConversationsOptionTypes(sgAllTypes), slack.GetConversationsOptionLimit(7))
		var got []slack.Channel
		var err error
		for {
			p, err = p.Next(t.Context())
			if p.Done(err) {
				break
			}
			sgCheck(t, "GetConversationsPaginated", err)
			got = append(got, p.Conversations...)
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("walk by 7: got %d conversations, want the same %d as the walk by 9, in order", len(got), len(all))
		}
		defaults, err := api.GetAllConversations()
		sgCheck(t, "GetAllConversations", err)
		if len(defaults) != kinds["public_channel"] {
			t.Errorf("GetAllConversations without types: got %d, want the %d public channels (types defaults to public_channel)", len(defaults), kinds["public_channel"])
		}
	})

	t.Run("exclude_archived", func(t *testing.T) {
		t.Parallel()
		archived := 0
		for _, c := range all {
			if c.IsArchived && !c.IsPrivate {
				archived++
			}
		}
		got := sgWalkConversations(t, api, slack.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true, Limit: 50})
		if want := kinds["public_channel"] - archived; len(got) != want {
			t.Errorf("public, exclude_archived: got %d, want %d", len(got), want)
		}
		for _, c := range got {
			if c.IsArchived {
				t.Errorf("%s is archived but listed with exclude_archived", c.ID)
			}
		}
	})

	t.Run("GetConversationsForUser", func(t *testing.T) {
		t.Parallel()
		var want []string
		for _, c := range all {
			if c.IsIM || c.IsMember {
				want = append(want, c.ID)
			}
		}
		params := slack.GetConversationsForUserParameters{UserID: me, Types: sgAllTypes, Limit: 11}
		var got []string
		for {
			chs, next, err := api.GetConversationsForUser(&params)
			sgCheck(t, "GetConversationsForUser", err)
			got = append(got, sgIDs(chs, sgChannelID)...)
			if next == "" {
				break
			}
			params.Cursor = next
		}
		if !slices.Equal(sgSorted(got), sgSorted(want)) {
			t.Errorf("users.conversations of the caller: got %d conversations, want the %d conversations.list marks as the caller's", len(got), len(want))
		}
		// Another member's public channels are visible; their private ones
		// only where the caller is a member too.
		other := im.User
		chs, _, err := api.GetConversationsForUser(&slack.GetConversationsForUserParameters{UserID: other, Types: sgAllTypes, Limit: 999})
		sgCheck(t, "GetConversationsForUser of another user", err)
		if !slices.ContainsFunc(chs, func(c slack.Channel) bool { return c.ID == im.ID }) {
			t.Errorf("users.conversations of %s: the IM with the caller (%s) is missing", other, im.ID)
		}
	})

	t.Run("GetConversationInfo and GetUsersInConversation", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			ch   slack.Channel
		}{{"#general", general}, {"an IM", im}}
		for _, tt := range tests {
			info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: tt.ch.ID, IncludeNumMembers: true})
			sgCheck(t, "GetConversationInfo "+tt.name, err)
			if info.ID != tt.ch.ID || info.Name != tt.ch.Name || info.IsGeneral != tt.ch.IsGeneral || info.Created != tt.ch.Created {
				t.Errorf("GetConversationInfo(%s): got %s %q general=%v created=%d, want %s %q general=%v created=%d", tt.name,
					info.ID, info.Name, info.IsGeneral, info.Created, tt.ch.ID, tt.ch.Name, tt.ch.IsGeneral, tt.ch.Created)
			}
			params := slack.GetUsersInConversationParameters{ChannelID: tt.ch.ID, Limit: 13}
			var members []string
			for {
				page, next, err := api.GetUsersInConversation(&params)
				sgCheck(t, "GetUsersInConversation "+tt.name, err)
				if len(page) > 13 {
					t.Errorf("GetUsersInConversation(%s): got a page of %d, want at most 13", tt.name, len(page))
				}
				members = append(members, page...)
				if next == "" {
					break
				}
				params.Cursor = next
			}
			if d := sgDups(members); len(d) > 0 {
				t.Errorf("GetUsersInConversation(%s): members seen twice: %v", tt.name, d)
			}
			if !slices.Contains(members, me) {
				t.Errorf("GetUsersInConversation(%s): the caller %s is missing", tt.name, me)
			}
			if tt.ch.IsIM {
				if len(members) != 2 || !slices.Contains(members, tt.ch.User) {
					t.Errorf("GetUsersInConversation(IM): got %v, want the caller and %s", members, tt.ch.User)
				}
				continue
			}
			if info.NumMembers != len(members) || tt.ch.NumMembers != len(members) {
				t.Errorf("%s: num_members %d (info) and %d (list), but %d members", tt.name, info.NumMembers, tt.ch.NumMembers, len(members))
			}
		}
		info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: general.ID})
		sgCheck(t, "GetConversationInfo without include_num_members", err)
		if info.NumMembers != 0 {
			t.Errorf("GetConversationInfo without include_num_members: got num_members %d, want it absent", info.NumMembers)
		}
		_, err = api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C0NOSUCHCH"})
		sgWantErr(t, "GetConversationInfo of an unknown channel", err, "channel_not_found")
	})
}

// sgWalkHistory pages through conversations.history, checking has_more against
// the cursor on every page.
func sgWalkHistory(t *testing.T, api *slack.Client, params slack.GetConversationHistoryParameters) []slack.Message {
	t.Helper()
	var out []slack.Message
	for pages := 1; ; pages++ {
		resp, err := api.GetConversationHistory(&params)
		sgCheck(t, fmt.Sprintf("conversations.history page %d", pages), err)
		if params.Limit > 0 && len(resp.Messages) > params.Limit {
			t.Errorf("conversations.history page %d: got %d messages, want at most %d", pages, len(resp.Messages), params.Limit)
		}
		out = append(out, resp.Messages...)
		next := resp.ResponseMetaData.NextCursor
		if resp.HasMore != (next != "") {
			t.Errorf("conversations.history page %d: has_more %v with next_cursor %q", pages, resp.HasMore, next)
		}
		if next == "" {
			return out
		}
		if pages > 1000 {
			t.Fatal("conversations.history: more than 1000 pages; the cursor does not advance")
		}
		params.Cursor = next
	}
}

// sgWalkReplies pages through conversations.replies and returns every page.
func sgWalkReplies(t *testing.T, api *slack.Client, params slack.GetConversationRepliesParameters) [][]slack.Message {
	t.Helper()
	var pages [][]slack.Message
	for {
		msgs, hasMore, next, err := api.GetConversationReplies(&params)
		sgCheck(t, fmt.Sprintf("conversations.replies page %d", len(pages)+1), err)
		pages = append(pages, msgs)
		if hasMore != (next != "") {
			t.Errorf("conversations.replies page %d: has_more %v with next_cursor %q", len(pages), hasMore, next)
		}
		if next == "" {
			return pages
		}
		if len(pages) > 1000 {
			t.Fatal("conversations.replies: more than 1000 pages; the cursor does not advance")
		}
		params.Cursor = next
	}
}

func TestSlackGoHistory(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: sgBotScopes})
	api := e.client(bot.AccessToken)

	public := sgWalkConversations(t, api, slack.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true, Limit: 200})
	var general, other slack.Channel
	for _, c := range public {
		switch {
		case c.IsMember:
			t.Errorf("a new bot is a member of %s", c.ID)
		case c.IsGeneral:
			general = c
		case other.ID == "":
			other = c
		}
	}
	if general.ID == "" || other.ID == "" {
		t.Fatal("the workspace has no #general or no second public channel")
	}

	_, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general.ID})
	sgWantErr(t, "GetConversationHistory before joining", err, "not_in_channel")

	joined, warning, warnings, err := api.JoinConversation(general.ID)
	sgCheck(t, "JoinConversation", err)
	if joined.ID != general.ID || !joined.IsMember || warning != "" {
		t.Errorf("JoinConversation: got %s is_member=%v warning %q, want %s joined without warning", joined.ID, joined.IsMember, warning, general.ID)
	}
	_, warning, warnings, err = api.JoinConversation(general.ID)
	sgCheck(t, "JoinConversation again", err)
	if warning != "already_in_channel" || !slices.Contains(warnings, "already_in_channel") {
		t.Errorf("JoinConversation again: got warning %q and %v, want already_in_channel in both", warning, warnings)
	}

	msgs := sgWalkHistory(t, api, slack.GetConversationHistoryParameters{ChannelID: general.ID, Limit: 40})
	if len(msgs) < 50 {
		t.Fatalf("#general holds %d messages; the suite needs a few pages", len(msgs))
	}
	for i, m := range msgs {
		if m.Type != "message" || m.User == "" || m.Text == "" {
			t.Errorf("message %s: type %q user %q text %q, want all set", m.Timestamp, m.Type, m.User, m.Text)
		}
		if i > 0 && sgTS(t, m.Timestamp) >= sgTS(t, msgs[i-1].Timestamp) {
			t.Errorf("history: %s follows %s; want strictly newest first", m.Timestamp, msgs[i-1].Timestamp)
		}
	}
	if m := msgs[0]; m.SubType != "channel_join" || m.User != bot.UserID {
		t.Errorf("newest message: got subtype %q by %q, want the bot's channel_join", m.SubType, m.User)
	}
	one, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general.ID, Limit: 999})
	sgCheck(t, "GetConversationHistory limit 999", err)
	if got, want := sgIDs(one.Messages, func(m slack.Message) string { return m.Timestamp }), sgIDs(msgs, func(m slack.Message) string { return m.Timestamp }); !slices.Equal(got, want) || one.HasMore {
		t.Errorf("history in one page: got %d messages (has_more %v), want the %d of the walk by 40", len(got), one.HasMore, len(want))
	}

	t.Run("latest and oldest", func(t *testing.T) {
		tests := []struct {
			name      string
			params    slack.GetConversationHistoryParameters
			wantFirst string
			wantN     int
		}{
			{"latest inclusive", slack.GetConversationHistoryParameters{Latest: msgs[10].Timestamp, Inclusive: true, Limit: 3}, msgs[10].Timestamp, 3},
			{"latest exclusive", slack.GetConversationHistoryParameters{Latest: msgs[10].Timestamp, Limit: 3}, msgs[11].Timestamp, 3},
			{"oldest exclusive", slack.GetConversationHistoryParameters{Oldest: msgs[5].Timestamp}, msgs[0].Timestamp, 5},
			{"oldest inclusive", slack.GetConversationHistoryParameters{Oldest: msgs[5].Timestamp, Inclusive: true}, msgs[0].Timestamp, 6},
			{"window", slack.GetConversationHistoryParameters{Oldest: msgs[20].Timestamp, Latest: msgs[10].Timestamp}, msgs[11].Timestamp, 9},
		}
		for _, tt := range tests {
			tt.params.ChannelID = general.ID
			resp, err := api.GetConversationHistory(&tt.params)
			sgCheck(t, tt.name, err)
			if len(resp.Messages) != tt.wantN || len(resp.Messages) > 0 && resp.Messages[0].Timestamp != tt.wantFirst {
				t.Errorf("%s: got %d messages, want %d starting at %s", tt.name, len(resp.Messages), tt.wantN, tt.wantFirst)
			}
		}
	})

	t.Run("GetConversationReplies", func(t *testing.T) {
		var parent slack.Message
		for _, m := range msgs {
			if m.ReplyCount >= 3 {
				parent = m
				break
			}
		}
		if parent.Timestamp == "" {
			t.Fatal("#general has no thread with 3 replies")
		}
		if parent.ThreadTimestamp != parent.Timestamp || parent.LatestReply == "" || len(parent.ReplyUsers) == 0 {
			t.Errorf("thread parent %s: thread_ts %q latest_reply %q reply_users %v, want them set", parent.Timestamp, parent.ThreadTimestamp, parent.LatestReply, parent.ReplyUsers)
		}
		pages := sgWalkReplies(t, api, slack.GetConversationRepliesParameters{ChannelID: general.ID, Timestamp: parent.Timestamp, Limit: 2})
		var replies []slack.Message
		for i, page := range pages {
			// Slack returns the thread's parent first on every page
			// (slackdump relies on it: "slack returns the thread starter as
			// the first message with every call").
			if len(page) == 0 || page[0].Timestamp != parent.Timestamp {
				t.Errorf("replies page %d: does not start with the parent %s", i+1, parent.Timestamp)
				continue
			}
			replies = append(replies, page[1:]...)
		}
		if len(replies) != parent.ReplyCount {
			t.Fatalf("replies: got %d over %d pages, want reply_count %d", len(replies), len(pages), parent.ReplyCount)
		}
		users := map[string]bool{}
		for i, r := range replies {
			users[r.User] = true
			if r.ThreadTimestamp != parent.Timestamp || r.ParentUserId != parent.User {
				t.Errorf("reply %s: thread_ts %q parent_user_id %q, want %q %q", r.Timestamp, r.ThreadTimestamp, r.ParentUserId, parent.Timestamp, parent.User)
			}
			if i > 0 && sgTS(t, r.Timestamp) <= sgTS(t, replies[i-1].Timestamp) {
				t.Errorf("replies: %s follows %s; want oldest first", r.Timestamp, replies[i-1].Timestamp)
			}
		}
		if last := replies[len(replies)-1].Timestamp; last != parent.LatestReply {
			t.Errorf("latest_reply: got %q on the parent, want the last reply %q", parent.LatestReply, last)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(users)), sgSorted(parent.ReplyUsers)) {
			t.Errorf("reply_users: got %v on the parent, want %v", parent.ReplyUsers, slices.Sorted(maps.Keys(users)))
		}
		_, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: general.ID, Timestamp: "1000000000.000001"})
		sgWantErr(t, "GetConversationReplies of no message", err, "thread_not_found")
	})

	t.Run("PostMessage", func(t *testing.T) {
		ch, ts, err := api.PostMessage(general.ID, slack.MsgOptionText("hello from slack-go", false))
		sgCheck(t, "PostMessage", err)
		if ch != general.ID || ts == "" {
			t.Fatalf("PostMessage: got channel %q ts %q, want %s and a ts", ch, ts, general.ID)
		}
		_, replyTS, err := api.PostMessage(general.ID, slack.MsgOptionText("a reply from slack-go", false), slack.MsgOptionTS(ts))
		sgCheck(t, "PostMessage in a thread", err)
		if sgTS(t, replyTS) <= sgTS(t, ts) {
			t.Errorf("thread reply ts %s is not after its parent %s", replyTS, ts)
		}
		thread, hasMore, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: general.ID, Timestamp: ts})
		sgCheck(t, "GetConversationReplies of the posted thread", err)
		if hasMore || len(thread) != 2 || thread[0].Text != "hello from slack-go" || thread[1].Text != "a reply from slack-go" ||
			thread[1].Timestamp != replyTS || thread[1].ThreadTimestamp != ts || thread[1].User != bot.UserID || thread[1].BotID != bot.BotID {
			t.Errorf("posted thread: got %+v, want the parent and the reply %s by %s", thread, replyTS, bot.UserID)
		}
		latest, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: general.ID, Limit: 1})
		sgCheck(t, "GetConversationHistory after posting", err)
		if m := latest.Messages[0]; m.Timestamp != ts || m.ReplyCount != 1 || m.LatestReply != replyTS || !slices.Equal(m.ReplyUsers, []string{bot.UserID}) {
			t.Errorf("newest message: got ts %s reply_count %d latest_reply %s reply_users %v, want %s with the one reply", m.Timestamp, m.ReplyCount, m.LatestReply, m.ReplyUsers, ts)
		}
		_, _, err = api.PostMessage(other.ID, slack.MsgOptionText("not a member", false))
		sgWantErr(t, "PostMessage to a channel the bot is not in", err, "not_in_channel")
		_, _, err = api.PostMessage(general.ID, slack.MsgOptionText("lost", false), slack.MsgOptionTS("1000000000.000001"))
		sgWantErr(t, "PostMessage to no thread", err, "thread_not_found")
	})
}

func TestSlackGoUserGroups(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: sgBotScopes})
	api := e.client(bot.AccessToken)
	sum := e.srv.Summary()
	users, _ := sgWalkUsers(t, api)
	known := map[string]bool{}
	for _, u := range users {
		known[u.ID] = true
	}

	enabled, err := api.GetUserGroups()
	sgCheck(t, "GetUserGroups", err)
	for _, g := range enabled {
		if g.DateDelete != 0 || g.Users != nil || g.UserCount != 0 {
			t.Errorf("group %s without options: date_delete %d, %d users, user_count %d; want enabled groups without users or count", g.ID, g.DateDelete, len(g.Users), g.UserCount)
		}
	}
	all, err := api.GetUserGroups(slack.GetUserGroupsOptionIncludeUsers(true), slack.GetUserGroupsOptionIncludeCount(true), slack.GetUserGroupsOptionIncludeDisabled(true))
	sgCheck(t, "GetUserGroups with users, count and disabled", err)
	if len(all) != sum.Usergroups {
		t.Fatalf("GetUserGroups with disabled: got %d groups, want %d (Summary)", len(all), sum.Usergroups)
	}
	disabled, admins := 0, 0
	for _, g := range all {
		if !strings.HasPrefix(g.ID, "S") || g.TeamID != sum.Teams[0].ID || g.Name == "" || g.Handle == "" || !g.IsUserGroup || g.DateCreate == 0 || g.CreatedBy == "" {
			t.Errorf("group %s: got %+v, want an S… ID, the team, a name, a handle, is_usergroup, date_create and created_by", g.ID, g)
		}
		if len(g.Users) != g.UserCount {
			t.Errorf("group %s: user_count %d, but %d users", g.ID, g.UserCount, len(g.Users))
		}
		for _, u := range g.Users {
			if !known[u] {
				t.Errorf("group %s: member %s is not in users.list", g.ID, u)
			}
		}
		if g.AutoType == "admin" {
			admins++
		}
		members, err := api.GetUserGroupMembers(g.ID, slack.GetUserGroupMembersOptionIncludeDisabled(true))
		sgCheck(t, "GetUserGroupMembers "+g.ID, err)
		if !slices.Equal(members, g.Users) {
			t.Errorf("GetUserGroupMembers(%s): got %v, want usergroups.list's %v", g.ID, members, g.Users)
		}
		if g.DateDelete != 0 {
			disabled++
			_, err := api.GetUserGroupMembers(g.ID)
			sgWantErr(t, "GetUserGroupMembers of a disabled group", err, "no_such_subteam")
		}
	}
	if len(enabled) != len(all)-disabled {
		t.Errorf("GetUserGroups: got %d enabled, want %d of %d less the %d disabled", len(enabled), len(all)-disabled, len(all), disabled)
	}
	if admins != 1 {
		t.Errorf("groups with auto_type admin: got %d, want 1", admins)
	}
	_, err = api.GetUserGroupMembers("S0NOSUCHGR")
	sgWantErr(t, "GetUserGroupMembers of an unknown group", err, "no_such_subteam")
}

func TestSlackGoTeam(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: sgBotScopes})
	owner := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: sgUserScopes})
	sum := e.srv.Summary()
	team := sum.Teams[0]
	admin := e.client(owner.AccessToken)
	users, _ := sgWalkUsers(t, admin)
	byID := map[string]slack.User{}
	for _, u := range users {
		byID[u.ID] = u
	}

	t.Run("GetTeamInfo", func(t *testing.T) {
		t.Parallel()
		got, err := e.client(bot.AccessToken).GetTeamInfo()
		sgCheck(t, "GetTeamInfo", err)
		if got.ID != team.ID || got.Name != team.Name || got.Domain != team.Domain || got.EmailDomain == "" {
			t.Errorf("GetTeamInfo: got %s %q %q email domain %q, want %s %q %q", got.ID, got.Name, got.Domain, got.EmailDomain, team.ID, team.Name, team.Domain)
		}
		if s, _ := got.Icon["image_132"].(string); !strings.HasPrefix(s, "https://") {
			t.Errorf("GetTeamInfo: icon.image_132 %v, want a URL", got.Icon["image_132"])
		}
	})

	t.Run("GetBillableInfo", func(t *testing.T) {
		t.Parallel()
		info, err := admin.GetBillableInfo(slack.GetBillableInfoParams{})
		sgCheck(t, "GetBillableInfo", err)
		if len(info) != team.Users {
			t.Errorf("GetBillableInfo: got %d users, want every one of the %d", len(info), team.Users)
		}
		active := 0
		for id, b := range info {
			u, ok := byID[id]
			if !ok {
				t.Errorf("GetBillableInfo: %s is not in users.list", id)
			}
			if b.BillingActive {
				active++
				if u.Deleted || u.IsBot || u.ID == "USLACKBOT" || u.IsUltraRestricted || u.IsInvitedUser {
					t.Errorf("GetBillableInfo: %s is billed but is deactivated, a bot, Slackbot, invited or a single-channel guest", id)
				}
			}
		}
		if !info[owner.UserID].BillingActive || active < 2 || active == len(info) {
			t.Errorf("GetBillableInfo: %d of %d active, primary owner %v; want the active primary owner and a mix", active, len(info), info[owner.UserID].BillingActive)
		}
		one, err := admin.GetBillableInfo(slack.GetBillableInfoParams{User: owner.UserID})
		sgCheck(t, "GetBillableInfo of one user", err)
		if len(one) != 1 || one[owner.UserID] != info[owner.UserID] {
			t.Errorf("GetBillableInfo(user): got %v, want just %s: %v", one, owner.UserID, info[owner.UserID])
		}
	})

	t.Run("GetAccessLogs", func(t *testing.T) {
		t.Parallel()
		params := slack.AccessLogParameters{Limit: 30}
		var logins []slack.Login
		for pages := 1; ; pages++ {
			page, next, err := admin.GetAccessLogs(params)
			sgCheck(t, fmt.Sprintf("GetAccessLogs page %d", pages), err)
			if len(page) > 30 {
				t.Errorf("GetAccessLogs page %d: got %d, want at most 30", pages, len(page))
			}
			logins = append(logins, page...)
			if next == "" {
				break
			}
			params.Cursor = next
		}
		if len(logins) < 100 {
			t.Fatalf("GetAccessLogs: got %d logins, want at least one per active person", len(logins))
		}
		people := map[string]bool{}
		for i, l := range logins {
			people[l.UserID] = true
			u, ok := byID[l.UserID]
			if !ok || l.Username != u.Name {
				t.Errorf("login of %s: username %q, want %q from users.list", l.UserID, l.Username, u.Name)
			}
			if l.DateFirst == 0 || l.DateFirst > l.DateLast || l.Count < 1 || l.IP == "" || l.UserAgent == "" || l.Country == "" {
				t.Errorf("login %+v: want date_first ≤ date_last, count ≥ 1, ip, user_agent and country", l)
			}
			if i > 0 && l.DateLast > logins[i-1].DateLast {
				t.Errorf("logins: %d after %d; want the most recent first", l.DateLast, logins[i-1].DateLast)
			}
			if u.Deleted || u.IsInvitedUser || u.IsBot {
				t.Errorf("login of %s, who is deactivated, invited or a bot", l.UserID)
			}
		}
		if !people[owner.UserID] {
			t.Errorf("GetAccessLogs: no login of the primary owner %s", owner.UserID)
		}
		// Without limit or cursor the method answers the first 100, the same
		// ones, with a cursor to go on from: a bare first call starts a walk.
		classic, next, err := admin.GetAccessLogs(slack.AccessLogParameters{})
		sgCheck(t, "GetAccessLogs without limit", err)
		if want := logins[:100]; !reflect.DeepEqual(classic, want) || next == "" {
			t.Errorf("GetAccessLogs without limit: got %d logins (next %q), want the first 100 of the cursor walk and a next cursor", len(classic), next)
		}
		before := logins[len(logins)/2].DateFirst
		cut, _, err := admin.GetAccessLogs(slack.AccessLogParameters{Limit: 1000, Before: before})
		sgCheck(t, "GetAccessLogs before", err)
		if len(cut) == 0 || len(cut) >= len(logins) {
			t.Errorf("GetAccessLogs before %d: got %d of %d logins, want some", before, len(cut), len(logins))
		}
		for _, l := range cut {
			if l.DateFirst > before {
				t.Errorf("GetAccessLogs before %d: got a login first seen at %d", before, l.DateFirst)
			}
		}
	})
}

func TestSlackGoFiles(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{Users: 300})
	owner := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: sgUserScopes})
	api := e.client(owner.AccessToken)
	sum := e.srv.Summary()
	users, _ := sgWalkUsers(t, api)
	known := map[string]bool{}
	for _, u := range users {
		known[u.ID] = true
	}

	params := slack.NewGetFilesParameters()
	params.Count = 20
	var paged []slack.File
	var first *slack.Paging
	for {
		files, paging, err := api.GetFiles(params)
		sgCheck(t, fmt.Sprintf("GetFiles page %d", params.Page), err)
		if first == nil {
			first = paging
		}
		if paging.Page != params.Page || paging.Count != 20 || paging.Total != first.Total || paging.Pages != first.Pages {
			t.Errorf("GetFiles page %d: got paging %+v, want page %d of %d by 20", params.Page, *paging, params.Page, first.Pages)
		}
		paged = append(paged, files...)
		if params.Page >= paging.Pages {
			break
		}
		params.Page++
	}
	if len(paged) != first.Total || first.Pages != (first.Total+19)/20 {
		t.Errorf("GetFiles: got %d files over %d pages, want paging.total %d", len(paged), first.Pages, first.Total)
	}
	if len(paged) < 20 || len(paged) > sum.Files {
		t.Errorf("GetFiles: got %d files, want more than a page and at most the %d generated", len(paged), sum.Files)
	}
	for i, f := range paged {
		if !strings.HasPrefix(f.ID, "F") || f.Name == "" || f.Title == "" || f.Mimetype == "" || f.Filetype == "" || f.PrettyType == "" ||
			!known[f.User] || f.Created == 0 || f.Size == 0 || f.URLPrivate == "" || f.URLPrivateDownload == "" || f.Permalink == "" {
			t.Errorf("file %s: got %+v, want every key field set and a known user", f.ID, f)
		}
		if len(f.Channels)+len(f.Groups)+len(f.IMs) == 0 {
			t.Errorf("file %s: shared nowhere", f.ID)
		}
		if i > 0 && f.Created > paged[i-1].Created {
			t.Errorf("files: %d after %d; want the newest first", f.Created, paged[i-1].Created)
		}
	}

	var listed []slack.File
	lp := slack.ListFilesParameters{Limit: 15}
	for pages := 1; ; pages++ {
		files, next, err := api.ListFiles(lp)
		sgCheck(t, fmt.Sprintf("ListFiles page %d", pages), err)
		listed = append(listed, files...)
		if next.Cursor == "" {
			break
		}
		if pages > 1000 {
			t.Fatal("files.list: more than 1000 pages; the cursor does not advance")
		}
		lp = *next
	}
	if !reflect.DeepEqual(listed, paged) {
		t.Errorf("ListFiles by 15: got %d files, want the %d of GetFiles in the same order", len(listed), len(paged))
	}

	f := paged[0]
	ch := slices.Concat(f.Channels, f.Groups)[0]
	tests := []struct {
		name   string
		params slack.GetFilesParameters
		keep   func(slack.File) bool
	}{
		{"by channel", slack.GetFilesParameters{Channel: ch}, func(x slack.File) bool { return slices.Contains(x.Channels, ch) || slices.Contains(x.Groups, ch) }},
		{"by user", slack.GetFilesParameters{User: f.User}, func(x slack.File) bool { return x.User == f.User }},
		{"from", slack.GetFilesParameters{TimestampFrom: f.Created}, func(x slack.File) bool { return x.Created >= f.Created }},
	}
	for _, tt := range tests {
		p := slack.NewGetFilesParameters()
		p.Count = 1000
		p.Channel, p.User, p.TimestampFrom = tt.params.Channel, tt.params.User, tt.params.TimestampFrom
		got, _, err := api.GetFiles(p)
		sgCheck(t, "GetFiles "+tt.name, err)
		want := slices.DeleteFunc(slices.Clone(paged), func(x slack.File) bool { return !tt.keep(x) })
		if !reflect.DeepEqual(got, want) || len(got) == 0 {
			t.Errorf("GetFiles %s: got %d files, want %d", tt.name, len(got), len(want))
		}
	}
}

func TestSlackGoEmojiBookmarksCalls(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{})
	bot := e.issue(t, slacksim.TokenRequest{Scopes: sgBotScopes})
	api := e.client(bot.AccessToken)
	team := e.srv.Summary().Teams[0]
	users, _ := sgWalkUsers(t, api)
	known := map[string]bool{}
	for _, u := range users {
		known[u.ID] = true
	}

	t.Run("GetEmoji", func(t *testing.T) {
		t.Parallel()
		emoji, err := api.GetEmoji()
		sgCheck(t, "GetEmoji", err)
		aliases := 0
		for name, v := range emoji {
			target, alias := strings.CutPrefix(v, "alias:")
			switch {
			case alias:
				aliases++
				if _, ok := emoji[target]; !ok && !slices.Contains([]string{"shipit", "partyparrot", "lgtm"}, target) {
					t.Errorf("emoji %s: alias of %q, which is neither custom nor standard", name, target)
				}
			case !strings.HasPrefix(v, "https://"):
				t.Errorf("emoji %s: got %q, want a URL or alias:", name, v)
			}
		}
		if len(emoji) < 5 || aliases == 0 {
			t.Errorf("GetEmoji: got %d emoji, %d aliases; want custom emoji and aliases", len(emoji), aliases)
		}
	})

	t.Run("ListBookmarks", func(t *testing.T) {
		t.Parallel()
		public := sgWalkConversations(t, api, slack.GetConversationsParameters{Limit: 200})
		total := 0
		for _, c := range public {
			bms, err := api.ListBookmarks(c.ID)
			sgCheck(t, "ListBookmarks "+c.ID, err)
			total += len(bms)
			for _, b := range bms {
				if b.ChannelID != c.ID || b.ID == "" || b.Title == "" || !strings.HasPrefix(b.Link, "https://") || b.Type != "link" ||
					b.Created == 0 || b.Updated < b.Created || !known[b.LastUpdatedByUserID] || b.LastUpdatedByTeamID != team.ID {
					t.Errorf("bookmark %s in %s: got %+v", b.ID, c.ID, b)
				}
			}
		}
		if total == 0 {
			t.Errorf("ListBookmarks: no bookmark in any of %d public channels", len(public))
		}
		_, err := api.ListBookmarks("C0NOSUCHCH")
		sgWantErr(t, "ListBookmarks of an unknown channel", err, "channel_not_found")
	})

	t.Run("GetCall", func(t *testing.T) {
		t.Parallel()
		ids := e.srv.CallIDsForTest(team.ID)
		if len(ids) == 0 {
			t.Fatal("the workspace has no calls")
		}
		for _, id := range ids {
			c, err := api.GetCall(id)
			sgCheck(t, "GetCall "+id, err)
			if c.ID != id || c.Title == "" || c.DateStart == 0 || c.ExternalUniqueID == "" || !strings.HasPrefix(c.JoinURL, "https://") ||
				len(c.Participants) < 2 || len(c.Channels) == 0 {
				t.Errorf("GetCall(%s): got %+v", id, c)
			}
			for _, p := range c.Participants {
				if !known[p.SlackID] {
					t.Errorf("call %s: participant %q is not in users.list", id, p.SlackID)
				}
			}
		}
		_, err := api.GetCall("R0NOSUCHCA")
		sgWantErr(t, "GetCall of an unknown call", err, "invalid_call_id")
	})
}

// sgNoRedirect is a browser that stops at the first redirect, so a test can
// read where the consent page sends it.
var sgNoRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var sgConsentInput = regexp.MustCompile(`<input type="hidden" name="consent" value="([^"]+)">`)

const sgRedirectURI = "http://127.0.0.1:1/cb"

// sgAuthorize drives the consent page as a person would and returns the
// query string of the redirect to the app.
func sgAuthorize(t *testing.T, e *sgEnv, q url.Values, action string) url.Values {
	t.Helper()
	q.Set("client_id", e.info.ClientID)
	q.Set("redirect_uri", sgRedirectURI)
	resp, err := sgNoRedirect.Get(e.info.AuthorizeURL + "?" + q.Encode())
	sgCheck(t, "GET /oauth/v2/authorize", err)
	page, err := sgReadAll(resp)
	sgCheck(t, "reading the consent page", err)
	m := sgConsentInput.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page: got %d without a consent input:\n%s", resp.StatusCode, page)
	}
	resp, err = sgNoRedirect.PostForm(e.info.AuthorizeURL, url.Values{"consent": {m[1]}, "action": {action}})
	sgCheck(t, "POST /oauth/v2/authorize", err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("consent form: got %d Location %q, want a 302 to the redirect URI", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != sgRedirectURI {
		t.Errorf("redirect: got %q, want %q", got, sgRedirectURI)
	}
	if loc.Query().Get("state") != q.Get("state") {
		t.Errorf("redirect state: got %q, want %q", loc.Query().Get("state"), q.Get("state"))
	}
	return loc.Query()
}

func sgReadAll(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestSlackGoOAuth(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{TokenRotation: true})
	hc := &http.Client{}
	ttl := int((12 * time.Hour).Seconds())

	denied := sgAuthorize(t, e, url.Values{"scope": {"users:read"}, "state": {"s-deny"}}, "cancel")
	if denied.Get("error") != "access_denied" || denied.Get("code") != "" {
		t.Errorf("Cancel: got %v, want error=access_denied and no code", denied)
	}

	redirect := sgAuthorize(t, e, url.Values{"scope": {"users:read,channels:read"}, "user_scope": {"search:read"}, "state": {"s-1"}}, "allow")
	code := redirect.Get("code")
	if code == "" {
		t.Fatalf("Allow: got %v, want a code", redirect)
	}
	resp, err := slack.GetOAuthV2Response(hc, e.info.ClientID, e.info.ClientSecret, code, sgRedirectURI, e.apiURL())
	sgCheck(t, "GetOAuthV2Response", err)
	checks := []struct {
		name      string
		got, want any
	}{
		{"token_type", resp.TokenType, "bot"},
		{"scope", resp.Scope, "channels:read,users:read"},
		{"app_id", resp.AppID, e.info.AppID},
		{"team.id", resp.Team.ID, e.info.TeamID},
		{"enterprise.id", resp.Enterprise.ID, ""},
		{"is_enterprise_install", resp.IsEnterpriseInstall, false},
		{"expires_in", resp.ExpiresIn, ttl},
		{"authed_user.token_type", resp.AuthedUser.TokenType, "user"},
		{"authed_user.scope", resp.AuthedUser.Scope, "search:read"},
		{"authed_user.expires_in", resp.AuthedUser.ExpiresIn, ttl},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("oauth.v2.access %s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	for name, v := range map[string]string{
		"access_token": resp.AccessToken, "refresh_token": resp.RefreshToken,
		"authed_user.access_token": resp.AuthedUser.AccessToken, "authed_user.refresh_token": resp.AuthedUser.RefreshToken,
	} {
		want := map[string]string{"access_token": "xoxe.xoxb-1-", "authed_user.access_token": "xoxe.xoxp-1-"}[name]
		if want == "" {
			want = "xoxe-1-"
		}
		if !strings.HasPrefix(v, want) {
			t.Errorf("oauth.v2.access %s: got %q, want the prefix %q of a rotating token", name, v, want)
		}
	}
	if resp.Team.Name == "" || !strings.HasPrefix(resp.BotUserID, "U") || !strings.HasPrefix(resp.AuthedUser.ID, "U") {
		t.Errorf("oauth.v2.access: team.name %q bot_user_id %q authed_user.id %q, want them set", resp.Team.Name, resp.BotUserID, resp.AuthedUser.ID)
	}

	botAuth, err := e.client(resp.AccessToken).AuthTest()
	sgCheck(t, "AuthTest with the installed bot token", err)
	if botAuth.UserID != resp.BotUserID || botAuth.TeamID != resp.Team.ID || botAuth.Header.Get("X-OAuth-Scopes") != resp.Scope {
		t.Errorf("AuthTest of the bot: got user %s team %s scopes %q, want %s %s %q", botAuth.UserID, botAuth.TeamID, botAuth.Header.Get("X-OAuth-Scopes"), resp.BotUserID, resp.Team.ID, resp.Scope)
	}
	userAuth, err := e.client(resp.AuthedUser.AccessToken).AuthTest()
	sgCheck(t, "AuthTest with the installed user token", err)
	if userAuth.UserID != resp.AuthedUser.ID || userAuth.BotID != "" {
		t.Errorf("AuthTest of the user: got user %s bot %q, want %s and no bot", userAuth.UserID, userAuth.BotID, resp.AuthedUser.ID)
	}

	_, err = slack.GetOAuthV2Response(hc, e.info.ClientID, e.info.ClientSecret, code, sgRedirectURI, e.apiURL())
	sgWantErr(t, "GetOAuthV2Response with a used code", err, "invalid_code")
	other := sgAuthorize(t, e, url.Values{"scope": {"users:read"}, "state": {"s-2"}}, "allow").Get("code")
	_, err = slack.GetOAuthV2Response(hc, e.info.ClientID, "not-the-secret", other, sgRedirectURI, e.apiURL())
	sgWantErr(t, "GetOAuthV2Response with a wrong secret", err, "bad_client_secret")
	_, err = slack.GetOAuthV2Response(hc, e.info.ClientID, e.info.ClientSecret, other, "http://127.0.0.1:1/elsewhere", e.apiURL())
	sgWantErr(t, "GetOAuthV2Response with another redirect_uri", err, "bad_redirect_uri")
	_, err = slack.GetOAuthV2Response(hc, "1.2", e.info.ClientSecret, other, sgRedirectURI, e.apiURL())
	sgWantErr(t, "GetOAuthV2Response with an unknown client_id", err, "invalid_client_id")

	t.Run("RefreshOAuthV2Token", func(t *testing.T) {
		tests := []struct {
			name, refresh, access, tokenType, prefix string
		}{
			{"bot", resp.RefreshToken, resp.AccessToken, "bot", "xoxe.xoxb-1-"},
			{"user", resp.AuthedUser.RefreshToken, resp.AuthedUser.AccessToken, "user", "xoxe.xoxp-1-"},
		}
		for _, tt := range tests {
			refresh, access := tt.refresh, tt.access
			for round := 1; round <= 2; round++ {
				got, err := slack.RefreshOAuthV2Token(hc, e.info.ClientID, e.info.ClientSecret, refresh, e.apiURL())
				sgCheck(t, fmt.Sprintf("%s refresh %d", tt.name, round), err)
				if got.TokenType != tt.tokenType || !strings.HasPrefix(got.AccessToken, tt.prefix) || got.AccessToken == access ||
					!strings.HasPrefix(got.RefreshToken, "xoxe-1-") || got.RefreshToken == refresh || got.ExpiresIn != ttl || got.Team.ID != e.info.TeamID {
					t.Errorf("%s refresh %d: got %+v, want a new %s token and a new refresh token for %d s", tt.name, round, got, tt.tokenType, ttl)
				}
				if tt.tokenType == "bot" && got.BotUserID != resp.BotUserID {
					t.Errorf("bot refresh: bot_user_id %q, want %q", got.BotUserID, resp.BotUserID)
				}
				auth, err := e.client(got.AccessToken).AuthTest()
				sgCheck(t, fmt.Sprintf("AuthTest with the %s token of refresh %d", tt.name, round), err)
				if want := map[string]string{"bot": resp.BotUserID, "user": resp.AuthedUser.ID}[tt.name]; auth.UserID != want {
					t.Errorf("AuthTest after %s refresh: user %s, want %s", tt.name, auth.UserID, want)
				}
				_, err = slack.RefreshOAuthV2Token(hc, e.info.ClientID, e.info.ClientSecret, refresh, e.apiURL())
				sgWantErr(t, fmt.Sprintf("%s refresh %d: reusing the spent refresh token", tt.name, round), err, "invalid_refresh_token")
				refresh, access = got.RefreshToken, got.AccessToken
			}
		}
	})
}

func TestSlackGoOAuthPKCE(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{TokenRotation: true})
	hc := &http.Client{}
	verifier, err := slack.GenerateCodeVerifier()
	sgCheck(t, "GenerateCodeVerifier", err)
	challenge := slack.GenerateCodeChallenge(verifier)
	authorize := func(state string) string {
		q := url.Values{"scope": {"users:read"}, "state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		return sgAuthorize(t, e, q, "allow").Get("code")
	}

	other, err := slack.GenerateCodeVerifier()
	sgCheck(t, "GenerateCodeVerifier", err)
	_, err = slack.GetOAuthV2Response(hc, e.info.ClientID, "", authorize("wrong"), sgRedirectURI, e.apiURL(), slack.OAuthOptionCodeVerifier(other))
	sgWantErr(t, "PKCE exchange with another verifier", err, "invalid_code_verifier")
	_, err = slack.GetOAuthV2Response(hc, e.info.ClientID, "", authorize("none"), sgRedirectURI, e.apiURL())
	sgWantErr(t, "PKCE exchange without a verifier", err, "invalid_code_verifier")

	resp, err := slack.GetOAuthV2Response(hc, e.info.ClientID, "", authorize("ok"), sgRedirectURI, e.apiURL(), slack.OAuthOptionCodeVerifier(verifier))
	sgCheck(t, "PKCE exchange", err)
	if !strings.HasPrefix(resp.AccessToken, "xoxe.xoxb-1-") || resp.RefreshToken == "" {
		t.Fatalf("PKCE exchange: got access %q refresh %q, want a rotating bot token", resp.AccessToken, resp.RefreshToken)
	}
	if _, err := e.client(resp.AccessToken).AuthTest(); err != nil {
		t.Errorf("AuthTest with the PKCE token: %v", err)
	}
	// A public client refreshes without a secret.
	got, err := slack.RefreshOAuthV2Token(hc, e.info.ClientID, "", resp.RefreshToken, e.apiURL())
	sgCheck(t, "RefreshOAuthV2Token of a PKCE grant without a secret", err)
	if got.AccessToken == "" || got.AccessToken == resp.AccessToken {
		t.Errorf("PKCE refresh: got access token %q, want a new one", got.AccessToken)
	}
}

func TestSlackGoErrors(t *testing.T) {
	t.Parallel()
	rotating := true
	tests := []struct {
		name string
		req  slacksim.TokenRequest
		call func(t *testing.T, e *sgEnv, api *slack.Client) error
		want string
	}{
		{
			name: "invalid_auth", req: slacksim.TokenRequest{Scopes: []string{"users:read"}}, want: "invalid_auth",
			call: func(t *testing.T, e *sgEnv, _ *slack.Client) error {
				_, err := e.client("xoxb-1-not-a-token").AuthTest()
				return err
			},
		},
		{
			name: "not_authed", req: slacksim.TokenRequest{Scopes: []string{"users:read"}}, want: "not_authed",
			call: func(t *testing.T, e *sgEnv, _ *slack.Client) error {
				_, err := e.client("").GetUsers()
				return err
			},
		},
		{
			name: "not_allowed_token_type", req: slacksim.TokenRequest{Scopes: []string{"users:read"}}, want: "not_allowed_token_type",
			call: func(t *testing.T, e *sgEnv, api *slack.Client) error {
				_, err := api.GetBillableInfo(slack.GetBillableInfoParams{})
				return err
			},
		},
		{
			name: "not_allowed_token_type for access logs", req: slacksim.TokenRequest{Scopes: []string{"users:read"}}, want: "not_allowed_token_type",
			call: func(t *testing.T, e *sgEnv, api *slack.Client) error {
				_, _, err := api.GetAccessLogs(slack.AccessLogParameters{Limit: 10})
				return err
			},
		},
		{
			name: "token_expired", req: slacksim.TokenRequest{Scopes: []string{"users:read"}, Rotation: &rotating}, want: "token_expired",
			call: func(t *testing.T, e *sgEnv, api *slack.Client) error {
				if _, err := api.AuthTest(); err != nil {
					t.Fatalf("AuthTest before the TTL: %v", err)
				}
				e.srv.AdvanceClock(12*time.Hour - time.Second)
				if _, err := api.AuthTest(); err != nil {
					t.Fatalf("AuthTest a second before the TTL: %v", err)
				}
				e.srv.AdvanceClock(time.Second)
				_, err := api.GetUsers()
				return err
			},
		},
		{
			name: "invalid_cursor", req: slacksim.TokenRequest{Scopes: []string{"channels:read"}}, want: "invalid_cursor",
			call: func(t *testing.T, e *sgEnv, api *slack.Client) error {
				_, _, err := api.GetConversations(&slack.GetConversationsParameters{Cursor: "bm90LWEtY3Vyc29y"})
				return err
			},
		},
		{
			name: "invalid_types", req: slacksim.TokenRequest{Scopes: []string{"channels:read"}}, want: "invalid_types",
			call: func(t *testing.T, e *sgEnv, api *slack.Client) error {
				_, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"public_channel", "bogus"}})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setupSlackGo(t, slacksim.Config{})
			tok := e.issue(t, tt.req)
			sgWantErr(t, tt.name, tt.call(t, e, e.client(tok.AccessToken)), tt.want)
		})
	}
}

func TestSlackGoMissingScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		scopes           []string
		call             func(api *slack.Client) error
		needed, provided string
	}{
		{
			name: "users.list", scopes: []string{"channels:read"}, needed: "users:read", provided: "channels:read",
			call: func(api *slack.Client) error { _, err := api.GetUsers(); return err },
		},
		{
			name: "users.lookupByEmail", scopes: []string{"users:read", "channels:read"}, needed: "users:read.email", provided: "channels:read,users:read",
			call: func(api *slack.Client) error { _, err := api.GetUserByEmail("a@b.example"); return err },
		},
		{
			name: "conversations.list of IMs", scopes: []string{"channels:read"}, needed: "im:read", provided: "channels:read",
			call: func(api *slack.Client) error {
				_, _, err := api.GetConversations(&slack.GetConversationsParameters{Types: []string{"public_channel", "im"}})
				return err
			},
		},
		{
			name: "usergroups.list", scopes: []string{"users:read"}, needed: "usergroups:read", provided: "users:read",
			call: func(api *slack.Client) error { _, err := api.GetUserGroups(); return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setupSlackGo(t, slacksim.Config{})
			tok := e.issue(t, slacksim.TokenRequest{Scopes: tt.scopes})
			err := tt.call(e.client(tok.AccessToken))
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want a slack.SlackErrorResponse", err, err)
			}
			if se.Err != "missing_scope" || se.Needed != tt.needed || se.Provided != tt.provided {
				t.Errorf("got %q needed %q provided %q, want missing_scope needed %q provided %q", se.Err, se.Needed, se.Provided, tt.needed, tt.provided)
			}
		})
	}
}

func TestSlackGoRateLimited(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{RateLimits: true, RateWindow: time.Second})
	tok := e.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read"}})
	api := e.client(tok.AccessToken)
	list := func() error {
		_, err := api.GetUsersPaginated(slack.GetUsersOptionLimit(1)).Next(t.Context())
		return err
	}
	// users.list is Tier 2: 20 calls a window.
	for i := 1; i <= 20; i++ {
		if err := list(); err != nil {
			t.Fatalf("users.list call %d of 20: %v", i, err)
		}
	}
	err := list()
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("users.list call 21: got %v (%T), want *slack.RateLimitedError", err, err)
	}
	if rl.RetryAfter != time.Second || !rl.Retryable() {
		t.Errorf("users.list call 21: got Retry-After %s, want 1s", rl.RetryAfter)
	}
	// Budgets are per method: users.info is still free.
	if _, err := api.GetUserInfo(tok.UserID); err != nil {
		t.Errorf("users.info while users.list is limited: %v", err)
	}
	e.srv.AdvanceClock(time.Second)
	if err := list(); err != nil {
		t.Errorf("users.list after the window: %v", err)
	}
}

// sgRawCall posts a form to a method slack-go has no function for and decodes
// the answer into slack-go's own SlackResponse, as slack-go would.
func sgRawCall(t *testing.T, e *sgEnv, token, method string, args url.Values) error {
	t.Helper()
	args.Set("token", token)
	resp, err := http.PostForm(e.info.APIURL+method, args)
	sgCheck(t, method, err)
	defer resp.Body.Close()
	var sr slack.SlackResponse
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
		t.Fatalf("%s: decoding into slack.SlackResponse: %v", method, err)
	}
	return sr.Err()
}

func TestSlackGoFreeEdition(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{Edition: slacksim.EditionFree})
	owner := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: append(slices.Clone(sgUserScopes), "admin.analytics:read")})
	api := e.client(owner.AccessToken)

	_, err := api.GetUserGroups()
	sgWantErr(t, "GetUserGroups on free", err, "plan_upgrade_required")
	_, err = api.GetUserGroupMembers("S0ANYGROUP")
	sgWantErr(t, "GetUserGroupMembers on free", err, "plan_upgrade_required")
	_, _, err = api.GetAccessLogs(slack.AccessLogParameters{})
	sgWantErr(t, "GetAccessLogs on free", err, "paid_only")
	_, _, err = api.GetAccessLogs(slack.AccessLogParameters{Limit: 10})
	sgWantErr(t, "GetAccessLogs by cursor on free", err, "paid_only")
	err = sgRawCall(t, e, owner.AccessToken, "admin.analytics.getFile", url.Values{"type": {"member"}, "date": {"2026-03-01"}})
	sgWantErr(t, "admin.analytics.getFile on free", err, "feature_not_available")

	// The free plan shows 90 days of history.
	chs := sgWalkConversations(t, api, slack.GetConversationsParameters{Limit: 200})
	general := chs[slices.IndexFunc(chs, func(c slack.Channel) bool { return c.IsGeneral })]
	msgs := sgWalkHistory(t, api, slack.GetConversationHistoryParameters{ChannelID: general.ID, Limit: 200})
	if len(msgs) == 0 {
		t.Fatal("#general shows no history on free")
	}
	horizon := sgEpoch.Add(-90 * 24 * time.Hour).UnixMicro()
	if oldest := msgs[len(msgs)-1].Timestamp; sgTS(t, oldest) < horizon {
		t.Errorf("free plan: oldest message shown %s, want none older than 90 days (%d)", oldest, horizon/1e6)
	}
}

func TestSlackGoEnterpriseGrid(t *testing.T) {
	t.Parallel()
	e := setupSlackGo(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Users: 240, Workspaces: 3})
	org := e.issue(t, slacksim.TokenRequest{Org: true, Scopes: []string{"users:read", "channels:read", "usergroups:read", "team:read"}})
	ws := e.issue(t, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "channels:read"}})
	api := e.client(org.AccessToken)
	sum := e.srv.Summary()
	if len(sum.Teams) != 3 || sum.Enterprise == "" {
		t.Fatalf("Summary: %d workspaces, enterprise %q; want 3 in an org", len(sum.Teams), sum.Enterprise)
	}
	teamIDs := sgIDs(sum.Teams, func(t slacksim.TeamSummary) string { return t.ID })

	auth, err := api.AuthTest()
	sgCheck(t, "AuthTest with the org token", err)
	if auth.EnterpriseID != sum.Enterprise || !strings.HasPrefix(auth.UserID, "W") {
		t.Errorf("AuthTest of the org bot: enterprise_id %q user_id %q, want %q and a W… bot user", auth.EnterpriseID, auth.UserID, sum.Enterprise)
	}

	t.Run("ListTeams", func(t *testing.T) {
		t.Parallel()
		teams, next, err := api.ListTeams(slack.ListTeamsParameters{})
		sgCheck(t, "ListTeams", err)
		if got := sgIDs(teams, func(t slack.Team) string { return t.ID }); !slices.Equal(sgSorted(got), sgSorted(teamIDs)) || next != "" {
			t.Errorf("ListTeams: got %v (next %q), want %v", got, next, teamIDs)
		}
		for _, tm := range teams {
			if i := slices.Index(teamIDs, tm.ID); i >= 0 && tm.Name != sum.Teams[i].Name {
				t.Errorf("ListTeams %s: name %q, want %q", tm.ID, tm.Name, sum.Teams[i].Name)
			}
		}
		var walked []string
		params := slack.ListTeamsParameters{Limit: 1}
		for {
			page, next, err := api.ListTeams(params)
			sgCheck(t, "ListTeams by 1", err)
			if len(page) != 1 {
				t.Fatalf("ListTeams by 1: got a page of %d", len(page))
			}
			walked = append(walked, page[0].ID)
			if next == "" {
				break
			}
			params.Cursor = next
		}
		if !slices.Equal(sgSorted(walked), sgSorted(teamIDs)) {
			t.Errorf("ListTeams by 1: got %v, want %v", walked, teamIDs)
		}
		one, _, err := e.client(ws.AccessToken).ListTeams(slack.ListTeamsParameters{})
		sgCheck(t, "ListTeams with a workspace token", err)
		if len(one) != 1 || one[0].ID != teamIDs[0] {
			t.Errorf("ListTeams with a workspace token: got %v, want just %s", one, teamIDs[0])
		}
	})

	t.Run("team_id", func(t *testing.T) {
		t.Parallel()
		_, err := api.GetUsers()
		sgWantErr(t, "GetUsers with an org token and no team_id", err, "missing_argument")
		_, _, err = api.GetConversations(&slack.GetConversationsParameters{})
		sgWantErr(t, "GetConversations with an org token and no team_id", err, "missing_argument")
		_, err = api.GetUserGroups()
		sgWantErr(t, "GetUserGroups with an org token and no team_id", err, "missing_argument")

		union := map[string]bool{}
		for _, tm := range sum.Teams {
			users, _ := sgWalkUsers(t, api, slack.GetUsersOptionTeamID(tm.ID), slack.GetUsersOptionLimit(50))
			if len(users) != tm.Users {
				t.Errorf("users.list team_id=%s: got %d users, want %d", tm.ID, len(users), tm.Users)
			}
			for _, u := range users {
				union[u.ID] = true
				if u.ID == "USLACKBOT" {
					continue
				}
				if !strings.HasPrefix(u.ID, "W") || u.TeamID != tm.ID || u.Enterprise.EnterpriseID != sum.Enterprise || !slices.Contains(u.Enterprise.Teams, tm.ID) {
					t.Errorf("user %s in %s: team_id %q enterprise_user %+v, want a W… ID of the org in this workspace", u.ID, tm.ID, u.TeamID, u.Enterprise)
				}
			}
			chs := sgWalkConversations(t, api, slack.GetConversationsParameters{TeamID: tm.ID, Limit: 100})
			if len(chs) == 0 {
				t.Errorf("conversations.list team_id=%s: none", tm.ID)
			}
			for _, c := range chs {
				if c.ContextTeamID != tm.ID {
					t.Errorf("conversation %s listed for %s: context_team_id %q", c.ID, tm.ID, c.ContextTeamID)
				}
			}
			groups, err := api.GetUserGroups(slack.GetUserGroupsOptionTeamID(tm.ID))
			sgCheck(t, "GetUserGroups team_id="+tm.ID, err)
			for _, g := range groups {
				if g.TeamID != tm.ID {
					t.Errorf("group %s listed for %s: team_id %q", g.ID, tm.ID, g.TeamID)
				}
			}
			if len(groups) == 0 {
				t.Errorf("usergroups.list team_id=%s: none", tm.ID)
			}
		}
		if len(union) != sum.Users["total"] {
			t.Errorf("users over all workspaces: got %d distinct, want the org's %d", len(union), sum.Users["total"])
		}
	})

	t.Run("workspace token", func(t *testing.T) {
		t.Parallel()
		wsAPI := e.client(ws.AccessToken)
		users, err := wsAPI.GetUsers()
		sgCheck(t, "GetUsers with a workspace token", err)
		if len(users) != sum.Teams[0].Users {
			t.Errorf("GetUsers with a workspace token: got %d, want the %d of its workspace", len(users), sum.Teams[0].Users)
		}
		// team_id is ignored with a workspace token.
		again, err := wsAPI.GetUsers(slack.GetUsersOptionTeamID(sum.Teams[2].ID))
		sgCheck(t, "GetUsers with a workspace token and another team_id", err)
		if !reflect.DeepEqual(again, users) {
			t.Errorf("GetUsers with a workspace token and team_id: got %d users, want the same %d", len(again), len(users))
		}
		// Org users are visible across workspaces on Grid.
		far, _ := sgWalkUsers(t, api, slack.GetUsersOptionTeamID(sum.Teams[2].ID))
		var stranger string
		for _, u := range far {
			if !slices.Contains(u.Enterprise.Teams, sum.Teams[0].ID) && u.ID != "USLACKBOT" {
				stranger = u.ID
				break
			}
		}
		if stranger == "" {
			t.Fatal("no user outside the first workspace")
		}
		got, err := wsAPI.GetUserInfo(stranger)
		sgCheck(t, "GetUserInfo of a user of another workspace of the org", err)
		if got.ID != stranger || got.Enterprise.EnterpriseID != sum.Enterprise {
			t.Errorf("GetUserInfo(%s): got %s of enterprise %q", stranger, got.ID, got.Enterprise.EnterpriseID)
		}
	})
}
