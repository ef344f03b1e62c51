package slacksim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// More controls that change the workspace, one for each change Slack reports
// as an event: rename or delete a channel, add or remove a member, edit or
// delete a message, create or change a user group and its members, add or
// remove an emoji. Each emits the events Slack sends for it (events.go).

func (s *Server) changeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sandbox/channels/{id}/rename", s.noting(s.ctlRenameChannel))
	mux.HandleFunc("DELETE /_sandbox/channels/{id}", s.noting(s.ctlDeleteChannel))
	mux.HandleFunc("POST /_sandbox/channels/{id}/members", s.noting(s.ctlJoinChannel))
	mux.HandleFunc("DELETE /_sandbox/channels/{id}/members/{user}", s.noting(s.ctlLeaveChannel))
	mux.HandleFunc("PATCH /_sandbox/messages/{channel}/{ts}", s.noting(s.ctlEditMessage))
	mux.HandleFunc("DELETE /_sandbox/messages/{channel}/{ts}", s.noting(s.ctlDeleteMessage))
	mux.HandleFunc("POST /_sandbox/usergroups", s.noting(s.ctlAddUsergroup))
	mux.HandleFunc("PATCH /_sandbox/usergroups/{id}", s.noting(s.ctlUpdateUsergroup))
	mux.HandleFunc("PUT /_sandbox/usergroups/{id}/users", s.noting(s.ctlSetUsergroupUsers))
	mux.HandleFunc("POST /_sandbox/emoji", s.noting(s.ctlAddEmoji))
	mux.HandleFunc("DELETE /_sandbox/emoji/{name}", s.noting(s.ctlRemoveEmoji))
}

// changeControls lists the controls of this file for GET /_sandbox/.
var changeControls = []string{
	"POST /_sandbox/channels/{id}/rename", "DELETE /_sandbox/channels/{id}",
	"POST /_sandbox/channels/{id}/members", "DELETE /_sandbox/channels/{id}/members/{user}",
	"PATCH /_sandbox/messages/{channel}/{ts}", "DELETE /_sandbox/messages/{channel}/{ts}",
	"POST /_sandbox/usergroups", "PATCH /_sandbox/usergroups/{id}", "PUT /_sandbox/usergroups/{id}/users",
	"POST /_sandbox/emoji", "DELETE /_sandbox/emoji/{name}?team_id=",
}

// controlChannel finds a channel (not a DM) named in the path, or answers 404.
func controlChannel(w http.ResponseWriter, wd *world, id string) *channel {
	ch := wd.channels[id]
	if ch == nil || ch.Kind == kindIM || ch.Kind == kindMPIM {
		ctlError(w, http.StatusNotFound, "channel_not_found", "no channel "+id)
		return nil
	}
	return ch
}

// ctlRenameChannel renames a channel: {"name": "new-name"}.
func (s *Server) ctlRenameChannel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch := controlChannel(w, wd, r.PathValue("id"))
	if ch == nil {
		return
	}
	if !validChannelName(req.Name) {
		ctlError(w, http.StatusBadRequest, "invalid_name", "channel names are 1 to 80 lower-case letters, digits, - and _")
		return
	}
	for _, other := range ch.Team.channels {
		if other.Name == req.Name && other != ch {
			ctlError(w, http.StatusConflict, "name_taken", "a channel named "+req.Name+" exists: "+other.ID)
			return
		}
	}
	if req.Name != ch.Name {
		ch.PreviousNames = append([]string{ch.Name}, ch.PreviousNames...)
		ch.Name = req.Name
		ch.Updated = s.now().UnixMilli()
		s.emit(wd, channelRenameEvent(ch))
	}
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": renderChannel(ch, nil, ch.Team, true)})
}

