package slacksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// The controls under /_sandbox/ are the sandbox's own API, not Slack's: they let
// a test or a person see what the sandbox saw, make it misbehave, move its
// clock, change the workspace, and get tokens without the browser.
//
//	GET    /_sandbox/                 this list
//	GET    /_sandbox/stats            per-method calls, errors and 429s; OAuth counts
//	POST   /_sandbox/reset            back to the generated state (body: {"what":[...]}, default all)
//	GET    /_sandbox/workspace        what was generated: counts by role and kind
//	GET    /_sandbox/faults           faults in force
//	POST   /_sandbox/faults           add a fault (see Fault)
//	DELETE /_sandbox/faults           clear every fault
//	DELETE /_sandbox/faults/{id}      remove one
//	GET    /_sandbox/clock            the sandbox time
//	POST   /_sandbox/clock            {"advance":"13h"}: move the clock forward (tokens expire)
//	POST   /_sandbox/tokens           issue a token without the browser flow
//	POST   /_sandbox/app/client-secret  regenerate the app's client secret (the old one stops working)
//	POST   /_sandbox/org-install/teams  add a workspace to the app's org-wide installs, as an org admin does
//	DELETE /_sandbox/org-install/teams/{id}  remove a workspace from them, as an org admin does
//	POST   /_sandbox/users            add a user
//	PATCH  /_sandbox/users/{id}       change a user's profile or role
//	POST   /_sandbox/users/{id}/deactivate, /reactivate
//	POST   /_sandbox/channels         create a channel
//	POST   /_sandbox/channels/{id}/archive, /unarchive
//	POST   /_sandbox/messages         post a message or a thread reply as a user

func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sandbox/{$}", s.ctlIndex)
	mux.HandleFunc("GET /_sandbox/stats", s.ctlStats)
	mux.HandleFunc("POST /_sandbox/reset", s.ctlReset)
	mux.HandleFunc("GET /_sandbox/workspace", s.ctlWorkspace)
	mux.HandleFunc("GET /_sandbox/faults", s.ctlFaults)
	mux.HandleFunc("POST /_sandbox/faults", s.ctlAddFault)
	mux.HandleFunc("DELETE /_sandbox/faults", s.ctlClearFaults)
	mux.HandleFunc("DELETE /_sandbox/faults/{id}", s.ctlRemoveFault)
	mux.HandleFunc("GET /_sandbox/clock", s.ctlClock)
	mux.HandleFunc("POST /_sandbox/clock", s.ctlAdvanceClock)
	mux.HandleFunc("POST /_sandbox/tokens", s.ctlIssueToken)
	mux.HandleFunc("POST /_sandbox/org-install/teams", s.ctlGrantTeam)
	mux.HandleFunc("DELETE /_sandbox/org-install/teams/{id}", s.ctlRemoveTeam)
	mux.HandleFunc("POST /_sandbox/app/client-secret", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, map[string]string{"client_secret": s.RegenerateClientSecret()})
	})
	mux.HandleFunc("POST /_sandbox/users", s.noting(s.ctlAddUser))
	mux.HandleFunc("PATCH /_sandbox/users/{id}", s.noting(s.ctlUpdateUser))
	mux.HandleFunc("POST /_sandbox/users/{id}/deactivate", s.noting(s.ctlSetDeleted(true)))
	mux.HandleFunc("POST /_sandbox/users/{id}/reactivate", s.noting(s.ctlSetDeleted(false)))
	mux.HandleFunc("POST /_sandbox/channels", s.noting(s.ctlAddChannel))
	mux.HandleFunc("POST /_sandbox/channels/{id}/archive", s.noting(s.ctlSetArchived(true)))
	mux.HandleFunc("POST /_sandbox/channels/{id}/unarchive", s.noting(s.ctlSetArchived(false)))
	mux.HandleFunc("POST /_sandbox/messages", s.noting(s.ctlPostMessage))
	mux.HandleFunc("/_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		ctlError(w, http.StatusNotFound, "not_found", "no control at "+r.Method+" "+r.URL.Path+"; GET /_sandbox/ lists them")
	})
}

// noting runs a control that may change the workspace, then notes the change
// for the state file (a refused request makes one needless write, no harm).
func (s *Server) noting(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		s.changed()
	}
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func ctlError(w http.ResponseWriter, status int, code, msg string) {
	ctlJSON(w, status, map[string]any{"ok": false, "error": code, "message": msg})
}

// decodeBody reads a JSON control body into v, rejecting unknown fields so that
// a typo is an error rather than a silent default.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := readAll(r.Body, 1<<20)
	if err != nil {
		ctlError(w, http.StatusRequestEntityTooLarge, "body_too_large", "control bodies are at most 1 MiB")
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 && optional {
		return true
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_json", "the body is not the JSON this control takes: "+err.Error())
		return false
	}
	return true
}

