package ratelimit

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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
	// MaxChannelLanes caps the lanes of per-channel keys the pacer keeps (see
	// the package doc); zero means DefaultMaxChannelLanes.
	MaxChannelLanes int

	// Shared, when set, is the budget every replica shares (the package
	// doc, "Shared budgets"); nil paces this process alone.
	Shared Shared
	// Hold is how late after its time a slot of the shared budget may still
	// be used; it also bounds how long a call may take to reach Slack once
	// Wait let it go. Zero means a fiftieth of the window, at least 50 ms.
	Hold time.Duration
	// Horizon is how far ahead a lease of the shared budget reaches: the
	// most a replica holds of a lane's future. Zero means a quarter of the
	// window.
	Horizon time.Duration
	// Replicas says how many replicas share the budget. While the shared
	// budget is unreachable, the pacer paces alone on each budget divided by
	// it; nil means 1.
	Replicas func() int
	// Log says when the shared budget becomes unreachable and answers
	// again; nil logs nothing.
	Log *slog.Logger
}

// DefaultMaxChannelLanes is the cap when Options.MaxChannelLanes is zero. A
// channel's lane holds at most 60 slots (chat.postMessage's budget), a few
// KiB when full.
const DefaultMaxChannelLanes = 10000

// ErrClosed is what Wait returns once the pacer is closed: the process is
// shutting down and the call should not be made.
var ErrClosed = errors.New("ratelimit: the pacer is closed")

// Pacer hands out the right to call Slack.
type Pacer struct {
	window time.Duration
	margin time.Duration
	now    func() time.Time

	maxFine   int
	waiting   atomic.Int64
	closed    chan struct{} // closed by Close
	closeOnce sync.Once

	mu    sync.Mutex
	lanes map[string]*lane
	fine  int        // lanes of per-channel keys
	lru   *list.List // of *lane, least recently reserved first
	swept time.Time  // when idle lanes were last dropped

	// divide, when set, divides every budget: a fallback pacer's share.
	divide func() int

	// With a shared budget (shared.go):
	shared   Shared
	hold     time.Duration
	horizon  time.Duration
	fallback *Pacer // paces alone while the shared budget is unreachable
	log      *slog.Logger
	sharedCounters

	smu         sync.Mutex
	slanes      map[string]*sharedLane
	sharedFine  int
	sharedSwept time.Time
	down        bool      // the shared budget failed and has not answered since
	downUntil   time.Time // pace alone until then
}

type lane struct {
	key     string
	fine    bool // a per-channel key's
	budget  int
	span    time.Duration // the budget is for any span this long: a window, or a SCIM limit's burst time
	slots   []*slot       // ring of the last budget calls, oldest at next; grows to budget
	next    int
	blocked time.Time // no call before this (after a 429)
	last    time.Time // the latest time any of its calls went or was done
	pending int       // tickets not yet done
	elem    *list.Element
}

// slot is one call's place in its lane.
type slot struct {
	at   time.Time     // when it may go
	done time.Time     // when its answer came; zero until then
	sig  chan struct{} // closed when done
	lane *lane
}

// Ticket is a reserved call. Call Done when Slack's answer has come (or the
// call was given up), so that the calls a window later can be timed from it.
type Ticket struct {
	At   time.Time // when the call may go
	p    *Pacer
	own  *slot
	prev *slot // the call a budget earlier, which this one must follow by a window
	once sync.Once

	key  string // with a shared budget: the lane, and the slot in it
	slot int64
}

