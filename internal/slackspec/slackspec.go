package slackspec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

//go:embed methods.json
var methodsJSON []byte

// Tier is a Web API rate-limit tier. Tiers 1 to 4 are Slack's numbered tiers;
// TierSpecial marks a method with its own limit; TierNone a method whose page
// names none (retired methods).
type Tier int

const (
	TierNone    Tier = 0
	Tier1       Tier = 1
	Tier2       Tier = 2
	Tier3       Tier = 3
	Tier4       Tier = 4
	TierSpecial Tier = 5
)

func (t Tier) String() string {
	switch t {
	case TierNone:
		return "none"
	case TierSpecial:
		return "special"
	default:
		return fmt.Sprintf("tier%d", int(t))
	}
}

// tierPerMinute is the floor of each numbered tier: Slack documents "1+", "20+",
// "50+" and "100+" calls per minute. The floor is what a client may count on, so
// it is what the sandbox enforces and what connhub paces to.
var tierPerMinute = map[Tier]int{Tier1: 1, Tier2: 20, Tier3: 50, Tier4: 100}

// specialPerMinute holds the budgets of "special" methods, per minute. Slack's
// pages say only "special rate limits apply"; the figures are decisions written
// down here so that both sides agree:
//   - auth.test: Slack allows "hundreds per minute"; 600 is taken.
//   - chat.postMessage: about one message per second per channel (FACTS 2.1), so 60
//     per minute, counted per channel (see PerChannel).
//   - chat.getPermalink: treated as Tier 4.
//   - admin.analytics.messages.metadata: "1200 requests per minute" (its page).
//
// Special methods not listed here (oauth.v2.access and the like) are unlimited.
var specialPerMinute = map[string]int{
	"auth.test":                         600,
	"chat.postMessage":                  60,
	"chat.getPermalink":                 100,
	"admin.analytics.messages.metadata": 1200,
}

// maxPage is the largest page of each paged method, as Slack's pages and
// FACTS.md §2 give it: cursor methods take limit up to 1,000 unless their page
// says less (conversations.list "under 1000", conversations.history and
// users.conversations 999); classic methods take count up to 1,000. The
// sandbox answers no larger page, and a sync counts the fewest calls its data
// needs by it, so the two agree on what a full page is.
var maxPage = map[string]int{
	"users.list":            1000,
	"conversations.list":    999,
	"conversations.members": 1000,
	"conversations.history": 999,
	"conversations.replies": 1000,
	"users.conversations":   999,
	"team.billableInfo":     1000,
	"team.accessLogs":       1000,
	"team.integrationLogs":  1000,
	"files.list":            1000,
	"auth.teams.list":       1000,
}

// perChannel lists the methods whose budget is counted per channel rather than per
// workspace.
var perChannel = map[string]bool{"chat.postMessage": true}

// Method is one Web API method as Slack documents it.
type Method struct {
	Name         string
	Tier         Tier
	RateLabel    string
	BotScopes    []string
	UserScopes   []string
	RequiredArgs []string
	OptionalArgs []string
	Errors       []string
	// MaxPage is the most items one answer of a paged method holds (its
	// largest limit, or count for classic paging); 0 for a method that
	// answers everything at once or is not a list.
	MaxPage int
}

// PerMinute is the method's call budget per one-minute window, and whether it has
// one at all.
func (m Method) PerMinute() (n int, limited bool) {
	if m.Tier == TierSpecial {
		n, limited = specialPerMinute[m.Name]
		return n, limited
	}
	n, limited = tierPerMinute[m.Tier]
	return n, limited
}

// MinInterval is the least average spacing between calls that the budget allows
// in a window of the given length (Slack's window is one minute). It is zero for
// unlimited methods.
func (m Method) MinInterval(window time.Duration) time.Duration {
	n, ok := m.PerMinute()
	if !ok || n <= 0 {
		return 0
	}
	return window / time.Duration(n)
}

// PerChannel reports whether the method's budget is counted per channel (as
// chat.postMessage's is) instead of per workspace.
func (m Method) PerChannel() bool { return perChannel[m.Name] }

