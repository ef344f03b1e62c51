package console

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the console.
type Options struct {
	Store     store.Store
	Instances *instance.Service
	Auth      *tenant.Authenticator
	// Syncs reports syncs and their records; nil: no sync pages.
	Syncs *sync.Service
	// Events lists and streams the Slack events connhub received; nil: no
	// events page.
	Events *events.Service
	// Provisioning plans directory files and applies them over SCIM; nil:
	// no provisioning pages.
	Provisioning *provision.Service
	// BaseURL is the hub's public URL (http://host:port, no trailing
	// slash), shown in the credentials view for integration tools.
	BaseURL string
	Log     *slog.Logger
	// SessionTTL is how long a sign-in lasts; zero means 12 hours.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Console is the web console: an http.Handler.
type Console struct {
	o        Options
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
}

// DefaultSessionTTL is how long a sign-in lasts unless Options say otherwise.
const DefaultSessionTTL = 12 * time.Hour

// New builds the console. It fails only if its embedded templates do not
// parse, which a test catches.
func New(o Options) (*Console, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	c := &Console{o: o, mux: http.NewServeMux(), sessions: newSessions(o.Store, o.SessionTTL, o.Now)}
	if err := c.parse(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	c.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /signin", c.signinPage)
	c.mux.HandleFunc("POST /signin", c.signin)
	c.mux.Handle("POST /signout", c.authed(c.signout))

	c.mux.Handle("GET /{$}", c.authed(c.connectorsPage))
	c.mux.Handle("GET /connectors/{key}/authenticate", c.authed(c.authenticatePage))
	c.mux.Handle("POST /connectors/{key}/instances", c.authed(c.createInstance))

	c.mux.Handle("GET /instances", c.authed(c.instancesPage))
	c.mux.Handle("GET /instances/{id}", c.authed(c.instancePage))
	c.mux.Handle("POST /instances/{id}/ping", c.authed(c.ping))
	c.mux.Handle("POST /instances/{id}/token", c.authed(c.viewToken))
	c.mux.Handle("GET /instances/{id}/edit", c.authed(c.editPage))
	c.mux.Handle("POST /instances/{id}/edit", c.authed(c.update))
	c.mux.Handle("POST /instances/{id}/reauthenticate", c.authed(c.reauthenticate))
	c.mux.Handle("GET /instances/{id}/delete", c.authed(c.deletePage))
	c.mux.Handle("POST /instances/{id}/delete", c.authed(c.delete))
	c.mux.Handle("GET /instances/{id}/credentials", c.authed(c.credentialsPage))
	c.mux.Handle("POST /instances/{id}/credentials", c.authed(c.revealCredentials))
	if c.o.Syncs != nil {
		c.mux.Handle("GET /instances/{id}/syncs", c.authed(c.syncsPage))
		c.mux.Handle("POST /instances/{id}/syncs", c.authed(c.startSync))
		c.mux.Handle("GET /instances/{id}/records", c.authed(c.recordsPage))
	}
	if c.o.Events != nil {
		c.mux.Handle("GET /events", c.authed(c.eventsPage))
		c.mux.Handle("GET /events/stream", c.authed(c.eventStream))
	}
	if c.o.Provisioning != nil {
		c.mux.Handle("GET /provisioning", c.authed(c.provisioningPage))
		c.mux.Handle("GET /instances/{id}/provisioning", c.authed(c.plansPage))
		c.mux.Handle("POST /instances/{id}/provisioning/plans", c.authed(c.makePlan))
		c.mux.Handle("GET /instances/{id}/provisioning/plans/{plan}", c.authed(c.planPage))
		c.mux.Handle("POST /instances/{id}/provisioning/plans/{plan}/apply", c.authed(c.applyPlan))
		c.mux.Handle("GET /instances/{id}/provisioning/runs/{run}", c.authed(c.runPage))
		c.mux.Handle("POST /instances/{id}/provisioning/runs/{run}/resume", c.authed(c.resumeRun))
	}
	c.mux.Handle("GET /settings", c.authed(c.settingsPage))
	c.mux.Handle("POST /settings/tokens", c.authed(c.createToken))
	c.mux.Handle("POST /settings/tokens/{id}/revoke", c.authed(c.revokeToken))
	c.mux.Handle("POST /settings/users", c.authed(c.createUser))
	c.mux.Handle("POST /settings/users/{id}", c.authed(c.changeUser))
	c.mux.Handle("GET /audit", c.authed(c.auditPage))
	c.mux.Handle("POST /audit/verify", c.authed(c.verifyAudit))
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", &page{Title: "Not found", Data: errorView{Message: "There is no page at " + r.URL.Path + "."}})
	})
}

// ServeHTTP serves the console. Its pages may be framed by no one, load
// scripts and styles only from the hub, and are never cached when they may
// show a secret.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	c.mux.ServeHTTP(w, r)
}

// request is a signed-in request: who, and their session.
type request struct {
	p    tenant.Principal
	sess *session
	ctx  context.Context // the HTTP request's
}

