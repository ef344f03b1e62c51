package slacksim

import (
	"math"
	"slices"
	"strings"
)

func channelKey(ch *channel) string { return ch.ID }

// readScope and historyScope are the scopes a token needs to see a kind of
// conversation and to read its messages.
var readScope = map[chanKind]string{kindPublic: "channels:read", kindPrivate: "groups:read", kindIM: "im:read", kindMPIM: "mpim:read"}
var historyScope = map[chanKind]string{kindPublic: "channels:history", kindPrivate: "groups:history", kindIM: "im:history", kindMPIM: "mpim:history"}

// typesArg reads "types" (default public_channel) and checks the token has the
// read scope of each type asked for.
func (c *call) typesArg() (map[chanKind]bool, *reply) {
	raw := c.arg("types")
	if raw == "" {
		raw = "public_channel"
	}
	kinds := map[chanKind]bool{}
	for _, name := range strings.Split(raw, ",") {
		k, ok := map[string]chanKind{"public_channel": kindPublic, "private_channel": kindPrivate, "im": kindIM, "mpim": kindMPIM}[strings.TrimSpace(name)]
		if !ok {
			return nil, errReply("invalid_types")
		}
		if !c.p.hasScope(readScope[k]) {
			return nil, missingScope(readScope[k], c.p.scopes)
		}
		kinds[k] = true
	}
	return kinds, nil
}

// canSee reports whether the caller may see a conversation: public channels of
// the workspaces the call reaches, and private conversations it is a member of.
func (c *call) canSee(ch *channel) bool {
	if !slices.ContainsFunc(c.teams(), ch.visibleIn) {
		return false
	}
	return ch.Kind == kindPublic || ch.hasMember(c.caller())
}

// findChannel resolves a channel argument the caller may see.
func (c *call) findChannel(id string) *channel {
	ch := c.w.channels[strings.TrimSpace(id)]
	if ch == nil || !c.canSee(ch) {
		return nil
	}
	return ch
}

func (c *call) conversationsList() *reply { return c.listConversations(nil) }

// listConversations answers conversations.list (member nil) and
// users.conversations: the workspace's conversations of the types asked for
// that the caller may see, and only those member is in when member is set.
// conversations.list adds num_members to channels; users.conversations does not.
func (c *call) listConversations(member *user) *reply {
	kinds, rep := c.typesArg()
	if rep != nil {
		return rep
	}
	limit, rep := c.limitArg(100)
	if rep != nil {
		return rep
	}
	excludeArchived := boolArg(c.arg("exclude_archived"))
	viewer := c.caller()
	keep := func(ch *channel) bool {
		switch {
		case !kinds[ch.Kind], excludeArchived && ch.Archived, member != nil && !ch.hasMember(member):
			return false
		}
		return ch.Kind == kindPublic || ch.hasMember(viewer)
	}
	page, next, rep := keysetPage(c, c.team.channels, "channel", channelKey, limit, keep)
	if rep != nil {
		return rep
	}
	out := make([]convJSON, len(page))
	for i, ch := range page {
		out[i] = renderChannel(ch, viewer, c.team, member == nil && ch.Kind != kindIM)
	}
	return okReply().with("channels", out).cursor(next)
}

func (c *call) conversationsInfo() *reply {
	ch := c.findChannel(c.arg("channel"))
	if ch == nil {
		return errReply("channel_not_found")
	}
	if !c.p.hasScope(readScope[ch.Kind]) {
		return missingScope(readScope[ch.Kind], c.p.scopes)
	}
	return okReply().with("channel", renderChannel(ch, c.caller(), c.team, boolArg(c.arg("include_num_members"))))
}

func (c *call) conversationsMembers() *reply {
	ch := c.findChannel(c.arg("channel"))
	if ch == nil {
		return errReply("channel_not_found")
	}
	if !c.p.hasScope(readScope[ch.Kind]) {
		return missingScope(readScope[ch.Kind], c.p.scopes)
	}
	limit, rep := c.limitArg(100)
	if rep != nil {
		return rep
	}
	page, next, rep := keysetPage(c, ch.members, "user", userKey, limit, nil)
	if rep != nil {
		return rep
	}
	return okReply().with("members", userIDs(page)).cursor(next)
}

