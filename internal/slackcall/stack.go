package slackcall

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// Tokens gives an instance's Slack token to call with: instance.Service. It
// refreshes a token that is about to expire, or when force is set, once for
// all its concurrent callers (its single flight and the store's lease).
type Tokens interface {
	SlackToken(ctx context.Context, in store.Instance, kind string, force bool) (secrets.Secret, store.Instance, error)
}

// StackOptions make a Stack.
type StackOptions struct {
	// Base carries the bytes; nil means a pooled transport that leaves
	// bodies as Slack encoded them (the proxy passes them on so).
	Base http.RoundTripper
	// Pacer paces calls that name a lane; nil sends every call at once.
	Pacer *ratelimit.Pacer
	// Tokens gives calls that name an instance and a token kind their
	// token; nil leaves requests' Authorization as it is.
	Tokens Tokens
	Log    *slog.Logger
}

// Stack is the one way connhub calls Slack: an http.RoundTripper made of
// three, for each caller with its own Policy:
//
//	retry   (Policy: 429s waited out, 5xx and network errors on reads)
//	  token (the instance's token; once more after a refresh on token_expired)
//	    pace  (the lane's budget in the pacer; Backoff on a 429)
//	      Base
//
// The proxy, the sync's Caller and the install client all send through one
// Stack, sharing its connections and its pacer.
type Stack struct {
	base   http.RoundTripper
	pacer  *ratelimit.Pacer
	tokens Tokens
	log    *slog.Logger
}