// Done records that the call is over.
func (t *Ticket) Done() {
	if t == nil {
		return
	}
	if t.key != "" {
		t.once.Do(func() { t.p.reportDone(t.key, t.slot) })
		return
	}
	if t.own == nil {
		return
	}
	t.once.Do(func() {
		t.p.mu.Lock()
		t.own.done = t.p.now()
		l := t.own.lane
		l.pending--
		if t.own.done.After(l.last) {
			l.last = t.own.done
		}
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
	if o.MaxChannelLanes <= 0 {
		o.MaxChannelLanes = DefaultMaxChannelLanes
	}
	p := &Pacer{window: o.Window, margin: o.Margin, now: o.Now, maxFine: o.MaxChannelLanes,
		closed: make(chan struct{}), lanes: map[string]*lane{}, lru: list.New()}
	if o.Shared != nil {
		if o.Hold <= 0 {
			o.Hold = max(o.Window/50, 50*time.Millisecond)
		}
		if o.Horizon <= 0 {
			o.Horizon = o.Window / 4
		}
		if o.Replicas == nil {
			o.Replicas = func() int { return 1 }
		}
		if o.Log == nil {
			o.Log = slog.New(slog.DiscardHandler)
		}
		p.shared, p.hold, p.horizon, p.log = o.Shared, o.Hold, o.Horizon, o.Log
		p.slanes = map[string]*sharedLane{}
		p.fallback = New(Options{Window: o.Window, Margin: o.Margin, Now: o.Now, MaxChannelLanes: o.MaxChannelLanes})
		p.fallback.divide = o.Replicas
	}
	return p
}

// share is how many replicas a fallback pacer's budgets are divided among.
func (p *Pacer) share() int {
	if p.divide == nil {
		return 1
	}
	return max(p.divide(), 1)
}

// Close ends every wait, now and later, with ErrClosed, so that a shutting
// down process can answer its waiting callers instead of dropping them.
// Tickets already handed out stay valid.
func (p *Pacer) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
	if p.fallback != nil {
		p.fallback.Close()
	}
}

// Lanes is how many lanes the pacer holds now, all and those of channels
// (with a shared budget, the lanes this replica holds slots of, and those
// it paced alone).
func (p *Pacer) Lanes() (all, channels int) {
	p.mu.Lock()
	all, channels = len(p.lanes), p.fine
	p.mu.Unlock()
	if p.shared != nil {
		p.smu.Lock()
		all, channels = all+len(p.slanes), channels+p.sharedFine
		p.smu.Unlock()
		a, c := p.fallback.Lanes()
		all, channels = all+a, channels+c
	}
	return all, channels
}

// Waiting is how many calls are in Wait now.
func (p *Pacer) Waiting() int { return int(p.waiting.Load()) }

// Window is the rate window the pacer counts in.
func (p *Pacer) Window() time.Duration { return p.window }

// MaxChannel is the longest channel a per-channel key is made for: a
// channel ID is about a dozen characters and a name at most 80 with its
// "#". A longer one (no channel Slack has) spends the workspace's budget of
// the method instead, so that no caller can make keys of any size.
const MaxChannel = 96

// Key names the budget a call spends: the workspace (or the org for an
// org-level call), the method, and for per-channel methods the channel,
// after a "#". The part before the "#" is the coarser key that a
// per-channel call falls back to when the pacer is at its cap of lanes;
// workspace and method must not hold a "#" (IDs and method names do not).
func Key(workspace, method, channel string) string {
	coarse := workspace + "/" + method
	if m, ok := slackspec.Lookup(method); ok && m.PerChannel() && channel != "" && len(channel) <= MaxChannel {
		return coarse + "#" + channel
	}
	return coarse
}

// Reserve books the next place for a call of method on key. Its At is the
// earliest the call may go as far as is known now; Wait also waits for the
// call it follows to be done.
func (p *Pacer) Reserve(key, method string) *Ticket {
	now := p.now()
	budget, span, limited := p.budget(method)
	if !limited {
		return &Ticket{At: now, p: p}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(now)
	l := p.lane(key, now)
	if l.budget != budget || l.span != span { // new, or made by a Backoff, or the table changed
		l.budget, l.span, l.slots, l.next = budget, span, make([]*slot, 0, min(budget, 8)), 0
	}
	at := now
	if l.blocked.After(at) {
		at = l.blocked
	}
	var prev *slot
	if len(l.slots) == budget {
		prev = l.slots[l.next]
		if free := prev.time().Add(span + p.margin); free.After(at) {
			at = free
		}
	}
	own := &slot{at: at, sig: make(chan struct{}), lane: l}
	if len(l.slots) < budget {
		l.slots = append(l.slots, own)
	} else {
		l.slots[l.next] = own
		l.next = (l.next + 1) % budget
	}
	l.pending++
	if at.After(l.last) {
		l.last = at
	}
	return &Ticket{At: at, p: p, own: own, prev: prev}
}

// budget is how many calls of method go in any span of time this long (a
// window, or for a SCIM limit the time its burst takes to refill:
// slackspec.Budget), and whether Slack limits them at all; a fallback
// pacer's share of it.
func (p *Pacer) budget(method string) (int, time.Duration, bool) {
	budget, windows, limited := slackspec.Budget(method)
	if !limited || budget <= 0 {
		return 0, 0, false
	}
	if p.divide != nil {
		budget = max(budget/p.share(), 1)
	}
	return budget, time.Duration(float64(p.window) * windows), true
}

// lane finds key's lane, making it if need be, and marks it the most
// recently used. A new per-channel key at the cap first drops idle lanes,
// least recently used first; if that frees no place, it gets its coarser
// key's lane. A coarse key always gets its own lane: their number is
// bounded by the installs and Slack's methods, not by what callers send.
func (p *Pacer) lane(key string, now time.Time) *lane {
	if l := p.lanes[key]; l != nil {
		p.lru.MoveToBack(l.elem)
		return l
	}
	coarse, _, fine := strings.Cut(key, "#")
	if fine {
		for p.fine >= p.maxFine {
			front := p.lru.Front()
			if front == nil || !p.idle(front.Value.(*lane), now) {
				return p.lane(coarse, now)
			}
			p.drop(front.Value.(*lane))
		}
		p.fine++
	}
	l := &lane{key: key, fine: fine}
	l.elem = p.lru.PushBack(l)
	p.lanes[key] = l
	return l
}

// idle reports whether l constrains no call any more: none of its calls is
// pending, a window has passed since the last of them, and no Backoff holds
// it. A fresh lane would then give every call the same time, so dropping it
// changes nothing.
func (p *Pacer) idle(l *lane, now time.Time) bool {
	return l.pending == 0 && !now.Before(l.last.Add(max(l.span, p.window)+p.margin)) && !now.Before(l.blocked)
}

func (p *Pacer) drop(l *lane) {
	p.lru.Remove(l.elem)
	delete(p.lanes, l.key)
	if l.fine {
		p.fine--
	}
}

// sweep drops every idle lane, at most once a window, so that lanes of
// workspaces and channels no longer called go even below the cap.
func (p *Pacer) sweep(now time.Time) {
	if now.Sub(p.swept) < p.window {
		return
	}
	p.swept = now
	for e := p.lru.Front(); e != nil; {
		next := e.Next()
		if l := e.Value.(*lane); p.idle(l, now) {
			p.drop(l)
		}
		e = next
	}
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
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	start := p.now()
	select {
	case <-p.closed:
		return &Ticket{At: start, p: p}, 0, closedErr(ctx)
	default:
	}
	if p.shared != nil {
		budget, span, limited := p.budget(method)
		if !limited {
			return &Ticket{At: start, p: p}, 0, ctx.Err()
		}
		return p.waitShared(ctx, key, method, budget, span, start)
	}
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
		case <-p.closed:
			t.Done()
			return t, p.now().Sub(start), closedErr(ctx)
		}
		p.mu.Lock()
		after := t.prev.done.Add(t.prev.lane.span + p.margin)
		p.mu.Unlock()
		if err := sleepUntil(ctx, p, after); err != nil {
			t.Done()
			return t, p.now().Sub(start), err
		}
	}
	return t, p.now().Sub(start), nil
}

// sleepUntil sleeps until at, or until ctx ends (its error) or the pacer is
// closed (ErrClosed).
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
	case <-p.closed:
		return closedErr(ctx)
	}
}

// closedErr is the error of a wait the pacer's Close ended: ctx's own when
// it ended too, so that a caller that went away is told so.
func closedErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// Backoff closes key until retryAfter has passed: Slack said 429. (At the
// cap of lanes a per-channel key's coarser lane is closed instead, the one
// its calls then go through.)
func (p *Pacer) Backoff(key string, retryAfter time.Duration) {
	if p.shared != nil {
		p.backoffShared(key, retryAfter)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	l := p.lane(key, now)
	if until := now.Add(retryAfter); until.After(l.blocked) {
		l.blocked = until
	}
}
