package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/tenant"
)

// signinView is the sign-in form. CSRF guards it with a double-submitted
// cookie: there is no session yet to bind a token to.
type signinView struct {
	Next    string
	Why     string
	Secrets bool // the secrets form was used: show it open
}

// signinMaxAge bounds how long a sign-in form stays usable, in seconds.
const signinMaxAge = 3600

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.showSignin(w, r, http.StatusOK, "", signinNotes[r.URL.Query().Get("why")])
}

func (c *Console) showSignin(w http.ResponseWriter, r *http.Request, status int, problem, why string) {
	token := randomToken()
	http.SetCookie(w, cookie(r, signinCookie, token, signinMaxAge))
	next := localPath(r.FormValue("next"))
	c.render(w, r, status, "signin", &page{Title: "Sign in", CSRF: token, Error: problem, Data: signinView{Next: next, Why: why, Secrets: r.PostFormValue("method") == "secrets"}})
}

// signin checks a pasted API token, or a user's and organization's Open
// Connectors secrets, and opens a session for the user. What was pasted is
// never stored, logged, or echoed back: the session keeps the ID of the API
// credential it matched, or the hashes of the secrets.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), ck.Value) {
		c.showSignin(w, r, http.StatusForbidden, "The sign-in form expired or was not sent from this browser. Paste the token again.", "")
		return
	}
	var p tenant.Principal
	if r.PostFormValue("method") == "secrets" {
		user, org := strings.TrimSpace(r.PostFormValue("user_secret")), strings.TrimSpace(r.PostFormValue("organization_secret"))
		if user == "" || org == "" {
			c.showSignin(w, r, http.StatusUnprocessableEntity, "Paste both secrets: the User secret ("+tenant.UserSecretPrefix+"_…) and the Organization secret ("+tenant.OrgSecretPrefix+"_…).", "")
			return
		}
		p, err = c.o.Auth.AuthenticateFrom(r.Context(), r.RemoteAddr, "User "+user+", Organization "+org)
	} else {
		token := strings.TrimSpace(r.PostFormValue("token"))
		if token == "" {
			c.showSignin(w, r, http.StatusUnprocessableEntity, "Paste your API token: it starts with "+tenant.APITokenPrefix+"_.", "")
			return
		}
		if !strings.HasPrefix(token, tenant.APITokenPrefix+"_") {
			c.showSignin(w, r, http.StatusUnauthorized, "That is not an API token: API tokens start with "+tenant.APITokenPrefix+"_ (an instance token, chi_…, cannot sign in).", "")
			return
		}
		p, err = c.o.Auth.AuthenticateFrom(r.Context(), r.RemoteAddr, "Bearer "+token)
	}
	var ae *tenant.AuthError
	var te *tenant.ThrottledError
	switch {
	case errors.As(err, &te):
		c.o.Log.Info("console: sign-in throttled", "request_id", requestID(r))
		w.Header().Set("Retry-After", te.RetryAfterSeconds())
		c.showSignin(w, r, http.StatusTooManyRequests, "Too many failed sign-ins from this address or with these credentials. Try again in "+te.RetryAfterSeconds()+" seconds.", "")
		return
	case errors.As(err, &ae):
		msg := "Those credentials are not valid for any organization. Check that you pasted all of them."
		switch ae.Code {
		case "revoked_credentials":
			msg = "That API token was revoked. Ask an admin for a new one."
		case "expired_credentials":
			msg = "That API token has expired. Ask an admin for a new one."
		case "malformed_credentials":
			msg = "Those are not connhub secrets: the User secret starts with " + tenant.UserSecretPrefix + "_, the Organization secret with " + tenant.OrgSecretPrefix + "_."
		}
		c.o.Log.Info("console: sign-in refused", "code", ae.Code, "request_id", requestID(r))
		c.showSignin(w, r, http.StatusUnauthorized, msg, "")
		return
	case err != nil:
		c.o.Log.Error("console: sign-in", "request_id", requestID(r), "err", err)
		c.showSignin(w, r, http.StatusInternalServerError, "connhub could not check the credentials just now; try again. The request ID is "+requestID(r)+".", "")
		return
	case p.User.ID == "" || p.Instance != nil:
		c.showSignin(w, r, http.StatusUnauthorized, "Sign in as a user: with an API token, or the User and Organization secrets without an Element.", "")
		return
	}
	// The sign-in is on record before the session opens.
	if err := audit.Write(r.Context(), c.o.Store, p, audit.Event{Action: "session.signin", TargetType: "user", TargetID: p.User.ID,
		Details: map[string]any{"via": p.Via}}); err != nil {
		c.o.Log.Error("console: sign-in", "request_id", requestID(r), "err", err)
		c.showSignin(w, r, http.StatusServiceUnavailable, "connhub could not record the sign-in just now, so it did not sign you in; try again. The request ID is "+requestID(r)+".", "")
		return
	}
	// A fresh session ID at every sign-in: an ID planted before it is
	// worthless after.
	if old, err := r.Cookie(sessionCookie); err == nil {
		if err := c.sessions.end(r.Context(), old.Value); err != nil {
			c.o.Log.Error("console: end the session signed in again", "request_id", requestID(r), "err", err)
		}
	}
	id, _, err := c.sessions.create(r.Context(), p)
	if err != nil {
		c.o.Log.Error("console: open a session", "request_id", requestID(r), "err", err)
		c.showSignin(w, r, http.StatusServiceUnavailable, "connhub could not open a session just now; try again. The request ID is "+requestID(r)+".", "")
		return
	}
	http.SetCookie(w, cookie(r, sessionCookie, id, int(c.o.SessionTTL.Seconds())))
	http.SetCookie(w, cookie(r, signinCookie, "", -1))
	c.o.Log.Info("console: signed in", "org", p.Org.ID, "user", p.User.ID, "via", p.Via, "request_id", requestID(r))
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, req *request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.sessions.end(r.Context(), ck.Value); err != nil {
			c.internal(w, r, req, err)
			return
		}
	}
	http.SetCookie(w, cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/signin?why=signed_out", http.StatusSeeOther)
}
