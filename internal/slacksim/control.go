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
//	POST   /_sandbox/channels/{id}/rename, DELETE /_sandbox/channels/{id}
//	POST   /_sandbox/channels/{id}/members, DELETE …/members/{user}  join or leave a channel
//	PATCH, DELETE /_sandbox/messages/{channel}/{ts}  edit or delete a message
//	POST   /_sandbox/usergroups, PATCH /_sandbox/usergroups/{id}, PUT …/{id}/users
//	POST   /_sandbox/emoji, DELETE /_sandbox/emoji/{name}?team_id=
//	GET|POST /_sandbox/event_subscriptions  the app's Request URL and events (url_verification first)
//	POST   /_sandbox/events           emit an arbitrary event: {"team_id", "event": {...}}; answers its event_ids
//	GET    /_sandbox/events/deliveries  each delivery with its attempts, newest last (?event_id=&type=&state=)
//	POST   /_sandbox/app/uninstall    remove the app from a workspace (tokens_revoked, app_uninstalled)
//	POST   /_sandbox/tokens/revoke    revoke the app's tokens in a workspace (tokens_revoked)

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
	s.changeRoutes(mux)
	s.eventRoutes(mux)
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
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "controls": slices.Concat([]string{
		"GET /_sandbox/stats", "POST /_sandbox/reset", "GET /_sandbox/workspace",
		"GET|POST|DELETE /_sandbox/faults", "DELETE /_sandbox/faults/{id}",
		"GET|POST /_sandbox/clock", "POST /_sandbox/tokens", "POST /_sandbox/app/client-secret", "POST /_sandbox/org-install/teams",
		"DELETE /_sandbox/org-install/teams/{id}",
		"POST /_sandbox/users", "PATCH /_sandbox/users/{id}", "POST /_sandbox/users/{id}/deactivate", "POST /_sandbox/users/{id}/reactivate",
		"POST /_sandbox/channels", "POST /_sandbox/channels/{id}/archive", "POST /_sandbox/channels/{id}/unarchive",
		"POST /_sandbox/messages",
	}, changeControls, eventControls), "emulated_methods": s.Emulated()})
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
