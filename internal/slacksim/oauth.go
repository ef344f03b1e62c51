package slacksim

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// The OAuth v2 install, as Slack runs it (FACTS 1):
//
//	GET  /oauth/v2/authorize   validate client_id, redirect_uri, scopes; show consent
//	POST /oauth/v2/authorize   Allow: 302 redirect_uri?code=…&state=…
//	                           Cancel: 302 redirect_uri?error=access_denied&state=…
//	POST /api/oauth.v2.access  code (or refresh_token) for tokens
//
// A request that cannot be trusted to redirect (unknown client, unregistered
// redirect URL, bad scopes) gets an error page and no redirect, as on Slack.

// codeTTL is how long an authorization code may be exchanged; consentTTL how long
// the consent page may be submitted.
const (
	codeTTL    = 10 * time.Minute
	consentTTL = 30 * time.Minute
)

// consent is an authorize request that passed validation and waits for the
// user's Allow or Cancel.
type consent struct {
	id          string
	app         *app
	redirectURI string
	redirectSet bool
	botScopes   []string
	userScopes  []string
	state       string
	team        string // the team parameter: the workspace to preselect
	challenge   string
	legacy      bool
	expires     time.Time
}

// redirectAllowed reports whether raw may receive the redirect: it matches a
// registered redirect URL or lies below one, or, when the app registered none,
// it is an http(s) URL on a loopback host.
func (a *app) redirectAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if len(a.RedirectURLs) == 0 {
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || ip != nil && ip.IsLoopback()
	}
	for _, r := range a.RedirectURLs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != u.Scheme || !strings.EqualFold(ru.Host, u.Host) {
			continue
		}
		base := strings.TrimSuffix(ru.Path, "/")
		if u.Path == ru.Path || u.Path == base || strings.HasPrefix(u.Path, base+"/") {
			return true
		}
	}
	return false
}

type pageError struct {
	Code   string
	Detail string
}

func (s *Server) errorPage(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	errorTmpl.Execute(w, pageError{Code: code, Detail: detail})
}

func (s *Server) serveAuthorize(legacy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.auth.mu.Lock()
		a := s.auth.lookupApp(q.Get("client_id"))
		s.auth.mu.Unlock()
		if a == nil {
			s.errorPage(w, http.StatusBadRequest, "invalid_client_id", "The client_id "+quoteShort(q.Get("client_id"))+" does not belong to any app.")
			return
		}
		redirect, redirectSet := q.Get("redirect_uri"), q.Has("redirect_uri")
		switch {
		case redirectSet && !a.redirectAllowed(redirect):
			s.errorPage(w, http.StatusBadRequest, "bad_redirect_uri", "redirect_uri did not match any configured URIs. Passed URI: "+redirect)
			return
		case !redirectSet && len(a.RedirectURLs) == 0:
			s.errorPage(w, http.StatusBadRequest, "bad_redirect_uri", "No redirect_uri was passed and the app has no Redirect URL configured.")
			return
		case !redirectSet:
			redirect = a.RedirectURLs[0]
		}
		bot, user := splitScopes(q.Get("scope")), splitScopes(q.Get("user_scope"))
		if len(bot) == 0 && len(user) == 0 {
			s.errorPage(w, http.StatusBadRequest, "invalid_scope", "No scopes were requested: pass scope (bot scopes) and/or user_scope.")
			return
		}
		for _, sc := range bot {
			if !slackspec.IsBotScope(sc) {
				s.errorPage(w, http.StatusBadRequest, "invalid_scope", "Invalid permissions requested: "+sc+" is not a valid bot scope.")
				return
			}
		}
		for _, sc := range user {
			if !slackspec.IsUserScope(sc) {
				s.errorPage(w, http.StatusBadRequest, "invalid_scope", "Invalid permissions requested: "+sc+" is not a valid user scope.")
				return
			}
		}
		challenge := q.Get("code_challenge")
		if challenge != "" || q.Has("code_challenge_method") {
			if m := q.Get("code_challenge_method"); m != "S256" || len(challenge) < 43 || len(challenge) > 128 {
				s.errorPage(w, http.StatusBadRequest, "invalid_code_challenge", "PKCE needs code_challenge_method=S256 and a 43 to 128 character code_challenge.")
				return
			}
		}
		c := &consent{
			id: randHex(32), app: a, redirectURI: redirect, redirectSet: redirectSet, botScopes: bot, userScopes: user,
			state: q.Get("state"), team: q.Get("team"), challenge: challenge, legacy: legacy, expires: s.now().Add(consentTTL),
		}
		s.auth.mu.Lock()
		for id, old := range s.auth.consents {
			if s.now().After(old.expires) {
				delete(s.auth.consents, id)
			}
		}
		s.auth.consents[c.id] = c
		s.auth.mu.Unlock()
		s.stats.add(func(st *Stats) { st.Consents++ })
		s.renderConsent(w, c)
	}
}

