package slacksim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (c *call) teamInfo() *reply {
	t := c.team
	if t == nil {
		t = c.reachTeams()[0]
	}
	if arg := c.arg("team"); arg != "" {
		t = c.w.team(arg)
		if t == nil || (c.w.enterprise == nil && t != c.team) {
			return errReply("team_not_found")
		}
	}
	if d := c.arg("domain"); d != "" {
		t = nil
		for _, x := range c.w.teams {
			if x.Domain == d {
				t = x
			}
		}
		if t == nil {
			return errReply("team_not_found")
		}
	}
	return okReply().with("team", c.w.renderTeam(t))
}

func (c *call) teamBillingInfo() *reply {
	return okReply().with("plan", c.w.edition.plan())
}

func (c *call) teamBillableInfo() *reply {
	t := c.team
	now := c.now.Unix()
	billing := func(u *user) map[string]bool { return map[string]bool{"billing_active": u.billable(now, c.w.edition)} }
	if id := c.arg("user"); id != "" {
		u := c.w.users[id]
		if u == nil || !u.inTeam(t) {
			return errReply("user_not_found")
		}
		return okReply().with("billable_info", map[string]any{u.ID: billing(u)})
	}
	// Without limit or cursor the whole workspace comes in one answer, as it did
	// before Slack added cursors to this method.
	limit := len(t.users)
	if c.arg("limit") != "" || c.arg("cursor") != "" {
		var rep *reply
		if limit, rep = c.limitArg(100); rep != nil {
			return rep
		}
	}
	page, next, rep := keysetPage(c, t.users, "user", userKey, max(limit, 1), nil)
	if rep != nil {
		return rep
	}
	info := make(map[string]any, len(page))
	for _, u := range page {
		info[u.ID] = billing(u)
	}
	return okReply().with("billable_info", info).cursor(next)
}

type loginJSON struct {
	UserID    string `json:"user_id"`
	Username  string `json:"username"`
	DateFirst int64  `json:"date_first"`
	DateLast  int64  `json:"date_last"`
	Count     int    `json:"count"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	ISP       string `json:"isp"`
	Country   string `json:"country"`
	Region    string `json:"region"`
}

func (c *call) teamAccessLogs() *reply {
	if !c.w.edition.paid() {
		return errReply("paid_only")
	}
	t := c.team
	logs := t.logins
	if b := c.arg("before"); b != "" {
		before, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return invalidArguments("before must be a unix timestamp")
		}
		cut := logs[:0:0]
		for _, l := range logs {
			if l.u.logins[l.i].First <= before {
				cut = append(cut, l)
			}
		}
		logs = cut
	}
	render := func(refs []loginRef) []loginJSON {
		out := make([]loginJSON, len(refs))
		for i, r := range refs {
			l := r.u.logins[r.i]
			p := places[l.Place]
			out[i] = loginJSON{UserID: r.u.ID, Username: r.u.Name, DateFirst: l.First, DateLast: l.Last, Count: l.Count,
				IP: l.IP, UserAgent: userAgents[l.Agent], ISP: p.ISP, Country: p.Country, Region: p.Region}
		}
		return out
	}
	key := func(i int) string { return logs[i].u.ID + "." + strconv.Itoa(logs[i].i) }
	lo, hi, p, next, rep := c.listPage(len(logs), "login", key, 100)
	if rep != nil {
		return rep
	}
	out := okReply().with("logins", render(logs[lo:hi]))
	if p != nil {
		out.with("paging", p)
		c.req.warnings = append(c.req.warnings, "use_cursor_pagination_instead")
	}
	return out.cursor(next)
}

type integrationLogJSON struct {
	ServiceID   string `json:"service_id,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	AppID       string `json:"app_id,omitempty"`
	AppType     string `json:"app_type,omitempty"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Channel     string `json:"channel,omitempty"`
	Date        string `json:"date"`
	ChangeType  string `json:"change_type"`
	Scope       string `json:"scope,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func (c *call) teamIntegrationLogs() *reply {
	var logs []integrationLog
	for _, l := range c.team.intLogs {
		switch {
		case c.arg("app_id") != "" && l.AppID != c.arg("app_id"),
			c.arg("service_id") != "" && l.ServiceID != c.arg("service_id"),
			c.arg("change_type") != "" && l.ChangeType != c.arg("change_type"),
			c.arg("user") != "" && l.User.ID != c.arg("user"):
			continue
		}
		logs = append(logs, l)
	}
	lo, hi, p, rep := c.classicPage(len(logs), 100, 0)
	if rep != nil {
		return rep
	}
	out := make([]integrationLogJSON, 0, hi-lo)
	for _, l := range logs[lo:hi] {
		j := integrationLogJSON{UserID: l.User.ID, UserName: l.User.Name, Date: strconv.FormatInt(l.Date, 10), ChangeType: l.ChangeType,
			Scope: l.Scope, Reason: l.Reason, Channel: l.Channel}
		if l.AppID != "" {
			j.AppID, j.AppType = l.AppID, "app"
		} else {
			j.ServiceID, j.ServiceType = l.ServiceID, l.ServiceType
		}
		out = append(out, j)
	}
	return okReply().with("logs", out).with("paging", p)
}

