package slackcall

import (
	"math/rand/v2"
	"time"
)

// Policy is how hard a caller tries: how many 429s it waits out and how
// long a Retry-After it waits out at most, and how many times a read that
// met a 5xx or a network error is sent again, after what backoff. Each
// caller has its own (ProxyPolicy, SyncPolicy, InstallPolicy): one waits for
// a person, one for a background job.
//
// Zero fields take the caller's default; a negative count means none.
type Policy struct {
	// RateLimited is how many 429s in a row a call waits out before the
	// 429 is the answer.
	RateLimited int
	// MaxRetryAfter is the longest Retry-After waited out; a longer one is
	// the answer at once.
	MaxRetryAfter time.Duration
	// Retries is how many times a read (Read) that met a 5xx, a network
	// error or, with Whole, an answer that is not Slack's JSON, is sent
	// again. A write never is: Slack may have acted on it.
	Retries int
	// Backoff is the wait before the first such retry, doubled for each
	// next one up to MaxBackoff, plus up to Backoff of jitter.
	Backoff, MaxBackoff time.Duration
	// Whole says the caller reads answers whole (a sync's pages): the retry
	// transport reads each one, up to MaxBody, so that an answer cut off or
	// garbled on a read is sent again too. Without it answers stream.
	Whole   bool
	MaxBody int64
}

var (
	// ProxyPolicy is the proxy's: someone waits for the answer, so it gives
	// up soon and answers Slack's 429 or 5xx to the caller.
	ProxyPolicy = Policy{RateLimited: 5, MaxRetryAfter: 30 * time.Second, Retries: 2, Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	// SyncPolicy is a sync's: nobody waits, and a page that fails costs a
	// stream, so it waits out long Retry-Afters and retries more.
	SyncPolicy = Policy{RateLimited: 20, MaxRetryAfter: 5 * time.Minute, Retries: 4, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second,
		Whole: true, MaxBody: 64 << 20}
	// InstallPolicy is the install client's (oauth.v2.access, auth.test,
	// auth.revoke, auth.teams.list, token refreshes): a person waits on the
	// consent page's redirect. oauth.v2.access and auth.revoke are writes
	// (Read): a code and a refresh token are single use (FACTS 1.1, 1.3), so
	// a call whose answer was lost is not sent again (it would only earn
	// invalid_code or invalid_refresh_token); a 429 is, since Slack did not
	// act on it.
	InstallPolicy = Policy{RateLimited: 2, MaxRetryAfter: 10 * time.Second, Retries: 2, Backoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second}
)

// Or is p with its zero fields taken from def, and negative counts zero.
func (p Policy) Or(def Policy) Policy {
	count := func(v, d int) int {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return d
		}
		return v
	}
	p.RateLimited, p.Retries = count(p.RateLimited, def.RateLimited), count(p.Retries, def.Retries)
	p.MaxRetryAfter = positive(p.MaxRetryAfter, def.MaxRetryAfter, 0)
	p.Backoff = positive(p.Backoff, def.Backoff, 100*time.Millisecond)
	p.MaxBackoff = max(positive(p.MaxBackoff, def.MaxBackoff, 0), p.Backoff)
	p.Whole = p.Whole || def.Whole
	p.MaxBody = positive(p.MaxBody, def.MaxBody, 64<<20)
	return p
}

// positive is the first of v, def and last that is above zero.
func positive[T time.Duration | int64](v, def, last T) T {
	switch {
	case v > 0:
		return v
	case def > 0:
		return def
	}
	return last
}

// backoff is the jittered wait before retry n (1, 2, …).
func (p Policy) backoff(n int) time.Duration {
	d := p.Backoff << min(n-1, 16)
	if d <= 0 || d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	return d + rand.N(p.Backoff)
}
