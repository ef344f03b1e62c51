package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/connhub/connhub/internal/apidocs"
	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/internal/webhooks"
)

// Options configure the API.
type Options struct {
	Store     store.Store
	Instances *instance.Service
	Auth      *tenant.Authenticator
	Log       *slog.Logger
	Version   string
	// Ready reports whether the hub can serve (its store answers); nil
	// means it always can.
	Ready func(context.Context) error
	// Proxy serves the pass-through to Slack (internal/proxy); it
	// authenticates its callers itself. Nil: no proxy routes.
	Proxy http.Handler
	// SCIM serves SCIM 2.0 through connhub (internal/scim); it
	// authenticates its callers itself. Nil: no SCIM routes.
	SCIM http.Handler
	// Metrics serves /metrics (Prometheus); nil: none.
	Metrics http.Handler
	// Syncs starts and reports syncs (internal/sync); nil: no routes for
	// streams, syncs, schedules or records.
	Syncs *sync.Service
	// Console serves the web console (internal/console) at every path the
	// API does not own: not /v1/, /openapi*, /docs, the health checks or
	// /metrics. It authenticates its own callers (a session cookie); the
	// API's request IDs, security headers and logging still apply. Nil: no
	// console.
	Console http.Handler
	// Events receives Slack's Events API (internal/events) at
	// /v1/events/slack; nil: no such route.
	Events *events.Service
	// Webhooks manages webhooks out (internal/webhooks) at /v1/webhooks;
	// nil: no such routes.
	Webhooks *webhooks.Service
	// Provisioning plans and applies directory files (internal/provision);
	// nil: no provisioning routes.
	Provisioning *provision.Service
}

// API is the HTTP side of connhub.
type API struct {
	o       Options
	huma    huma.API
	handler http.Handler
}

// New builds the API and its routes.
func New(o Options) *API {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	a := &API{o: o}
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("connhub", o.Version)
	cfg.Info.Description = "connhub is a self-hosted connector hub for Slack: install Slack apps by OAuth, manage connector instances, and hand their credentials to integration tools."
	cfg.OpenAPIPath = "/openapi"
	cfg.DocsPath = "" // the docs page is served by the console, with an embedded UI
	cfg.SchemasPath = ""
	cfg.CreateHooks = nil // no $schema links in bodies: clients see plain objects
	// Three ways to authenticate, each its own scheme so that an API
	// reference offers each its own input. The API token and the instance
	// token are both Bearer tokens; the instance token comes last because
	// clients that apply every scheme given (Swagger UI's Try it out) let
	// the last one win, and the instance's own token is the narrower.
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiToken": {Type: "http", Scheme: "bearer", BearerFormat: "chub_…",
			Description: "An API token of a user (chub_…): `Authorization: Bearer chub_…`. It acts for its user in the user's organization." + throttleNote},
		"openConnectors": {Type: "apiKey", In: "header", Name: "Authorization",
			Description: "SAP Open Connectors' form: `User <user secret>, Organization <organization secret>[, Element <instance token>]`." + throttleNote},
		"instanceToken": {Type: "http", Scheme: "bearer", BearerFormat: "chi_…",
			Description: "An instance token (chi_…): `Authorization: Bearer chi_…`. It acts for its instance only: its ping, its Slack calls, its records." + throttleNote},
	}
	cfg.Security = []map[string][]string{{"apiToken": {}}, {"openConnectors": {}}, {"instanceToken": {}}}
	a.huma = humago.New(mux, cfg)
	a.routes()

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", a.ready)
	apidocs.New(a.huma.OpenAPI()).Register(mux) // GET /docs and its assets
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
	if o.Console != nil {
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if !a.consoleOwns(r.URL.Path) {
				apierror.Write(w, http.StatusNotFound, "not_found", "no such route")
				return
			}
			o.Console.ServeHTTP(w, r)
		})
	}
	a.documentProxy()
	a.documentSCIM()
	checkPolicy(a.huma.OpenAPI())
	a.handler = a.middleware(mux)
	return a
}

// Handler serves the API.
func (a *API) Handler() http.Handler { return a.handler }

// OpenAPI returns the generated OpenAPI document.
func (a *API) OpenAPI() *huma.OpenAPI { return a.huma.OpenAPI() }

