package slackcall

import (
	"context"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/store"
)

// Call says, in a request's context, who a request to Slack is for: the
// transports of the Stack read it (WithCall) and write back what happened.
// A request without one (an install, a token refresh: they carry their own
// credentials) is neither given a token nor paced, only retried.
//
// A Call belongs to one request at a time: the transports write to it from
// the goroutine that called RoundTrip.
type Call struct {
	// Instance is who calls; after the call, the instance as it is after
	// any token refresh.
	Instance store.Instance
	// Kind is the token sent: "bot" or "user". Empty: the request carries
	// its own Authorization, and the token transport leaves it alone.
	Kind string
	// Method is Slack's method; empty means the last element of the URL's
	// path.
	Method string
	// Lane is the budget the call spends (Lane); empty: not paced.
	Lane string
	// SCIM marks a call to Slack's SCIM API (its URL's path holds
	// /scim/v2/): it spends the SCIM limits its verb and path name
	// (slackspec.SCIMLimits) in the organization's lanes (SCIMLanes), not
	// Lane; it only reads when it GETs; and a 401 is taken for a token that
	// expired early, refreshed once, since SCIM answers an expired token so.
	SCIM bool
	// Waiting, if set, is told when the call starts to wait for Slack's
	// budget or out a Retry-After (true) and when that wait ends (false).
	Waiting func(waiting bool)
	// Paced, Limited and Retried, if set, are told of each wait for the
	// budget, each 429 Slack answered, and each time the call is sent again
	// and why ("ratelimited", "server_error", "network", "bad_response",
	// "token_expired"): the proxy's metrics.
	Paced   func(waited time.Duration)
	Limited func()
	Retried func(reason string)

	// Waited is the time spent waiting for the budget and out Retry-After.
	Waited time.Duration
	// Retries is how many times the call was sent again.
	Retries int

	// Set by the retry transport when its Policy reads answers whole.
	body   []byte
	env    slack.Envelope
	envErr error
}

type callKey struct{}

// WithCall puts c in ctx, for the request made with it to go through the
// Stack as c says.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// withoutCall is ctx without a Call: for what the token transport does on
// the side (a refresh, with the instance's app credentials), which must not
// be given the call's token or spend its budget.
func withoutCall(ctx context.Context) context.Context {
	if callOf(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, callKey{}, (*Call)(nil))
}

func callOf(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

func (c *Call) waiting(on bool) {
	if c.Waiting != nil {
		c.Waiting(on)
	}
}

func (c *Call) retried(reason string) {
	c.Retries++
	if c.Retried != nil {
		c.Retried(reason)
	}
}