// authed wraps a page that needs a signed-in user. It loads the session
// from the store, and the API credential the session was opened with, on
// every request, so that any replica serves it and a revoked or expired
// token ends it; it checks the CSRF token of every POST.
func (c *Console) authed(next func(http.ResponseWriter, *http.Request, *request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if ck, err := r.Cookie(sessionCookie); err == nil {
			id = ck.Value
		}
		sess, err := c.sessions.get(r.Context(), id)
		if err != nil {
			c.internal(w, r, nil, err)
			return
		}
		if sess == nil {
			why := ""
			if id != "" {
				why = "session_ended"
			}
			c.toSignin(w, r, why)
			return
		}
		p, err := c.principal(r.Context(), sess)
		var ae *tenant.AuthError
		switch {
		case errors.As(err, &ae):
			if err := c.sessions.end(r.Context(), id); err != nil {
				c.o.Log.Error("console: end a session", "request_id", requestID(r), "err", err)
			}
			http.SetCookie(w, cookie(r, sessionCookie, "", -1))
			c.toSignin(w, r, ae.Code)
			return
		case err != nil:
			c.internal(w, r, nil, err)
			return
		}
		if limit := formOverLimit(r); limit > 0 {
			c.render(w, r, http.StatusRequestEntityTooLarge, "error", &page{Title: "Too large",
				Data: errorView{Message: fmt.Sprintf("What the form sent is larger than the hub takes in one request (%d KiB). Go back and send less: a smaller file, or the file in parts.", limit/1024)}})
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), sess.csrf) {
			c.render(w, r, http.StatusForbidden, "error", &page{Title: "Form expired",
				Data: errorView{Message: "The form was not sent from this console session (its CSRF token is missing or stale). Go back, reload the page and try again."}})
			return
		}
		next(w, r, &request{p: p, sess: sess, ctx: r.Context()})
	})
}

// formMemory is how much of a multipart form is kept in memory; the rest
// of a file goes to a temporary file (the API's wrapper bounds every body).
const formMemory = 8 << 20

// formOverLimit reads a POST's form, a multipart one too, and returns the
// limit its body went over, or 0. Any other problem with the form shows as
// a missing CSRF token.
func formOverLimit(r *http.Request) int64 {
	if r.Method != http.MethodPost {
		return 0
	}
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(formMemory)
	} else {
		err = r.ParseForm()
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLarge.Limit
	}
	return 0
}

// principal loads the session's user as the API's middleware would have
// authenticated them.
func (c *Console) principal(ctx context.Context, sess *session) (tenant.Principal, error) {
	var cred *store.APICredential
	if sess.CredentialID != "" {
		cr, err := c.o.Store.GetAPICredential(ctx, sess.OrgID, sess.CredentialID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return tenant.Principal{}, &tenant.AuthError{Code: "invalid_credentials", Message: "the API token was deleted"}
		case err != nil:
			return tenant.Principal{}, err
		case !cr.RevokedAt.IsZero():
			return tenant.Principal{}, &tenant.AuthError{Code: "revoked_credentials", Message: "the API token was revoked"}
		case !cr.ExpiresAt.IsZero() && !c.o.Now().Before(cr.ExpiresAt):
			return tenant.Principal{}, &tenant.AuthError{Code: "expired_credentials", Message: "the API token has expired"}
		}
		cred = &cr
	}
	gone := &tenant.AuthError{Code: "invalid_credentials", Message: "the user or organization was deleted, or its secrets changed"}
	org, err := c.o.Store.GetOrganization(ctx, sess.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return tenant.Principal{}, gone
	} else if err != nil {
		return tenant.Principal{}, err
	}
	u, err := c.o.Store.GetUser(ctx, sess.OrgID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return tenant.Principal{}, gone
	} else if err != nil {
		return tenant.Principal{}, err
	}
	if cred != nil {
		return tenant.Principal{Org: org, User: u, Credential: cred, Via: "api_token"}, nil
	}
	if subtle.ConstantTimeCompare(u.SecretHash, sess.UserSecretHash) != 1 || subtle.ConstantTimeCompare(org.SecretHash, sess.OrgSecretHash) != 1 {
		return tenant.Principal{}, gone
	}
	return tenant.Principal{Org: org, User: u, Via: "open_connectors"}, nil
}

// signinNotes say why the sign-in page is shown, by the code in its why
// parameter: the page shows only these texts, never one from the URL.
var signinNotes = map[string]string{
	"signed_out":          "You are signed out.",
	"session_ended":       "Your session ended (it expired, or you signed out); sign in again.",
	"revoked_credentials": "The API token you signed in with was revoked; sign in with another.",
	"expired_credentials": "The API token you signed in with has expired; sign in with another.",
	"invalid_credentials": "What you signed in with no longer holds (the token was deleted, or the secrets changed); sign in again.",
}