// Deprecated reports whether Slack has retired the method (its page names no
// tier: the channels.*, groups.*, im.* and mpim.* families).
func (m Method) Deprecated() bool { return m.Tier == TierNone }

// HasError reports whether code is among the method's documented errors.
func (m Method) HasError(code string) bool { return slices.Contains(m.Errors, code) }

// UserOnly reports whether only user tokens may call the method.
func (m Method) UserOnly() bool { return len(m.BotScopes) == 0 && len(m.UserScopes) > 0 }

// BotOnly reports whether only bot tokens may call the method.
func (m Method) BotOnly() bool { return len(m.UserScopes) == 0 && len(m.BotScopes) > 0 }

type rawMethod struct {
	Tier         json.RawMessage `json:"tier"`
	RateLabel    *string         `json:"rate_label"`
	BotScopes    []string        `json:"bot_scopes"`
	UserScopes   []string        `json:"user_scopes"`
	RequiredArgs []string        `json:"required_args"`
	OptionalArgs []string        `json:"optional_args"`
	Errors       []string        `json:"errors"`
}

var (
	methods      map[string]Method
	names        []string
	commonErrors []string
	botScopes    map[string]bool
	userScopes   map[string]bool
)

func init() {
	var doc struct {
		CommonErrors []string             `json:"common_errors"`
		Methods      map[string]rawMethod `json:"methods"`
	}
	if err := json.Unmarshal(methodsJSON, &doc); err != nil {
		panic("slackspec: methods.json: " + err.Error())
	}
	methods = make(map[string]Method, len(doc.Methods))
	botScopes = map[string]bool{}
	userScopes = map[string]bool{}
	for name, r := range doc.Methods {
		m := Method{
			Name:         name,
			BotScopes:    r.BotScopes,
			UserScopes:   r.UserScopes,
			RequiredArgs: r.RequiredArgs,
			OptionalArgs: r.OptionalArgs,
			Errors:       r.Errors,
			MaxPage:      maxPage[name],
		}
		if r.RateLabel != nil {
			m.RateLabel = *r.RateLabel
		}
		switch s := strings.Trim(string(r.Tier), `"`); s {
		case "null", "":
			m.Tier = TierNone
		case "special":
			m.Tier = TierSpecial
		case "1", "2", "3", "4":
			m.Tier = Tier(s[0] - '0')
		default:
			panic("slackspec: method " + name + ": unknown tier " + s)
		}
		for _, s := range m.BotScopes {
			botScopes[s] = true
		}
		for _, s := range m.UserScopes {
			userScopes[s] = true
		}
		methods[name] = m
		names = append(names, name)
	}
	sort.Strings(names)
	commonErrors = doc.CommonErrors
	// Scopes that grant no Web API method of their own but that apps request.
	for _, s := range []string{"incoming-webhook", "commands", "chat:write.public", "chat:write.customize", "app_mentions:read", "channels:join", "users:read.email"} {
		botScopes[s] = true
	}
	for _, s := range []string{"openid", "profile", "email", "identify", "chat:write", "users:read.email", "channels:write"} {
		userScopes[s] = true
	}
}

// Lookup returns the method named name.
func Lookup(name string) (Method, bool) {
	m, ok := methods[name]
	return m, ok
}

// Names lists every documented method, sorted.
func Names() []string { return slices.Clone(names) }

// CommonErrors lists the error codes any method may return.
func CommonErrors() []string { return slices.Clone(commonErrors) }

// IsBotScope reports whether scope may be requested for a bot token.
func IsBotScope(scope string) bool { return botScopes[scope] }

// IsUserScope reports whether scope may be requested for a user token.
func IsUserScope(scope string) bool { return userScopes[scope] }

// ValidMethodName reports whether s has the shape of a Web API method name:
// dot-separated words of letters, digits and underscores, as in
// "users.profile.get". It says nothing of whether Slack has such a method.
func ValidMethodName(s string) bool {
	if len(s) < 3 || len(s) > 100 || !strings.Contains(s, ".") {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
				return false
			}
		}
	}
	return true
}