type consentPage struct {
	ConsentID  string
	AppName    string
	Where      string
	Installer  string
	Email      string
	Targets    []consentTarget
	OrgTeams   []consentTarget
	BotScopes  []string
	UserScopes []string
	Sandbox    bool
}

type consentTarget struct {
	Value, Label string
	Selected     bool
}

func (s *Server) renderConsent(w http.ResponseWriter, c *consent) {
	wd := s.world.Load()
	wd.mu.RLock()
	installer := wd.installer()
	page := consentPage{ConsentID: c.id, AppName: c.app.Name, Installer: installer.RealName, Email: installer.Email,
		BotScopes: c.botScopes, UserScopes: c.userScopes}
	for _, t := range wd.teams {
		page.Targets = append(page.Targets, consentTarget{Value: t.ID, Label: t.Name + " (" + t.Domain + ".slack.com)", Selected: t.ID == c.team})
		page.OrgTeams = append(page.OrgTeams, consentTarget{Value: t.ID, Label: t.Name, Selected: true})
	}
	if wd.enterprise != nil {
		page.Targets = append(page.Targets, consentTarget{Value: wd.enterprise.ID, Label: wd.enterprise.Name + " (the whole organization)", Selected: c.team == wd.enterprise.ID})
		page.Where = wd.enterprise.Name
	} else {
		page.Where = wd.teams[0].Name
		page.OrgTeams = nil
	}
	wd.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	consentTmpl.Execute(w, page)
}

// installer is the person who approves installs on the consent page: the
// primary owner, who may grant every scope.
func (w *world) installer() *user { return w.owner }

func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "invalid_form_data", "The consent form could not be read.")
		return
	}
	s.auth.mu.Lock()
	c := s.auth.consents[r.PostForm.Get("consent")]
	if c != nil {
		delete(s.auth.consents, c.id)
	}
	s.auth.mu.Unlock()
	if c == nil || s.now().After(c.expires) {
		s.errorPage(w, http.StatusBadRequest, "expired_request", "This authorization request has expired or was already answered. Start the install again from the app.")
		return
	}
	target, err := url.Parse(c.redirectURI)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, "bad_redirect_uri", "The redirect URI cannot be parsed.")
		return
	}
	q := target.Query()
	if r.PostForm.Get("action") != "allow" {
		s.stats.add(func(st *Stats) { st.Denials++ })
		q.Set("error", "access_denied")
		q.Set("state", c.state)
		target.RawQuery = q.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
		return
	}

	wd := s.world.Load()
	wd.mu.RLock()
	code := &authCode{
		value: newCodeValue(), app: c.app, redirectURI: c.redirectURI, redirectSet: c.redirectSet,
		botScopes: c.botScopes, userScopes: c.userScopes, installer: wd.installer(), challenge: c.challenge,
		legacyURL: c.legacy, expires: s.now().Add(codeTTL),
	}
	into := r.PostForm.Get("install_into")
	switch {
	case wd.enterprise != nil && into == wd.enterprise.ID:
		code.orgInstall = true
		for _, id := range r.PostForm["org_team"] {
			if t := wd.team(id); t != nil && !slices.Contains(code.orgTeams, t) {
				code.orgTeams = append(code.orgTeams, t)
			}
		}
	case into == "":
		code.team = wd.teams[0]
	default:
		code.team = wd.team(into)
	}
	wd.mu.RUnlock()
	if !code.orgInstall && code.team == nil {
		s.errorPage(w, http.StatusBadRequest, "invalid_team", "The workspace chosen on the consent page does not exist.")
		return
	}
	s.auth.mu.Lock()
	s.auth.codes[code.value] = code
	s.auth.mu.Unlock()
	q.Set("code", code.value)
	q.Set("state", c.state)
	target.RawQuery = q.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// clientCredentials reads client_id and client_secret from HTTP Basic auth (which