// historyChannel resolves the channel of conversations.history and .replies,
// checking the history scope and that a bot is in the channel.
func (c *call) historyChannel() (*channel, *reply) {
	ch := c.findChannel(c.arg("channel"))
	if ch == nil {
		return nil, errReply("channel_not_found")
	}
	if !c.p.hasScope(historyScope[ch.Kind]) {
		return nil, missingScope(historyScope[ch.Kind], c.p.scopes)
	}
	if c.p.kind == kindBot && !ch.hasMember(c.caller()) {
		return nil, errReply("not_in_channel")
	}
	return ch, nil
}

// window reads latest, oldest and inclusive into a range of message timestamps.
// On the free plan messages older than 90 days are hidden, as Slack hides them.
// Without latest the range is open above: a message posted in the same
// microsecond as another gets the next timestamp, which may lie past the
// sandbox clock, and it must still be seen.
func (c *call) window() (lo, hi int64, rep *reply) {
	hi = math.MaxInt64
	if s := c.arg("latest"); s != "" {
		ts, ok := parseTS(s)
		if !ok {
			return 0, 0, errReply("invalid_ts_latest")
		}
		hi = ts
		if boolArg(c.arg("inclusive")) {
			hi++
		}
	}
	if s := c.arg("oldest"); s != "" {
		ts, ok := parseTS(s)
		if !ok {
			return 0, 0, errReply("invalid_ts_oldest")
		}
		lo = ts
		if !boolArg(c.arg("inclusive")) {
			lo++
		}
	}
	if c.w.edition == EditionFree {
		lo = max(lo, c.now.Add(-90*24*60*60*1e9).UnixMicro())
	}
	return lo, hi, nil
}

func tsCursorKey(m *message) string { return formatTS(m.TS) }

func (c *call) conversationsHistory() *reply {
	ch, rep := c.historyChannel()
	if rep != nil {
		return rep
	}
	lo, hi, rep := c.window()
	if rep != nil {
		return rep
	}
	limit, rep := c.limitArg(100)
	if rep != nil {
		return rep
	}
	if cur := c.arg("cursor"); cur != "" {
		k, ok := decodeCursor("next_ts", cur)
		ts, ok2 := parseTS(k)
		if !ok || !ok2 {
			return errReply("invalid_cursor")
		}
		hi = min(hi, ts+1)
	}
	// Newest first: walk down from the newest message under hi.
	i, _ := slices.BinarySearchFunc(ch.messages, hi, func(m *message, ts int64) int { return cmpInt(m.TS, ts) })
	var out []messageJSON
	pins := 0
	for _, m := range ch.messages {
		if m.Pinned {
			pins++
		}
	}
	next := ""
	for i--; i >= 0 && ch.messages[i].TS >= lo; i-- {
		if len(out) == limit {
			next = encodeCursor("next_ts", formatTS(ch.messages[i].TS))
			break
		}
		out = append(out, renderMessage(ch, ch.messages[i]))
	}
	if out == nil {
		out = []messageJSON{}
	}
	rep = okReply().with("messages", out).with("has_more", next != "").with("pin_count", pins).
		with("channel_actions_ts", nil).with("channel_actions_count", 0)
	if next != "" {
		rep.cursor(next)
	}
	return rep
}

// findThread finds the thread holding ts: the parent itself, or the parent of
// the reply with that timestamp.
func findThread(ch *channel, ts int64) *message {
	if m := ch.findMessage(ts); m != nil {
		return m
	}
	i, _ := slices.BinarySearchFunc(ch.messages, ts, func(m *message, ts int64) int { return cmpInt(m.TS, ts) })
	for j := i - 1; j >= 0; j-- {
		for _, r := range ch.messages[j].Replies {
			if r.TS == ts {
				return ch.messages[j]
			}
		}
	}
	return nil
}

