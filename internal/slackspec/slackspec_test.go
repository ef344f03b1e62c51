package slackspec_test

import (
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

func TestMethodFacts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		tier      slackspec.Tier
		perMinute int
		limited   bool
		userOnly  bool
	}{
		{"users.list", slackspec.Tier2, 20, true, false},
		{"conversations.history", slackspec.Tier3, 50, true, false},
		{"users.info", slackspec.Tier4, 100, true, false},
		{"team.accessLogs", slackspec.Tier2, 20, true, true},
		{"chat.postMessage", slackspec.TierSpecial, 60, true, false},
		{"oauth.v2.access", slackspec.TierSpecial, 0, false, false},
		{"channels.list", slackspec.TierNone, 0, false, false},
	} {
		m, ok := slackspec.Lookup(tc.name)
		if !ok {
			t.Fatalf("%s: not found", tc.name)
		}
		n, limited := m.PerMinute()
		if m.Tier != tc.tier || n != tc.perMinute || limited != tc.limited || m.UserOnly() != tc.userOnly {
			t.Errorf("%s: got tier %s, %d/min (limited %v), user-only %v; want %s, %d/min (%v), %v",
				tc.name, m.Tier, n, limited, m.UserOnly(), tc.tier, tc.perMinute, tc.limited, tc.userOnly)
		}
	}
	if m, _ := slackspec.Lookup("users.list"); m.MinInterval(time.Minute) != 3*time.Second {
		t.Errorf("users.list: got min interval %s, want 3s", m.MinInterval(time.Minute))
	}
	if m, _ := slackspec.Lookup("chat.postMessage"); !m.PerChannel() {
		t.Error("chat.postMessage is not counted per channel")
	}
	if m, _ := slackspec.Lookup("channels.list"); !m.Deprecated() {
		t.Error("channels.list is not marked retired")
	}
	if len(slackspec.Names()) < 300 || len(slackspec.CommonErrors()) == 0 {
		t.Errorf("got %d methods and %d common errors, want the whole table", len(slackspec.Names()), len(slackspec.CommonErrors()))
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	if !slackspec.IsBotScope("users:read") || !slackspec.IsUserScope("admin") || slackspec.IsBotScope("admin") || slackspec.IsUserScope("launch:missiles") {
		t.Error("scope tables disagree with Slack: users:read is a bot scope, admin a user-only scope")
	}
}

func TestValidMethodName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"users.list": true, "users.profile.get": true, "admin.analytics.getFile": true,
		"users": false, ".list": false, "users..list": false, "users.list/": false, "users.li st": false, "": false,
		"../etc/passwd": false, "users.list?x=1": false,
	} {
		if got := slackspec.ValidMethodName(name); got != want {
			t.Errorf("ValidMethodName(%q) = %v, want %v", name, got, want)
		}
	}
}