// Slack prefers) or from the form.
func clientCredentials(req *apiRequest) (id, secret string) {
	if req.hasBasic {
		return req.basicID, req.basicPass
	}
	return req.args["client_id"], req.args["client_secret"]
}

// oauthV2Access answers oauth.v2.access for both grants.
func (c *call) oauthV2Access() *reply {
	s := c.s
	id, secret := clientCredentials(c.req)
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	a := s.auth.lookupApp(id)
	if a == nil {
		return errReply("invalid_client_id")
	}
	switch gt := c.arg("grant_type"); gt {
	case "", "authorization_code":
		return c.exchangeCode(a, secret)
	case "refresh_token":
		return c.refreshGrant(a, secret)
	default:
		return errReply("invalid_grant_type")
	}
}

func (c *call) exchangeCode(a *app, secret string) *reply {
	s := c.s
	code := s.auth.codes[c.arg("code")]
	if code == nil || code.app != a || code.used || !c.now.Before(code.expires) {
		return errReply("invalid_code")
	}
	if code.legacyURL {
		return errReply("oauth_authorization_url_mismatch")
	}
	if code.challenge != "" {
		verifier := c.arg("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || !secretEqual(base64.RawURLEncoding.EncodeToString(sum[:]), code.challenge) {
			return errReply("invalid_code_verifier")
		}
		if secret != "" && !secretEqual(secret, a.ClientSecret) {
			return errReply("bad_client_secret")
		}
	} else if !secretEqual(secret, a.ClientSecret) {
		return errReply("bad_client_secret")
	}
	if ru := c.arg("redirect_uri"); (code.redirectSet || ru != "") && ru != code.redirectURI {
		return errReply("bad_redirect_uri")
	}
	if !code.orgInstall && c.w.enterprise != nil {
		if g := s.auth.findGrant(a, kindBot, nil, c.w.enterprise, true, nil); g != nil {
			return errReply("cannot_install_an_org_installed_app")
		}
	}
	code.used = true
	s.stats.add(func(st *Stats) { st.CodeGrants++ })
	return c.install(code)
}

// install grants what the code carries and answers with Slack's install body.
// The caller holds the world's write lock and the auth lock.
func (c *call) install(code *authCode) *reply {
	s, w, a := c.s, c.w, code.app
	var ent *enterprise
	if w.enterprise != nil {
		ent = w.enterprise
	}
	authed := map[string]any{"id": code.installer.ID}
	rep := okReply().with("app_id", a.ID)
	var bot *grant
	var botTok issued
	if len(code.botScopes) > 0 {
		bot = s.auth.findGrant(a, kindBot, code.team, ent, code.orgInstall, nil)
		if bot == nil {
			bot = &grant{app: a, kind: kindBot, team: code.team, enterprise: ent, orgInstall: code.orgInstall, pkce: code.challenge != ""}
			bot.user, bot.botID = w.addBotUser(a, code.team, code.orgTeams, c.now)
			s.auth.grants = append(s.auth.grants, bot)
		}
		bot.addScopes(code.botScopes)
		bot.teams = mergeTeams(bot.teams, code.orgTeams)
		botTok = s.auth.issue(bot, a.Rotation, c.now, s.cfg.TokenTTL)
		w.logInstall(code, bot.teamsReached(), c.now)
	}
	if len(code.userScopes) > 0 {
		ug := s.auth.findGrant(a, kindUser, code.team, ent, code.orgInstall, code.installer)
		if ug == nil {
			ug = &grant{app: a, kind: kindUser, team: code.team, enterprise: ent, orgInstall: code.orgInstall, user: code.installer, pkce: code.challenge != ""}
			s.auth.grants = append(s.auth.grants, ug)
		}
		ug.addScopes(code.userScopes)
		ug.teams = mergeTeams(ug.teams, code.orgTeams)
		ut := s.auth.issue(ug, a.Rotation, c.now, s.cfg.TokenTTL)
		authed["scope"] = strings.Join(ug.scopes, ",")
		authed["access_token"] = ut.access.value
		authed["token_type"] = "user"
		if ut.refresh != nil {
			authed["refresh_token"] = ut.refresh.value
			authed["expires_in"] = int(s.cfg.TokenTTL.Seconds())
		}
	}
	rep.with("authed_user", authed)
	if bot != nil {
		rep.with("scope", strings.Join(bot.scopes, ",")).with("token_type", "bot").
			with("access_token", botTok.access.value).with("bot_user_id", bot.user.ID)
		if botTok.refresh != nil {
			rep.with("refresh_token", botTok.refresh.value).with("expires_in", int(s.cfg.TokenTTL.Seconds()))
		}
	}
	return rep.with("team", teamRef(code.team)).with("enterprise", enterpriseRef(ent)).with("is_enterprise_install", code.orgInstall)
}

