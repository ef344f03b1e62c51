package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/secrets"
)

// Client sends SCIM v2 requests to Slack. It is the only way this package
// reaches Slack: the planner's state is read through it and apply replays a
// plan's requests through it.
type Client interface {
	// Do sends one request. path is relative to the SCIM v2 base ("/Users",
	// "/Groups/S0123"); query may be nil; body is nil (no body), []byte or
	// json.RawMessage (sent as is) or a value sent as JSON.
	//
	// Every answer Slack gives comes back as its status and body with a nil
	// error, errors included (400, 404, 409, 5xx), with one exception: a 429
	// comes back with its status and body and a *RateLimitError that says how
	// long Slack asked to wait. Any other error means no answer was read (the
	// connection failed, the context ended): the request may or may not have
	// been acted on.
	//
	// A Client that paces itself under Slack's limits (connhub's does) waits
	// inside Do; Do must be safe for concurrent use.
	Do(ctx context.Context, method, path string, query url.Values, body any) (status int, respBody []byte, err error)
}

// RateLimitError is a 429 from Slack: wait RetryAfter, then send again.
type RateLimitError struct {
	RetryAfter time.Duration // 0 when Slack gave no Retry-After
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("provision: rate limited by Slack's SCIM API, retry after %s", e.RetryAfter)
}

// HTTPClient is a Client over plain HTTP: a SCIM base URL, an admin user
// token and an http.Client. It neither paces nor retries: it reports a 429's
// Retry-After as a *RateLimitError, and Apply waits it out.
type HTTPClient struct {
	BaseURL string         // the SCIM v2 base, such as https://api.slack.com/scim/v2
	Token   secrets.Secret // a user token with the admin scope
	HTTP    *http.Client   // nil means http.DefaultClient
}

// maxAnswer bounds a SCIM answer read into memory: a page of 1,000 users is
// a few megabytes.
const maxAnswer = 64 << 20

// Do implements Client.
func (c *HTTPClient) Do(ctx context.Context, method, path string, query url.Values, body any) (int, []byte, error) {
	u := strings.TrimRight(c.BaseURL, "/") + "/" + strings.TrimLeft(path, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, fmt.Errorf("provision: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("provision: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	req.Header.Set("Accept", "application/scim+json, application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("provision: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, fmt.Errorf("provision: %s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return resp.StatusCode, b, &RateLimitError{RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return resp.StatusCode, b, nil
}

// parseRetryAfter reads Retry-After: whole seconds (as Slack sends it) or an
// HTTP date. Anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// APIError is a SCIM request Slack refused: its HTTP status and the error's
// description (one of the codes of Slack's SCIM error table, such as
// email_taken).
type APIError struct {
	Method      string
	Path        string
	Status      int
	Description string
}

func (e *APIError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("provision: %s %s: Slack answered %d", e.Method, e.Path, e.Status)
	}
	return fmt.Sprintf("provision: %s %s: Slack answered %d %s", e.Method, e.Path, e.Status, e.Description)
}

// errorDescription reads a SCIM error body: Slack's
// {"Errors":{"description":…,"code":…}}, or RFC 7644's {"detail":…}. An
// unreadable body gives "".
func errorDescription(body []byte) string {
	var e struct {
		Errors struct {
			Description string `json:"description"`
		} `json:"Errors"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if e.Errors.Description != "" {
		return e.Errors.Description
	}
	return e.Detail
}

// apiError makes the error for a refused request.
func apiError(method, path string, status int, body []byte) *APIError {
	return &APIError{Method: method, Path: path, Status: status, Description: errorDescription(body)}
}

// isRateLimit reports whether err is a 429 and returns it.
func isRateLimit(err error) (*RateLimitError, bool) {
	var rl *RateLimitError
	ok := errors.As(err, &rl)
	return rl, ok
}
