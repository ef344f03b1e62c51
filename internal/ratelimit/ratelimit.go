// Package ratelimit paces calls to Slack so that they stay under Slack's
// per-method budgets instead of running into 429s. One Pacer is shared by
// everything in a process that calls Slack (the proxy, the syncs), keyed by
// workspace and method (and channel, for chat.postMessage), with the budgets
// of internal/slackspec, the same table the sandbox enforces.
//
// Slack counts calls in one-minute windows, as they arrive. The pacer keeps,
// for each key, the last N calls it let go (N the method's budget per window)
// and lets the next one go no sooner than a window after the oldest of them
// was done: never more than N calls in any window, the strictest reading of
// Slack's limit. "Done" is when the caller had Slack's answer (Ticket.Done),
// which is never before Slack counted the call, so however the calls were
// delayed on their way, a client paced here sees no 429 for pacing reasons.
// Until a call is done, its reserved time stands in for it. Callers reserve
// under a lock and sleep outside it, so concurrent callers queue in order.
// After a 429 anyway (another app, another replica), Backoff closes the key
// until Retry-After has passed.
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
	// Margin is added to every wait for a window to pass, for clocks that
	// disagree a little. Zero means one thousandth of the window, at least
	// 2 ms.
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
	slots   []*slot // ring of the last budget calls, oldest at next
	next    int
	blocked time.Time // no call before this (after a 429)
}

// slot is one call's place in its lane.
type slot struct {
	at   time.Time     // when it may go
	done time.Time     // when its answer came; zero until then
	sig  chan struct{} // closed when done
}

// Ticket is a reserved call. Call Done when Slack's answer has come (or the
// call was given up), so that the calls a window later can be timed from it.
type Ticket struct {
	At   time.Time // when the call may go
	p    *Pacer
	own  *slot
	prev *slot // the call a budget earlier, which this one must follow by a window
	once sync.Once
}

// Done records that the call is over.
func (t *Ticket) Done() {
	if t == nil || t.own == nil {
		return
	}
	t.once.Do(func() {
		t.p.mu.Lock()
		t.own.done = t.p.now()
		t.p.mu.Unlock()
		close(t.own.sig)
	})
}

// New makes a Pacer.
func New(o Options) *Pacer {
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Margin <= 0 {
		o.Margin = max(o.Window/1000, 2*time.Millisecond)
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

// Reserve books the next place for a call of method on key. Its At is the
// earliest the call may go as far as is known now; Wait also waits for the
// call it follows to be done.
func (p *Pacer) Reserve(key, method string) *Ticket {
	now := p.now()
	m, known := slackspec.Lookup(method)
	budget, limited := m.PerMinute()
	if !known || !limited || budget <= 0 {
		return &Ticket{At: now, p: p}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lanes[key]
	if l == nil || l.budget != budget {
		fresh := &lane{budget: budget, slots: make([]*slot, budget)}
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
	prev := l.slots[l.next]
	if prev != nil {
		if free := prev.time().Add(p.window + p.margin); free.After(at) {
			at = free
		}
	}
	own := &slot{at: at, sig: make(chan struct{})}
	l.slots[l.next] = own
	l.next = (l.next + 1) % budget
	return &Ticket{At: at, p: p, own: own, prev: prev}
}

// time is the slot's time as it counts for the calls after it: when it was
// done, or until then when it was to go.
func (s *slot) time() time.Time {
	if !s.done.IsZero() {
		return s.done
	}
	return s.at
}

// Wait reserves a place and sleeps until the call may go: its reserved time,
// and a window after the call a budget earlier was done. It returns the
// ticket to mark Done and how long it waited. A cancelled ctx ends the wait
// with ctx's error; the ticket is then already done.
func (p *Pacer) Wait(ctx context.Context, key, method string) (*Ticket, time.Duration, error) {
	start := p.now()
	t := p.Reserve(key, method)
	if err := sleepUntil(ctx, p, t.At); err != nil {
		t.Done()
		return t, p.now().Sub(start), err
	}
	if t.prev != nil {
		// The call this one follows may have been slow: wait for its answer,
		// then for a window after it.
		select {
		case <-t.prev.sig:
		case <-ctx.Done():
			t.Done()
			return t, p.now().Sub(start), ctx.Err()
		}
		p.mu.Lock()
		after := t.prev.done.Add(p.window + p.margin)
		p.mu.Unlock()
		if err := sleepUntil(ctx, p, after); err != nil {
			t.Done()
			return t, p.now().Sub(start), err
		}
	}
	return t, p.now().Sub(start), nil
}

func sleepUntil(ctx context.Context, p *Pacer, at time.Time) error {
	d := at.Sub(p.now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