func (s *Server) ctlIndex(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "controls": []string{
		"GET /_sandbox/stats", "POST /_sandbox/reset", "GET /_sandbox/workspace",
		"GET|POST|DELETE /_sandbox/faults", "DELETE /_sandbox/faults/{id}",
		"GET|POST /_sandbox/clock", "POST /_sandbox/tokens", "POST /_sandbox/app/client-secret", "POST /_sandbox/org-install/teams",
		"DELETE /_sandbox/org-install/teams/{id}",
		"POST /_sandbox/users", "PATCH /_sandbox/users/{id}", "POST /_sandbox/users/{id}/deactivate", "POST /_sandbox/users/{id}/reactivate",
		"POST /_sandbox/channels", "POST /_sandbox/channels/{id}/archive", "POST /_sandbox/channels/{id}/unarchive",
		"POST /_sandbox/messages",
	}, "emulated_methods": s.Emulated()})
}

func (s *Server) ctlStats(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, s.stats.snapshot())
}

var resetParts = []string{"stats", "rate_limits", "faults", "clock", "tokens", "workspace"}

func (s *Server) ctlReset(w http.ResponseWriter, r *http.Request) {
	var body struct {
		What []string `json:"what"`
	}
	if !decodeBody(w, r, &body, true) {
		return
	}
	what := body.What
	if len(what) == 0 {
		what = resetParts
	}
	for _, p := range what {
		if !slices.Contains(resetParts, p) {
			ctlError(w, http.StatusBadRequest, "invalid_reset", fmt.Sprintf("cannot reset %q; choose from %s", p, strings.Join(resetParts, ", ")))
			return
		}
	}
	s.Reset(what...)
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "reset": what})
}

// Reset returns parts of the sandbox to their state at start: "stats",
// "rate_limits", "faults", "clock", "tokens" (every grant, token and code; the
// registered app stays) and "workspace" (regenerated from the seed, which also
// drops tokens, since they name its users). No parts means all.
func (s *Server) Reset(parts ...string) {
	if len(parts) == 0 {
		parts = resetParts
	}
	for _, p := range parts {
		switch p {
		case "stats":
			s.stats.reset()
		case "rate_limits":
			s.limiter.reset()
		case "faults":
			s.faults.clear()
		case "clock":
			s.clockOffset.Store(0)
		case "tokens", "workspace":
			if p == "workspace" {
				s.world.Store(generate(s.genSpec()))
			}
			s.auth.mu.Lock()
			fresh := newAuthState()
			s.auth.grants, s.auth.access, s.auth.refresh = nil, fresh.access, fresh.refresh
			s.auth.codes, s.auth.consents = fresh.codes, fresh.consents
			s.auth.mu.Unlock()
		}
	}
	s.saveNow()
}

// WorkspaceSummary counts what the sandbox generated, so tests can check what
// they retrieve against the truth.
type WorkspaceSummary struct {
	Edition    string         `json:"edition"`
	Enterprise string         `json:"enterprise_id,omitempty"`
	Teams      []TeamSummary  `json:"teams"`
	Users      map[string]int `json:"users"`
	Channels   map[string]int `json:"channels"`
	Messages   int            `json:"messages"`
	Replies    int            `json:"replies"`
	Files      int            `json:"files"`
	Usergroups int            `json:"usergroups"`
}

type TeamSummary struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Domain   string `json:"domain"`
	Users    int    `json:"users"`
	Channels int    `json:"channels"`
}

// ChannelCount is the number of channels, public and private, archived or
// not, across every workspace: what --channels asks for (direct messages and
// group DMs are not counted).
func (sum WorkspaceSummary) ChannelCount() int {
	return sum.Channels[kindPublic.typeName()] + sum.Channels[kindPrivate.typeName()]
}

// Summary counts the workspace as it is now.
func (s *Server) Summary() WorkspaceSummary {
	w := s.world.Load()
	w.mu.RLock()
	defer w.mu.RUnlock()
	sum := WorkspaceSummary{Edition: string(w.edition), Users: map[string]int{}, Channels: map[string]int{}, Files: len(w.files), Usergroups: len(w.groups)}
	if w.enterprise != nil {
		sum.Enterprise = w.enterprise.ID
	}
	for _, t := range w.teams {
		sum.Teams = append(sum.Teams, TeamSummary{ID: t.ID, Name: t.Name, Domain: t.Domain, Users: len(t.users), Channels: len(t.channels)})
	}
	roleNames := map[role]string{roleMember: "members", roleAdmin: "admins", roleOwner: "owners", rolePrimaryOwner: "primary_owners",
		roleMultiGuest: "multi_channel_guests", roleSingleGuest: "single_channel_guests", roleBot: "bots", roleSlackbot: "slackbot"}
	for _, u := range w.users {
		sum.Users["total"]++
		sum.Users[roleNames[u.Role]]++
		if u.Deleted {
			sum.Users["deactivated"]++
		}
		if u.Invited {
			sum.Users["invited"]++
		}
	}
	for _, ch := range w.channels {
		sum.Channels[ch.Kind.typeName()]++
		if ch.Archived {
			sum.Channels["archived"]++
		}
		sum.Messages += len(ch.messages)
		for _, m := range ch.messages {
			sum.Replies += len(m.Replies)
		}
	}
	return sum
}