// teamsReached lists the workspaces a grant acts in.
func (g *grant) teamsReached() []*team {
	if g.orgInstall {
		return g.teams
	}
	return []*team{g.team}
}

func mergeTeams(have, add []*team) []*team {
	for _, t := range add {
		if !slices.Contains(have, t) {
			have = append(have, t)
		}
	}
	return have
}

func teamRef(t *team) any {
	if t == nil {
		return nil
	}
	return map[string]string{"id": t.ID, "name": t.Name}
}

func enterpriseRef(e *enterprise) any {
	if e == nil {
		return nil
	}
	return map[string]string{"id": e.ID, "name": e.Name}
}

// addBotUser makes the app's bot user in the workspace (or, for an org-wide
// install, in the org with the workspaces it is added to), as installing an app
// does.
func (w *world) addBotUser(a *app, t *team, orgTeams []*team, now time.Time) (*user, string) {
	prefix := "U"
	if w.enterprise != nil {
		prefix = "W"
	}
	teams := []*team{t}
	if t == nil {
		teams = orgTeams
		if len(teams) == 0 {
			teams = []*team{w.teams[0]}
		}
	}
	u := &user{
		ID: w.newID(prefix), Name: strings.ToLower(strings.ReplaceAll(a.Name, " ", "")), RealName: a.Name, FirstName: a.Name,
		Role: roleBot, BotID: w.newID("B"), AppID: a.ID, Color: "3c989f", Teams: teams,
		Created: now.Unix(), Updated: now.Unix(), Activity: 1, LastActive: now.Unix(),
	}
	w.addUser(u)
	return u, u.BotID
}

// addUser puts a new user in the org and in each of its workspaces' sorted lists.
func (w *world) addUser(u *user) {
	w.users[u.ID] = u
	w.handles[strings.ToLower(u.Name)]++
	if u.Email != "" {
		w.emailIndex[strings.ToLower(u.Email)] = u
	}
	for _, t := range u.Teams {
		i, _ := slices.BinarySearchFunc(t.users, u.ID, func(x *user, id string) int { return strings.Compare(x.ID, id) })
		t.users = slices.Insert(t.users, i, u)
	}
}

// logInstall records the install in each workspace's integration log, as Slack
// does for every app added.
func (w *world) logInstall(code *authCode, teams []*team, now time.Time) {
	scopes := strings.Join(append(slices.Clone(code.botScopes), code.userScopes...), ",")
	for _, t := range teams {
		t.intLogs = slices.Insert(t.intLogs, 0, integrationLog{User: code.installer, Date: now.Unix(), ChangeType: "added", AppID: code.app.ID, AppName: code.app.Name, Scope: scopes})
	}
}

func (c *call) refreshGrant(a *app, secret string) *reply {
	s := c.s
	rt := s.auth.refresh[c.arg("refresh_token")]
	if rt == nil || rt.used || rt.g.app != a || rt.g.revoked {
		return errReply("invalid_refresh_token")
	}
	if !(rt.g.pkce && secret == "") && !secretEqual(secret, a.ClientSecret) {
		return errReply("bad_client_secret")
	}
	rt.used = true
	g := rt.g
	next := s.auth.issue(g, true, c.now, s.cfg.TokenTTL)
	s.stats.add(func(st *Stats) { st.Refreshes++ })
	return c.rotatedReply(g, next)
}

