package connector

import (
	"slices"
	"strings"
)

// Connector is one service connhub connects to, as the catalog lists it.
type Connector struct {
	Key         string // "slack"
	Name        string // "Slack"
	Description string
	Editions    []Edition
	AuthMethods []AuthMethod
	Features    []Feature // what connhub does with it, each with the scopes it needs
}

// Edition is one plan of a connector, with the scopes an install on it should
// request for every feature the plan has.
type Edition struct {
	Key        string // "free", "pro", "business_plus", "enterprise_grid", "compliance"
	Name       string // "Free", "Pro", "Business+", "Enterprise Grid", "Enterprise Grid (Compliance)"
	Plan       string // what team.billing.info reports: "", "std", "plus", "enterprise", "compliance"
	OrgInstall bool   // installs org-wide (Enterprise Grid)

	// BotScopes and UserScopes are what to request at install for connhub's
	// features on this edition: the union of the features' scopes, sorted.
	BotScopes, UserScopes []string
}

// AuthMethod is one way an instance of the connector can authenticate.
type AuthMethod struct {
	Key         string // "oauth2", "token", "refresh_token"
	Name        string
	Description string
}

// Feature is one thing connhub does with a connector, with the scopes it needs
// and the editions that have it.
type Feature struct {
	Key                   string // "users", "billing", …
	Name                  string
	BotScopes, UserScopes []string
	Editions              []string // edition keys
	// Requires is what else the feature needs, for a person: who must
	// install, and how.
	Requires string
}

// Catalog lists every connector. The result is the caller's to change.
func Catalog() []Connector {
	return []Connector{slackConnector()}
}

// Search returns the connectors that match q, case-insensitively, on their key,
// name, description, edition keys and names, authentication methods, and
// feature keys and names. Every word of q must match somewhere; an empty q
// lists them all.
func Search(q string) []Connector {
	words := strings.Fields(strings.ToLower(q))
	var out []Connector
	for _, c := range Catalog() {
		text := c.searchText()
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(text, w) }) {
			out = append(out, c)
		}
	}
	return out
}

// searchText is everything Search looks in, lower case, one field a line.
func (c Connector) searchText() string {
	fields := []string{c.Key, c.Name, c.Description}
	for _, e := range c.Editions {
		fields = append(fields, e.Key, e.Name)
	}
	for _, m := range c.AuthMethods {
		fields = append(fields, m.Key, m.Name)
	}
	for _, f := range c.Features {
		fields = append(fields, f.Key, f.Name)
	}
	return strings.ToLower(strings.Join(fields, "\n"))
}

// Get returns the connector with the key.
func Get(key string) (Connector, bool) {
	for _, c := range Catalog() {
		if c.Key == key {
			return c, true
		}
	}
	return Connector{}, false
}

// Edition returns the connector's edition with the key.
func (c Connector) Edition(key string) (Edition, bool) {
	for _, e := range c.Editions {
		if e.Key == key {
			return e, true
		}
	}
	return Edition{}, false
}

// EditionByPlan returns the edition whose Plan is plan, as team.billing.info
// reports it.
func (c Connector) EditionByPlan(plan string) (Edition, bool) {
	for _, e := range c.Editions {
		if e.Plan == plan {
			return e, true
		}
	}
	return Edition{}, false
}

// MissingScopes reports which of an edition's scopes a granted set lacks, for
// ping. A user scope counts only when the user token has it. A bot scope counts
// when either token has it: every bot scope in the catalog is a user scope too,
// taken by the same methods on a user token, so an instance holding only a user
// token (a pasted one, or an imported refresh token) is not told it lacks what
// that token carries. The results keep the edition's order and are nil when
// nothing is missing.
func (e Edition) MissingScopes(grantedBot, grantedUser []string) (bot, user []string) {
	for _, s := range e.BotScopes {
		if !slices.Contains(grantedBot, s) && !slices.Contains(grantedUser, s) {
			bot = append(bot, s)
		}
	}
	for _, s := range e.UserScopes {
		if !slices.Contains(grantedUser, s) {
			user = append(user, s)
		}
	}
	return bot, user
}