func (s *Server) ctlWorkspace(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, s.Summary())
}

func (s *Server) ctlFaults(w http.ResponseWriter, r *http.Request) {
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "faults": s.faults.list()})
}

func (s *Server) ctlAddFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !decodeBody(w, r, &f, false) {
		return
	}
	if err := f.validate(); err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_fault", err.Error())
		return
	}
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "fault": s.faults.add(f)})
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	s.faults.clear()
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) ctlRemoveFault(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || !s.faults.remove(id) {
		ctlError(w, http.StatusNotFound, "fault_not_found", "no fault with id "+r.PathValue("id"))
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "now": now.UTC().Format(time.RFC3339Nano), "unix": now.Unix(),
		"offset": time.Duration(s.clockOffset.Load()).String()})
}

func (s *Server) ctlAdvanceClock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Advance string `json:"advance"`
	}
	if !decodeBody(w, r, &body, false) {
		return
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil || d <= 0 {
		ctlError(w, http.StatusBadRequest, "invalid_duration", `advance must be a positive Go duration such as "13h" or "90s"`)
		return
	}
	s.AdvanceClock(d)
	s.ctlClock(w, r)
}

// AdvanceClock moves the sandbox clock forward: tokens expire, codes lapse and
// rate windows pass as if the time had gone by.
func (s *Server) AdvanceClock(d time.Duration) {
	s.clockOffset.Add(int64(d))
	s.changed()
}

// TokenRequest asks the sandbox for a token without the browser flow.
type TokenRequest struct {
	Kind     string   `json:"kind"`      // "bot" (default) or "user"
	TeamID   string   `json:"team_id"`   // default: the primary workspace
	UserID   string   `json:"user_id"`   // user tokens: the consenting user (default: the primary owner)
	Scopes   []string `json:"scopes"`    // required
	Org      bool     `json:"org"`       // Enterprise Grid: an org-wide install, added to every workspace
	Rotation *bool    `json:"rotation"`  // default: the app's setting; false gives a long-lived token
	ClientID string   `json:"client_id"` // default: the pre-registered app
}

// IssuedToken is what POST /_sandbox/tokens answers.
type IssuedToken struct {
	OK           bool   `json:"ok"`
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	TeamID       string `json:"team_id,omitempty"`
	EnterpriseID string `json:"enterprise_id,omitempty"`
	UserID       string `json:"user_id"`
	BotID        string `json:"bot_id,omitempty"`
}

// IssueToken grants a token as an install would, for tests that do not need the
// consent page. With a state file, the token is saved before it is returned.
func (s *Server) IssueToken(req TokenRequest) (IssuedToken, error) {
	tok, err := s.issueToken(req)
	if err == nil {
		s.saveNow()
	}
	return tok, err
}

