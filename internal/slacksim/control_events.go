package slacksim

import (
	"errors"
	"net/http"
	"slices"
)

// The controls of the Events API: the app's event subscription, arbitrary
// events for tests, the delivery log, and the two ways an app loses its
// tokens (uninstall, revocation), which Slack reports as events.

var (
	errInvalidEvent = errors.New("event must be a JSON object whose type is an event type (lower case letters, digits and _)")
	errNoTeam       = errors.New("no such workspace")
)

func (s *Server) eventRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sandbox/event_subscriptions", s.ctlEventSubscription)
	mux.HandleFunc("POST /_sandbox/event_subscriptions", s.ctlSetEventSubscription)
	mux.HandleFunc("POST /_sandbox/events", s.ctlEmitEvent)
	mux.HandleFunc("GET /_sandbox/events/deliveries", s.ctlDeliveries)
	mux.HandleFunc("POST /_sandbox/app/uninstall", s.noting(s.ctlUninstall))
	mux.HandleFunc("POST /_sandbox/tokens/revoke", s.noting(s.ctlRevokeTokens))
}

func (s *Server) ctlEventSubscription(w http.ResponseWriter, r *http.Request) {
	st, ok := s.EventSubscription()
	if !ok {
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "subscription": nil})
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "subscription": st})
}

func (s *Server) ctlSetEventSubscription(w http.ResponseWriter, r *http.Request) {
	var es EventSubscription
	if !decodeBody(w, r, &es, false) {
		return
	}
	if err := es.validate(); err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_subscription", err.Error())
		return
	}
	st, err := s.SetEventSubscription(r.Context(), es)
	if err != nil {
		ctlJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "url_verification_failed",
			"message": "the Request URL did not answer url_verification with the challenge: " + err.Error(), "subscription": st})
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "subscription": st})
}

func (s *Server) ctlEmitEvent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TeamID string         `json:"team_id"`
		Event  map[string]any `json:"event"`
	}
	if !decodeBody(w, r, &req, false) {
		return
	}
	ids, err := s.EmitEvent(req.TeamID, req.Event)
	if err != nil {
		ctlError(w, http.StatusBadRequest, "invalid_event", err.Error())
		return
	}
	if ids == nil {
		ids = []string{}
	}
	ctlJSON(w, http.StatusAccepted, map[string]any{"ok": true, "event_ids": ids})
}

func (s *Server) ctlDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := DeliveryFilter{EventID: q.Get("event_id"), Type: q.Get("type"), State: q.Get("state")}
	ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "deliveries": s.eventDeliveries(f)})
}

// Uninstall removes the app from workspace teamID (empty: the primary one),
// as a workspace admin does on the app's page: its bot and user grants there
// are revoked, and Slack sends tokens_revoked and app_uninstalled. With org,
// it removes the org-wide install instead (Enterprise Grid). It answers the
// number of grants revoked.
func (s *Server) Uninstall(teamID string, org bool) (int, error) {
	return s.revokeWhere(teamID, func(g *grant, t *team) bool {
		if org {
			return g.orgInstall
		}
		return !g.orgInstall && g.team == t
	}, true)
}

// RevokeTokens revokes the app's grants that reach workspace teamID (empty:
// the primary one), of kind "bot", "user" or "" (both), and of userID when
// given (a user grant's consenting user, or a bot's user), as revoking from
// the admin pages does; Slack sends tokens_revoked. It answers the number of
// grants revoked.
func (s *Server) RevokeTokens(teamID, kind, userID string) (int, error) {
	if kind != "" && kind != "bot" && kind != "user" {
		return 0, errors.New(`kind must be "bot", "user" or empty`)
	}
	return s.revokeWhere(teamID, func(g *grant, t *team) bool {
		return g.inTeam(t) && (kind == "" || g.kind.String() == kind) && (userID == "" || g.user.ID == userID)
	}, false)
}

func (s *Server) revokeWhere(teamID string, match func(*grant, *team) bool, uninstall bool) (int, error) {
	w := s.world.Load()
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.teams[0]
	if teamID != "" {
		if t = w.team(teamID); t == nil {
			return 0, errNoTeam
		}
	}
	now := s.now()
	s.auth.mu.Lock()
	var gone []*grant
	for _, g := range s.auth.grants {
		if !g.revoked && g.app == s.app && match(g, t) {
			s.auth.revokeGrant(g)
			gone = append(gone, g)
		}
	}
	s.auth.mu.Unlock()
	if len(gone) == 0 {
		return 0, nil
	}
	if uninstall {
		for _, rt := range gone[0].teamsReached() {
			rt.intLogs = slices.Insert(rt.intLogs, 0, integrationLog{User: w.installer(), Date: now.Unix(), ChangeType: "removed", AppID: s.app.ID, AppName: s.app.Name, Reason: "user"})
		}
	}
	s.emitRevoked(w, t, gone, uninstall)
	s.saveNow()
	return len(gone), nil
}

// emitRevoked sends tokens_revoked, then app_uninstalled when the app was
// removed, to the revoked installation (a bot grant when there is one). The
// caller holds the world lock.
func (s *Server) emitRevoked(w *world, t *team, gone []*grant, uninstall bool) {
	to := gone[0]
	for _, g := range gone {
		if g.kind == kindBot {
			to = g
			break
		}
	}
	ev := tokensRevokedEvent(t, gone)
	ev.to = to
	s.emit(w, ev)
	if uninstall {
		s.emit(w, event{body: map[string]any{"type": "app_uninstalled"}, teams: []*team{t}, to: to})
	}
}

func (s *Server) ctlUninstall(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TeamID string `json:"team_id"`
		Org    bool   `json:"org"`
	}
	if !decodeBody(w, r, &req, true) {
		return
	}
	n, err := s.Uninstall(req.TeamID, req.Org)
	s.answerRevoked(w, n, err)
}

func (s *Server) ctlRevokeTokens(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TeamID string `json:"team_id"`
		Kind   string `json:"kind"`
		UserID string `json:"user_id"`
	}
	if !decodeBody(w, r, &req, true) {
		return
	}
	n, err := s.RevokeTokens(req.TeamID, req.Kind, req.UserID)
	s.answerRevoked(w, n, err)
}

func (s *Server) answerRevoked(w http.ResponseWriter, n int, err error) {
	switch {
	case err != nil:
		ctlError(w, http.StatusBadRequest, "invalid_request", err.Error())
	case n == 0:
		ctlError(w, http.StatusNotFound, "not_installed", "no live grant of the app matches")
	default:
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": n})
	}
}

// eventControls lists the controls of this file for GET /_sandbox/.
var eventControls = []string{
	"GET|POST /_sandbox/event_subscriptions", "POST /_sandbox/events", "GET /_sandbox/events/deliveries?event_id=&type=&state=",
	"POST /_sandbox/app/uninstall", "POST /_sandbox/tokens/revoke",
}
