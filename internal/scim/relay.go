package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Options configure a Relay.
type Options struct {
	SlackURL  string // Slack's base URL: https://api.slack.com, or a sandbox
	Instances *instance.Service
	Auth      *tenant.Authenticator
	// Stack carries the calls to Slack (the hub's one stack, with its
	// pacer); nil makes one of Pacer and Instances (a test's).
	Stack *slackcall.Stack
	Pacer *ratelimit.Pacer
	Log   *slog.Logger
	// Metrics count the calls; nil: a private registry.
	Metrics *Metrics
	// MaxBody bounds a request body (default 8 MiB: Slack takes up to
	// 15,000 group members in one call).
	MaxBody int64
}

// Policy is how hard a relayed call tries: an identity provider waits for
// the answer, as a proxy caller does, and reads nothing whole.
var Policy = slackcall.ProxyPolicy

// SlackSCIMURL is where Slack's SCIM API is for a Slack whose Web API is at
// slackURL: api.slack.com for slack.com (FACTS 5), and the same host for a
// sandbox, which serves both.
func SlackSCIMURL(slackURL string) string {
	u, err := url.Parse(slackURL)
	if err == nil && (u.Host == "slack.com" || u.Host == "www.slack.com") {
		u.Host = "api.slack.com"
		return u.String()
	}
	return slackURL
}

// Relay serves SCIM 2.0 through connhub (the package doc).
type Relay struct {
	o        Options
	upstream *url.URL
	rt       http.RoundTripper
}