func (s *Server) issueToken(req TokenRequest) (IssuedToken, error) {
	wd := s.world.Load()
	wd.mu.Lock()
	defer wd.mu.Unlock()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	a := s.app
	if req.ClientID != "" {
		if a = s.auth.apps[req.ClientID]; a == nil {
			return IssuedToken{}, fmt.Errorf("no app with client_id %q", req.ClientID)
		}
	}
	kind := kindBot
	switch req.Kind {
	case "", "bot":
	case "user":
		kind = kindUser
	default:
		return IssuedToken{}, fmt.Errorf(`kind must be "bot" or "user", got %q`, req.Kind)
	}
	if len(req.Scopes) == 0 {
		return IssuedToken{}, errors.New("scopes must name at least one scope")
	}
	for _, sc := range req.Scopes {
		if kind == kindBot && !slackspec.IsBotScope(sc) || kind == kindUser && !slackspec.IsUserScope(sc) {
			return IssuedToken{}, fmt.Errorf("%q is not a valid %s scope", sc, kind)
		}
	}
	code := &authCode{app: a, installer: wd.installer()}
	if req.Org {
		if wd.enterprise == nil {
			return IssuedToken{}, errors.New("org-wide tokens exist only on enterprise_grid")
		}
		code.orgInstall, code.orgTeams = true, slices.Clone(wd.teams)
	} else {
		code.team = wd.teams[0]
		if req.TeamID != "" {
			if code.team = wd.team(req.TeamID); code.team == nil {
				return IssuedToken{}, fmt.Errorf("no workspace %q", req.TeamID)
			}
		}
	}
	if req.UserID != "" {
		u := wd.users[req.UserID]
		if u == nil || u.Role == roleBot || u.Role == roleSlackbot {
			return IssuedToken{}, fmt.Errorf("no person with ID %q", req.UserID)
		}
		code.installer = u
	}
	if kind == kindUser && !code.installer.isAdmin() {
		for _, sc := range req.Scopes {
			if sc == "admin" || strings.HasPrefix(sc, "admin.") {
				return IssuedToken{}, fmt.Errorf("only admins and owners may grant %s; %s is neither", sc, code.installer.ID)
			}
		}
	}
	rotation := a.Rotation
	if req.Rotation != nil {
		rotation = *req.Rotation
	}
	var ent *enterprise
	if wd.enterprise != nil {
		ent = wd.enterprise
	}
	g := s.auth.findGrant(a, kind, code.team, ent, code.orgInstall, code.installer)
	if g == nil {
		g = &grant{app: a, kind: kind, team: code.team, enterprise: ent, orgInstall: code.orgInstall, user: code.installer}
		if kind == kindBot {
			g.user, g.botID = wd.addBotUser(a, code.team, code.orgTeams, s.now())
		}
		s.auth.grants = append(s.auth.grants, g)
	}
	g.addScopes(req.Scopes)
	g.teams = mergeTeams(g.teams, code.orgTeams)
	is := s.auth.issue(g, rotation, s.now(), s.cfg.TokenTTL)
	out := IssuedToken{OK: true, AccessToken: is.access.value, TokenType: kind.String(), Scope: strings.Join(g.scopes, ","), UserID: g.user.ID, BotID: g.botID}
	if is.refresh != nil {
		out.RefreshToken, out.ExpiresIn = is.refresh.value, int(s.cfg.TokenTTL.Seconds())
	}
	if code.team != nil {
		out.TeamID = code.team.ID
	}
	if ent != nil {
		out.EnterpriseID = ent.ID
	}
	return out, nil
}

func (s *Server) ctlIssueToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	tok, err := s.IssueToken(req)
	if err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_token_request", err.Error())
		return
	}
	ctlJSON(w, http.StatusCreated, tok)
}

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
	set(&u.Name, ch.Name)
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
		wd.setDeleted(u, deleted, s.now().Unix())
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
		ch.Archived = archived
		ch.Updated = s.now().UnixMilli()
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
	ctlJSON(w, http.StatusCreated, map[string]any{"ok": true, "channel": ch.ID, "ts": formatTS(m.TS), "message": renderMessage(ch, m)})
}

// ctlGrantTeam does what an Enterprise Grid org admin does on the app's page
// in the admin dashboard with "Add to more workspaces": the workspace joins
// every org-wide install of the app, and auth.teams.list lists it from then
// on. Body: {"team_id": "T…"}.
func (s *Server) ctlGrantTeam(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TeamID string `json:"team_id"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	wd := s.world.Load()
	wd.mu.RLock()
	t := wd.team(req.TeamID)
	wd.mu.RUnlock()
	if t == nil || wd.enterprise == nil {
		ctlError(w, http.StatusBadRequest, "invalid_team", "team_id must be a workspace of the Enterprise Grid org")
		return
	}
	s.auth.mu.Lock()
	n := 0
	for _, g := range s.auth.grants {
		if g.orgInstall && !g.revoked && !slices.Contains(g.teams, t) {
			g.teams, n = append(g.teams, t), n+1
		}
	}
	s.auth.mu.Unlock()
	s.saveNow()
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "grants": n})
}

// ctlRemoveTeam takes a workspace out of the app's org-wide installs, as an
// org admin does in the admin dashboard (Installed apps → Remove from
// workspace): auth.teams.list no longer lists it.
func (s *Server) ctlRemoveTeam(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.auth.mu.Lock()
	n := 0
	for _, g := range s.auth.grants {
		if !g.orgInstall || g.revoked {
			continue
		}
		if slices.ContainsFunc(g.teams, func(t *team) bool { return t.ID == id }) {
			g.teams = slices.DeleteFunc(slices.Clone(g.teams), func(t *team) bool { return t.ID == id })
			n++
		}
	}
	s.auth.mu.Unlock()
	if n == 0 {
		ctlError(w, http.StatusNotFound, "not_granted", "no org-wide install of the app is granted the workspace "+id)
		return
	}
	s.saveNow()
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "grants": n})
}
