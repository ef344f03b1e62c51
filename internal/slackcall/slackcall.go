package slackcall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
)

// Options configure a Caller.
type Options struct {
	SlackURL string // Slack's base URL: https://slack.com, or a sandbox
	// Stack carries the calls. Nil makes one of Tokens, Pacer and
	// Transport (a test's); a hub passes the one it shares.
	Stack     *Stack
	Tokens    Tokens
	Pacer     *ratelimit.Pacer
	Transport http.RoundTripper
	// Policy is how hard a call tries; zero fields are SyncPolicy's. The
	// Caller reads answers whole, whatever Policy.Whole says.
	Policy Policy
	Log    *slog.Logger
}

// Caller makes calls to Slack for instances, reading each answer whole: a
// thin reader over the Stack for the sync engine, whose answers are pages
// (at most a few hundred KiB).
type Caller struct {
	rt   http.RoundTripper
	base string
}

// New makes a Caller.
func New(o Options) (*Caller, error) {
	u, err := url.Parse(strings.TrimSuffix(o.SlackURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slackcall: the Slack URL must be an absolute http(s) URL")
	}
	if o.Stack == nil {
		if o.Tokens == nil {
			return nil, errors.New("slackcall: no token source")
		}
		o.Stack = NewStack(StackOptions{Base: o.Transport, Pacer: o.Pacer, Tokens: o.Tokens, Log: o.Log})
	}
	p := o.Policy.Or(SyncPolicy)
	p.Whole = true
	return &Caller{rt: o.Stack.Transport(p), base: u.String() + "/api/"}, nil
}

// Request is one call.
type Request struct {
	Instance store.Instance
	Kind     string // "bot" or "user"
	Method   string
	Args     url.Values // sent as a form body; team_id and channel also choose the budget
	// Waiting, if set, is told when the call starts to wait for Slack's
	// budget or out a Retry-After (true) and when that wait ends (false),
	// so that a caller can show a wait while it lasts. The two come in
	// pairs, from the goroutine that called Do.
	Waiting func(waiting bool)
}

// Result is Slack's answer to a call that succeeded at the HTTP level with
// ok:true (or, for methods that answer a file, with a file).
type Result struct {
	Body     []byte
	Header   http.Header
	Instance store.Instance // as it is after any refresh
	Waited   time.Duration  // for the budget, and out Retry-After
	Retries  int
}

// Error is Slack's answer ok:false: the Slack connector's APIError (Code,
// Needed, Provided), whose code the connector's table classifies.
type Error = slack.APIError

// RateLimitedError is a call that met 429s longer or more often than its
// Policy waits out.
type RateLimitedError struct {
	Method     string
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("slack: %s: rate limited (retry after %s)", e.Method, e.RetryAfter)
}

// UnavailableError is a call that met a 5xx, a network error or an answer
// that could not be read, more times than its Policy retries.
type UnavailableError struct {
	Method string
	Err    error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("slack: %s: Slack is unavailable: %v", e.Method, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Code is the Slack error code of err, "" if err is not Slack's ok:false.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Do makes one call through the stack and reads its answer.
func (c *Caller) Do(ctx context.Context, r Request) (*Result, error) {
	call := &Call{Instance: r.Instance, Kind: r.Kind, Method: r.Method, Waiting: r.Waiting,
		Lane: Lane(r.Instance, r.Method, r.Args.Get("team_id"), r.Args.Get("channel"))}
	req, err := http.NewRequestWithContext(WithCall(ctx, call), http.MethodPost, c.base+r.Method, strings.NewReader(r.Args.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The stack leaves encodings alone (the proxy passes them on); a page
	// read whole comes compressed, as Slack sends it, and is decoded there.
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.rt.RoundTrip(req)
	var se *SendError
	switch {
	case ctx.Err() != nil:
		if resp != nil {
			resp.Body.Close()
		}
		return nil, ctx.Err()
	case errors.As(err, &se):
		return nil, &UnavailableError{Method: r.Method, Err: se.Err}
	case err != nil:
		return nil, err
	}
	resp.Body.Close() // read whole by the stack (Policy.Whole)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, &RateLimitedError{Method: r.Method, RetryAfter: retryAfter(resp.Header)}
	case resp.StatusCode != http.StatusOK:
		return nil, &UnavailableError{Method: r.Method, Err: fmt.Errorf("HTTP %d", resp.StatusCode)}
	case call.envErr != nil:
		return nil, &UnavailableError{Method: r.Method, Err: call.envErr}
	case !call.env.OK:
		return nil, slack.NewAPIError(r.Method, http.StatusOK, call.env)
	}
	return &Result{Body: call.body, Header: resp.Header, Instance: call.Instance, Waited: call.Waited, Retries: call.Retries}, nil
}

// Lane is the budget a call spends: Slack counts calls per app, per
// workspace, per method, and per channel for per-channel methods
// (ratelimit.Key). For an org-wide install the workspace is the one team
// names when it is one of the instance's granted workspaces (in.Teams), and
// otherwise the org: a caller cannot make lanes by naming workspaces.
func Lane(in store.Instance, method, team, channel string) string {
	place := in.TeamID
	if in.OrgWide {
		place = in.EnterpriseID
		if team != "" && slices.Contains(in.Teams, team) {
			place = team
		}
	}
	if place == "" {
		place = in.ID
	}
	if m, ok := slackspec.Lookup(method); !ok || !m.PerChannel() {
		channel = ""
	}
	return in.AppID + "/" + ratelimit.Key(place, method, channel)
}

// SCIMLanes are the lanes a SCIM call spends, each with the limit it
// counts against (the pacer's method): its endpoint's limit, if it has one,
// then its set's, in the organization's lanes: Slack's SCIM limits hold for
// the Enterprise Grid org (or the workspace), shared by every SCIM app, so
// the lanes name no app. path is the URL's path from /scim/v2/ on.
func SCIMLanes(in store.Instance, verb, path string) (lanes, limits []string) {
	org := in.EnterpriseID
	if org == "" {
		org = in.TeamID
	}
	if org == "" {
		org = in.ID
	}
	_, rest, _ := strings.Cut(path, "/scim/v2/")
	resource, id, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	for _, l := range slackspec.SCIMLimits(verb, resource, id != "") {
		lanes = append(lanes, "scim/"+ratelimit.Key(org, l.Name, ""))
		limits = append(limits, l.Name)
	}
	return lanes, limits
}

// Read reports whether a method only reads, so that it is safe to send again
// when its answer was lost.
func Read(method string) bool {
	switch method {
	case "team.accessLogs", "team.integrationLogs", "team.billableInfo":
		return true
	}
	verb := strings.ToLower(method[strings.LastIndexByte(method, '.')+1:])
	for _, prefix := range []string{"list", "info", "get", "history", "replies", "members", "test", "lookup", "search"} {
		if strings.HasPrefix(verb, prefix) {
			return true
		}
	}
	return false
}
