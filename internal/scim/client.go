package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
)

// BackgroundPolicy is how hard a SCIM call of connhub's own tries (a
// provisioning run's): nobody waits for it, and a change that fails costs
// the run, so it waits out long Retry-Afters and retries reads more.
var BackgroundPolicy = slackcall.Policy{RateLimited: 20, MaxRetryAfter: 5 * time.Minute, Retries: 4,
	Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}

// maxAnswer bounds a SCIM answer read whole (a page of 1,000 users is a few
// MiB).
const maxAnswer = 64 << 20

// Caller makes SCIM calls of connhub's own for instances, through the one
// stack under a policy: paced under the org's SCIM limits, with the
// instance's admin token, refreshed as needed.
type Caller struct {
	rt   http.RoundTripper
	base string
}

// NewCaller makes a Caller over stack, to Slack's SCIM API at slackURL's
// host (SlackSCIMURL).
func NewCaller(stack *slackcall.Stack, slackURL string, p slackcall.Policy) (*Caller, error) {
	u, err := url.Parse(strings.TrimSuffix(SlackSCIMURL(slackURL), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("scim: the Slack URL must be an absolute http(s) URL")
	}
	return &Caller{rt: stack.Transport(p.Or(BackgroundPolicy)), base: u.String() + "/scim/v2/"}, nil
}

// Do makes one SCIM call for in: path is relative to /scim/v2/ ("Users",
// "Groups/S1"), body is sent as JSON. It returns Slack's status and body
// whatever the status; err is a failure to get an answer at all (Slack
// unreachable, the token not to be had, the pacer closed).
func (c *Caller) Do(ctx context.Context, in store.Instance, method, path string, query url.Values, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("scim: encode the body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + strings.TrimPrefix(path, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	call := &slackcall.Call{Instance: in, Kind: "user", SCIM: true, Method: "scim"}
	req, err := http.NewRequestWithContext(slackcall.WithCall(ctx, call), method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	switch {
	case err != nil:
		return 0, nil, &slackcall.SendError{Err: err}
	case len(data) > maxAnswer:
		return 0, nil, fmt.Errorf("scim: the answer to %s %s is over %d MiB", method, path, maxAnswer>>20)
	}
	return resp.StatusCode, data, nil
}
