package proxy

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/connhub/connhub/internal/apierror"
)

// formPrefix is how much of a form body the proxy reads before it knows who
// is calling, to find the "token" field that Slack clients may send there
// instead of a header. slack-go sorts its fields, so "token" comes after
// "text", "blocks" and "attachments": 256 KiB holds a message of Slack's
// longest text (40,000 characters) form-encoded, with room for its blocks.
// A caller whose token lies further in is told to send it in the
// Authorization header or the query.
const formPrefix = 256 << 10

// DefaultMaxBodiesInFlight is Options.MaxBodiesInFlight's default.
const DefaultMaxBodiesInFlight = 64 << 20

// overloadedRetryAfter is the Retry-After of an "overloaded" answer, in
// seconds.
const overloadedRetryAfter = "1"

// budget bounds the request body bytes the proxy holds at once, over all its
// calls: what a call's buffer takes is charged as it grows, and given back
// when the call is answered.
type budget struct {
	limit int64
	used  atomic.Int64
}

// take charges n bytes, or reports false (and charges nothing) when that
// would pass the limit.
func (b *budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *budget) give(n int64) { b.used.Add(-n) }

// BodiesInFlight is how many request body bytes the proxy holds now.
func (p *Proxy) BodiesInFlight() int64 { return p.inflight.used.Load() }

// errOverloaded is a body that would pass the budget.
var errOverloaded = errors.New("proxy: too many request bodies in flight")

// readBody reads the request body until c.body holds upTo bytes or the body
// ends, growing c.body (to the Content-Length when there is one) and
// charging what it allocates to the budget.
func (c *call) readBody(upTo int64) error {
	cl := c.r.ContentLength
	if cl >= 0 {
		upTo = min(upTo, cl) // net/http ends the body at its length
	}
	for !c.bodyEOF && int64(len(c.body)) < upTo {
		if len(c.body) == cap(c.body) {
			if err := c.grow(upTo); err != nil {
				return err
			}
		}
		n, err := c.r.Body.Read(c.body[len(c.body):min(int64(cap(c.body)), upTo)])
		c.body = c.body[:len(c.body)+n]
		if err == io.EOF {
			c.bodyEOF = true
		} else if err != nil {
			return err
		}
	}
	if cl >= 0 && int64(len(c.body)) == cl {
		c.bodyEOF = true
	}
	return nil
}

// grow makes room in c.body for more of the body, up to upTo bytes in all:
// all of them at once when the Content-Length is known, else twice as much
// as before.
func (c *call) grow(upTo int64) error {
	size := min(max(2*int64(cap(c.body)), 32<<10), upTo)
	if c.r.ContentLength >= 0 {
		size = upTo
	}
	more := size - int64(cap(c.body))
	if !c.p.inflight.take(more) {
		return errOverloaded
	}
	c.held += more
	grown := make([]byte, len(c.body), size)
	copy(grown, c.body)
	c.body = grown
	return nil
}

// release gives the call's body bytes back to the budget.
func (c *call) release() {
	c.p.inflight.give(c.held)
	c.held = 0
}

// bodyProblem is the answer to a body that could not be read.
func (c *call) bodyProblem(w http.ResponseWriter, err error) *apierror.Problem {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errOverloaded):
		w.Header().Set("Retry-After", overloadedRetryAfter)
		return apierror.New(http.StatusServiceUnavailable, "overloaded", "connhub holds too many request bodies at once; try again shortly")
	case errors.As(err, &tooBig):
		return c.p.tooLarge()
	}
	return apierror.New(http.StatusBadRequest, "bad_request", "the request body could not be read")
}

func (p *Proxy) tooLarge() *apierror.Problem {
	return apierror.New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than "+strconv.FormatInt(p.o.MaxBody>>20, 10)+" MiB")
}

// tokenInBody reports whether the caller may have put its token in the form
// body: it sent none in the Authorization header or the query, and its body
// is a form.
func (c *call) tokenInBody() bool {
	return c.r.Header.Get("Authorization") == "" && c.query.Get("token") == "" && c.isForm()
}

// completePairs is the part of a form body read so far whose fields are
// whole: all of it once the body has ended, else up to the last "&".
func (c *call) completePairs() string {
	if c.bodyEOF {
		return string(c.body)
	}
	i := strings.LastIndexByte(string(c.body), '&')
	if i < 0 {
		return ""
	}
	return string(c.body[:i])
}

// stripFormToken drops the token field from a whole form body whose token
// authenticated the call (it is connhub's token, not Slack's), leaving the
// other fields as they came, in place.
func (c *call) stripFormToken() {
	if !c.formBody {
		return
	}
	out := c.body[:0]
	for pair := range bytes.SplitSeq(c.body, []byte("&")) {
		key, _, _ := bytes.Cut(pair, []byte("="))
		if k, err := url.QueryUnescape(string(key)); len(pair) == 0 || (err == nil && k == "token") {
			continue
		}
		if len(out) > 0 {
			out = append(out, '&')
		}
		out = append(out, pair...)
	}
	c.body = out
}

// isForm reports whether the body is a form (application/x-www-form-urlencoded).
func (c *call) isForm() bool {
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}
