package slacksim

import (
	"sync"
	"time"
)

// limiter enforces Slack's per-minute method budgets as a sliding log: a call is
// allowed when fewer than budget calls were allowed in the last window. It is
// the strictest reading of "N per minute" (no burst across a window edge), so a
// client that passes the sandbox passes Slack. Refused calls do not count.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*slidingLog
}

type slidingLog struct {
	times []time.Time // ring of the last len(times) allowed calls
	next  int
	full  bool
}

func newLimiter() *limiter { return &limiter{buckets: map[string]*slidingLog{}} }

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

func (l *limiter) reset() {
	l.mu.Lock()
	l.buckets = map[string]*slidingLog{}
	l.mu.Unlock()
}

// retryAfterSeconds renders a wait as Slack's Retry-After: whole seconds, at
// least one.
func retryAfterSeconds(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}
