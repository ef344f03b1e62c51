// Package slackcall calls Slack's Web API for a connector instance the way
// everything in connhub that calls Slack for an instance must: with the
// instance's token (refreshed first when it is about to expire, and once more
// when Slack says it expired), paced under the method's budget in the
// workspace by the shared pacer, and tried again after a 429 (once
// Retry-After has passed), and after a 5xx or a network error when the method
// only reads.
//
// The sync engine calls Slack through a Caller and gets each answer's body
// whole (a page: at most a few hundred KiB). The proxy streams answers to its
// callers instead, so it keeps its own loop, but shares the rules here: the
// budget a call spends (Lane), which methods are safe to send again (Read),
// and how Retry-After is read.
package slackcall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
)

// Tokens gives an instance's Slack token to call with: instance.Service.
type Tokens interface {
	SlackToken(ctx context.Context, in store.Instance, kind string, force bool) (secrets.Secret, store.Instance, error)
}

// maxBackoff caps the wait before a retry: past it, a longer wait only
// delays the moment the caller learns that Slack is down.
const maxBackoff = 5 * time.Second

// Options configure a Caller.
type Options struct {
	SlackURL string // Slack's base URL: https://slack.com, or a sandbox
	Tokens   Tokens
	// Pacer paces calls under Slack's budgets; nil sends every call at once.
	Pacer *ratelimit.Pacer
	// Transport carries the calls; nil means a pooled transport.
	Transport http.RoundTripper
	// MaxRetryAfter is the longest Retry-After waited out before giving up
	// with *RateLimitedError (default 5 minutes).
	MaxRetryAfter time.Duration
	// RateLimited is how many 429s in a row a call waits out before giving
	// up (default 20).
	RateLimited int
	// Retries is how many times a read that met a 5xx, a network error or
	// an answer that is not JSON is tried again (default 4), with jittered
	// exponential backoff from 200 ms, at most maxBackoff.
	Retries int
	// MaxBody bounds an answer (default 64 MiB).
	MaxBody int64
	Log     *slog.Logger
}

// Caller makes calls to Slack for instances.
type Caller struct {
	o    Options
	base string
}

