package slacksim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// app is a Slack app registered with the sandbox: what a developer creates at
// api.slack.com/apps.
type app struct {
	ID            string
	Name          string
	ClientID      string
	ClientSecret  string
	SigningSecret string
	RedirectURLs  []string // empty: any loopback URL
	Rotation      bool     // token rotation enabled
}

type tokenKind uint8

const (
	kindBot tokenKind = iota
	kindUser
)

func (k tokenKind) String() string {
	if k == kindBot {
		return "bot"
	}
	return "user"
}

// grant is one authorization of an app: its bot in a workspace (or org), or one
// user's consent. Installs into the same place accumulate scopes on one grant,
// as on Slack, where reinstalling adds scopes and keeps the bot.
type grant struct {
	app        *app
	kind       tokenKind
	team       *team       // nil for an org-wide install
	enterprise *enterprise // set on Enterprise Grid
	orgInstall bool
	user       *user  // the bot user for a bot grant; the consenting user for a user grant
	botID      string // bot grants
	scopes     []string
	teams      []*team // workspaces an org-wide install is added to
	revoked    bool
	pkce       bool // installed by a public client: refreshes need no secret

	static string // the non-rotating token, reused on reinstall
}

func (g *grant) hasScope(s string) bool { return slices.Contains(g.scopes, s) }

func (g *grant) addScopes(scopes []string) {
	for _, s := range scopes {
		if !g.hasScope(s) {
			g.scopes = append(g.scopes, s)
		}
	}
	slices.Sort(g.scopes)
}

// inTeam reports whether the grant reaches workspace t.
func (g *grant) inTeam(t *team) bool {
	if g.orgInstall {
		return slices.Contains(g.teams, t)
	}
	return g.team == t
}

// accessToken is one issued access token. Under rotation several may be live for
// one grant: a refresh issues a new one and the old one lives out its TTL (Slack
// does not say it dies at once; SDKs refresh early and keep using the old one).
type accessToken struct {
	value   string
	g       *grant
	expires time.Time // zero: never
	revoked bool
	legacy  bool // issued without rotation; oauth.v2.exchange may convert it

	exchanged bool // oauth.v2.exchange converted it; it no longer works
}

type refreshToken struct {
	value string
	g     *grant
	used  bool
}

// authCode is the temporary code of an authorize redirect.
type authCode struct {
	value       string
	app         *app
	redirectURI string
	redirectSet bool // the authorize request named redirect_uri explicitly
	botScopes   []string
	userScopes  []string
	team        *team // chosen workspace; nil for an org install
	orgInstall  bool
	orgTeams    []*team
	installer   *user
	challenge   string
	legacyURL   bool
	expires     time.Time
	used        bool
}

// authState holds apps, grants and every outstanding token and code. It has its
// own lock, taken after the world's when both are needed.
type authState struct {
	mu       sync.Mutex
	apps     map[string]*app // by client ID
	grants   []*grant
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	codes    map[string]*authCode
	consents map[string]*consent
}

func newAuthState() *authState {
	return &authState{
		apps:     map[string]*app{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		codes:    map[string]*authCode{},
		consents: map[string]*consent{},
	}
}

// randHex is a random hex string for token and code bodies. Tokens are random
// even though the workspace is seeded: nothing should guess them.
func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic("slacksim: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)[:n]
}

func randDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

// tokenValue makes a token string in Slack's shapes: xoxb-/xoxp- for long-lived
// tokens, xoxe.xoxb-1-/xoxe.xoxp-1- for rotating ones.
func tokenValue(kind tokenKind, rotating bool) string {
	prefix := "xoxb-"
	if kind == kindUser {
		prefix = "xoxp-"
	}
	if rotating {
		return "xoxe." + prefix + "1-" + randHex(60)
	}
	if kind == kindUser {
		return prefix + randDigits(13) + "-" + randDigits(13) + "-" + randDigits(13) + "-" + randHex(32)
	}
	return prefix + randDigits(13) + "-" + randDigits(13) + "-" + randHex(24)
}

func refreshValue() string { return "xoxe-1-" + randHex(80) }

// findGrant returns the live grant for an app, kind and place.
func (a *authState) findGrant(ap *app, kind tokenKind, t *team, e *enterprise, org bool, u *user) *grant {
	for _, g := range a.grants {
		if g.revoked || g.app != ap || g.kind != kind || g.orgInstall != org {
			continue
		}
		if org && g.enterprise != e || !org && g.team != t {
			continue
		}
		if kind == kindUser && g.user != u {
			continue
		}
		return g
	}
	return nil
}

// issued is what an install or refresh hands out for one grant.
type issued struct {
	access  *accessToken
	refresh *refreshToken // nil without rotation
}

// issue makes an access token for g: a rotating one with a refresh token when
// rotating, or the grant's one long-lived token otherwise.
func (a *authState) issue(g *grant, rotating bool, now time.Time, ttl time.Duration) issued {
	if !rotating {
		if g.static != "" {
			if t := a.access[g.static]; t != nil && !t.revoked {
				return issued{access: t}
			}
		}
		t := &accessToken{value: tokenValue(g.kind, false), g: g, legacy: true}
		a.access[t.value] = t
		g.static = t.value
		return issued{access: t}
	}
	t := &accessToken{value: tokenValue(g.kind, true), g: g, expires: now.Add(ttl)}
	r := &refreshToken{value: refreshValue(), g: g}
	a.access[t.value] = t
	a.refresh[r.value] = r
	return issued{access: t, refresh: r}
}

// revokeGrant ends a grant: every access token and refresh token of it dies.
func (a *authState) revokeGrant(g *grant) {
	g.revoked = true
	for _, t := range a.access {
		if t.g == g {
			t.revoked = true
		}
	}
	for _, r := range a.refresh {
		if r.g == g {
			r.used = true
		}
	}
}

// lookupApp finds an app by client ID.
func (a *authState) lookupApp(clientID string) *app { return a.apps[clientID] }

// secretEqual compares secrets in constant time.
func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// tokenError is the Web API error for a token that cannot be used now.
func (t *accessToken) tokenError(now time.Time) string {
	switch {
	case t.revoked || t.g.revoked:
		return "token_revoked"
	case !t.expires.IsZero() && !now.Before(t.expires):
		return "token_expired"
	case t.g.kind == kindUser && t.g.user.Deleted:
		return "token_revoked"
	case t.g.kind == kindBot && t.g.user.Deleted:
		return "account_inactive"
	}
	return ""
}

func splitScopes(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func newCodeValue() string {
	return fmt.Sprintf("%s.%s.%s", randDigits(13), randDigits(13), randHex(64))
}