// toSignin sends the browser to the sign-in page, to come back afterwards;
// why is a key of signinNotes, or "".
func (c *Console) toSignin(w http.ResponseWriter, r *http.Request, why string) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		q.Set("next", r.URL.RequestURI())
	}
	if why != "" {
		q.Set("why", why)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath returns next when it is a path on this host, else "/".
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// page is what every template gets.
type page struct {
	Title string
	Nav   string // the tab to mark current: "connectors" or "instances"
	CSRF  string
	User  string // who is signed in; empty on the sign-in page
	Org   string
	Flash *flash
	Error string // a problem with what was just asked, shown above the content
	// Refresh reloads the page after so many seconds (a sync in progress);
	// zero: never.
	Refresh int
	// Syncs says the sync pages exist, Events the events page,
	// Provisioning the provisioning pages, which the user may read.
	Syncs, Events, Provisioning bool
	// Script is a script of static/ the page loads besides console.js.
	Script string
	// CanAudit says the audit log's page is the user's to see.
	CanAudit bool
	Data     any
}

// errorView is the data of the error page.
type errorView struct {
	Message   string
	RequestID string
}

// render writes a page. Pages are rendered to a buffer first, so that a
// template failure becomes a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t := c.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.o.Log.Error("console: render", "page", name, "request_id", tenant.RequestID(r.Context()), "err", err)
		http.Error(w, "connhub failed to render the page; the request ID is "+tenant.RequestID(r.Context()), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// view fills a page for a signed-in user, taking the waiting flash message.
// A flash that cannot be read is logged, and the page shown without it.
func (c *Console) view(req *request, nav, title string, data any) *page {
	name := req.p.User.Name
	if name == "" {
		name = req.p.User.Email
	}
	f, err := c.sessions.takeFlash(req.ctx, req.sess)
	if err != nil {
		c.o.Log.Error("console: take the flash message", "request_id", tenant.RequestID(req.ctx), "err", err)
	}
	return &page{Title: title, Nav: nav, CSRF: req.sess.csrf, User: name, Org: req.p.Org.Name, Flash: f, Syncs: c.o.Syncs != nil,
		Events: c.o.Events != nil, Provisioning: c.o.Provisioning != nil && authz.Allow(req.p, authz.ReadProvisioning, "") == nil,
		CanAudit: authz.Allow(req.p, authz.ReadAudit, "") == nil, Data: data}
}

// problem returns what a person may be told of a service error: a Problem's
// message, a not-found, a conflict. ok is false for anything else, which
// must be logged and answered as an internal error.
func problem(err error) (status int, msg string, ok bool) {
	var p *apierror.Problem
	switch {
	case errors.As(err, &p):
		return p.Status, p.Message, true
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "There is no such instance in your organization.", true
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "It changed while you changed it; reload and try again.", true
	}
	return 0, "", false
}

// fail answers a GET whose service call failed with the error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, req *request, err error) {
	status, msg, ok := problem(err)
	if !ok {
		c.internal(w, r, req, err)
		return
	}
	p := &page{Title: "Something is wrong", Data: errorView{Message: msg}}
	if req != nil {
		p = c.view(req, "", "Something is wrong", errorView{Message: msg})
	}
	c.render(w, r, status, "error", p)
}

// internal logs an unexpected error and answers with the request ID only.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, req *request, err error) {
	id := tenant.RequestID(r.Context())
	c.o.Log.Error("console: internal error", "request_id", id, "path", r.URL.Path, "err", err)
	v := errorView{Message: "connhub failed to answer.", RequestID: id}
	p := &page{Title: "Something went wrong", Data: v}
	if req != nil {
		p = c.view(req, "", "Something went wrong", v)
	}
	c.render(w, r, http.StatusInternalServerError, "error", p)
}

// flashAndGo leaves a message and redirects (POST, then GET). What was
// done is done: a message that cannot be left is logged, and the redirect
// made without it.
func (c *Console) flashAndGo(w http.ResponseWriter, r *http.Request, req *request, ok bool, msg, target string) {
	if err := c.sessions.setFlash(r.Context(), req.sess, ok, msg); err != nil {
		c.o.Log.Error("console: leave a flash message", "request_id", requestID(r), "err", err)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// actionFailed turns a failed POST into a flash on the page it came from;
// unexpected errors are logged and answered as internal errors.
func (c *Console) actionFailed(w http.ResponseWriter, r *http.Request, req *request, err error, target string) {
	_, msg, ok := problem(err)
	if !ok {
		c.internal(w, r, req, err)
		return
	}
	c.flashAndGo(w, r, req, false, msg, target)
}

func (c *Console) parse() error {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"join": strings.Join,
		"edition": func(connectorKey, key string) string {
			if cn, ok := connector.Get(connectorKey); ok {
				if e, ok := cn.Edition(key); ok {
					return e.Name
				}
			}
			return key
		},
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return err
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return nil
}

func requestID(r *http.Request) string { return tenant.RequestID(r.Context()) }