// New makes a Caller.
func New(o Options) (*Caller, error) {
	u, err := url.Parse(strings.TrimSuffix(o.SlackURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("slackcall: the Slack URL must be an absolute http(s) URL")
	}
	if o.Tokens == nil {
		return nil, errors.New("slackcall: no token source")
	}
	if o.Transport == nil {
		o.Transport = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		}
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 5 * time.Minute
	}
	if o.RateLimited <= 0 {
		o.RateLimited = 20
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Caller{o: o, base: u.String() + "/api/"}, nil
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

func (r Request) waiting(on bool) {
	if r.Waiting != nil {
		r.Waiting(on)
	}
}

// Result is Slack's answer to a call that succeeded at the HTTP level with
// ok:true (or, for methods that answer a file, with a body that is not a
// JSON error).
type Result struct {
	Body     []byte
	Header   http.Header
	Instance store.Instance // as it is after any refresh
	Waited   time.Duration  // for the budget, and out Retry-After
	Retries  int
}

// Error is Slack's answer ok:false.
type Error struct {
	Method   string
	Code     string // e.g. "missing_scope", "not_in_channel"
	Needed   string // the scope missing_scope asked for
	Provided string
}

func (e *Error) Error() string {
	if e.Needed != "" {
		return fmt.Sprintf("slack: %s: %s (needs %s)", e.Method, e.Code, e.Needed)
	}
	return fmt.Sprintf("slack: %s: %s", e.Method, e.Code)
}

// RateLimitedError is a call that met 429s longer or more often than the
// Caller waits out.
type RateLimitedError struct {
	Method     string
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("slack: %s: rate limited (retry after %s)", e.Method, e.RetryAfter)
}

// UnavailableError is a call that met a 5xx, a network error or an answer
// that could not be read, more times than the Caller retries.
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

// Do makes one call, pacing and retrying as the package doc says.
func (c *Caller) Do(ctx context.Context, r Request) (*Result, error) {
	lane := Lane(r.Instance, r.Method, r.Args.Get("team_id"), r.Args.Get("channel"))
	body := r.Args.Encode()
	res := &Result{Instance: r.Instance}
	forced, limited, failed := false, 0, 0
	for {
		token, in, err := c.o.Tokens.SlackToken(ctx, res.Instance, r.Kind, forced)
		if err != nil {
			return nil, err
		}
		res.Instance = in
		var ticket *ratelimit.Ticket
		if c.o.Pacer != nil {
			var waited time.Duration
			r.waiting(true)
			ticket, waited, err = c.o.Pacer.Wait(ctx, lane, r.Method)
			r.waiting(false)
			res.Waited += waited
			if err != nil {
				return nil, err
			}
		}
		status, header, data, err := c.send(ctx, r.Method, token, body)
		ticket.Done()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		retryable := Read(r.Method)
		switch {
		case err != nil:
			if !retryable || failed >= c.o.Retries {
				return nil, &UnavailableError{Method: r.Method, Err: err}
			}
		case status == http.StatusTooManyRequests:
			ra := RetryAfter(header.Get("Retry-After"))
			limited++
			if ra > c.o.MaxRetryAfter || limited > c.o.RateLimited {
				return nil, &RateLimitedError{Method: r.Method, RetryAfter: ra}
			}
			c.o.Log.Debug("slack: rate limited; waiting", "method", r.Method, "retry_after", ra)
			res.Retries++
			if c.o.Pacer != nil {
				c.o.Pacer.Backoff(lane, ra) // the next Wait waits it out
			} else {
				r.waiting(true)
				err := sleep(ctx, ra)
				r.waiting(false)
				if err != nil {
					return nil, err
				}
				res.Waited += ra
			}
			continue
		case status >= 500:
			err = fmt.Errorf("HTTP %d", status)
			if !retryable || failed >= c.o.Retries {
				return nil, &UnavailableError{Method: r.Method, Err: err}
			}
		case status != http.StatusOK:
			return nil, &UnavailableError{Method: r.Method, Err: fmt.Errorf("HTTP %d", status)}
		default:
			e, jsonErr := envelope(r.Method, header, data)
			switch {
			case jsonErr != nil:
				err = jsonErr
				if !retryable || failed >= c.o.Retries {
					return nil, &UnavailableError{Method: r.Method, Err: err}
				}
			case e != nil && e.Code == "token_expired" && !forced:
				forced = true
				res.Retries++
				continue
			case e != nil:
				return nil, e
			default:
				res.Body, res.Header = data, header
				return res, nil
			}
		}
		// A 5xx, a network error or a garbled answer, on a read: back off.
		failed++
		res.Retries++
		c.o.Log.Debug("slack: call failed; trying again", "method", r.Method, "attempt", failed, "err", err)
		backoff := min(time.Duration(200<<min(failed-1, 10))*time.Millisecond, maxBackoff)
		if err := sleep(ctx, backoff+rand.N(200*time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

func (c *Caller) send(ctx context.Context, method string, token secrets.Secret, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+method, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := c.o.Transport.RoundTrip(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxBody+1))
	if err == nil && int64(len(data)) > c.o.MaxBody {
		err = fmt.Errorf("the answer is larger than %d MiB", c.o.MaxBody>>20)
	}
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, data, nil
}

// envelope reads Slack's {"ok":…} envelope: nil, nil for ok:true; *Error for
// ok:false; an error for an answer that is not the envelope. A method that
// answers a file (admin.analytics.getFile's gzip) answers errors as JSON and
// its file as anything else.
func envelope(method string, h http.Header, data []byte) (*Error, error) {
	ct := h.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		if strings.HasPrefix(ct, "application/gzip") || strings.HasPrefix(ct, "application/octet-stream") {
			return nil, nil
		}
		return nil, fmt.Errorf("the answer is %q, not JSON", ct)
	}
	var env struct {
		OK       *bool  `json:"ok"`
		Error    string `json:"error"`
		Needed   string `json:"needed"`
		Provided string `json:"provided"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&env); err != nil {
		return nil, fmt.Errorf("the answer is not JSON: %w", err)
	}
	if env.OK == nil {
		return nil, errors.New(`the answer has no "ok"`)
	}
	if *env.OK {
		return nil, nil
	}
	return &Error{Method: method, Code: env.Error, Needed: env.Needed, Provided: env.Provided}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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

// RetryAfter reads a Retry-After header in seconds; at least a second.
func RetryAfter(h string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || s < 1 {
		return time.Second
	}
	return time.Duration(s) * time.Second
}