// New makes a Relay.
func New(o Options) (*Relay, error) {
	u, err := url.Parse(strings.TrimSuffix(o.SlackURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("scim: the Slack URL must be an absolute http(s) URL")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Stack == nil {
		o.Stack = slackcall.NewStack(slackcall.StackOptions{Pacer: o.Pacer, Tokens: o.Instances, Log: o.Log})
	}
	return &Relay{o: o, upstream: u, rt: o.Stack.Transport(Policy)}, nil
}

// Routes reports whether path is one the relay serves.
func Routes(path string) bool {
	if strings.HasPrefix(path, "/scim/") || path == "/scim" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/v1/instances/")
	if !ok {
		return false
	}
	_, after, found := strings.Cut(rest, "/scim")
	return found && (after == "" || after[0] == '/')
}

// segment is what a part of a SCIM path may hold: resource names, Slack's
// IDs and schema URNs.
var segment = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,200}$`)

// parsePath finds the instance ID (for the API-token route) and the SCIM
// path from /scim/v2/ on ("/scim/v2/Users/U123").
func parsePath(path string) (instanceID, scimPath string, ok bool) {
	rest := path
	if r, found := strings.CutPrefix(path, "/v1/instances/"); found {
		id, after, _ := strings.Cut(r, "/")
		if id == "" || !segment.MatchString(id) {
			return "", "", false
		}
		instanceID, rest = id, "/"+after
	}
	tail, found := strings.CutPrefix(rest, "/scim/v2/")
	if !found || tail == "" {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSuffix(tail, "/"), "/")
	if len(parts) > 2 {
		return "", "", false
	}
	for _, p := range parts {
		if !segment.MatchString(p) || p == "." || p == ".." {
			return "", "", false
		}
	}
	return instanceID, "/scim/v2/" + strings.Join(parts, "/"), true
}

// call is one relayed request on its way.
type call struct {
	r         *Relay
	req       *http.Request
	path      string // /scim/v2/…
	endpoint  string // the metric's label: "POST /Users", "GET /Users/{id}"
	write     bool
	body      []byte
	inst      store.Instance
	principal tenant.Principal
	start     time.Time
}

// ServeHTTP relays one SCIM request.
func (rl *Relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: rl, req: r, start: time.Now()}
	instanceID, path, ok := parsePath(r.URL.Path)
	c.path, c.endpoint = path, endpoint(r.Method, path)
	if !ok {
		c.fail(w, apierror.New(http.StatusNotFound, "scim_not_found", "the SCIM endpoints are /scim/v2/{Users,Groups,ServiceProviderConfig,ResourceTypes,Schemas}[/{id}] (with the instance token), or /v1/instances/{id}/scim/v2/… (with an API token)"))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		c.write = true
	default:
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
		c.fail(w, apierror.New(http.StatusMethodNotAllowed, "method_not_allowed", "SCIM takes GET, POST, PUT, PATCH and DELETE"))
		return
	}
	if r.ContentLength > rl.o.MaxBody {
		c.fail(w, c.tooLarge())
		return
	}
	if prob := c.authenticate(instanceID); prob != nil {
		c.fail(w, prob)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rl.o.MaxBody+1))
	switch {
	case err != nil:
		c.fail(w, apierror.New(http.StatusBadRequest, "invalid_body", "the request body could not be read"))
		return
	case int64(len(body)) > rl.o.MaxBody:
		c.fail(w, c.tooLarge())
		return
	}
	c.body = body
	if prob := c.record(); prob != nil {
		c.fail(w, prob)
		return
	}
	c.forward(w)
}

func (c *call) tooLarge() *apierror.Problem {
	return apierror.New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is over "+strconv.FormatInt(c.r.o.MaxBody>>20, 10)+" MiB")
}

// authenticate finds the instance and decides, by the policy, whether the
// caller may read or write through SCIM for it; then whether the instance
// can provision at all (instance.SCIMReadiness).
func (c *call) authenticate(instanceID string) *apierror.Problem {
	ctx := c.req.Context()
	pr, err := c.r.o.Auth.AuthenticateFrom(ctx, c.req.RemoteAddr, c.req.Header.Get("Authorization"))
	var ae *tenant.AuthError
	var te *tenant.ThrottledError
	switch {
	case errors.As(err, &te):
		return &apierror.Problem{Status: http.StatusTooManyRequests, Code: tenant.ThrottledCode, Message: te.Error(), RetryAfter: te.RetryAfterSeconds()}
	case errors.As(err, &ae):
		return apierror.New(http.StatusUnauthorized, ae.Code, ae.Message)
	case err != nil:
		c.r.o.Log.Error("scim: authenticate", "err", err)
		return apierror.New(http.StatusInternalServerError, "internal_error", "the credentials could not be checked; try again")
	}
	action := authz.ReadSCIM
	if c.write {
		action = authz.WriteSCIM
	}
	switch {
	case instanceID != "":
		in, err := c.r.o.Instances.Authorize(ctx, pr, action, instanceID)
		if err != nil {
			return problemOf(err)
		}
		c.inst = in
	case pr.Instance != nil:
		if err := authz.Allow(pr, action, pr.Instance.ID); err != nil {
			return problemOf(err)
		}
		c.inst = *pr.Instance
	default:
		if err := authz.Allow(pr, action, ""); err != nil {
			return problemOf(err)
		}
		return apierror.New(http.StatusBadRequest, "no_instance", "these credentials name no instance: use the instance token as the bearer, or call /v1/instances/{id}/scim/v2/…")
	}
	c.principal = pr
	return instance.SCIMReadiness(c.inst)
}

// record puts the call in the audit log before it goes to Slack: every SCIM
// call uses the instance's admin token. A write says which user or group
// and which attributes it changes, never their values; a read what it
// asked for. If the log cannot be written the call is not made.
func (c *call) record() *apierror.Problem {
	details := map[string]any{"endpoint": c.endpoint}
	if resource, id, ok := strings.Cut(strings.TrimPrefix(c.path, "/scim/v2/"), "/"); ok {
		details["slack_id"] = id
		details["resource"] = resource
	}
	action := "scim.read"
	if c.write {
		action = "scim.write"
		for k, v := range WriteDetails(c.req.Method, c.body) {
			details[k] = v
		}
	} else if f := c.req.URL.Query().Get("filter"); f != "" {
		details["filter"] = clip(f)
	}
	err := c.r.o.Instances.Record(c.req.Context(), c.principal, audit.Event{Action: action, TargetType: "instance", TargetID: c.inst.ID, Details: details})
	if err != nil {
		c.r.o.Log.Error("scim: audit", "endpoint", c.endpoint, "err", err)
		return apierror.New(http.StatusServiceUnavailable, "audit_unavailable", "the call was not made: connhub could not write it to the audit log; try again")
	}
	return nil
}

// passUp are the caller's headers Slack gets; passDown Slack's the caller
// gets.
var (
	passUp   = []string{"Content-Type", "Accept", "Accept-Encoding", "User-Agent", "If-Match", "If-None-Match"}
	passDown = []string{"Content-Type", "Content-Encoding", "Content-Length", "Retry-After", "Location", "Etag", "X-Slack-Req-Id"}
)

func (c *call) forward(w http.ResponseWriter) {
	ctx := c.req.Context()
	m := c.r.o.Metrics
	sc := &slackcall.Call{Instance: c.inst, Kind: "user", SCIM: true, Method: "scim",
		Paced:   func(d time.Duration) { m.paced(c.endpoint, d) },
		Limited: func() { m.limited(c.endpoint) },
		Retried: func(reason string) { m.retry(c.endpoint, reason) }}
	u := *c.r.upstream
	u.Path = strings.TrimSuffix(u.Path, "/") + c.path
	u.RawQuery = c.req.URL.RawQuery
	var body io.Reader
	if len(c.body) > 0 {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(slackcall.WithCall(ctx, sc), c.req.Method, u.String(), body)
	var resp *http.Response
	if err == nil {
		for _, h := range passUp {
			if v := c.req.Header.Get(h); v != "" {
				req.Header.Set(h, v)
			}
		}
		resp, err = c.r.rt.RoundTrip(req)
	}
	w.Header().Set("X-Connhub-Instance", c.inst.ID)
	w.Header().Set("X-Connhub-Pacing-Wait-Ms", strconv.FormatInt(sc.Waited.Milliseconds(), 10))
	var se *slackcall.SendError
	var prob *apierror.Problem
	switch {
	case err == nil:
		defer resp.Body.Close()
		for _, name := range passDown {
			if v := resp.Header.Values(name); len(v) > 0 {
				w.Header()[http.CanonicalHeaderKey(name)] = v
			}
		}
		if sc.Retries > 0 {
			w.Header().Set("X-Connhub-Retries", strconv.Itoa(sc.Retries))
		}
		w.WriteHeader(resp.StatusCode)
		if c.req.Method != http.MethodHead {
			io.Copy(w, resp.Body)
		}
		m.done(c.endpoint, resp.StatusCode, time.Since(c.start))
		return
	case errors.Is(err, ratelimit.ErrClosed):
		prob = &apierror.Problem{Status: http.StatusServiceUnavailable, Code: "shutting_down", RetryAfter: "5",
			Message: "connhub is shutting down; the call was not sent to Slack: try again shortly"}
	case ctx.Err() != nil:
		return // the caller went away
	case errors.As(err, &se):
		c.r.o.Log.Warn("scim: Slack unreachable", "endpoint", c.endpoint, "err", err)
		prob = apierror.New(http.StatusBadGateway, "slack_unreachable", "Slack could not be reached; try again")
	case errors.As(err, &prob): // a token that could not be had says why
	default:
		c.r.o.Log.Error("scim: internal error", "endpoint", c.endpoint, "err", err)
		prob = apierror.New(http.StatusInternalServerError, "internal_error", "connhub failed to call Slack")
	}
	c.fail(w, prob)
}

// fail answers a failure of connhub's own in SCIM's error format (RFC 7644
// 3.12), with connhub's stable code and message beside it.
func (c *call) fail(w http.ResponseWriter, p *apierror.Problem) {
	if p.RetryAfter != "" {
		w.Header().Set("Retry-After", p.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(p.Status),
		"detail":  p.Message,
		"code":    p.Code,
		"message": p.Message,
	})
	c.r.o.Metrics.rejected(c.endpoint, p.Code)
	c.r.o.Metrics.done(c.endpoint, p.Status, time.Since(c.start))
}

// problemOf is the Problem a service answered with, or an internal error.
func problemOf(err error) *apierror.Problem {
	var prob *apierror.Problem
	if errors.As(err, &prob) {
		return prob
	}
	return apierror.New(http.StatusInternalServerError, "internal_error", "the instance could not be read")
}

// endpoint is the route a call takes, as a bounded label: its verb and its
// path with the ID replaced ("PATCH /Users/{id}"); anything unknown is
// "other".
func endpoint(verb, path string) string {
	resource, id, byID := strings.Cut(strings.TrimPrefix(path, "/scim/v2/"), "/")
	switch resource {
	case "Users", "Groups":
		if byID && id != "" {
			return verb + " /" + resource + "/{id}"
		}
		return verb + " /" + resource
	case "ServiceProviderConfig", "ResourceTypes", "Schemas":
		return verb + " /" + resource
	}
	return "other"
}
