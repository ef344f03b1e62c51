package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Options configure the proxy.
type Options struct {
	SlackURL  string // Slack's base URL: https://slack.com, or a sandbox
	Instances *instance.Service
	Auth      *tenant.Authenticator
	// Pacer paces calls under Slack's budgets; nil sends every call at once
	// (for a Slack without limits, such as a sandbox started with
	// --rate-limits=false).
	Pacer   *ratelimit.Pacer
	Log     *slog.Logger
	Metrics *Metrics
	// Stack carries the calls to Slack (under ProxyPolicy, as MaxRetryAfter
	// and Retries adjust it); nil makes one of Transport, Pacer and
	// Instances (a test's). A hub passes the one it shares.
	Stack *slackcall.Stack
	// Transport carries the calls of a Stack made here; nil means a pooled
	// transport.
	Transport http.RoundTripper
	// MaxBody bounds a request body (default 10 MiB).
	MaxBody int64
	// MaxBodiesInFlight bounds the request body bytes the proxy holds at
	// once, over all its calls (default DefaultMaxBodiesInFlight). A call
	// whose body would pass it is answered 503 "overloaded" with
	// Retry-After.
	MaxBodiesInFlight int64
	// MaxRetryAfter is the longest Retry-After the proxy waits out itself
	// (default ProxyPolicy's, 30 s); longer ones are answered to the caller.
	MaxRetryAfter time.Duration
	// Retries is how many times a read that met a 5xx or a network error is
	// tried again (default ProxyPolicy's, 2; negative: none).
	Retries int
}

// Proxy serves the pass-through routes.
type Proxy struct {
	o        Options
	upstream *url.URL
	rt       http.RoundTripper // the stack, under the proxy's policy
	inflight budget
}

