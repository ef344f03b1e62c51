package connhub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request made with the default http.Client.
const DefaultTimeout = 30 * time.Second

// maxBody is the most of an answer the client reads.
const maxBody = 8 << 20

// Client calls one connhub hub with one credential. It is safe for
// concurrent use.
type Client struct {
	base      string // scheme, host and any path prefix, without a trailing slash
	auth      string // the Authorization header value
	hc        *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (its timeout,
// transport and proxy settings) instead of the default http.Client.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithOpenConnectors authenticates with SAP Open Connectors' Authorization
// header, given whole: "User <user secret>, Organization <organization
// secret>" and optionally ", Element <instance token>". It replaces the token
// New was given.
func WithOpenConnectors(header string) Option {
	return func(c *Client) { c.auth = strings.TrimSpace(header) }
}

// WithUserAgent sets the User-Agent the client sends.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the hub at baseURL (such as "http://127.0.0.1:8080";
// a path prefix is kept, for a hub behind a reverse proxy) that
// authenticates with token: an API token (chub_…) or an instance token
// (chi_…), or the whole Open Connectors header value ("User …, Organization
// …").
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		hc:        &http.Client{Timeout: DefaultTimeout},
		userAgent: "connhub-go",
	}
	switch token = strings.TrimSpace(token); {
	case token == "":
	case strings.HasPrefix(token, "User "):
		c.auth = token
	default:
		c.auth = "Bearer " + token
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL is the hub's URL the client calls.
func (c *Client) BaseURL() string { return c.base }

// CodeUnexpectedResponse is the Code of an *Error for an answer that is not
// connhub's JSON: another server, or a proxy's error page, answered.
const CodeUnexpectedResponse = "unexpected_response"

// Error is connhub's answer to a request that failed: the HTTP status, the
// stable machine code and the human message of its JSON error body, and the
// request's ID (X-Request-Id), which the hub's logs and audit log record.
type Error struct {
	Status    int    // HTTP status
	Code      string // stable: not_found, invalid_credentials, invalid_instance, slack_…, or CodeUnexpectedResponse
	Message   string // for a person
	RequestID string // "" when the answer carried none
	// Position is, for an expression that does not parse (invalid_where,
	// invalid_order_by, invalid_fields), the 1-based position in it of the
	// trouble; 0 otherwise.
	Position int
	// Problems are, for invalid_file (a directory file planned for
	// provisioning), each problem of the file with its row; nil otherwise.
	Problems []FileProblem
}

// FileProblem is one problem of a directory file: where it is and what.
type FileProblem struct {
	// Row is in a CSV file the line the record starts on (the header is
	// line 1), in a JSON file the element's 1-based index; 0 is the file
	// as a whole.
	Row      int    `json:"row"`
	OtherRow int    `json:"other_row,omitempty"` // the first row with the same value, for a duplicate
	Column   string `json:"column,omitempty"`
	Code     string `json:"code"` // stable: unknown_column, invalid_email, duplicate_key, …
	Message  string `json:"message"`
}

// String is "row N: column: message", without the parts it lacks.
func (p FileProblem) String() string {
	var b strings.Builder
	if p.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", p.Row)
	}
	if p.Column != "" {
		b.WriteString(p.Column + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connhub: %s (%s, HTTP %d", e.Message, e.Code, e.Status)
	if e.RequestID != "" {
		b.WriteString(", request " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// IsNotFound reports whether err is connhub's answer that the resource does
// not exist (HTTP 404).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// do sends one request and decodes a JSON answer into out (nil: the answer
// is not read). query may be nil; body is marshaled as JSON when non-nil.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, c.hc, method, path, query, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("connhub: %s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return answerError(resp, data)
	}
	reqID := resp.Header.Get("X-Request-Id")
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if !jsonContent(resp.Header.Get("Content-Type")) {
		return unexpected(resp, reqID)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &Error{Status: resp.StatusCode, Code: CodeUnexpectedResponse, RequestID: reqID,
			Message: fmt.Sprintf("the answer to %s %s is not the JSON connhub sends: %v", method, path, err)}
	}
	return nil
}

// send sends one request with hc and returns the answer, whatever its
// status, for the caller to read and close. accept is the Accept header.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, query url.Values, body any, accept string) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("connhub: encode the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("connhub: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error names the method and URL, which hold no credential.
		return nil, fmt.Errorf("connhub: %w", err)
	}
	return resp, nil
}

// untimed is the client's http.Client without its Timeout, for an answer
// that streams for as long as its context lets it (an export, the event
// stream): a timeout would cut a long one off.
func (c *Client) untimed() *http.Client {
	if c.hc.Timeout <= 0 {
		return c.hc
	}
	hc := *c.hc
	hc.Timeout = 0
	return &hc
}

// notStreamed reads and closes an answer that is not the stream asked for
// and returns its error: the hub's, or that it is not connhub's answer.
func notStreamed(resp *http.Response, path string) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("connhub: GET %s: read the answer: %w", path, err)
	}
	if resp.StatusCode < 300 {
		return unexpected(resp, resp.Header.Get("X-Request-Id"))
	}
	return answerError(resp, data)
}

// answerError is the *Error of an answer that is not a success, whose body
// is data.
func answerError(resp *http.Response, data []byte) *Error {
	reqID := resp.Header.Get("X-Request-Id")
	var e struct {
		Code     string        `json:"code"`
		Message  string        `json:"message"`
		Position int           `json:"position"`
		Problems []FileProblem `json:"problems"`
	}
	if !jsonContent(resp.Header.Get("Content-Type")) || json.Unmarshal(data, &e) != nil {
		return unexpected(resp, reqID)
	}
	if e.Code == "" {
		// Slack's SCIM errors, relayed as Slack gave them:
		// {"Errors":{"description":"<code>","code":<status>}}.
		var s struct {
			Errors struct{ Description string } `json:"Errors"`
		}
		if json.Unmarshal(data, &s) != nil || s.Errors.Description == "" {
			return unexpected(resp, reqID)
		}
		e.Code = "slack_" + s.Errors.Description
		e.Message = fmt.Sprintf("Slack's SCIM API answered HTTP %d %s", resp.StatusCode, s.Errors.Description)
	}
	return &Error{Status: resp.StatusCode, Code: e.Code, Message: e.Message, RequestID: reqID, Position: e.Position, Problems: e.Problems}
}

// unexpected describes an answer that is not connhub's, without quoting it.
func unexpected(resp *http.Response, reqID string) *Error {
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	if ct == "" {
		ct = "no content type"
	}
	return &Error{Status: resp.StatusCode, Code: CodeUnexpectedResponse, RequestID: reqID,
		Message: fmt.Sprintf("%s answered HTTP %d with %s, not connhub's JSON: is it connhub's URL, or is a proxy in the way?",
			hostOf(resp.Request), resp.StatusCode, ct)}
}

func hostOf(r *http.Request) string {
	if r == nil || r.URL == nil {
		return "the server"
	}
	return r.URL.Scheme + "://" + r.URL.Host
}

func jsonContent(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// pathID escapes an ID for a path segment.
func pathID(id string) string { return url.PathEscape(id) }

// pageQuery adds the paging parameters to q.
func pageQuery(q url.Values, cursor string, limit int) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	return q
}