// conversationsReplies answers a thread: its parent first on every page, as
// Slack does (slackdump relies on it: "slack returns the thread starter as the
// first message with every call"), then the replies from the cursor on. The
// parent comes whatever oldest and latest say; the window filters the replies.
// Slack does not say how the parent counts against limit: here it is one of
// the limit on the first page, where it is in its place in the thread, and
// extra on the later pages, where it is repeated, so that limit=1 still makes
// progress.
func (c *call) conversationsReplies() *reply {
	ch, rep := c.historyChannel()
	if rep != nil {
		return rep
	}
	ts, ok := parseTS(c.arg("ts"))
	if !ok {
		return errReply("thread_not_found")
	}
	parent := findThread(ch, ts)
	if parent == nil {
		return errReply("thread_not_found")
	}
	lo, hi, rep := c.window()
	if rep != nil {
		return rep
	}
	limit, rep := c.limitArg(1000)
	if rep != nil {
		return rep
	}
	room := limit - 1
	if cur := c.arg("cursor"); cur != "" {
		k, ok := decodeCursor("next_ts", cur)
		ts, ok2 := parseTS(k)
		if !ok || !ok2 {
			return errReply("invalid_cursor")
		}
		lo = max(lo, ts)
		room = limit
	}
	out := []messageJSON{renderMessage(ch, parent)}
	next := ""
	for _, m := range parent.Replies {
		if m.TS < lo || m.TS >= hi {
			continue
		}
		if len(out)-1 == room {
			next = encodeCursor("next_ts", formatTS(m.TS))
			break
		}
		out = append(out, renderMessage(ch, m))
	}
	rep = okReply().with("messages", out).with("has_more", next != "")
	if next != "" {
		rep.cursor(next)
	}
	return rep
}

func (c *call) conversationsJoin() *reply {
	ch := c.findChannel(c.arg("channel"))
	if ch == nil {
		return errReply("channel_not_found")
	}
	if ch.Kind != kindPublic {
		return errReply("method_not_supported_for_channel_type")
	}
	if ch.Archived {
		return errReply("is_archived")
	}
	rep := okReply()
	if ch.hasMember(c.caller()) {
		c.req.warnings = append(c.req.warnings, "already_in_channel")
	} else {
		ch.addMember(c.caller())
		m := &message{TS: c.w.nextTS(ch, c.now), User: c.caller(), Subtype: "channel_join", Text: "<@" + c.caller().ID + "> has joined the channel"}
		ch.messages = append(ch.messages, m)
		c.s.emit(c.w, memberEvent(ch, c.caller(), true, nil))
		c.s.emit(c.w, messageEvent(ch, m))
	}
	return rep.with("channel", renderChannel(ch, c.caller(), c.team, false))
}

// nextTS is a timestamp for a new message in ch: now, or just after the newest.
func (w *world) nextTS(ch *channel, now interface{ UnixMicro() int64 }) int64 {
	ts := now.UnixMicro()
	if n := len(ch.messages); n > 0 && ch.messages[n-1].TS >= ts {
		ts = ch.messages[n-1].TS + 1
	}
	return ts
}

func (c *call) chatPostMessage() *reply {
	ch := c.findChannelOrName(c.arg("channel"))
	if ch == nil {
		return errReply("channel_not_found")
	}
	text := c.arg("text")
	if strings.TrimSpace(text) == "" && c.arg("blocks") == "" && c.arg("attachments") == "" {
		return errReply("no_text")
	}
	if ch.Archived {
		return errReply("is_archived")
	}
	me := c.caller()
	if !ch.hasMember(me) && !(ch.Kind == kindPublic && c.p.kind == kindBot && c.p.hasScope("chat:write.public")) {
		return errReply("not_in_channel")
	}
	m := &message{User: me, Text: text}
	if tts := c.arg("thread_ts"); tts != "" {
		ts, ok := parseTS(tts)
		parent := ch.findMessage(ts)
		if !ok || parent == nil {
			return errReply("thread_not_found")
		}
		m.TS = max(c.now.UnixMicro(), lastTS(parent)+1)
		m.Parent = parent
		parent.Replies = append(parent.Replies, m)
	} else {
		m.TS = c.w.nextTS(ch, c.now)
		ch.messages = append(ch.messages, m)
	}
	ch.Updated = c.now.UnixMilli()
	c.s.emit(c.w, messageEvent(ch, m))
	return okReply().with("channel", ch.ID).with("ts", formatTS(m.TS)).with("message", renderMessage(ch, m))
}

func lastTS(parent *message) int64 {
	if n := len(parent.Replies); n > 0 {
		return parent.Replies[n-1].TS
	}
	return parent.TS
}

// findChannelOrName resolves a channel ID, or a name with or without "#", as
// chat.postMessage accepts.
func (c *call) findChannelOrName(arg string) *channel {
	if ch := c.findChannel(arg); ch != nil {
		return ch
	}
	name := strings.TrimPrefix(strings.TrimSpace(arg), "#")
	for _, t := range c.teams() {
		for _, ch := range t.channels {
			if ch.Name == name && c.canSee(ch) {
				return ch
			}
		}
	}
	return nil
}
