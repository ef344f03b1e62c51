package connector

import (
	"slices"
)

// The Slack connector's data. doc.go says where each choice comes from.

// Slack's edition keys.
const (
	EditionFree           = "free"
	EditionPro            = "pro"
	EditionBusinessPlus   = "business_plus"
	EditionEnterpriseGrid = "enterprise_grid"
	EditionCompliance     = "compliance"
)

var (
	allEditions  = []string{EditionFree, EditionPro, EditionBusinessPlus, EditionEnterpriseGrid, EditionCompliance}
	paidEditions = []string{EditionPro, EditionBusinessPlus, EditionEnterpriseGrid, EditionCompliance}
	plusEditions = []string{EditionBusinessPlus, EditionEnterpriseGrid, EditionCompliance}
	gridEditions = []string{EditionEnterpriseGrid, EditionCompliance}
)

func slackConnector() Connector {
	editions := []Edition{
		{Key: EditionFree, Name: "Free", Plan: ""},
		{Key: EditionPro, Name: "Pro", Plan: "std"},
		{Key: EditionBusinessPlus, Name: "Business+", Plan: "plus"},
		{Key: EditionEnterpriseGrid, Name: "Enterprise Grid", Plan: "enterprise", OrgInstall: true},
		{Key: EditionCompliance, Name: "Enterprise Grid (Compliance)", Plan: "compliance", OrgInstall: true},
	}
	features := slackFeatures()
	for i := range editions {
		editions[i].BotScopes, editions[i].UserScopes = editionScopes(features, editions[i].Key)
	}
	return Connector{
		Key:  "slack",
		Name: "Slack",
		Description: "Slack workspaces and Enterprise Grid organizations: install connhub's Slack app, keep its tokens fresh, " +
			"call the Web API through connhub, sync users, billing, activity, channels, messages and files, receive events, and provision users over SCIM.",
		Editions: editions,
		AuthMethods: []AuthMethod{
			{Key: "oauth2", Name: "OAuth 2.0 install",
				Description: "Install connhub's Slack app through Slack's consent page (Allow); connhub keeps the bot and user tokens and refreshes them when they rotate."},
			{Key: "token", Name: "Existing token",
				Description: "Paste a bot (xoxb-) or user (xoxp-) token of an app already installed; connhub checks it with auth.test."},
			{Key: "refresh_token", Name: "Client ID, secret and refresh token",
				Description: "Import an app's client ID and client secret with a refresh token from a rotating install; connhub checks them by refreshing."},
		},
		Features: features,
	}
}

func slackFeatures() []Feature {
	features := []Feature{
		{Key: "users", Name: "Users and their email addresses", BotScopes: []string{"users:read", "users:read.email"}, Editions: allEditions},
		{Key: "profiles", Name: "User profiles with custom fields", BotScopes: []string{"users.profile:read"}, Editions: allEditions},
		{Key: "billing", Name: "Subscription and billable users", BotScopes: []string{"team.billing:read"}, UserScopes: []string{"admin"}, Editions: allEditions},
		{Key: "access_logs", Name: "User activity (access logs)", UserScopes: []string{"admin"}, Editions: paidEditions},
		{Key: "integration_logs", Name: "App and integration changes", UserScopes: []string{"admin"}, Editions: allEditions},
		{Key: "analytics", Name: "Member and channel analytics", UserScopes: []string{"admin.analytics:read"}, Editions: plusEditions},
		{Key: "org_users", Name: "Organization members (admin)", UserScopes: []string{"admin.users:read"}, Editions: gridEditions},
		{Key: "channels", Name: "Channels and members", BotScopes: []string{"channels:read", "groups:read", "im:read", "mpim:read"}, Editions: allEditions},
		{Key: "messages", Name: "Messages and threads", BotScopes: []string{"channels:history", "groups:history", "im:history", "mpim:history"}, Editions: allEditions},
		{Key: "files", Name: "Files", BotScopes: []string{"files:read"}, Editions: allEditions},
		{Key: "usergroups", Name: "User groups", BotScopes: []string{"usergroups:read"}, Editions: paidEditions},
		{Key: "team", Name: "Workspace information", BotScopes: []string{"team:read"}, Editions: allEditions},
		{Key: "emoji", Name: "Custom emoji", BotScopes: []string{"emoji:read"}, Editions: allEditions},
		{Key: "bookmarks", Name: "Channel bookmarks", BotScopes: []string{"bookmarks:read"}, Editions: allEditions},
		{Key: "calls", Name: "Calls", BotScopes: []string{"calls:read"}, Editions: allEditions},
		{Key: "scim", Name: "User provisioning (SCIM)", UserScopes: []string{"admin"}, Editions: plusEditions,
			Requires: "Business+ or Enterprise Grid; the admin user scope, allowed by a workspace owner or admin (on Enterprise Grid, an org-wide install by an org owner). " +
				"Identity providers then call /scim/v2 with the instance token."},
	}
	for i := range features { // the edition lists above are shared; give each feature its own
		features[i].Editions = slices.Clone(features[i].Editions)
	}
	return features
}

// editionScopes is the union of the scopes of the features the edition has,
// sorted.
func editionScopes(features []Feature, edition string) (bot, user []string) {
	for _, f := range features {
		if !slices.Contains(f.Editions, edition) {
			continue
		}
		bot = append(bot, f.BotScopes...)
		user = append(user, f.UserScopes...)
	}
	slices.Sort(bot)
	slices.Sort(user)
	return slices.Compact(bot), slices.Compact(user)
}
