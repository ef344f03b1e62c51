package slacksim

import (
	"sync"
	"time"
)

// limiter enforces Slack's rate limits in two ways.
//
// The Web API's per-minute method budgets are a sliding log (take): a call is
// allowed when fewer than budget calls were allowed in the last window. It is
// the strictest reading of "N per minute" (no burst across a window edge), so a
// client that passes the sandbox passes Slack.
//
// SCIM's limits have bursts, and are a token bucket each (takeAll), as a GCRA
// (generic cell rate algorithm): a bucket holds burst calls and gains one
// every interval, and it is kept as the one time it would be full again
// were nothing else taken (its theoretical arrival time, TAT). A call at now
// is allowed when TAT - now <= (burst-1)*interval, and moves TAT to
// max(TAT, now) + interval. The same arithmetic as counting tokens, with no
// timer and one number per bucket.
//
// Refused calls count in neither.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*slidingLog
	tats    map[string]time.Time // per bucket key, its theoretical arrival time
}

// bucket is one token bucket to spend from: burst calls, one more every
// interval.
type bucket struct {
	key      string
	burst    int
	interval time.Duration
}

type slidingLog struct {
	times []time.Time // ring of the last len(times) allowed calls
	next  int
	full  bool
}

func newLimiter() *limiter {
	return &limiter{buckets: map[string]*slidingLog{}, tats: map[string]time.Time{}}
}

// take spends one call of the budget for key, or says how long until one is free.
func (l *limiter) take(key string, budget int, window time.Duration, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil || len(b.times) != budget {
		b = &slidingLog{times: make([]time.Time, budget)}
		l.buckets[key] = b
	}
	if b.full {
		oldest := b.times[b.next]
		if age := now.Sub(oldest); age < window {
			return false, window - age
		}
	}
	b.times[b.next] = now
	b.next++
	if b.next == budget {
		b.next, b.full = 0, true
	}
	return true, 0
}

// takeAll spends one call from every bucket, or, when any of them is empty,
// from none. It then says how long until every bucket holds a call again, and
// the index of the bucket that waits longest.
func (l *limiter) takeAll(bs []bucket, now time.Time) (ok bool, wait time.Duration, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok = true
	for i, b := range bs {
		tat := l.tats[b.key]
		if tat.Before(now) {
			tat = now
		}
		if w := tat.Add(-time.Duration(b.burst-1) * b.interval).Sub(now); w > 0 {
			if ok || w > wait {
				wait, refused = w, i
			}
			ok = false
		}
	}
	if !ok {
		return false, wait, refused
	}
	for _, b := range bs {
		tat := l.tats[b.key]
		if tat.Before(now) {
			tat = now
		}
		l.tats[b.key] = tat.Add(b.interval)
	}
	return true, 0, 0
}

func (l *limiter) reset() {
	l.mu.Lock()
	l.buckets = map[string]*slidingLog{}
	l.tats = map[string]time.Time{}
	l.mu.Unlock()
}

// retryAfterSeconds renders a wait as Slack's Retry-After: whole seconds, at
// least one.
func retryAfterSeconds(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
