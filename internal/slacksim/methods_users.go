package slacksim

import (
	"strings"
)

// unpaginatedMax is the workspace size above which users.list without a limit
// answers limit_required, as Slack does for large teams.
const unpaginatedMax = 1000

func userKey(u *user) string { return u.ID }

func (c *call) usersList() *reply {
	t := c.team
	limit, rep := c.limitArg(0)
	if rep != nil {
		return rep
	}
	if limit == 0 {
		if len(t.users) > unpaginatedMax {
			return errReply("limit_required")
		}
		limit = unpaginatedMax
	}
	page, next, rep := keysetPage(c, t.users, "user", userKey, limit, nil)
	if rep != nil {
		return rep
	}
	v := c.userView()
	members := make([]userJSON, len(page))
	for i, u := range page {
		members[i] = c.w.renderUser(u, v)
	}
	return okReply().with("members", members).with("cache_ts", c.now.Unix()).cursor(next)
}

// visibleUser finds a user the caller may see: any user of the org on
// Enterprise Grid, any user of the workspace otherwise.
func (c *call) visibleUser(id string) *user {
	u := c.w.users[id]
	if u == nil {
		return nil
	}
	if c.w.enterprise != nil {
		return u
	}
	for _, t := range c.teams() {
		if u.inTeam(t) {
			return u
		}
	}
	return nil
}

func (c *call) usersInfo() *reply {
	v := c.userView()
	// users=U1,U2 is undocumented but answered by Slack with "users", in the
	// order asked; slack-go's GetUsersInfo sends it (FACTS 3). Slack does not
	// say what an unknown ID among them does: the sandbox answers
	// user_not_found for the whole call, as users.info does for one.
	if ids := c.arg("users"); strings.TrimSpace(c.arg("user")) == "" && strings.TrimSpace(ids) != "" {
		var out []userJSON
		for _, id := range strings.Split(ids, ",") {
			u := c.visibleUser(strings.TrimSpace(id))
			if u == nil {
				return errReply("user_not_found")
			}
			out = append(out, c.w.renderUser(u, v))
		}
		return okReply().with("users", out)
	}
	u := c.visibleUser(strings.TrimSpace(c.arg("user")))
	if u == nil {
		return errReply("user_not_found")
	}
	return okReply().with("user", c.w.renderUser(u, v))
}

func (c *call) usersLookupByEmail() *reply {
	u := c.w.emailIndex[strings.ToLower(strings.TrimSpace(c.arg("email")))]
	// Deactivated users are not found by email, a decision recorded in
	// docs/ARCHITECTURE.md (Slack's page does not say).
	if u == nil || u.Deleted || c.visibleUser(u.ID) == nil {
		return errReply("users_not_found")
	}
	return okReply().with("user", c.w.renderUser(u, c.userView()))
}

func (c *call) usersProfileGet() *reply {
	u := c.caller()
	if id := c.arg("user"); id != "" {
		u = c.visibleUser(id)
		if u == nil {
			return errReply("user_not_found")
		}
	}
	return okReply().with("profile", c.w.renderProfile(u, c.userView()))
}

// presence is "active" for people active today and online now: a stable coin
// flip per user and five-minute slot, so presence changes through the day.
func (c *call) presence(u *user) (active bool, lastActivity int64) {
	if u.Role == roleBot || u.Role == roleSlackbot {
		return !u.Deleted, c.now.Unix()
	}
	if u.Deleted || u.Invited || u.LastActive == 0 {
		return false, u.LastActive
	}
	recent := c.now.Unix()-u.LastActive < 2*day
	return recent && stableFloat(u.ID, c.now.Unix()/300) < float64(u.Activity)*0.8, u.LastActive
}

func (c *call) usersGetPresence() *reply {
	u := c.caller()
	if id := c.arg("user"); id != "" {
		if u = c.visibleUser(id); u == nil {
			return errReply("user_not_found")
		}
	}
	active, last := c.presence(u)
	state := "away"
	if active {
		state = "active"
	}
	rep := okReply().with("presence", state)
	if u == c.caller() {
		conns := 0
		if active {
			conns = 1
		}
		rep.with("online", active).with("auto_away", !active).with("manual_away", false).
			with("connection_count", conns).with("last_activity", last)
	}
	return rep
}

func (c *call) usersConversations() *reply {
	target := c.caller()
	if id := c.arg("user"); id != "" {
		if target = c.visibleUser(id); target == nil {
			return errReply("user_not_found")
		}
	}
	return c.listConversations(target)
}
