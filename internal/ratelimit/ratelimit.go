// Package ratelimit paces calls to Slack so that they stay under Slack's
// per-method budgets instead of running into 429s. One Pacer is shared by
// everything in a process that calls Slack (the proxy, the syncs), keyed by
// workspace and method (and channel, for chat.postMessage), with the budgets
// of internal/slackspec, the same table the sandbox enforces.
//
// Slack counts calls in one-minute windows. The pacer keeps, for each key, the
// times of the last N calls it let go (N the method's budget per window) and
// lets the next one go no sooner than the oldest of them plus the window and a
// small margin: never more than N calls in any window, which is the strictest
// reading of Slack's limit, so a client paced here sees no 429 for pacing
// reasons. Callers reserve their slot under a lock and sleep outside it, so
// concurrent callers queue in order without holding each other up. After a
// 429 anyway (another app, another replica), Backoff closes the key until
// Retry-After has passed.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// Options configure a Pacer.
type Options struct {
	// Window is the length of Slack's rate window: a minute on Slack, less
	// on a sandbox started with --rate-window. Zero means a minute.
	Window time.Duration
	// Margin is added to every wait for a window to pass, to absorb the jitter
	// between when a call leaves here and when Slack counts it. Zero means
	// one hundredth of the window, at least 5 ms.
	Margin time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Pacer hands out the right to call Slack.
type Pacer struct {
	window time.Duration
	margin time.Duration
	now    func() time.Time

	mu    sync.Mutex
	lanes map[string]*lane
}

type lane struct {
	budget  int
	sent    []time.Time // ring of the last budget slots handed out, oldest at next
	next    int
	full    bool
	blocked time.Time // no slot before this (after a 429)
}

// New makes a Pacer.
func New(o Options) *Pacer {
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Margin <= 0 {
		o.Margin = max(o.Window/100, 5*time.Millisecond)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pacer{window: o.Window, margin: o.Margin, now: o.Now, lanes: map[string]*lane{}}
}

// Window is the rate window the pacer counts in.
func (p *Pacer) Window() time.Duration { return p.window }

// Key names the budget a call spends: the workspace (or the org for an
// org-level call), the method, and for per-channel methods the channel.
func Key(workspace, method, channel string) string {
	if m, ok := slackspec.Lookup(method); ok && m.PerChannel() {
		return workspace + "/" + method + "/" + channel
	}
	return workspace + "/" + method
}

// Reserve books the next slot for a call of method on key and returns when it
// may be sent (now or later). Methods without a budget go at once.
func (p *Pacer) Reserve(key, method string) time.Time {
	now := p.now()
	m, known := slackspec.Lookup(method)
	budget, limited := m.PerMinute()
	if !known || !limited || budget <= 0 {
		return now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lanes[key]
	if l == nil || l.budget != budget {
		fresh := &lane{budget: budget, sent: make([]time.Time, budget)}
		if l != nil {
			fresh.blocked = l.blocked // a Backoff before the first call
		}
		l = fresh
		p.lanes[key] = l
	}
	at := now
	if l.blocked.After(at) {
		at = l.blocked
	}
	if l.full {
		if free := l.sent[l.next].Add(p.window + p.margin); free.After(at) {
			at = free
		}
	}
	l.sent[l.next] = at
	l.next++
	if l.next == budget {
		l.next, l.full = 0, true
	}
	return at
}

// Wait reserves a slot and sleeps until it comes, returning how long it
// waited. A cancelled ctx ends the wait early with ctx's error (the slot is
// spent all the same, which only ever errs on the side of fewer calls).
func (p *Pacer) Wait(ctx context.Context, key, method string) (time.Duration, error) {
	at := p.Reserve(key, method)
	d := at.Sub(p.now())
	if d <= 0 {
		return 0, nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, nil
	case <-ctx.Done():
		return d, ctx.Err()
	}
}

// Backoff closes key until retryAfter has passed: Slack said 429.
func (p *Pacer) Backoff(key string, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lanes[key]
	if l == nil {
		l = &lane{}
		p.lanes[key] = l
	}
	if until := p.now().Add(retryAfter); until.After(l.blocked) {
		l.blocked = until
	}
}