// ctlDeleteChannel deletes a channel for good, as an admin can: it leaves every
// workspace, user group and file that named it.
func (s *Server) ctlDeleteChannel(w http.ResponseWriter, r *http.Request) {
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch := controlChannel(w, wd, r.PathValue("id"))
	if ch == nil {
		return
	}
	if ch.General {
		ctlError(w, http.StatusBadRequest, "cant_delete_general", "#general cannot be deleted")
		return
	}
	ev := channelStateEvent(ch, "deleted", nil)
	delete(wd.channels, ch.ID)
	for _, t := range channelTeams(ch) {
		t.channels = slices.DeleteFunc(t.channels, func(c *channel) bool { return c == ch })
	}
	for _, g := range wd.groups {
		g.channels = slices.DeleteFunc(g.channels, func(c *channel) bool { return c == ch })
	}
	for _, f := range wd.files {
		f.Channels = slices.DeleteFunc(f.Channels, func(c *channel) bool { return c == ch })
	}
	for _, c := range wd.calls {
		c.Channels = slices.DeleteFunc(c.Channels, func(c *channel) bool { return c == ch })
	}
	s.emit(wd, ev)
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// ctlJoinChannel adds a member: {"user": "U…", "inviter": "U…"}. Like Slack it
// posts the channel_join message.
func (s *Server) ctlJoinChannel(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User    string `json:"user"`
		Inviter string `json:"inviter"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch := controlChannel(w, wd, r.PathValue("id"))
	if ch == nil {
		return
	}
	u := wd.users[req.User]
	if u == nil || u.Deleted || !slices.ContainsFunc(channelTeams(ch), u.inTeam) {
		ctlError(w, http.StatusBadRequest, "user_not_found", "no active user "+req.User+" in the channel's workspaces")
		return
	}
	var inviter *user
	if req.Inviter != "" {
		if inviter = wd.users[req.Inviter]; inviter == nil {
			ctlError(w, http.StatusBadRequest, "user_not_found", "no user "+req.Inviter)
			return
		}
	}
	if ch.Archived {
		ctlError(w, http.StatusBadRequest, "is_archived", ch.ID+" is archived")
		return
	}
	if ch.hasMember(u) {
		ctlError(w, http.StatusConflict, "already_in_channel", u.ID+" is a member of "+ch.ID)
		return
	}
	s.memberChange(wd, ch, u, true, inviter)
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": renderChannel(ch, u, ch.Team, true)})
}

// ctlLeaveChannel removes a member; Slack posts the channel_leave message.
func (s *Server) ctlLeaveChannel(w http.ResponseWriter, r *http.Request) {
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch := controlChannel(w, wd, r.PathValue("id"))
	if ch == nil {
		return
	}
	u := wd.users[r.PathValue("user")]
	if u == nil || !ch.hasMember(u) {
		ctlError(w, http.StatusBadRequest, "not_in_channel", r.PathValue("user")+" is not a member of "+ch.ID)
		return
	}
	if ch.General {
		ctlError(w, http.StatusBadRequest, "cant_leave_general", "nobody leaves #general")
		return
	}
	s.memberChange(wd, ch, u, false, nil)
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": renderChannel(ch, u, ch.Team, true)})
}

// memberChange adds or removes u, posts Slack's join or leave message and
// emits member_joined_channel or member_left_channel and the message.
func (s *Server) memberChange(wd *world, ch *channel, u *user, join bool, inviter *user) {
	now := s.now()
	m := &message{TS: wd.nextTS(ch, now), User: u}
	if join {
		ch.addMember(u)
		m.Subtype, m.Text = "channel_join", "<@"+u.ID+"> has joined the channel"
	} else {
		ch.removeMember(u)
		m.Subtype, m.Text = "channel_leave", "<@"+u.ID+"> has left the channel"
	}
	ch.messages = append(ch.messages, m)
	ch.Updated = now.UnixMilli()
	s.emit(wd, memberEvent(ch, u, join, inviter))
	s.emit(wd, messageEvent(ch, m))
}

// controlMessage finds the message (or thread reply) at path {channel}/{ts}.
func controlMessage(w http.ResponseWriter, wd *world, r *http.Request) (*channel, *message) {
	ch := wd.channels[r.PathValue("channel")]
	if ch == nil {
		ctlError(w, http.StatusNotFound, "channel_not_found", "no channel "+r.PathValue("channel"))
		return nil, nil
	}
	ts, ok := parseTS(r.PathValue("ts"))
	if ok {
		if m := ch.findMessage(ts); m != nil {
			return ch, m
		}
		for _, p := range ch.messages {
			for _, m := range p.Replies {
				if m.TS == ts {
					return ch, m
				}
			}
		}
	}
	ctlError(w, http.StatusNotFound, "message_not_found", "no message "+r.PathValue("ts")+" in "+ch.ID)
	return nil, nil
}

// ctlEditMessage changes a message's text: {"text": "…"}.
func (s *Server) ctlEditMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		ctlError(w, http.StatusBadRequest, "no_text", "text is required")
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch, m := controlMessage(w, wd, r)
	if m == nil {
		return
	}
	now := s.now()
	prev := renderMessage(ch, m)
	m.Text, m.Edited = req.Text, max(now.UnixMicro(), m.TS+1)
	s.emit(wd, messageChangedEvent(ch, m, prev, now))
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch.ID, "ts": formatTS(m.TS), "message": renderMessage(ch, m)})
}

// ctlDeleteMessage deletes a message, with its thread, or one thread reply.
func (s *Server) ctlDeleteMessage(w http.ResponseWriter, r *http.Request) {
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch, m := controlMessage(w, wd, r)
	if m == nil {
		return
	}
	prev := renderMessage(ch, m)
	if p := m.Parent; p != nil {
		p.Replies = slices.DeleteFunc(p.Replies, func(x *message) bool { return x == m })
	} else {
		ch.messages = slices.DeleteFunc(ch.messages, func(x *message) bool { return x == m })
	}
	s.emit(wd, messageDeletedEvent(ch, prev, s.now()))
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch.ID, "ts": prev.TS})
}

// UsergroupRequest creates or changes a user group through the controls.
// Absent fields stay.
type UsergroupRequest struct {
	TeamID      string   `json:"team_id"`
	Name        *string  `json:"name"`
	Handle      *string  `json:"handle"`
	Description *string  `json:"description"`
	Users       []string `json:"users"`
	By          string   `json:"by"` // who makes the change (default: the primary owner)
}

var handleShape = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,79}$`)

// applyUsergroup writes req's name, handle and description into g, or says why
// it cannot.
func (wd *world) applyUsergroup(g *usergroup, req UsergroupRequest) string {
	if req.Name != nil {
		if strings.TrimSpace(*req.Name) == "" {
			return "name must not be empty"
		}
		g.Name = *req.Name
	}
	if req.Handle != nil {
		if !handleShape.MatchString(*req.Handle) {
			return "handle must be lower-case letters, digits, ., - and _"
		}
		for _, o := range g.Team.usergroups {
			if o != g && o.Handle == *req.Handle && o.Deleted == 0 {
				return "handle " + *req.Handle + " is taken by " + o.ID
			}
		}
		g.Handle = *req.Handle
	}
	if req.Description != nil {
		g.Description = *req.Description
	}
	return ""
}

// controlUsers resolves user IDs for a control, each a member of t.
func controlUsers(wd *world, t *team, ids []string) ([]*user, string) {
	var out []*user
	for _, id := range ids {
		u := wd.users[id]
		if u == nil || !u.inTeam(t) {
			return nil, "no user " + id + " in " + t.ID
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *user) int { return strings.Compare(a.ID, b.ID) })
	return out, ""
}

func (wd *world) controlActor(id string) *user {
	if u := wd.users[id]; u != nil {
		return u
	}
	return wd.installer()
}

func (s *Server) ctlAddUsergroup(w http.ResponseWriter, r *http.Request) {
	var req UsergroupRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	t, ok := controlTeam(w, wd, req.TeamID)
	if !ok {
		return
	}
	if req.Name == nil || req.Handle == nil {
		ctlError(w, http.StatusBadRequest, "invalid_usergroup", "name and handle are required")
		return
	}
	users, msg := controlUsers(wd, t, req.Users)
	now := s.now().Unix()
	by := wd.controlActor(req.By)
	g := &usergroup{ID: wd.newID("S"), Team: t, Created: now, Updated: now, CreatedBy: by, UpdatedBy: by, users: users}
	if msg == "" {
		msg = wd.applyUsergroup(g, req)
	}
	if msg != "" {
		ctlError(w, http.StatusBadRequest, "invalid_usergroup", msg)
		return
	}
	wd.groups[g.ID] = g
	i, _ := slices.BinarySearchFunc(t.usergroups, g.ID, func(x *usergroup, id string) int { return strings.Compare(x.ID, id) })
	t.usergroups = slices.Insert(t.usergroups, i, g)
	s.emit(wd, subteamEvent("subteam_created", g))
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "usergroup": renderUsergroup(g, true, true)})
}

