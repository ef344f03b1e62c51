package slacksim

import (
	"slices"
	"strings"
)

// methodTable lists every Web API method the sandbox emulates. Each method's
// tier, scopes, required arguments and documented errors come from
// internal/slackspec; the handlers add what only the method knows.
func (s *Server) methodTable() map[string]method {
	m := map[string]method{
		"oauth.v2.access":   {fn: (*call).oauthV2Access, noAuth: true, write: true},
		"oauth.v2.exchange": {fn: (*call).oauthV2Exchange, noAuth: true, write: true},
		"auth.test":         {fn: (*call).authTest},
		"auth.revoke":       {fn: (*call).authRevoke, write: true},
		"auth.teams.list":   {fn: (*call).authTeamsList},

		"users.list":          {fn: (*call).usersList, team: true},
		"users.info":          {fn: (*call).usersInfo, standIn: map[string]string{"user": "users"}},
		"users.lookupByEmail": {fn: (*call).usersLookupByEmail},
		"users.profile.get":   {fn: (*call).usersProfileGet},
		"users.getPresence":   {fn: (*call).usersGetPresence},
		"users.conversations": {fn: (*call).usersConversations, team: true},

		"conversations.list":    {fn: (*call).conversationsList, team: true},
		"conversations.info":    {fn: (*call).conversationsInfo},
		"conversations.members": {fn: (*call).conversationsMembers},
		"conversations.history": {fn: (*call).conversationsHistory},
		"conversations.replies": {fn: (*call).conversationsReplies},
		"conversations.join":    {fn: (*call).conversationsJoin, write: true},
		"chat.postMessage":      {fn: (*call).chatPostMessage, write: true},

		"usergroups.list":       {fn: (*call).usergroupsList, team: true},
		"usergroups.users.list": {fn: (*call).usergroupsUsersList, team: true},

		"team.info":               {fn: (*call).teamInfo},
		"team.billableInfo":       {fn: (*call).teamBillableInfo, team: true},
		"team.billing.info":       {fn: (*call).teamBillingInfo, team: true},
		"team.accessLogs":         {fn: (*call).teamAccessLogs, team: true},
		"team.integrationLogs":    {fn: (*call).teamIntegrationLogs, team: true},
		"admin.analytics.getFile": {fn: (*call).adminAnalyticsGetFile},

		"files.list":     {fn: (*call).filesList, team: true},
		"emoji.list":     {fn: (*call).emojiList, team: true},
		"bookmarks.list": {fn: (*call).bookmarksList},
		"calls.info":     {fn: (*call).callsInfo},
	}
	return m
}

// Emulated lists the Web API methods the sandbox answers, sorted.
func (s *Server) Emulated() []string {
	names := make([]string, 0, len(s.methods))
	for n := range s.methods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// caller is the user a token acts as: the bot user of a bot token, the
// consenting user of a user token.
func (c *call) caller() *user { return c.p.user }

func (c *call) authTest() *reply {
	p := c.p
	w := c.w
	rep := okReply()
	var teamName, teamID, url string
	switch {
	case p.org:
		teamName, teamID, url = w.enterprise.Name, w.enterprise.ID, "https://"+w.enterprise.Domain+".enterprise.slack.com/"
	default:
		teamName, teamID, url = p.team.Name, p.team.ID, "https://"+p.team.Domain+".slack.com/"
	}
	rep.with("url", url).with("team", teamName).with("user", p.user.Name).with("team_id", teamID).with("user_id", p.user.ID)
	if p.kind == kindBot {
		rep.with("bot_id", p.botID).with("app_id", p.app.ID).with("app_name", p.app.Name)
	}
	if w.enterprise != nil {
		rep.with("enterprise_id", w.enterprise.ID)
	}
	rep.with("is_enterprise_install", p.org)
	if !p.expires.IsZero() {
		rep.with("expires_in", max(int(p.expires.Sub(c.now).Seconds()), 0))
	}
	return rep
}

func (c *call) authRevoke() *reply {
	if boolArg(c.arg("test")) {
		return okReply().with("revoked", false)
	}
	s := c.s
	s.auth.mu.Lock()
	t := s.auth.access[c.p.token]
	g := t.g
	s.auth.revokeGrant(g)
	where := c.team
	if reach := g.teamsReached(); where == nil && len(reach) > 0 {
		where = reach[0]
	}
	s.auth.mu.Unlock()
	if where == nil {
		where = c.w.teams[0]
	}
	s.emitRevoked(c.w, where, []*grant{g}, false)
	if g.kind == kindBot {
		for _, t := range g.teamsReached() {
			t.intLogs = slices.Insert(t.intLogs, 0, integrationLog{User: c.w.installer(), Date: c.now.Unix(), ChangeType: "removed", AppID: g.app.ID, AppName: g.app.Name, Reason: "user"})
		}
	}
	s.stats.add(func(st *Stats) { st.Revocations++ })
	return okReply().with("revoked", true)
}

func (c *call) authTeamsList() *reply {
	limit, rep := c.limitArg(100)
	if rep != nil {
		return rep
	}
	teams := []*team{c.p.team}
	if c.p.org {
		teams = slices.Clone(c.p.teams)
		slices.SortFunc(teams, func(a, b *team) int { return strings.Compare(a.ID, b.ID) })
	}
	page, next, rep := keysetPage(c, teams, "team", func(t *team) string { return t.ID }, limit, nil)
	if rep != nil {
		return rep
	}
	icon := boolArg(c.arg("include_icon"))
	out := make([]map[string]any, 0, len(page))
	for _, t := range page {
		e := map[string]any{"id": t.ID, "name": t.Name}
		if icon {
			e["icon"] = c.w.renderTeam(t)["icon"]
		}
		out = append(out, e)
	}
	return okReply().with("teams", out).cursor(next)
}
