package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	slackgo "github.com/slack-go/slack"
)

// Client calls Slack (or the sandbox) at one base URL.
type Client struct {
	base   string // scheme and host, no trailing slash
	apiURL string // base + "/api/", as slack-go wants it
	hc     *http.Client
	now    func() time.Time

	teamsPageSize int // auth.teams.list limit
}

// defaultTimeout bounds a call when New is given no *http.Client.
const defaultTimeout = 30 * time.Second

// maxResponse bounds a body read by call. auth.test answers are a few hundred
// bytes.
const maxResponse = 1 << 20

// New returns a client of the Slack at baseURL: "https://slack.com", or a
// sandbox such as "http://127.0.0.1:8790". A nil hc means an *http.Client with
// a 30 s timeout.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	base := strings.TrimRight(baseURL, "/")
	return &Client{base: base, apiURL: base + "/api/", hc: hc, now: time.Now, teamsPageSize: 1000}
}

// WithClock makes the client compute token expiries (expires_in) from now
// rather than from time.Now, so that they agree with its caller's clock.
func (c *Client) WithClock(now func() time.Time) *Client {
	c.now = now
	return c
}

// api is a slack-go client for token, pointed at this Slack.
func (c *Client) api(token secrets.Secret) *slackgo.Client {
	return slackgo.New(token.Reveal(), slackgo.OptionAPIURL(c.apiURL), slackgo.OptionHTTPClient(c.hc))
}

// expiry turns expires_in into a time; zero seconds means the token does not
// expire.
func (c *Client) expiry(expiresIn int) time.Time {
	if expiresIn <= 0 {
		return time.Time{}
	}
	return c.now().Add(time.Duration(expiresIn) * time.Second)
}

// splitScopes reads a comma-joined scope list ("users:read,team:read").
func splitScopes(s string) []string {
	var out []string
	for _, sc := range strings.Split(s, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			out = append(out, sc)
		}
	}
	return out
}

// call posts form to a Web API method with token in the Authorization header
// (Slack's preferred place) and decodes a successful answer into dst. It is
// plain net/http, for the methods slack-go falls short on (doc.go); it maps
// failures exactly as fromSlackGo does.
func (c *Client) call(ctx context.Context, method string, token secrets.Secret, form url.Values, dst any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+method, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, transportOrBadResponse(method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+token.Reveal())
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportOrBadResponse(method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, transportOrBadResponse(method, err)
	}
	env, perr := ParseEnvelope(resp.Header, body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e := NewAPIError(method, resp.StatusCode, Envelope{})
		e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		return nil, e
	case resp.StatusCode != http.StatusOK:
		// Slack sends HTML with a 5xx; the sandbox sends its JSON for a
		// request it cannot read (413): keep the code when there is one.
		if perr != nil || env.OK {
			env = Envelope{}
		}
		return nil, NewAPIError(method, resp.StatusCode, env)
	case perr != nil:
		return nil, badResponse(method)
	case !env.OK:
		return nil, NewAPIError(method, http.StatusOK, env)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return nil, badResponse(method)
	}
	return resp.Header, nil
}

// slackOK turns a decoded slack-go answer that says ok:false without an error
// code (which slack-go's Err lets through as success) into an APIError.
func slackOK(method string, r slackgo.SlackResponse) error {
	if r.Ok {
		return nil
	}
	return NewAPIError(method, http.StatusOK, Envelope{Error: r.Error, Needed: r.Needed, Provided: r.Provided})
}