// analyticsDays is how far back Slack keeps analytics files: 13 months.
const analyticsDays = 395

// adminAnalyticsGetFile answers with a gzip file of newline-delimited JSON, one
// object per member (type=member) or public channel (type=public_channel) for
// one UTC day, as Slack does. The rows follow the generated activity: a member
// is active on a day by the same rule that drives access logs and billing.
func (c *call) adminAnalyticsGetFile() *reply {
	if !c.w.edition.businessPlus() {
		return errReply("feature_not_available")
	}
	if c.w.enterprise != nil && !c.p.org {
		return errReply("not_allowed_token_type").message("[ERROR] admin.* methods need a token from an org-wide install")
	}
	if !c.caller().isAdmin() {
		return errReply("not_an_admin")
	}
	kind := c.arg("type")
	if kind != "member" && kind != "public_channel" {
		return errReply("invalid_type")
	}
	metadataOnly := boolArg(c.arg("metadata_only"))
	date := c.arg("date")
	switch {
	case metadataOnly && date != "":
		return errReply("metadata_only_does_not_support_date")
	case metadataOnly && kind != "public_channel":
		return errReply("metadata_not_available")
	case metadataOnly:
		return c.analyticsFile(kind+"_metadata", "", c.channelMetadataRows())
	case date == "":
		return invalidArguments("missing required field: date")
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return errReply("invalid_date")
	}
	today := c.now.UTC().Truncate(24 * time.Hour)
	switch {
	case !d.Before(today):
		return errReply("file_not_yet_available")
	case today.Sub(d) > analyticsDays*24*time.Hour, d.Unix() < c.w.teams[0].Created:
		return errReply("data_not_available")
	}
	if kind == "member" {
		return c.analyticsFile(kind, date, c.memberRows(d.Unix(), date))
	}
	return c.analyticsFile(kind, date, c.channelRows(d.Unix(), date))
}

func (c *call) analyticsFile(kind, date string, rows []any) *reply {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for _, r := range rows {
		enc.Encode(r)
	}
	zw.Close()
	name := kind + ".json.gz"
	if date != "" {
		name = kind + "_" + date + ".json.gz"
	}
	rep := okReply()
	rep.raw, rep.contentType = buf.Bytes(), "application/gzip"
	rep.status = http.StatusOK
	return rep.setHeader("Content-Disposition", `attachment; filename="`+name+`"`)
}

type memberRow struct {
	EnterpriseID               string `json:"enterprise_id"`
	TeamID                     string `json:"team_id"`
	Date                       string `json:"date"`
	UserID                     string `json:"user_id"`
	EmailAddress               string `json:"email_address"`
	IsGuest                    bool   `json:"is_guest"`
	IsBillableSeat             bool   `json:"is_billable_seat"`
	IsActive                   bool   `json:"is_active"`
	IsActiveIOS                bool   `json:"is_active_ios"`
	IsActiveAndroid            bool   `json:"is_active_android"`
	IsActiveDesktop            bool   `json:"is_active_desktop"`
	ReactionsAddedCount        int    `json:"reactions_added_count"`
	MessagesPostedCount        int    `json:"messages_posted_count"`
	ChannelMessagesPostedCount int    `json:"channel_messages_posted_count"`
	FilesAddedCount            int    `json:"files_added_count"`
	IsActiveApps               bool   `json:"is_active_apps"`
	IsActiveWorkflows          bool   `json:"is_active_workflows"`
	IsActiveSlackConnect       bool   `json:"is_active_slack_connect"`
	TotalCallsCount            int    `json:"total_calls_count"`
	SlackCallsCount            int    `json:"slack_calls_count"`
	SlackHuddlesCount          int    `json:"slack_huddles_count"`
	SearchCount                int    `json:"search_count"`
	DateClaimed                int64  `json:"date_claimed"`
}

