package slacksim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// The controls that change the workspace: users, channels and messages. Each
// takes the world lock alone and answers with the object as the Web API draws it.

// UserChange adds or changes a user through the controls. Absent fields stay.
type UserChange struct {
	TeamID      string  `json:"team_id"`
	Name        *string `json:"name"`
	RealName    *string `json:"real_name"`
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
	Title       *string `json:"title"`
	Phone       *string `json:"phone"`
	StatusText  *string `json:"status_text"`
	StatusEmoji *string `json:"status_emoji"`
	Role        *string `json:"role"` // member, admin, owner, multi_channel_guest, single_channel_guest
}

var roleByName = map[string]role{"member": roleMember, "admin": roleAdmin, "owner": roleOwner,
	"multi_channel_guest": roleMultiGuest, "single_channel_guest": roleSingleGuest}

func (s *Server) ctlAddUser(w http.ResponseWriter, r *http.Request) {
	var ch UserChange
	if !decodeBody(w, r, &ch, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	t, ok := controlTeam(w, wd, ch.TeamID)
	if !ok {
		return
	}
	if ch.RealName == nil || strings.TrimSpace(*ch.RealName) == "" {
		ctlError(w, http.StatusBadRequest, "invalid_user", "real_name is required")
		return
	}
	prefix := "U"
	if wd.enterprise != nil {
		prefix = "W"
	}
	now := s.now().Unix()
	u := &user{ID: wd.newID(prefix), Teams: []*team{t}, Color: colors[len(wd.users)%len(colors)], Created: now, Updated: now,
		Activity: 0.5, LastActive: now, StartDate: time.Unix(now, 0).UTC().Format(time.DateOnly)}
	first, last, _ := strings.Cut(strings.TrimSpace(*ch.RealName), " ")
	u.FirstName, u.LastName = first, last
	u.Name = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(*ch.RealName), " ", "."))
	if msg := wd.applyUserChange(u, ch); msg != "" {
		ctlError(w, http.StatusBadRequest, "invalid_user", msg)
		return
	}
	wd.addUser(u)
	wd.joinGeneral(u)
	s.emit(wd, wd.userEvent("team_join", u, s.now()))
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "user": wd.renderUser(u, userView{email: true, team: t})})
}

// applyUserChange writes a change into u, or says why it cannot.
func (w *world) applyUserChange(u *user, ch UserChange) string {
	if ch.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*ch.Email))
		if other := w.emailIndex[e]; other != nil && other != u {
			return "email " + e + " is taken by " + other.ID
		}
		if !strings.Contains(e, "@") {
			return "email must contain @"
		}
		delete(w.emailIndex, strings.ToLower(u.Email))
		u.Email = e
		w.emailIndex[e] = u
	}
	if ch.Role != nil {
		r, ok := roleByName[*ch.Role]
		if !ok {
			return "role must be one of member, admin, owner, multi_channel_guest, single_channel_guest"
		}
		if u.Role == rolePrimaryOwner || u.Role == roleBot || u.Role == roleSlackbot {
			return "the role of the primary owner, bots and Slackbot cannot change"
		}
		u.Role = r
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	if ch.Name != nil {
		w.setHandle(u, *ch.Name)
	}
	set(&u.RealName, ch.RealName)
	set(&u.DisplayName, ch.DisplayName)
	set(&u.Title, ch.Title)
	set(&u.Phone, ch.Phone)
	set(&u.StatusText, ch.StatusText)
	set(&u.StatusEmoji, ch.StatusEmoji)
	return ""
}

func (s *Server) ctlUpdateUser(w http.ResponseWriter, r *http.Request) {
	var ch UserChange
	if !decodeBody(w, r, &ch, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	u := wd.users[r.PathValue("id")]
	if u == nil {
		ctlError(w, http.StatusNotFound, "user_not_found", "no user "+r.PathValue("id"))
		return
	}
	if msg := wd.applyUserChange(u, ch); msg != "" {
		ctlError(w, http.StatusBadRequest, "invalid_user", msg)
		return
	}
	u.Updated = max(s.now().Unix(), u.Updated+1)
	s.emit(wd, wd.userEvent("user_change", u, s.now()))
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "user": wd.renderUser(u, userView{email: true})})
}

func (s *Server) ctlSetDeleted(deleted bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wd := s.world.Load()
		wd.mu.Lock()
		defer wd.mu.Unlock()
		u := wd.users[r.PathValue("id")]
		if u == nil {
			ctlError(w, http.StatusNotFound, "user_not_found", "no user "+r.PathValue("id"))
			return
		}
		if u.Role == rolePrimaryOwner || u.Role == roleSlackbot {
			ctlError(w, http.StatusBadRequest, "cant_deactivate", "the primary owner and Slackbot cannot be deactivated")
			return
		}
		if u.Deleted != deleted {
			wd.setDeleted(u, deleted, s.now().Unix())
			s.emit(wd, wd.userEvent("user_change", u, s.now()))
		}
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "user": wd.renderUser(u, userView{email: true})})
	}
}

// setDeleted deactivates or reactivates a user. A deactivated user leaves every
// channel and user group, as on Slack; reactivation does not restore them.
func (w *world) setDeleted(u *user, deleted bool, now int64) {
	if u.Deleted == deleted {
		return
	}
	u.Deleted = deleted
	u.Updated = max(now, u.Updated+1)
	if deleted {
		u.Activity = 0
		for _, ch := range w.channels {
			ch.removeMember(u)
		}
		for _, g := range w.groups {
			g.users = slices.DeleteFunc(g.users, func(x *user) bool { return x == u })
		}
		return
	}
	u.Activity, u.LastActive = 0.5, now
	w.joinGeneral(u)
}

