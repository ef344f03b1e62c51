package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/account"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
)

// settingsView is the Settings page: one's API tokens and, for admins, the
// organization's people. Shown is a secret just made, shown this once.
type settingsView struct {
	Tokens  []store.APICredential
	Users   []store.User
	Admin   bool // may manage people
	Scopes  []string
	Shown   *shownSecret
	UserID  string
	Expired func(store.APICredential) bool
}

// shownSecret is a secret made by the POST that renders the page.
type shownSecret struct {
	What  string // "API token", "first API token of ada@example.com"
	Value string
	Extra string // a User secret, for a new person
}

func (c *Console) accounts() *account.Service {
	return &account.Service{Store: c.o.Store, Now: c.o.Now}
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, req *request) {
	c.showSettings(w, r, req, http.StatusOK, nil, "")
}

func (c *Console) showSettings(w http.ResponseWriter, r *http.Request, req *request, status int, shown *shownSecret, problem string) {
	acc := c.accounts()
	tokens, _, err := acc.ListTokens(r.Context(), req.p, store.Page{Limit: store.MaxPage})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	now := c.o.Now()
	v := settingsView{Tokens: tokens, Scopes: authz.Scopes, Shown: shown, UserID: req.p.User.ID,
		Expired: func(t store.APICredential) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }}
	if authz.Allow(req.p, authz.WriteUsers, "") == nil {
		v.Admin = true
		if v.Users, _, err = acc.ListUsers(r.Context(), req.p, store.Page{Limit: store.MaxPage}); err != nil {
			c.fail(w, r, req, err)
			return
		}
	}
	p := c.view(req, "settings", "Settings", v)
	p.Error = problem
	c.render(w, r, status, "settings", p)
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request, req *request) {
	var life time.Duration
	if s := strings.TrimSpace(r.PostFormValue("expires_in")); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			c.showSettings(w, r, req, http.StatusBadRequest, nil, "Expires in is a duration such as 24h or 720h, or empty for a token that lives until revoked.")
			return
		}
		life = d
	}
	t, value, err := c.accounts().CreateToken(r.Context(), req.p, account.TokenInput{Name: r.PostFormValue("name"), Scopes: r.PostForm["scopes"], ExpiresIn: life})
	if err != nil {
		c.settingsFailed(w, r, req, err)
		return
	}
	c.showSettings(w, r, req, http.StatusOK, &shownSecret{What: "API token " + t.Name, Value: value.Reveal()}, "")
}

func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request, req *request) {
	if err := c.accounts().RevokeToken(r.Context(), req.p, r.PathValue("id")); err != nil {
		c.actionFailed(w, r, req, err, "/settings")
		return
	}
	c.flashAndGo(w, r, req, true, "The token is revoked: it stopped working at once.", "/settings")
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, req *request) {
	u, sec, err := c.accounts().CreateUser(r.Context(), req.p, account.UserInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: r.PostFormValue("role")})
	if err != nil {
		c.settingsFailed(w, r, req, err)
		return
	}
	c.showSettings(w, r, req, http.StatusOK, &shownSecret{What: "first API token of " + u.Email, Value: sec.APIToken.Reveal(), Extra: sec.UserSecret.Reveal()}, "")
}

func (c *Console) changeUser(w http.ResponseWriter, r *http.Request, req *request) {
	id, acc := r.PathValue("id"), c.accounts()
	var err error
	msg := "Saved."
	switch r.PostFormValue("do") {
	case "remove":
		err, msg = acc.DeleteUser(r.Context(), req.p, id), "Removed: their tokens stopped working at once."
	default:
		role := r.PostFormValue("role")
		_, err = acc.UpdateUser(r.Context(), req.p, id, account.UserPatch{Role: &role})
		msg = "Their role is now " + role + "."
	}
	if err != nil {
		c.actionFailed(w, r, req, err, "/settings")
		return
	}
	c.flashAndGo(w, r, req, true, msg, "/settings")
}

// settingsFailed shows a refused form on the Settings page itself.
func (c *Console) settingsFailed(w http.ResponseWriter, r *http.Request, req *request, err error) {
	status, msg, ok := problem(err)
	if !ok {
		c.internal(w, r, req, err)
		return
	}
	c.showSettings(w, r, req, status, nil, msg)
}

// auditView is the Audit page: a page of events and the filters.
type auditView struct {
	Events                []store.AuditEvent
	Actor, Action, Target string
	Next                  string
	Verified              *store.AuditVerification
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, req *request) {
	c.showAudit(w, r, req, nil)
}

func (c *Console) showAudit(w http.ResponseWriter, r *http.Request, req *request, verified *store.AuditVerification) {
	q := r.URL.Query()
	v := auditView{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Verified: verified}
	events, next, err := audit.Log{Store: c.o.Store}.List(r.Context(), req.p, store.AuditFilter{ActorID: v.Actor, Action: v.Action, TargetID: v.Target},
		store.Page{After: q.Get("after"), Limit: 50})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	v.Events = events
	if next != "" {
		nq := url.Values{"actor": {v.Actor}, "action": {v.Action}, "target": {v.Target}, "after": {next}}
		v.Next = "/audit?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "audit", c.view(req, "audit", "Audit log", v))
}

func (c *Console) verifyAudit(w http.ResponseWriter, r *http.Request, req *request) {
	v, err := audit.Log{Store: c.o.Store}.Verify(r.Context(), req.p)
	if err != nil {
		c.actionFailed(w, r, req, err, "/audit")
		return
	}
	c.showAudit(w, r, req, &v)
}
