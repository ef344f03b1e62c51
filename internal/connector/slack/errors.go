package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"
)

// APIError is Slack's answer when it is not success: ok:false with HTTP 200,
// a 429, or another HTTP status.
type APIError struct {
	Method     string        // the Web API method, "auth.test"
	Code       string        // Slack's error code ("invalid_auth", "ratelimited"); empty for a non-200 status without one
	HTTPStatus int           // 200 for ok:false
	RetryAfter time.Duration // from Retry-After on a 429; zero when Slack did not say
	Needed     string        // missing_scope: the scope the method needs
	Provided   string        // missing_scope: the scopes the token has, comma-joined
}

// Error says which method failed and how, never with a token:
// "slack: auth.test: invalid_auth".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("slack: ")
	b.WriteString(e.Method)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		if e.HTTPStatus != http.StatusOK && e.HTTPStatus != 0 {
			fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
		}
	} else {
		fmt.Fprintf(&b, "HTTP %d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Needed != "" {
		fmt.Fprintf(&b, ", needed %s", e.Needed)
	}
	return b.String()
}

// ErrBadResponse is what a call returns, wrapped, when Slack answered HTTP 200
// with a body that is not its JSON envelope. The body is not quoted.
var ErrBadResponse = errors.New("the answer is not Slack's JSON")

// IsTokenDead reports whether err says the token will never work again, so the
// instance needs a new install or token: a code the table (codes.go) marks
// Revoke or Reauth. token_expired is not one: a refresh brings the grant back.
func IsTokenDead(err error) bool {
	a := ActionOf(err)
	return a == Revoke || a == Reauth
}

// IsTokenExpired reports whether err is token_expired: the access token's time
// is up, and a refresh gives a new one.
func IsTokenExpired(err error) bool { return ActionOf(err) == Refresh }

// errorCodeShape is what Slack's error codes look like. A code of any other
// shape is not shown as it came: the body it came from is not trusted to be
// free of secrets.
var errorCodeShape = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,79}$`)

// scopeShape is what a scope looks like ("users:read.email",
// "incoming-webhook"). Slack's tokens start with "xox", which no scope does.
var scopeShape = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// scopeList reports whether s is a comma-joined list of scopes (or empty).
func scopeList(s string) bool {
	if s == "" {
		return true
	}
	for _, sc := range strings.Split(s, ",") {
		if !scopeShape.MatchString(sc) || strings.HasPrefix(sc, "xox") {
			return false
		}
	}
	return true
}

func newAPIError(method, code string, status int) *APIError {
	if code != "" && !errorCodeShape.MatchString(code) {
		code = "unrecognized_error"
	}
	return &APIError{Method: method, Code: code, HTTPStatus: status}
}

// withScopes sets Needed and Provided when they look like scope lists.
func (e *APIError) withScopes(needed, provided string) *APIError {
	if scopeList(needed) && scopeList(provided) {
		e.Needed, e.Provided = needed, provided
	}
	return e
}

// rateLimited is the APIError for a 429.
func rateLimited(method string, retryAfter time.Duration) *APIError {
	e := newAPIError(method, "ratelimited", http.StatusTooManyRequests)
	e.RetryAfter = retryAfter
	return e
}

// ParseRetryAfter reads Retry-After: whole seconds, as Slack sends it, or an
// HTTP date. Anything else is zero: not said. It is the one reader of the
// header in connhub.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// fromSlackGo turns what slack-go returned into connhub's error values, dropping
// any text that may carry a secret (doc.go, "Failures are values").
func fromSlackGo(method string, err error) error {
	var (
		rl  *slackgo.RateLimitedError
		sc  slackgo.StatusCodeError
		se  slackgo.SlackErrorResponse
		num *strconv.NumError
	)
	switch {
	case errors.As(err, &rl):
		return rateLimited(method, rl.RetryAfter)
	case errors.As(err, &sc):
		if sc.Code == http.StatusTooManyRequests {
			return rateLimited(method, 0) // a 429 without Retry-After
		}
		return newAPIError(method, "", sc.Code)
	case errors.As(err, &se):
		return newAPIError(method, se.Err, http.StatusOK).withScopes(se.Needed, se.Provided)
	case errors.As(err, &num):
		// slack-go could not parse a 429's Retry-After; the error quotes it.
		return rateLimited(method, 0)
	}
	return transportOrBadResponse(method, err)
}

// transportOrBadResponse classifies an error that happened on the way to Slack
// or while reading its answer. Transport errors are kept (wrapped, their URL
// cleaned) so that errors.Is finds context.Canceled and net errors; anything
// else is a body that did not decode, reported without its text.
func transportOrBadResponse(method string, err error) error {
	var (
		ue *url.Error
		ne net.Error
	)
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("slack: %s: %w", method, &url.Error{Op: ue.Op, URL: cleanURL(ue.URL), Err: ue.Err})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("slack: %s: %w", method, contextErr(err))
	case errors.As(err, &ne):
		return fmt.Errorf("slack: %s: %w", method, ne)
	}
	return badResponse(method)
}

func badResponse(method string) error {
	return fmt.Errorf("slack: %s: %w", method, ErrBadResponse)
}

func contextErr(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

// cleanURL drops a URL's user info, query and fragment, where a secret could
// be.
func cleanURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