// joinGeneral adds a person to #general of each of their workspaces, as joining
// a workspace does. Guests do not join #general.
func (w *world) joinGeneral(u *user) {
	if u.isGuest() || u.Role == roleBot {
		return
	}
	for _, t := range u.Teams {
		for _, ch := range t.channels {
			if ch.General && ch.Team == t {
				ch.addMember(u)
			}
		}
	}
}

// ChannelRequest creates a channel through the controls.
type ChannelRequest struct {
	TeamID  string   `json:"team_id"`
	Name    string   `json:"name"`
	Private bool     `json:"private"`
	Members []string `json:"members"`
}

func (s *Server) ctlAddChannel(w http.ResponseWriter, r *http.Request) {
	var req ChannelRequest
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
	if !validChannelName(req.Name) {
		ctlError(w, http.StatusBadRequest, "invalid_name", "channel names are 1 to 80 lower-case letters, digits, - and _")
		return
	}
	for _, ch := range t.channels {
		if ch.Name == req.Name {
			ctlError(w, http.StatusConflict, "name_taken", "a channel named "+req.Name+" exists: "+ch.ID)
			return
		}
	}
	creator := wd.installer()
	kind := kindPublic
	if req.Private {
		kind = kindPrivate
	}
	now := s.now()
	ch := &channel{ID: wd.newID("C"), Name: req.Name, Kind: kind, Team: t, Created: now.Unix(), Creator: creator, Updated: now.UnixMilli()}
	ch.addMember(creator)
	for _, id := range req.Members {
		u := wd.users[id]
		if u == nil || !u.inTeam(t) {
			ctlError(w, http.StatusBadRequest, "user_not_found", "no user "+id+" in "+t.ID)
			return
		}
		ch.addMember(u)
	}
	wd.channels[ch.ID] = ch
	i, _ := slices.BinarySearchFunc(t.channels, ch.ID, func(c *channel, id string) int { return strings.Compare(c.ID, id) })
	t.channels = slices.Insert(t.channels, i, ch)
	if ch.Kind == kindPublic {
		s.emit(wd, channelCreatedEvent(ch))
	}
	for _, u := range ch.members {
		if u != creator {
			s.emit(wd, memberEvent(ch, u, true, creator))
		}
	}
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "channel": renderChannel(ch, creator, t, true)})
}

// controlTeam resolves a control's team_id: the primary workspace when empty.
// It answers the request itself when the workspace does not exist.
func controlTeam(w http.ResponseWriter, wd *world, id string) (*team, bool) {
	if id == "" {
		return wd.teams[0], true
	}
	t := wd.team(id)
	if t == nil {
		ctlError(w, http.StatusBadRequest, "invalid_team", "no workspace "+id)
	}
	return t, t != nil
}

func validChannelName(n string) bool {
	if n == "" || len(n) > 80 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (s *Server) ctlSetArchived(archived bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		wd := s.world.Load()
		wd.mu.Lock()
		defer wd.mu.Unlock()
		ch := wd.channels[r.PathValue("id")]
		if ch == nil || ch.Kind == kindIM || ch.Kind == kindMPIM {
			ctlError(w, http.StatusNotFound, "channel_not_found", "no channel "+r.PathValue("id"))
			return
		}
		if ch.General && archived {
			ctlError(w, http.StatusBadRequest, "cant_archive_general", "#general cannot be archived")
			return
		}
		if ch.Archived != archived {
			ch.Archived = archived
			ch.Updated = s.now().UnixMilli()
			what := "archive"
			if !archived {
				what = "unarchive"
			}
			s.emit(wd, channelStateEvent(ch, what, wd.installer()))
		}
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": renderChannel(ch, nil, ch.Team, true)})
	}
}

// MessageRequest posts as a user through the controls.
type MessageRequest struct {
	Channel  string `json:"channel"`
	User     string `json:"user"` // default: the primary owner
	Text     string `json:"text"`
	ThreadTS string `json:"thread_ts"`
}

func (s *Server) ctlPostMessage(w http.ResponseWriter, r *http.Request) {
	var req MessageRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	ch := wd.channels[req.Channel]
	if ch == nil {
		ctlError(w, http.StatusNotFound, "channel_not_found", "no channel "+req.Channel)
		return
	}
	u := wd.installer()
	if req.User != "" {
		if u = wd.users[req.User]; u == nil {
			ctlError(w, http.StatusBadRequest, "user_not_found", "no user "+req.User)
			return
		}
	}
	if strings.TrimSpace(req.Text) == "" {
		ctlError(w, http.StatusBadRequest, "no_text", "text is required")
		return
	}
	if !ch.hasMember(u) {
		ctlError(w, http.StatusBadRequest, "not_in_channel", u.ID+" is not a member of "+ch.ID)
		return
	}
	now := s.now()
	m := &message{User: u, Text: req.Text}
	if req.ThreadTS != "" {
		ts, ok := parseTS(req.ThreadTS)
		parent := ch.findMessage(ts)
		if !ok || parent == nil {
			ctlError(w, http.StatusBadRequest, "thread_not_found", "no message "+req.ThreadTS+" in "+ch.ID)
			return
		}
		m.TS, m.Parent = max(now.UnixMicro(), lastTS(parent)+1), parent
		parent.Replies = append(parent.Replies, m)
	} else {
		m.TS = wd.nextTS(ch, now)
		ch.messages = append(ch.messages, m)
	}
	ch.Updated = now.UnixMilli()
	if m.TS/1e6 > u.LastActive {
		u.LastActive = m.TS / 1e6
	}
	s.emit(wd, messageEvent(ch, m))
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "channel": ch.ID, "ts": formatTS(m.TS), "message": renderMessage(ch, m)})
}