func (a *API) ready(w http.ResponseWriter, r *http.Request) {
	if a.o.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.o.Ready(ctx); err != nil {
			a.o.Log.Warn("httpapi: not ready", "err", err)
			apierror.Write(w, http.StatusServiceUnavailable, "not_ready", "the database does not answer")
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// throttleNote ends each security scheme's description.
const throttleNote = " Repeated failures from one address, or with one credential, are answered 429 too_many_failed_attempts with Retry-After (seconds), before the credentials are checked."

// public are the paths served without credentials.
var public = map[string]bool{"/healthz": true, "/readyz": true, "/openapi.json": true, "/openapi.yaml": true, "/metrics": true, "/v1/oauth/slack/callback": true, "/v1/events/slack": true}

var requestIDShape = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// middleware gives every request an ID, security headers and a log line, and
// authenticates the ones that need it.
func (a *API) middleware(next http.Handler) http.Handler {
	authed := a.o.Auth.Middleware(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDShape.MatchString(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		r = r.WithContext(tenant.WithRequest(r.Context(), tenant.Request{ID: id, SourceIP: tenant.SourceIP(r)}))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.o.Log.Error("httpapi: panic", "request_id", id, "path", r.URL.Path, "panic", v)
				apierror.Write(rec, http.StatusInternalServerError, "internal_error", "connhub failed to answer; the request ID is "+id)
			}
			a.o.Log.Info("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds(), "request_id", id)
		}()
		if a.o.Proxy != nil && proxy.Routes(r.URL.Path) {
			a.o.Proxy.ServeHTTP(rec, r) // it authenticates and bounds bodies itself
			return
		}
		if a.o.SCIM != nil && scim.Routes(r.URL.Path) {
			a.o.SCIM.ServeHTTP(rec, r) // so does it
			return
		}
		r.Body = http.MaxBytesReader(rec, r.Body, bodyLimit(r))
		if public[r.URL.Path] || apidocs.IsPath(r.URL.Path) || a.consoleOwns(r.URL.Path) {
			next.ServeHTTP(rec, r)
			return
		}
		authed.ServeHTTP(rec, r)
	})
}

// consoleOwns reports whether path is the console's to answer, with its
// own authentication.
func (a *API) consoleOwns(path string) bool {
	return a.o.Console != nil && path != "/v1" && !strings.HasPrefix(path, "/v1/") && !strings.HasPrefix(path, "/openapi") && !apidocs.IsPath(path)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// apiError is the body of every error the API writes through huma: the same
// {"code","message"} as apierror.Write.
type apiError struct {
	status  int
	Code    string `json:"code" doc:"A stable, machine-readable error code"`
	Message string `json:"message" doc:"What went wrong, for a person"`
	// Position is set for an expression that does not parse.
	Position int `json:"position,omitempty" doc:"For invalid_where, invalid_order_by and invalid_fields: the 1-based character position in the parameter where the trouble is"`
	// Problems are a directory file's, for invalid_file.
	Problems provision.Problems `json:"problems,omitempty" doc:"For invalid_file: each problem of the file, with its row (CSV: the line; JSON: the element, from 1) and column"`
}

func (e *apiError) Error() string  { return e.Message }
func (e *apiError) GetStatus() int { return e.status }

// codeOf names the errors huma raises itself (validation and the like).
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnprocessableEntity:
		return "invalid_request"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	return "internal_error"
}

func init() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		for _, e := range errs {
			if e != nil {
				msg += "; " + detail(e)
			}
		}
		return &apiError{status: status, Code: codeOf(status), Message: msg}
	}
}

// detail says what was wrong with a part of a request, in words: where
// ("name", "tags[2]"), then what, without echoing the value (which may be
// long, or Go's rendering of a map).
func detail(e error) string {
	var d *huma.ErrorDetail
	if !errors.As(e, &d) {
		return truncate(e.Error(), 200)
	}
	where := strings.TrimPrefix(strings.TrimPrefix(d.Location, "body"), ".")
	msg := d.Message
	switch v := d.Value.(type) {
	case string:
		if len(v) <= 40 {
			msg += fmt.Sprintf(" (got %q)", v)
		}
	case bool, float64, int, int64:
		msg += fmt.Sprintf(" (got %v)", v)
	}
	if where == "" {
		return truncate(msg, 200)
	}
	return truncate(where+": "+msg, 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fail turns a service error into the API's answer: Problems as they say,
// the store's sentinels as 404 and 409, anything else as a logged 500.
func (a *API) fail(ctx context.Context, err error) error {
	var p *apierror.Problem
	var invalid *provision.InvalidFileError
	switch {
	case errors.As(err, &p):
		return &apiError{status: p.Status, Code: p.Code, Message: p.Message}
	case errors.As(err, &invalid):
		return &apiError{status: http.StatusUnprocessableEntity, Code: "invalid_file", Problems: invalid.Problems,
			Message: fmt.Sprintf("the file has %d problems; nothing was planned: fix them and plan again", len(invalid.Problems))}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{status: http.StatusNotFound, Code: "not_found", Message: "no such resource in your organization"}
	case errors.Is(err, store.ErrConflict):
		return &apiError{status: http.StatusConflict, Code: "conflict", Message: "the resource changed while you changed it; read it again and retry"}
	}
	id := tenant.RequestID(ctx)
	a.o.Log.Error("httpapi: internal error", "request_id", id, "err", err)
	return &apiError{status: http.StatusInternalServerError, Code: "internal_error", Message: "connhub failed to answer; the request ID is " + id}
}

// principal is who the request is from; the middleware guarantees one.
func principal(ctx context.Context) tenant.Principal {
	p, _ := tenant.FromContext(ctx)
	return p
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"ok":false,"code":"internal_error"}`)
	}
	return b
}

// maxBody bounds a request's body; a directory file to plan (a
// provisioning plan's POST) may be up to maxPlanBody.
const (
	maxBody     = 1 << 20
	maxPlanBody = 32 << 20
)

// bodyLimit is the largest body r may have. Only an authenticated caller's
// body is ever read: authentication needs the headers alone.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/instances/") && strings.HasSuffix(r.URL.Path, "/provisioning/plans") {
		return maxPlanBody
	}
	return maxBody
}