// reachTeams is where an analytics file looks: the org's granted workspaces or
// the token's workspace.
func (c *call) reachTeams() []*team {
	if t := c.teams(); len(t) > 0 {
		return t
	}
	return c.w.teams[:1]
}

func (c *call) memberRows(dayStart int64, date string) []any {
	posted := map[*user][2]int{} // all messages, channel messages
	for _, ch := range c.w.channels {
		for _, m := range ch.messages {
			if m.TS/1e6 >= dayStart && m.TS/1e6 < dayStart+day {
				n := posted[m.User]
				n[0]++
				if ch.Kind == kindPublic || ch.Kind == kindPrivate {
					n[1]++
				}
				posted[m.User] = n
			}
		}
	}
	entID := ""
	if c.w.enterprise != nil {
		entID = c.w.enterprise.ID
	}
	var rows []any
	seen := map[*user]bool{}
	for _, t := range c.reachTeams() {
		for _, u := range t.users {
			if seen[u] || u.Role == roleBot || u.Role == roleSlackbot || u.Created >= dayStart+day || (u.Deleted && u.Updated < dayStart) {
				continue
			}
			seen[u] = true
			active := u.activeOn(dayStart)
			row := memberRow{EnterpriseID: entID, TeamID: u.home().ID, Date: date, UserID: u.ID, EmailAddress: u.Email,
				IsGuest: u.isGuest(), IsBillableSeat: u.Role != roleSingleGuest && !u.Invited, IsActive: active, DateClaimed: u.Created}
			if active {
				f := stableFloat(u.ID, dayStart+1)
				row.IsActiveDesktop = f < 0.85
				row.IsActiveIOS = f > 0.6
				row.IsActiveAndroid = f > 0.3 && f < 0.45
				n := posted[u]
				row.MessagesPostedCount = n[0] + int(f*20)
				row.ChannelMessagesPostedCount = n[1] + int(f*8)
				row.ReactionsAddedCount = int(f * 12)
				row.FilesAddedCount = int(f * 3)
				row.SearchCount = int(f * 9)
				row.SlackHuddlesCount = int(f * 2)
				row.TotalCallsCount = row.SlackHuddlesCount
				row.IsActiveApps = f > 0.5
				row.IsActiveWorkflows = f > 0.8
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func (c *call) channelRows(dayStart int64, date string) []any {
	var rows []any
	for _, t := range c.reachTeams() {
		for _, ch := range t.channels {
			if ch.Kind != kindPublic || ch.Team != t || ch.Created >= dayStart+day {
				continue
			}
			posted, posters := 0, map[*user]bool{}
			for _, m := range ch.messages {
				if m.TS/1e6 >= dayStart && m.TS/1e6 < dayStart+day {
					posted++
					posters[m.User] = true
				}
			}
			guests := 0
			for _, u := range ch.members {
				if u.isGuest() {
					guests++
				}
			}
			entID := ""
			if c.w.enterprise != nil {
				entID = c.w.enterprise.ID
			}
			rows = append(rows, map[string]any{
				"enterprise_id": entID, "originating_team": map[string]string{"team_id": t.ID, "name": t.Name},
				"channel_id": ch.ID, "date_created": ch.Created, "date_last_active": ch.Updated / 1000,
				"total_members_count": len(ch.members), "full_members_count": len(ch.members) - guests,
				"guest_member_count": guests, "messages_posted_count": posted, "messages_posted_by_members_count": posted,
				"members_who_viewed_count": min(len(ch.members), len(posters)*3), "members_who_posted_count": len(posters),
				"reactions_added_count": posted / 3, "visibility": "public", "channel_type": "single_workspace_channel",
				"is_shared_externally": false, "shared_with": []string{}, "externally_shared_with_organizations": []string{},
				"date": date,
			})
		}
	}
	return rows
}

func (c *call) channelMetadataRows() []any {
	var rows []any
	for _, t := range c.reachTeams() {
		for _, ch := range t.channels {
			if ch.Kind == kindPublic && ch.Team == t {
				rows = append(rows, map[string]any{"channel_id": ch.ID, "name": ch.Name, "topic": ch.Topic.Value,
					"description": strings.TrimSpace(ch.Purpose.Value), "date": time.Unix(ch.Created, 0).UTC().Format(time.DateOnly)})
			}
		}
	}
	return rows
}
