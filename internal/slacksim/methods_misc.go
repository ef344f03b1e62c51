package slacksim

import (
	"slices"
	"strconv"
	"strings"
)

func (c *call) usergroupsList() *reply {
	if !c.w.edition.paid() {
		return errReply("plan_upgrade_required")
	}
	withUsers, withCount, withDisabled := boolArg(c.arg("include_users")), boolArg(c.arg("include_count")), boolArg(c.arg("include_disabled"))
	out := []usergroupJSON{}
	for _, g := range c.team.usergroups {
		if g.Deleted != 0 && !withDisabled {
			continue
		}
		out = append(out, renderUsergroup(g, withUsers, withCount))
	}
	return okReply().with("usergroups", out)
}

func (c *call) usergroupsUsersList() *reply {
	if !c.w.edition.paid() {
		return errReply("plan_upgrade_required")
	}
	g := c.w.groups[c.arg("usergroup")]
	if g == nil || g.Team != c.team || (g.Deleted != 0 && !boolArg(c.arg("include_disabled"))) {
		return errReply("no_such_subteam")
	}
	return okReply().with("users", userIDs(g.users))
}

// fileTypeFilters are the values files.list accepts in "types".
var fileTypeFilters = []string{"all", "spaces", "snippets", "images", "gdocs", "zips", "pdfs"}

func (c *call) filesList() *reply {
	t := c.team
	var byUser *user
	if id := c.arg("user"); id != "" {
		if byUser = c.visibleUser(id); byUser == nil {
			return errReply("user_not_found")
		}
	}
	var inChannel *channel
	if id := c.arg("channel"); id != "" {
		if inChannel = c.findChannel(id); inChannel == nil {
			return errReply("channel_not_found")
		}
	}
	types := map[string]bool{}
	for _, ty := range strings.Split(c.arg("types"), ",") {
		ty = strings.TrimSpace(ty)
		if ty == "" {
			continue
		}
		if !slices.Contains(fileTypeFilters, ty) {
			return errReply("unknown_type")
		}
		types[ty] = true
	}
	from, to := int64(0), int64(1<<62)
	if s := c.arg("ts_from"); s != "" {
		ts, ok := parseTS(s)
		if !ok {
			return invalidArguments("ts_from must be a unix timestamp")
		}
		from = ts / 1e6
	}
	if s := c.arg("ts_to"); s != "" {
		ts, ok := parseTS(s)
		if !ok {
			return invalidArguments("ts_to must be a unix timestamp")
		}
		to = ts / 1e6
	}
	me := c.caller()
	keep := func(f *file) bool {
		if byUser != nil && f.User != byUser || f.Created < from || f.Created > to {
			return false
		}
		if inChannel != nil && !slices.Contains(f.Channels, inChannel) {
			return false
		}
		if len(types) > 0 && !types["all"] && !types[fileTypes[f.Type].Filter] {
			return false
		}
		return f.Public || f.User == me || slices.ContainsFunc(f.Channels, func(ch *channel) bool { return ch.hasMember(me) })
	}
	var files []*file
	for _, f := range t.files {
		if keep(f) {
			files = append(files, f)
		}
	}
	render := func(fs []*file) []fileJSON {
		out := make([]fileJSON, len(fs))
		for i, f := range fs {
			out[i] = renderFile(f)
		}
		return out
	}
	lo, hi, p, next, rep := c.listPage(len(files), "file", func(i int) string { return files[i].ID }, 0)
	if rep != nil {
		return rep
	}
	out := okReply().with("files", render(files[lo:hi]))
	if p != nil {
		out.with("paging", p)
	}
	return out.cursor(next)
}

// emojiCategories is a small part of Unicode's emoji catalogue, returned with
// include_categories.
var emojiCategories = []map[string]any{
	{"name": "Smileys & People", "emoji_names": []string{"grinning", "smiley", "smile", "joy", "wink", "thinking_face"}},
	{"name": "Animals & Nature", "emoji_names": []string{"dog", "cat", "palm_tree", "sunflower"}},
	{"name": "Objects", "emoji_names": []string{"calendar", "bulb", "books", "headphones"}},
	{"name": "Symbols", "emoji_names": []string{"heart", "white_check_mark", "100", "fire"}},
}

func (c *call) emojiList() *reply {
	m := make(map[string]string, len(c.team.emoji))
	for _, e := range c.team.emoji {
		if e.Alias != "" {
			m[e.Name] = "alias:" + e.Alias
		} else {
			m[e.Name] = e.URL
		}
	}
	rep := okReply().with("emoji", m).with("cache_ts", strconv.FormatInt(c.w.anchor, 10)+".000000")
	if boolArg(c.arg("include_categories")) {
		rep.with("categories_version", "15.0").with("categories", emojiCategories)
	}
	return rep
}

type bookmarkJSON struct {
	ID                  string  `json:"id"`
	ChannelID           string  `json:"channel_id"`
	Title               string  `json:"title"`
	Link                string  `json:"link"`
	Emoji               string  `json:"emoji"`
	IconURL             *string `json:"icon_url"`
	Type                string  `json:"type"`
	EntityID            *string `json:"entity_id"`
	DateCreated         int64   `json:"date_created"`
	DateUpdated         int64   `json:"date_updated"`
	Rank                string  `json:"rank"`
	LastUpdatedByUserID string  `json:"last_updated_by_user_id"`
	LastUpdatedByTeamID string  `json:"last_updated_by_team_id"`
	ShortcutID          *string `json:"shortcut_id"`
	AppID               *string `json:"app_id"`
}

func (c *call) bookmarksList() *reply {
	ch := c.findChannel(c.arg("channel_id"))
	if ch == nil {
		return errReply("channel_not_found")
	}
	out := make([]bookmarkJSON, 0, len(ch.bookmarks))
	for _, b := range ch.bookmarks {
		out = append(out, bookmarkJSON{ID: b.ID, ChannelID: ch.ID, Title: b.Title, Link: b.Link, Emoji: b.Emoji, Type: "link",
			DateCreated: b.Created, DateUpdated: b.Updated, Rank: b.Rank, LastUpdatedByUserID: b.By.ID, LastUpdatedByTeamID: b.By.home().ID})
	}
	return okReply().with("bookmarks", out)
}

func (c *call) callsInfo() *reply {
	cl := c.w.calls[c.arg("id")]
	if cl == nil || !slices.Contains(c.reachTeams(), cl.Team) {
		return errReply("invalid_call_id")
	}
	users := make([]map[string]string, len(cl.Users))
	for i, u := range cl.Users {
		users[i] = map[string]string{"slack_id": u.ID}
	}
	chans := make([]string, len(cl.Channels))
	for i, ch := range cl.Channels {
		chans[i] = ch.ID
	}
	return okReply().with("call", map[string]any{
		"id": cl.ID, "date_start": cl.Start, "external_unique_id": cl.ExternalID, "join_url": "https://meet.example/" + cl.ExternalID,
		"title": cl.Title, "users": users, "channels": chans,
	})
}