func (s *Server) ctlUpdateUsergroup(w http.ResponseWriter, r *http.Request) {
	var req UsergroupRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	g := wd.groups[r.PathValue("id")]
	if g == nil {
		ctlError(w, http.StatusNotFound, "no_such_subteam", "no user group "+r.PathValue("id"))
		return
	}
	if req.Users != nil || req.TeamID != "" {
		ctlError(w, http.StatusBadRequest, "invalid_usergroup", "change members with PUT /_sandbox/usergroups/{id}/users; a group stays in its workspace")
		return
	}
	before := *g
	if msg := wd.applyUsergroup(g, req); msg != "" {
		*g = before
		ctlError(w, http.StatusBadRequest, "invalid_usergroup", msg)
		return
	}
	g.Updated, g.UpdatedBy = max(s.now().Unix(), g.Updated+1), wd.controlActor(req.By)
	s.emit(wd, subteamEvent("subteam_updated", g))
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "usergroup": renderUsergroup(g, true, true)})
}

// ctlSetUsergroupUsers replaces a group's members: {"users": [...]}. Slack
// sends subteam_members_changed with the difference, then subteam_updated.
func (s *Server) ctlSetUsergroupUsers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Users []string `json:"users"`
		By    string   `json:"by"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	g := wd.groups[r.PathValue("id")]
	if g == nil {
		ctlError(w, http.StatusNotFound, "no_such_subteam", "no user group "+r.PathValue("id"))
		return
	}
	users, msg := controlUsers(wd, g.Team, req.Users)
	if msg != "" {
		ctlError(w, http.StatusBadRequest, "invalid_usergroup", msg)
		return
	}
	prev, prevUpdate := g.users, g.Updated
	g.users = users
	g.Updated, g.UpdatedBy = max(s.now().Unix(), g.Updated+1), wd.controlActor(req.By)
	s.emitMembersChanged(wd, g, prev, prevUpdate)
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "usergroup": renderUsergroup(g, true, true)})
}

var emojiName = regexp.MustCompile(`^[a-z0-9_+'-]{1,100}$`)

// ctlAddEmoji adds a custom emoji: {"team_id", "name", "url"} or
// {"team_id", "name", "alias_for"}.
func (s *Server) ctlAddEmoji(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TeamID   string `json:"team_id"`
		Name     string `json:"name"`
		URL      string `json:"url"`
		AliasFor string `json:"alias_for"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	t, ok := controlTeam(w, wd, req.TeamID)
	if !ok {
		return
	}
	if !emojiName.MatchString(req.Name) || (req.URL == "") == (req.AliasFor == "") {
		ctlError(w, http.StatusBadRequest, "invalid_emoji", "name (lower-case letters, digits, _ + ' -) and one of url or alias_for are required")
		return
	}
	if _, taken := slices.BinarySearchFunc(t.emoji, req.Name, func(e emoji, n string) int { return strings.Compare(e.Name, n) }); taken {
		ctlError(w, http.StatusConflict, "error_name_taken", "an emoji named "+req.Name+" exists")
		return
	}
	e := emoji{Name: req.Name, URL: req.URL, Alias: req.AliasFor}
	value := e.URL
	if e.Alias != "" {
		value = "alias:" + e.Alias
	}
	i, _ := slices.BinarySearchFunc(t.emoji, e.Name, func(e emoji, n string) int { return strings.Compare(e.Name, n) })
	t.emoji = slices.Insert(t.emoji, i, e)
	s.emit(wd, event{body: map[string]any{"type": "emoji_changed", "subtype": "add", "name": e.Name, "value": value}, teams: []*team{t}})
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "name": e.Name, "value": value})
}

// ctlRemoveEmoji removes a custom emoji and the aliases of it (query team_id).
func (s *Server) ctlRemoveEmoji(w http.ResponseWriter, r *http.Request) {
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	t, ok := controlTeam(w, wd, r.URL.Query().Get("team_id"))
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, found := slices.BinarySearchFunc(t.emoji, name, func(e emoji, n string) int { return strings.Compare(e.Name, n) }); !found {
		ctlError(w, http.StatusNotFound, "emoji_not_found", "no emoji "+name+" in "+t.ID)
		return
	}
	var names []string
	t.emoji = slices.DeleteFunc(t.emoji, func(e emoji) bool {
		gone := e.Name == name || e.Alias == name
		if gone {
			names = append(names, e.Name)
		}
		return gone
	})
	s.emit(wd, event{body: map[string]any{"type": "emoji_changed", "subtype": "remove", "names": names}, teams: []*team{t}})
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "names": names})
}
