package connector_test

import (
	"slices"
	"testing"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/slackspec"
)

func slackConnector(t *testing.T) connector.Connector {
	t.Helper()
	c, ok := connector.Get("slack")
	if !ok {
		t.Fatal(`Get("slack") found nothing`)
	}
	return c
}

func TestEveryScopeIsValid(t *testing.T) {
	t.Parallel()
	c := slackConnector(t)
	check := func(where string, bot, user []string) {
		t.Helper()
		for _, s := range bot {
			if !slackspec.IsBotScope(s) {
				t.Errorf("%s: bot scope %q is not a bot scope per slackspec", where, s)
			}
			// MissingScopes counts a bot scope held by the user token: that is
			// only sound if it is a user scope too.
			if !slackspec.IsUserScope(s) {
				t.Errorf("%s: bot scope %q is not also a user scope per slackspec", where, s)
			}
		}
		for _, s := range user {
			if !slackspec.IsUserScope(s) {
				t.Errorf("%s: user scope %q is not a user scope per slackspec", where, s)
			}
		}
	}
	for _, e := range c.Editions {
		check("edition "+e.Key, e.BotScopes, e.UserScopes)
		if len(e.BotScopes) == 0 || len(e.UserScopes) == 0 {
			t.Errorf("edition %s: got %d bot and %d user scopes, want some of each", e.Key, len(e.BotScopes), len(e.UserScopes))
		}
	}
	for _, f := range c.Features {
		check("feature "+f.Key, f.BotScopes, f.UserScopes)
		for _, k := range f.Editions {
			if _, ok := c.Edition(k); !ok {
				t.Errorf("feature %s: names edition %q, which the connector lacks", f.Key, k)
			}
		}
	}
}