// oauthV2Exchange turns a long-lived token into a rotating one with a refresh
// token (oauth.v2.exchange). The long-lived token stops working.
func (c *call) oauthV2Exchange() *reply {
	s := c.s
	id, secret := clientCredentials(c.req)
	if id == "" || secret == "" {
		return invalidArguments("missing required field: client_id and client_secret")
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	a := s.auth.lookupApp(id)
	if a == nil {
		return errReply("invalid_client_id")
	}
	if !secretEqual(secret, a.ClientSecret) {
		return errReply("bad_client_secret")
	}
	if !a.Rotation {
		return errReply("token_rotation_not_enabled")
	}
	// The request parser took the "token" argument as the call's token; here it
	// is the token to exchange.
	old := s.auth.access[c.req.token]
	switch {
	case old == nil:
		return errReply("invalid_token")
	case old.g.app != a:
		return errReply("authorization_not_found")
	case old.exchanged:
		return errReply("token_already_exchanged")
	case !old.legacy || old.revoked || old.g.revoked:
		return errReply("invalid_token")
	}
	old.exchanged = true
	old.revoked = true
	g := old.g
	g.static = ""
	next := s.auth.issue(g, true, c.now, s.cfg.TokenTTL)
	s.stats.add(func(st *Stats) { st.Exchanges++ })
	return c.rotatedReply(g, next)
}

// rotatedReply is Slack's flat answer to a refresh or an exchange: the new
// access token and refresh token of one grant at the top level, for bot and
// user tokens alike.
func (c *call) rotatedReply(g *grant, next issued) *reply {
	rep := okReply().with("app_id", g.app.ID).with("scope", strings.Join(g.scopes, ",")).with("token_type", g.kind.String()).
		with("access_token", next.access.value)
	if g.kind == kindBot {
		rep.with("bot_user_id", g.user.ID)
	} else {
		rep.with("user_id", g.user.ID)
	}
	return rep.with("refresh_token", next.refresh.value).with("expires_in", int(c.s.cfg.TokenTTL.Seconds())).
		with("team", teamRef(g.team)).with("enterprise", enterpriseRef(g.enterprise)).with("is_enterprise_install", g.orgInstall)
}

func quoteShort(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slack sandbox: authorization error</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}
code{background:#f4ede4;padding:.1rem .3rem;border-radius:3px}.sandbox{color:#616061;font-size:.85rem}</style></head>
<body><p class="sandbox">connhub Slack sandbox: an emulator, not slack.com</p>
<h1>Something went wrong when authorizing this app.</h1>
<p>Error: <code id="error-code">{{.Code}}</code></p><p id="error-detail">{{.Detail}}</p>
<p>Try going back to the app and starting the install again.</p></body></html>
`))

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.AppName}} is requesting permission to access the {{.Where}} Slack workspace</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1c1d}
fieldset{border:1px solid #ddd;border-radius:6px;margin:1rem 0}.sandbox{color:#616061;font-size:.85rem}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:4px;border:1px solid #888;background:#fff}
button[value=allow]{background:#007a5a;color:#fff;border-color:#007a5a}code{background:#f4ede4;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><p class="sandbox">connhub Slack sandbox: an emulator, not slack.com</p>
<h1><span id="app-name">{{.AppName}}</span> is requesting permission to access the <span id="workspace">{{.Where}}</span> Slack workspace</h1>
<p>Signed in as <strong>{{.Installer}}</strong> ({{.Email}}), primary owner.</p>
<form method="post" id="consent-form">
<input type="hidden" name="consent" value="{{.ConsentID}}">
<p><label for="install_into">Install into</label>
<select id="install_into" name="install_into">{{range .Targets}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></p>
{{if .OrgTeams}}<fieldset><legend>For an install into the whole organization: add the app to these workspaces now (on Slack an org admin does this afterwards)</legend>
{{range .OrgTeams}}<label><input type="checkbox" name="org_team" value="{{.Value}}"{{if .Selected}} checked{{end}}> {{.Label}}</label><br>{{end}}</fieldset>{{end}}
{{if .BotScopes}}<fieldset id="bot-scopes"><legend>What will {{.AppName}} be able to view and do? (bot scopes)</legend><ul>{{range .BotScopes}}<li><code>{{.}}</code></li>{{end}}</ul></fieldset>{{end}}
{{if .UserScopes}}<fieldset id="user-scopes"><legend>What will {{.AppName}} be able to do on your behalf? (user scopes)</legend><ul>{{range .UserScopes}}<li><code>{{.}}</code></li>{{end}}</ul></fieldset>{{end}}
<p><button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
<button type="submit" name="action" value="allow" id="allow">Allow</button></p>
</form></body></html>
`))
