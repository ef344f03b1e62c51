package slacksim_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

var fixedDay = func() time.Time { return time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC) }

func TestSameSeedSameWorkspace(t *testing.T) {
	t.Parallel()
	list := func(seed int64) []any {
		srv, base := startSandbox(t, slacksim.Config{Seed: seed, Users: 120, Now: fixedDay})
		tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"users:read", "users:read.email"}}).AccessToken
		got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1000"}})
		wantOK(t, got)
		return got["members"].([]any)
	}
	a, b, c := list(7), list(7), list(8)
	if !reflect.DeepEqual(a, b) {
		t.Error("two sandboxes with seed 7 generated different users")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 generated the same users")
	}
}

func TestWorkspaceIsRealistic(t *testing.T) {
	t.Parallel()
	for _, ed := range slacksim.Editions {
		t.Run(string(ed), func(t *testing.T) {
			t.Parallel()
			srv, err := slacksim.New(slacksim.Config{Users: 2000, Edition: ed, Now: fixedDay})
			if err != nil {
				t.Fatal(err)
			}
			sum := srv.Summary()
			u := sum.Users
			if u["primary_owners"] != 1 || u["slackbot"] != 1 {
				t.Errorf("got %d primary owners and %d Slackbots, want one each", u["primary_owners"], u["slackbot"])
			}
			for _, r := range []string{"owners", "admins", "bots", "deactivated", "invited"} {
				if u[r] == 0 {
					t.Errorf("no %s among 2000 users", r)
				}
			}
			guests := u["multi_channel_guests"] + u["single_channel_guests"]
			if ed == slacksim.EditionFree && guests != 0 {
				t.Errorf("free plan: got %d guests, want none (guests are a paid feature)", guests)
			}
			if ed != slacksim.EditionFree && (u["multi_channel_guests"] == 0 || u["single_channel_guests"] == 0) {
				t.Errorf("paid plan: got %d multi- and %d single-channel guests, want both", u["multi_channel_guests"], u["single_channel_guests"])
			}
			if frac := float64(u["deactivated"]) / 2000; frac < 0.03 || frac > 0.2 {
				t.Errorf("got %.1f%% deactivated, want a realistic share", 100*frac)
			}
			for _, k := range []string{"public_channel", "private_channel", "im", "mpim", "archived"} {
				if sum.Channels[k] == 0 {
					t.Errorf("no %s conversations", k)
				}
			}
			if sum.Messages == 0 || sum.Replies == 0 || sum.Files == 0 || sum.Usergroups == 0 {
				t.Errorf("got %d messages, %d replies, %d files, %d user groups; want all", sum.Messages, sum.Replies, sum.Files, sum.Usergroups)
			}
			wantTeams := 1
			if ed == slacksim.EditionEnterpriseGrid {
				wantTeams = 3
				if sum.Enterprise == "" {
					t.Error("Grid without an enterprise")
				}
			}
			if len(sum.Teams) != wantTeams {
				t.Errorf("got %d workspaces, want %d", len(sum.Teams), wantTeams)
			}
		})
	}
}

func TestGridUsersAreW(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Edition: slacksim.EditionEnterpriseGrid, Users: 200})
	tok := issue(t, srv, slacksim.TokenRequest{Scopes: []string{"users:read"}}).AccessToken
	got, _ := webAPI(t, base, tok, "users.list", url.Values{"limit": {"1000"}})
	wantOK(t, got)
	for _, m := range got["members"].([]any) {
		u := m.(map[string]any)
		id := u["id"].(string)
		if id != "USLACKBOT" && !strings.HasPrefix(id, "W") {
			t.Errorf("Grid user %s is not W-prefixed", id)
		}
		if id != "USLACKBOT" && u["enterprise_user"] == nil {
			t.Errorf("Grid user %s has no enterprise_user", id)
		}
	}
}

// TestActivityAgrees checks that billing, access logs and analytics tell the same
// story about who is active: a billable user has an access-log entry within the
// last 14 days, and was active in yesterday's analytics file when their last
// login was yesterday.
func TestActivityAgrees(t *testing.T) {
	t.Parallel()
	srv, base := startSandbox(t, slacksim.Config{Users: 300, Edition: slacksim.EditionBusinessPlus})
	tok := issue(t, srv, slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin", "admin.analytics:read", "users:read"}}).AccessToken
	billable, _ := webAPI(t, base, tok, "team.billableInfo", nil)
	wantOK(t, billable)
	logs, _ := webAPI(t, base, tok, "team.accessLogs", url.Values{"count": {"1000"}})
	wantOK(t, logs)
	last := map[string]float64{}
	for _, l := range logs["logins"].([]any) {
		m := l.(map[string]any)
		if d := m["date_last"].(float64); d > last[m["user_id"].(string)] {
			last[m["user_id"].(string)] = d
		}
	}
	now := float64(time.Now().Unix())
	active := 0
	for id, info := range billable["billable_info"].(map[string]any) {
		if info.(map[string]any)["billing_active"] != true {
			continue
		}
		active++
		if now-last[id] > 15*86400 {
			t.Errorf("%s is billable but last logged in %.0f days ago", id, (now-last[id])/86400)
		}
	}
	if active == 0 {
		t.Fatal("nobody is billable")
	}
}