// New makes a Proxy.
func New(o Options) (*Proxy, error) {
	u, err := url.Parse(strings.TrimSuffix(o.SlackURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("proxy: the Slack URL must be an absolute http(s) URL")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 10 << 20
	}
	if o.MaxBodiesInFlight <= 0 {
		o.MaxBodiesInFlight = DefaultMaxBodiesInFlight
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Stack == nil {
		o.Stack = slackcall.NewStack(slackcall.StackOptions{Base: o.Transport, Pacer: o.Pacer, Tokens: o.Instances, Log: o.Log})
	}
	policy := slackcall.Policy{MaxRetryAfter: o.MaxRetryAfter, Retries: o.Retries}.Or(slackcall.ProxyPolicy)
	policy.RateLimited = policy.Retries + 3 // as many 429s as before the stack: Retries+3 sends in all
	p := &Proxy{o: o, upstream: u, rt: o.Stack.Transport(policy)}
	p.inflight.limit = o.MaxBodiesInFlight
	return p, nil
}

// Routes are the path prefixes the proxy serves.
func Routes(path string) bool {
	if strings.HasPrefix(path, "/v1/slack/") {
		return true
	}
	rest, ok := strings.CutPrefix(path, "/v1/instances/")
	if !ok {
		return false
	}
	_, after, found := strings.Cut(rest, "/slack/")
	return found && after != ""
}

func fail(w http.ResponseWriter, p *apierror.Problem) {
	apierror.WriteProblem(w, p)
}

// ServeHTTP proxies one call.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	instanceID, method, ok := parsePath(r.URL.Path)
	if !ok {
		fail(w, apierror.New(http.StatusBadRequest, "invalid_method", "the path must be /v1/slack/{method} or /v1/instances/{id}/slack/{method}, where method is a Slack method name such as users.list"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		fail(w, apierror.New(http.StatusMethodNotAllowed, "method_not_allowed", "Slack's Web API takes GET and POST"))
		return
	}
	if r.ContentLength > p.o.MaxBody {
		p.reject(w, method, p.tooLarge())
		return
	}
	// Who calls is known before the body is read: from the headers or the
	// query, or, for a form that may carry the token, from the first
	// formPrefix bytes of it. Only then is the rest read, up to MaxBody, and
	// every byte held counts against the proxy's budget.
	call := &call{p: p, r: r, method: method, query: r.URL.Query(), start: start}
	defer call.release()
	if call.tokenInBody() {
		if err := call.readBody(formPrefix); err != nil {
			p.reject(w, method, call.bodyProblem(w, err))
			return
		}
		if call.formToken() == "" && !call.bodyEOF {
			p.reject(w, method, apierror.New(http.StatusUnauthorized, "missing_credentials",
				"no token in the first "+strconv.Itoa(formPrefix>>10)+" KiB of the form body: send it in the Authorization header (Bearer <instance token>) or the query"))
			return
		}
	}
	if prob := call.authenticate(instanceID); prob != nil {
		p.reject(w, method, prob)
		return
	}
	if err := call.readBody(p.o.MaxBody + 1); err != nil {
		p.reject(w, method, call.bodyProblem(w, err))
		return
	}
	if int64(len(call.body)) > p.o.MaxBody {
		p.reject(w, method, p.tooLarge())
		return
	}
	call.stripFormToken()
	if prob := call.record(); prob != nil {
		p.reject(w, method, prob)
		return
	}
	call.forward(w)
}

// reject answers a call refused before it reached Slack.
func (p *Proxy) reject(w http.ResponseWriter, method string, prob *apierror.Problem) {
	p.o.Metrics.rejected(method, prob.Code)
	fail(w, prob)
}

// parsePath finds the instance ID (for the API-token route) and the method.
func parsePath(path string) (instanceID, method string, ok bool) {
	if m, found := strings.CutPrefix(path, "/v1/slack/"); found {
		return "", m, slackspec.ValidMethodName(m)
	}
	rest, _ := strings.CutPrefix(path, "/v1/instances/")
	id, m, found := strings.Cut(rest, "/slack/")
	return id, m, found && id != "" && !strings.Contains(id, "/") && slackspec.ValidMethodName(m)
}

// call is one proxied request on its way.
type call struct {
	p         *Proxy
	r         *http.Request
	method    string
	body      []byte
	query     url.Values
	start     time.Time
	inst      store.Instance
	principal tenant.Principal
	kind      string
	lane      string
	waited    time.Duration
	retries   int
	formBody  bool

	// How the body is being read (body.go): formBody says the token came in
	// the form body, to be stripped before Slack.
	bodyToken string // that token
	bodyEOF   bool   // body holds the whole request body
	held      int64  // bytes of body charged to the proxy's budget
}

// authenticate finds the instance: from the Authorization header, or from a
// "token" field carrying an instance token (what Slack clients send).
func (c *call) authenticate(instanceID string) *apierror.Problem {
	header := c.r.Header.Get("Authorization")
	if header == "" {
		tok := c.query.Get("token")
		if tok == "" {
			tok = c.formToken()
		}
		if tok != "" {
			header = "Bearer " + tok
		}
	}
	pr, err := c.p.o.Auth.AuthenticateFrom(c.r.Context(), c.r.RemoteAddr, header)
	var ae *tenant.AuthError
	var te *tenant.ThrottledError
	switch {
	case errors.As(err, &te):
		return &apierror.Problem{Status: http.StatusTooManyRequests, Code: tenant.ThrottledCode, Message: te.Error(), RetryAfter: te.RetryAfterSeconds()}
	case errors.As(err, &ae):
		return apierror.New(http.StatusUnauthorized, ae.Code, ae.Message)
	case err != nil:
		c.p.o.Log.Error("proxy: authenticate", "err", err)
		return apierror.New(http.StatusInternalServerError, "internal_error", "the credentials could not be checked; try again")
	}
	switch {
	case instanceID != "":
		in, err := c.p.o.Instances.Authorize(c.r.Context(), pr, authz.Proxy, instanceID)
		if err != nil {
			return problemOf(err, "the instance could not be read")
		}
		c.inst = in
	case pr.Instance != nil:
		if err := authz.Allow(pr, authz.Proxy, pr.Instance.ID); err != nil {
			return problemOf(err, "")
		}
		c.inst = *pr.Instance
	default:
		if err := authz.Allow(pr, authz.Proxy, ""); err != nil {
			return problemOf(err, "")
		}
		return apierror.New(http.StatusBadRequest, "no_instance", "these credentials name no instance: use the instance token, add Element <instance token>, or call /v1/instances/{id}/slack/{method}")
	}
	if c.inst.Status != store.StatusActive && c.inst.Status != store.StatusNeedsReauth {
		return apierror.New(http.StatusConflict, "instance_not_active", "the instance is "+c.inst.Status+": "+c.inst.StatusReason)
	}
	c.principal, c.kind = pr, c.tokenKind()
	if c.kind == "user" {
		if err := authz.AllowUserToken(pr, c.inst); err != nil {
			return problemOf(err, "")
		}
	}
	return nil
}

// tokenKind is the Slack token the call goes with: the one X-Connhub-Token
// asks for; else the user token for a method Slack takes only user tokens
// for (Slack's method table says which), or when the instance has no bot
// token; else the bot token.
func (c *call) tokenKind() string {
	switch strings.ToLower(c.r.Header.Get("X-Connhub-Token")) {
	case "user":
		return "user"
	case "bot":
		return "bot"
	}
	if c.inst.BotToken.IsZero() {
		return "user"
	}
	if m, ok := slackspec.Lookup(c.method); ok && m.UserOnly() && !c.inst.UserToken.IsZero() {
		return "user"
	}
	return "bot"
}

// record puts the call in the audit log before it goes to Slack, when it
// is one the log keeps: a write (by Slack's method, never its arguments),
// or any call with the installing user's token. If the log cannot be
// written the call is not made.
func (c *call) record() *apierror.Problem {
	write := !slackcall.Read(c.method)
	if !write && c.kind != "user" {
		return nil
	}
	action := "proxy.write"
	if c.kind == "user" {
		action = "proxy.user_token"
	}
	err := c.p.o.Instances.Record(c.r.Context(), c.principal, audit.Event{Action: action, TargetType: "instance", TargetID: c.inst.ID,
		Details: map[string]any{"method": c.method, "token": c.kind, "write": write}})
	if err != nil {
		c.p.o.Log.Error("proxy: audit", "method", c.method, "err", err)
		return apierror.New(http.StatusServiceUnavailable, "audit_unavailable", "the call was not made: connhub could not write it to the audit log; try again")
	}
	return nil
}

// problemOf is the Problem a service answered with, or an internal error
// saying what (a store failure: logged where it happened).
func problemOf(err error, what string) *apierror.Problem {
	var prob *apierror.Problem
	if errors.As(err, &prob) {
		return prob
	}
	if what == "" {
		what = "the credentials could not be checked"
	}
	return apierror.New(http.StatusInternalServerError, "internal_error", what)
}

// formToken reads the token field of a form body, from the whole fields of
// the part read so far, and if there is one marks it to be dropped from the
// body that goes to Slack (stripFormToken, once the body is whole).
func (c *call) formToken() string {
	if c.formBody || !c.isForm() || len(c.body) == 0 {
		return c.bodyToken
	}
	form, err := url.ParseQuery(c.completePairs())
	if err != nil || form.Get("token") == "" {
		return ""
	}
	c.formBody, c.bodyToken = true, form.Get("token")
	return c.bodyToken
}

// arg reads an argument from the query or the body (form or JSON), for the
// few the proxy needs (team_id, channel).
func (c *call) arg(name string) string {
	if v := c.query.Get(name); v != "" {
		return v
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		form, _ := url.ParseQuery(string(c.body))
		return form.Get(name)
	case "application/json":
		var obj map[string]any
		if json.Unmarshal(c.body, &obj) == nil {
			if s, ok := obj[name].(string); ok {
				return s
			}
		}
	}
	return ""
}

// laneKey is the budget the call spends (see slackcall.Lane).
func (c *call) laneKey() string {
	team, channel := "", ""
	if c.inst.OrgWide {
		team = c.arg("team_id")
	}
	if m, ok := slackspec.Lookup(c.method); ok && m.PerChannel() {
		channel = c.arg("channel")
	}
	return slackcall.Lane(c.inst, c.method, team, channel)
}

// shuttingDownRetryAfter is the Retry-After, in seconds, of a call the
// pacer let go because connhub is shutting down: about a restart's time.
const shuttingDownRetryAfter = "5"

// passUp are the caller's headers Slack gets; everything else (hop-by-hop
// headers, cookies, the caller's credentials, X-Connhub-*) stays here.
var passUp = []string{"Content-Type", "Accept", "Accept-Encoding", "User-Agent"}

// passDown are Slack's headers the caller gets.
var passDown = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Retry-After", "X-Oauth-Scopes", "X-Accepted-Oauth-Scopes",
	"X-Slack-Req-Id", "X-Slack-Backend", "Cache-Control", "Expires", "Last-Modified", "Etag"}

func (c *call) forward(w http.ResponseWriter) {
	ctx := c.r.Context()
	p, m := c.p, c.p.o.Metrics
	sc := &slackcall.Call{Instance: c.inst, Kind: c.kind, Method: c.method, Lane: c.laneKey(),
		Paced:   func(d time.Duration) { m.paced(c.method, d) },
		Limited: func() { m.slack429(c.method) },
		Retried: func(reason string) { m.retry(c.method, reason) }}
	req, err := c.request(slackcall.WithCall(ctx, sc))
	var resp *http.Response
	if err == nil {
		resp, err = p.rt.RoundTrip(req)
	}
	c.inst, c.waited, c.retries = sc.Instance, sc.Waited, sc.Retries
	var se *slackcall.SendError
	switch {
	case err == nil:
		c.answer(w, resp)
	case errors.Is(err, ratelimit.ErrClosed):
		// connhub is shutting down: say so rather than drop the call.
		w.Header().Set("Retry-After", shuttingDownRetryAfter)
		c.answerProblem(w, apierror.New(http.StatusServiceUnavailable, "shutting_down", "connhub is shutting down; the call was not sent to Slack: try again shortly"))
	case ctx.Err() != nil:
		// the caller went away
	case errors.As(err, &se):
		p.o.Log.Warn("proxy: Slack unreachable", "method", c.method, "err", err)
		c.answerProblem(w, apierror.New(http.StatusBadGateway, "slack_unreachable", "Slack could not be reached; try again"))
	default:
		c.answerProblem(w, err) // a token that could not be had says why
	}
}

// request is the call as it goes to Slack: the caller's query (less a token)
// and body, and the headers in passUp; the token is the stack's to set.
func (c *call) request(ctx context.Context) (*http.Request, error) {
	u := *c.p.upstream
	u.Path = strings.TrimSuffix(u.Path, "/") + "/api/" + c.method
	q := c.query
	if q.Has("token") {
		q = cloneValues(q)
		q.Del("token")
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	if len(c.body) > 0 {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.r.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for _, h := range passUp {
		if v := c.r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	return req, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// answer streams Slack's answer to the caller.
func (c *call) answer(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	h := w.Header()
	for _, name := range passDown {
		if v := resp.Header.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("X-Connhub-Instance", c.inst.ID)
	h.Set("X-Connhub-Pacing-Wait-Ms", strconv.FormatInt(c.waited.Milliseconds(), 10))
	if c.retries > 0 {
		h.Set("X-Connhub-Retries", strconv.Itoa(c.retries))
	}
	w.WriteHeader(resp.StatusCode)
	if c.r.Method != http.MethodHead {
		buf := copyBufs.Get().(*[]byte)
		io.CopyBuffer(w, resp.Body, *buf)
		copyBufs.Put(buf)
	}
	c.p.o.Metrics.done(c.method, resp.StatusCode, time.Since(c.start))
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// answerProblem answers a failure of connhub's own (refresh, Slack unreachable).
func (c *call) answerProblem(w http.ResponseWriter, err error) {
	var prob *apierror.Problem
	if !errors.As(err, &prob) {
		c.p.o.Log.Error("proxy: internal error", "method", c.method, "err", err)
		prob = apierror.New(http.StatusInternalServerError, "internal_error", "connhub failed to call Slack")
	}
	w.Header().Set("X-Connhub-Pacing-Wait-Ms", strconv.FormatInt(c.waited.Milliseconds(), 10))
	fail(w, prob)
	c.p.o.Metrics.done(c.method, prob.Status, time.Since(c.start))
}