// TestEditionScopes checks the scopes the seeds tell users to pick per edition
// (seed 004, Snow Atlas) are among what connhub requests, and the edition gates.
func TestEditionScopes(t *testing.T) {
	t.Parallel()
	c := slackConnector(t)
	tests := []struct {
		edition        string
		plan           string
		orgInstall     bool
		hasBot, hasUsr []string
		notUsr         []string
		notBot         []string
	}{
		{edition: "free", plan: "", hasBot: []string{"bookmarks:read", "users:read", "team.billing:read"}, hasUsr: []string{"admin"},
			notUsr: []string{"admin.analytics:read", "admin.users:read"}, notBot: []string{"usergroups:read"}},
		{edition: "pro", plan: "std", hasBot: []string{"bookmarks:read", "users:read", "team.billing:read", "usergroups:read"}, hasUsr: []string{"admin"},
			notUsr: []string{"admin.analytics:read", "admin.users:read"}},
		{edition: "business_plus", plan: "plus", hasBot: []string{"bookmarks:read", "users:read"}, hasUsr: []string{"admin", "admin.analytics:read"},
			notUsr: []string{"admin.users:read"}},
		{edition: "enterprise_grid", plan: "enterprise", orgInstall: true,
			hasBot: []string{"bookmarks:read", "users:read", "users:read.email", "team:read", "team.billing:read"},
			hasUsr: []string{"admin", "admin.analytics:read", "admin.users:read"}},
		{edition: "compliance", plan: "compliance", orgInstall: true,
			hasBot: []string{"bookmarks:read", "users:read", "users:read.email", "team:read", "team.billing:read"},
			hasUsr: []string{"admin", "admin.analytics:read", "admin.users:read"}},
	}
	for _, tt := range tests {
		t.Run(tt.edition, func(t *testing.T) {
			e, ok := c.Edition(tt.edition)
			if !ok {
				t.Fatalf("Edition(%q) found nothing", tt.edition)
			}
			if e.Plan != tt.plan || e.OrgInstall != tt.orgInstall {
				t.Errorf("got plan %q org-wide %v, want %q %v", e.Plan, e.OrgInstall, tt.plan, tt.orgInstall)
			}
			if byPlan, ok := c.EditionByPlan(tt.plan); !ok || byPlan.Key != tt.edition {
				t.Errorf("EditionByPlan(%q): got %q, want %q", tt.plan, byPlan.Key, tt.edition)
			}
			for _, s := range tt.hasBot {
				if !slices.Contains(e.BotScopes, s) {
					t.Errorf("bot scopes %v lack %s", e.BotScopes, s)
				}
			}
			for _, s := range tt.hasUsr {
				if !slices.Contains(e.UserScopes, s) {
					t.Errorf("user scopes %v lack %s", e.UserScopes, s)
				}
			}
			for _, s := range tt.notUsr {
				if slices.Contains(e.UserScopes, s) {
					t.Errorf("user scopes %v hold %s, which %s does not have", e.UserScopes, s, tt.edition)
				}
			}
			for _, s := range tt.notBot {
				if slices.Contains(e.BotScopes, s) {
					t.Errorf("bot scopes %v hold %s, which %s does not have", e.BotScopes, s, tt.edition)
				}
			}
			if !slices.IsSorted(e.BotScopes) || !slices.IsSorted(e.UserScopes) {
				t.Errorf("got unsorted scopes %v %v", e.BotScopes, e.UserScopes)
			}
			if len(slices.Compact(slices.Clone(e.BotScopes))) != len(e.BotScopes) {
				t.Errorf("bot scopes %v repeat", e.BotScopes)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q    string
		want []string
	}{
		{"", []string{"slack"}},
		{"slack", []string{"slack"}},
		{"SLACK", []string{"slack"}},
		{"grid", []string{"slack"}},
		{"business+", []string{"slack"}},
		{"billing", []string{"slack"}},
		{"access_logs", []string{"slack"}},
		{"scim", []string{"slack"}},
		{"  slack   billing ", []string{"slack"}},
		{"github", nil},
		{"slack github", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range connector.Search(tt.q) {
			got = append(got, c.Key)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Search(%q): got %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	if _, ok := connector.Get("github"); ok {
		t.Error(`Get("github"): got a connector, want none`)
	}
	c := slackConnector(t)
	if _, ok := c.Edition("platinum"); ok {
		t.Error(`Edition("platinum"): got an edition, want none`)
	}
	var methods []string
	for _, m := range c.AuthMethods {
		methods = append(methods, m.Key)
	}
	if want := []string{"oauth2", "token", "refresh_token"}; !slices.Equal(methods, want) {
		t.Errorf("got auth methods %v, want %v", methods, want)
	}
}

func TestCatalogIsACopy(t *testing.T) {
	t.Parallel()
	c := slackConnector(t)
	c.Editions[0].BotScopes[0] = "changed"
	c.Features[0].Editions[0] = "changed"
	c.Features[0].BotScopes[0] = "changed"
	again := slackConnector(t)
	if again.Editions[0].BotScopes[0] == "changed" || again.Features[0].Editions[0] == "changed" || again.Features[0].BotScopes[0] == "changed" {
		t.Error("changing a returned connector changed the catalog")
	}
	for _, f := range again.Features[1:] {
		if slices.Contains(f.Editions, "changed") {
			t.Errorf("feature %s: changing another feature's editions changed its own", f.Key)
		}
	}
}

func TestMissingScopes(t *testing.T) {
	t.Parallel()
	e, _ := slackConnector(t).Edition("business_plus")
	tests := []struct {
		name                  string
		grantedBot, grantedUs []string
		wantBot, wantUser     []string
	}{
		{name: "everything", grantedBot: e.BotScopes, grantedUs: e.UserScopes},
		{name: "nothing", wantBot: e.BotScopes, wantUser: e.UserScopes},
		{name: "bot only", grantedBot: e.BotScopes, wantUser: e.UserScopes},
		{name: "user token holds the bot scopes", grantedUs: append(slices.Clone(e.BotScopes), e.UserScopes...)},
		{name: "a bot cannot hold a user scope", grantedBot: append(slices.Clone(e.BotScopes), e.UserScopes...), wantUser: e.UserScopes},
		{name: "one of each missing",
			grantedBot: slices.DeleteFunc(slices.Clone(e.BotScopes), func(s string) bool { return s == "files:read" }),
			grantedUs:  slices.DeleteFunc(slices.Clone(e.UserScopes), func(s string) bool { return s == "admin.analytics:read" }),
			wantBot:    []string{"files:read"}, wantUser: []string{"admin.analytics:read"}},
		{name: "extra grants do not matter", grantedBot: append([]string{"chat:write"}, e.BotScopes...), grantedUs: append([]string{"search:read"}, e.UserScopes...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot, user := e.MissingScopes(tt.grantedBot, tt.grantedUs)
			if !slices.Equal(bot, tt.wantBot) || !slices.Equal(user, tt.wantUser) {
				t.Errorf("got missing bot %v user %v, want bot %v user %v", bot, user, tt.wantBot, tt.wantUser)
			}
		})
	}
}