// NewStack makes a Stack.
func NewStack(o StackOptions) *Stack {
	if o.Base == nil {
		o.Base = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			DisableCompression:  true, // bodies pass through the proxy as Slack encoded them
			ForceAttemptHTTP2:   true,
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Stack{base: o.Base, pacer: o.Pacer, tokens: o.Tokens, log: o.Log}
}

// WithTokens is the stack with tokens as its token source, sharing its
// connections and pacer: the instance service needs the stack for its
// install client before it can be the stack's token source.
func (s *Stack) WithTokens(t Tokens) *Stack {
	c := *s
	c.tokens = t
	return &c
}

// Transport is the stack under policy p (zero fields: none).
func (s *Stack) Transport(p Policy) http.RoundTripper {
	return &retryTransport{s: s, p: p.Or(Policy{}), next: &tokenTransport{tokens: s.tokens, next: &paceTransport{pacer: s.pacer, next: s.base}}}
}

// Client is an *http.Client over Transport(p) whose calls end after
// timeout: for clients such as slack-go that want one.
func (s *Stack) Client(p Policy, timeout time.Duration) *http.Client {
	return &http.Client{Transport: s.Transport(p), Timeout: timeout}
}

// SendError is a failure on the wire (Slack could not be reached, or its
// answer was cut off), as opposed to one of connhub's own before the call
// went (a token that could not be had, the pacer closed).
type SendError struct{ Err error }

func (e *SendError) Error() string { return "slack unreachable: " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// DeadTokens is a Tokens that is told when Slack says an instance's token
// will never work again: the Slack table's Revoke or Reauth, or
// token_expired after a refresh. The instance then says so (revoked, or
// needs_reauth) to whoever looks, instead of failing every call the same.
type DeadTokens interface {
	TokenDead(ctx context.Context, in store.Instance, kind, code string)
}

// tokenTransport sets the call's token, and when Slack answers a short
// token_expired, refreshes it (forced: once for all concurrent callers, by
// the token source) and sends the call once more. A token Slack says is
// dead is reported to the token source when it is a DeadTokens.
type tokenTransport struct {
	tokens Tokens
	next   http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := callOf(req.Context())
	if c == nil || c.Kind == "" || t.tokens == nil {
		return t.next.RoundTrip(req)
	}
	for forced := false; ; forced = true {
		tok, in, err := t.tokens.SlackToken(withoutCall(req.Context()), c.Instance, c.Kind, forced)
		if err != nil {
			return nil, err
		}
		c.Instance = in
		r := req.Clone(req.Context()) // the header is set on a copy: RoundTrip leaves req alone
		if forced {
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		r.Header.Set("Authorization", "Bearer "+tok.Reveal())
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return resp, err
		}
		if c.SCIM && resp.StatusCode == http.StatusUnauthorized && !forced {
			// SCIM says 401 for a token that expired before connhub
			// expected; a refreshed one is sent once (a 401 again is the
			// answer: the token's user may have lost the admin role).
			discard(resp)
			c.retried("token_expired")
			continue
		}
		code := shortError(resp)
		switch a := slack.Classify(code); {
		case a == slack.Refresh && !forced:
			resp.Body.Close()
			c.retried("token_expired")
			continue
		case a == slack.Refresh, a == slack.Revoke, a == slack.Reauth:
			if d, ok := t.tokens.(DeadTokens); ok {
				d.TokenDead(withoutCall(req.Context()), in, c.Kind, code)
			}
		}
		return resp, nil
	}
}

// peekMax is how much of an answer is looked at for an error about the
// token: an error answer is short, so a longer one streams on untouched.
const peekMax = 512

// shortError is the error code of a short ok:false answer, peeking at a
// short answer only; resp's body reads as before either way.
func shortError(resp *http.Response) string {
	enc := resp.Header.Get("Content-Encoding")
	if resp.StatusCode != http.StatusOK || (enc != "" && enc != "gzip") || resp.ContentLength >= peekMax {
		return ""
	}
	br := bufio.NewReaderSize(resp.Body, peekMax)
	head, err := br.Peek(peekMax)
	resp.Body = readCloser{br, resp.Body}
	if err == nil {
		return "" // longer than an error answer
	}
	if enc == "gzip" {
		// Slack gzips what a client accepts, errors too: the short answer
		// is looked at decoded and passed on as it came.
		zr, zerr := gzip.NewReader(bytes.NewReader(head))
		if zerr != nil {
			return ""
		}
		if head, zerr = io.ReadAll(io.LimitReader(zr, 4*peekMax)); zerr != nil {
			return ""
		}
	}
	if !bytes.Contains(head, []byte(`"error"`)) {
		return "" // not an error answer
	}
	env, perr := slack.ParseEnvelope(resp.Header, head)
	if perr != nil || env.OK {
		return ""
	}
	return env.Error
}

type readCloser struct {
	io.Reader
	io.Closer
}

// paceTransport waits for the call's lane's budget before sending it, and
// tells the pacer of a 429's Retry-After, so that every call in the lane
// waits it out.
type paceTransport struct {
	pacer *ratelimit.Pacer
	next  http.RoundTripper
}

func (p *paceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := callOf(req.Context())
	if p.pacer != nil && c != nil && c.SCIM {
		return p.scim(req, c)
	}
	if p.pacer == nil || c == nil || c.Lane == "" {
		resp, err := p.next.RoundTrip(req)
		if err != nil {
			return nil, &SendError{err}
		}
		return resp, nil
	}
	c.waiting(true)
	ticket, waited, err := p.pacer.Wait(req.Context(), c.Lane, c.method(req))
	c.waiting(false)
	c.Waited += waited
	if c.Paced != nil {
		c.Paced(waited)
	}
	if err != nil {
		return nil, err
	}
	resp, err := p.next.RoundTrip(req)
	ticket.Done() // Slack has counted the call by the time its answer starts
	if err != nil {
		return nil, &SendError{err}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		p.pacer.Backoff(c.Lane, retryAfter(resp.Header))
	}
	return resp, nil
}

// scim paces a SCIM call: it waits for each of its limits' lanes in turn
// (its endpoint's, then its set's), and tells every one of them a 429's
// Retry-After, Slack's answer not saying which limit it met.
func (p *paceTransport) scim(req *http.Request, c *Call) (*http.Response, error) {
	lanes, limits := SCIMLanes(c.Instance, req.Method, req.URL.Path)
	tickets := make([]*ratelimit.Ticket, 0, len(lanes))
	done := func() {
		for _, t := range tickets {
			t.Done()
		}
	}
	c.waiting(true)
	var waited time.Duration
	for i, lane := range lanes {
		t, w, err := p.pacer.Wait(req.Context(), lane, limits[i])
		waited += w
		tickets = append(tickets, t)
		if err != nil {
			c.waiting(false)
			c.Waited += waited
			done()
			return nil, err
		}
	}
	c.waiting(false)
	c.Waited += waited
	if c.Paced != nil {
		c.Paced(waited)
	}
	resp, err := p.next.RoundTrip(req)
	done()
	if err != nil {
		return nil, &SendError{err}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		for _, lane := range lanes {
			p.pacer.Backoff(lane, retryAfter(resp.Header))
		}
	}
	return resp, nil
}

// retryTransport sends a call again as its Policy says: after a 429 (the
// pacer, or else a sleep here, waits out Retry-After), and after a 5xx or a
// network error when the method only reads.
type retryTransport struct {
	s    *Stack
	p    Policy
	next http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := callOf(ctx)
	if c == nil {
		c = &Call{} // an install's call: counted here only
	}
	method := c.method(req)
	read, paced := Read(method), t.s.pacer != nil && (c.Lane != "" || c.SCIM)
	if c.SCIM {
		read = req.Method == http.MethodGet || req.Method == http.MethodHead
	}
	limited, failed := 0, 0
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.next.RoundTrip(r)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, ctx.Err()
		}
		var (
			reason string
			se     *SendError
		)
		switch {
		case err != nil && !errors.As(err, &se):
			return nil, err // connhub's own: no token, the pacer closed
		case err != nil:
			if !read || failed >= t.p.Retries {
				return nil, err
			}
			reason = "network"
		case resp.StatusCode == http.StatusTooManyRequests:
			if c.Limited != nil {
				c.Limited()
			}
			ra := retryAfter(resp.Header)
			limited++
			if ra > t.p.MaxRetryAfter || limited > t.p.RateLimited {
				return resp, nil
			}
			discard(resp)
			c.retried("ratelimited")
			t.s.log.Debug("slack: rate limited; waiting", "method", method, "retry_after", ra)
			if !paced { // else the pacer waits it out before the next send
				c.waiting(true)
				err := sleep(ctx, ra)
				c.waiting(false)
				c.Waited += ra
				if err != nil {
					return nil, err
				}
			}
			continue
		case resp.StatusCode >= 500:
			if !read || failed >= t.p.Retries {
				return resp, nil
			}
			discard(resp)
			reason = "server_error"
		case t.p.Whole && resp.StatusCode == http.StatusOK && !c.SCIM:
			body, rerr := readWhole(resp, t.p.MaxBody)
			if rerr != nil {
				err = &SendError{rerr}
			} else {
				c.body = body
				c.env, c.envErr = slack.ParseEnvelope(resp.Header, body)
				resp.Body = io.NopCloser(bytes.NewReader(body))
			}
			if (rerr == nil && c.envErr == nil) || !read || failed >= t.p.Retries {
				if err != nil {
					return nil, err
				}
				return resp, nil
			}
			reason = "bad_response"
		default:
			return resp, nil
		}
		// A 5xx, a network error or a garbled answer, on a read: back off.
		failed++
		c.retried(reason)
		t.s.log.Debug("slack: call failed; trying again", "method", method, "attempt", failed, "reason", reason, "err", err)
		if err := sleep(ctx, t.p.backoff(failed)); err != nil {
			return nil, err
		}
	}
}

// method is the call's Slack method: the Call's, or the URL's last element.
func (c *Call) method(req *http.Request) string {
	if c.Method != "" {
		return c.Method
	}
	return req.URL.Path[strings.LastIndexByte(req.URL.Path, '/')+1:]
}

// rewind is req to send again: a clone with its body from the start. It
// fails when the body cannot be had again.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("slackcall: the request's body cannot be sent again")
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("slackcall: the request's body cannot be sent again: %w", err)
	}
	r.Body = b
	return r, nil
}

// readWhole reads an answer, up to max bytes.
func readWhole(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	var body io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		// Asked for by the reader (Caller), decoded here: what is bounded
		// is the answer, not its encoding.
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("the gzip answer: %w", err)
		}
		body = zr
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	}
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("the answer is larger than %d MiB", max>>20)
	}
	return data, err
}

// discard drops an answer that will not be used, a little of it read so
// that the connection may be used again.
func discard(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// retryAfter is a 429's Retry-After (slack.ParseRetryAfter), at least a
// second when Slack did not say.
func retryAfter(h http.Header) time.Duration {
	return max(slack.ParseRetryAfter(h.Get("Retry-After"), time.Now()), time.Second)
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
