package ratelimit

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// Shared is a budget every replica sees: the store on PostgreSQL
// (store.Store has these methods), or another backend. See the package doc,
// "Shared budgets".
type Shared interface {
	// LeasePacerSlots hands out up to n of the next slots of lane key, none
	// later than horizon from now, each a window after the budget-th latest
	// arrival at Slack before it: an arrival bounded by its call's answer,
	// or until that is reported by its slot and lost. It returns the slots
	// and its clock, both in milliseconds; when none is free within the
	// horizon, how long until the next one is (zero: ask again soon, it
	// waits on a call not yet reported).
	LeasePacerSlots(ctx context.Context, key string, budget, n int, window, lost, horizon time.Duration) (slots []int64, now int64, next time.Duration, err error)
	// DonePacerSlots reports when the answers of leased slots came, or that
	// their calls were not made.
	DonePacerSlots(ctx context.Context, done []store.PacerDone) error
	// BlockPacerLane hands out no slot of key for d from now.
	BlockPacerLane(ctx context.Context, key string, d time.Duration) error
}

// idleDeleter is a Shared that can drop the lanes that constrain nothing.
type idleDeleter interface {
	DeleteIdlePacerLanes(ctx context.Context) (int, error)
}

// Stats count what a pacer did with a shared budget since it was made.
type Stats struct {
	Leases     int64 // leases asked of the shared budget (round trips)
	Reports    int64 // reports of answers told to the shared budget (round trips)
	Blocks     int64 // Backoffs told to the shared budget (round trips)
	Leased     int64 // slots it handed this pacer
	Unused     int64 // leased slots not used: their call was given up, or came too late for the slot
	Failures   int64 // leases, reports and blocks that failed (the shared budget was unreachable)
	Fallbacks  int64 // calls paced alone, on a share of the budget, while the shared budget was unreachable
	SharedDown bool  // pacing alone now
}

// sharedLane is what one replica holds of a lane of the shared budget.
type sharedLane struct {
	key     string
	fine    bool
	budget  int
	span    time.Duration // the budget holds for any span this long
	slots   []sharedSlot  // leased and not yet taken, ascending
	want    int           // callers waiting for a slot
	leasing bool
	retryAt time.Time     // no slot within the horizon before this, said the shared budget
	blocked time.Time     // a Backoff here
	last    time.Time     // the latest it was used
	wake    chan struct{} // closed, and replaced, when the lane changes
}

// sharedSlot is a slot leased of the shared budget.
type sharedSlot struct {
	at   time.Time // when it may be used, on the local clock
	name int64     // what the shared budget calls it
}

func (l *sharedLane) changed() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// leaseTimeout bounds a round trip to the shared budget: past it the
// budget counts as unreachable.
const leaseTimeout = 2 * time.Second

// retryShared is how long a pacer paces alone after the shared budget
// failed before it asks it again.
const retryShared = 5 * time.Second

// waitShared is Wait with a shared budget.
func (p *Pacer) waitShared(ctx context.Context, key, method string, budget int, span time.Duration, start time.Time) (*Ticket, time.Duration, error) {
	p.smu.Lock()
	l := p.sharedLane(key, budget, span, start)
	l.want++
	for {
		now := p.now()
		if now.Before(p.downUntil) {
			l.want--
			p.smu.Unlock()
			p.fallbacks.Add(1)
			t, _, err := p.fallback.Wait(ctx, key, method)
			return t, p.now().Sub(start), err
		}
		// Slots too late to use, or inside a block, are given back.
		for len(l.slots) > 0 && (now.After(l.slots[0].at.Add(p.hold)) || l.slots[0].at.Before(l.blocked)) {
			p.giveBack(l.key, l.slots[0])
			l.slots = l.slots[1:]
		}
		if len(l.slots) > 0 {
			s := l.slots[0]
			l.slots = l.slots[1:]
			l.want--
			if s.at.After(l.last) {
				l.last = s.at
			}
			p.smu.Unlock()
			if err := sleepUntil(ctx, p, s.at); err != nil {
				p.giveBack(l.key, s)
				return &Ticket{At: s.at, p: p}, p.now().Sub(start), err
			}
			if late := p.now(); late.After(s.at.Add(p.hold)) {
				// Woken too late for the slot (a loaded machine): a call
				// now could reach Slack later than its slot lets the lane
				// count on before its answer is reported. Give it back
				// and take another.
				p.giveBack(l.key, s)
				p.smu.Lock()
				l.want++
				continue
			}
			return &Ticket{At: s.at, p: p, key: l.key, slot: s.name}, p.now().Sub(start), nil
		}
		if !l.leasing && !now.Before(l.retryAt) && !now.Before(l.blocked) {
			l.leasing = true
			n := min(l.want, l.budget)
			p.smu.Unlock()
			slots, dbNow, next, err := p.lease(l.key, l.budget, n, l.span)
			got := p.now()
			p.smu.Lock()
			l.leasing = false
			if err != nil {
				p.goDown(err, got)
			} else {
				if p.down {
					p.down = false
					p.log.Info("pacer: the shared budget answers again")
				}
				// The shared budget read its clock before it answered: a
				// slot placed as far from the answer as from that clock
				// is never early.
				for _, s := range slots {
					l.slots = append(l.slots, sharedSlot{at: got.Add(time.Duration(s-dbNow) * time.Millisecond), name: s})
				}
				if len(slots) == 0 {
					if next <= 0 { // waiting on a call not yet reported
						next = p.hold
					}
					l.retryAt = got.Add(next)
				}
			}
			l.changed()
			continue
		}
		wake := l.wake
		var until time.Time
		if !l.leasing {
			until = l.retryAt
			if l.blocked.After(until) {
				until = l.blocked
			}
		}
		p.smu.Unlock()
		err := p.sleepOrWake(ctx, until, wake)
		p.smu.Lock()
		if err != nil {
			l.want--
			p.smu.Unlock()
			return &Ticket{At: start, p: p}, p.now().Sub(start), err
		}
	}
}

// sleepOrWake waits for wake, or until at (if not zero), or for ctx or the
// pacer to end.
func (p *Pacer) sleepOrWake(ctx context.Context, at time.Time, wake <-chan struct{}) error {
	var timeout <-chan time.Time
	if !at.IsZero() {
		d := at.Sub(p.now())
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-wake:
	case <-timeout:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closed:
		return closedErr(ctx)
	}
	return nil
}

// lease asks the shared budget for n slots of key. A call counts in the
// lane from when its answer came, or until that is reported, from its slot
// and twice the hold: made as late as its slot allows, and delayed on its
// way to Slack as long again. A window between calls is the lane's span (a
// window, or a SCIM limit's burst time) and the margin, as for a pacer
// alone.
func (p *Pacer) lease(key string, budget, n int, span time.Duration) ([]int64, int64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
	defer cancel()
	p.leases.Add(1)
	slots, now, next, err := p.shared.LeasePacerSlots(ctx, key, budget, n, span+p.margin, 2*p.hold, p.horizon)
	if err != nil {
		p.failures.Add(1)
		return nil, 0, 0, err
	}
	p.leased.Add(int64(len(slots)))
	return slots, now, next, nil
}

// reporter sends what became of leased slots to the shared budget, in
// batches, one round trip at a time.
type reporter struct {
	mu      sync.Mutex
	pending []slotReport
	busy    bool
}

type slotReport struct {
	key    string
	slot   int64
	at     time.Time // when the answer came
	unused bool
}

// reportDone tells the shared budget, soon, that slot's answer came now:
// the calls a window later can then be timed from it instead of from the
// latest it could have reached Slack.
func (p *Pacer) reportDone(key string, slot int64) {
	p.report(slotReport{key: key, slot: slot, at: p.now()})
}

// giveBack tells the shared budget, soon, that slot s of key was not used.
func (p *Pacer) giveBack(key string, s sharedSlot) {
	p.unused.Add(1)
	p.report(slotReport{key: key, slot: s.name, unused: true})
}

func (p *Pacer) report(r slotReport) {
	p.reports.mu.Lock()
	p.reports.pending = append(p.reports.pending, r)
	busy := p.reports.busy
	p.reports.busy = true
	p.reports.mu.Unlock()
	if !busy {
		go p.flushReports()
	}
}

// flushReports sends the pending reports until none is left. A report that
// fails is dropped: its call then counts until it is lost, which is safe.
func (p *Pacer) flushReports() {
	for {
		p.reports.mu.Lock()
		batch := p.reports.pending
		p.reports.pending = nil
		if len(batch) == 0 {
			p.reports.busy = false
			p.reports.mu.Unlock()
			return
		}
		p.reports.mu.Unlock()
		now := p.now()
		done := make([]store.PacerDone, len(batch))
		for i, r := range batch {
			done[i] = store.PacerDone{Key: r.key, Slot: r.slot, Unused: r.unused}
			if !r.unused {
				done[i].Ago = max(now.Sub(r.at), 0)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
		p.reported.Add(1)
		if err := p.shared.DonePacerSlots(ctx, done); err != nil {
			p.failures.Add(1)
			p.log.Debug("pacer: could not report answers to the shared budget", "reports", len(done), "err", err)
		}
		cancel()
	}
}

// goDown makes the pacer pace alone for a while, on its share of each
// budget, and says so once. The caller holds smu.
func (p *Pacer) goDown(err error, now time.Time) {
	if !p.down {
		p.log.Warn("pacer: the shared budget is unreachable: pacing alone on a share of each budget until it answers again",
			"err", err, "replicas", p.fallback.share())
	}
	p.down = true
	p.downUntil = now.Add(retryShared)
}

// sharedLane finds key's lane, making it if need be. Idle lanes go, at most
// once a window; at the cap of channels' lanes a channel's call takes its
// coarser key's lane. The caller holds smu.
func (p *Pacer) sharedLane(key string, budget int, span time.Duration, now time.Time) *sharedLane {
	if now.Sub(p.sharedSwept) >= p.window {
		p.sharedSwept = now
		for k, l := range p.slanes {
			if l.want == 0 && !l.leasing && len(l.slots) == 0 && now.After(l.last.Add(p.window)) && now.After(l.blocked) && now.After(l.retryAt) {
				delete(p.slanes, k)
				if l.fine {
					p.sharedFine--
				}
			}
		}
		if d, ok := p.shared.(idleDeleter); ok {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
				defer cancel()
				d.DeleteIdlePacerLanes(ctx)
			}()
		}
	}
	if l := p.slanes[key]; l != nil {
		l.budget, l.span = budget, span
		return l
	}
	coarse, _, fine := strings.Cut(key, "#")
	if fine && p.sharedFine >= p.maxFine {
		return p.sharedLane(coarse, budget, span, now)
	}
	if fine {
		p.sharedFine++
	}
	l := &sharedLane{key: key, fine: fine, budget: budget, span: span, wake: make(chan struct{}), last: now}
	p.slanes[key] = l
	return l
}

// backoffShared closes key here at once, and for every replica as soon as
// the shared budget hears of it.
func (p *Pacer) backoffShared(key string, retryAfter time.Duration) {
	p.fallback.Backoff(key, retryAfter)
	p.smu.Lock()
	now := p.now()
	l := p.slanes[key]
	if l == nil {
		coarse, _, _ := strings.Cut(key, "#")
		l = p.slanes[coarse]
	}
	if l != nil {
		if until := now.Add(retryAfter); until.After(l.blocked) {
			l.blocked = until
			l.changed()
		}
	}
	p.smu.Unlock()
	p.blocks.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), leaseTimeout)
		defer cancel()
		if err := p.shared.BlockPacerLane(ctx, key, retryAfter); err != nil {
			p.failures.Add(1)
			p.log.Debug("pacer: could not tell the shared budget of a 429", "key", key, "err", err)
		}
	}()
}

// Stats says what the pacer did with its shared budget; all zero without
// one.
func (p *Pacer) Stats() Stats {
	p.smu.Lock()
	down := p.down && p.now().Before(p.downUntil)
	p.smu.Unlock()
	return Stats{Leases: p.leases.Load(), Reports: p.reported.Load(), Blocks: p.blocks.Load(), Leased: p.leased.Load(), Unused: p.unused.Load(),
		Failures: p.failures.Load(), Fallbacks: p.fallbacks.Load(), SharedDown: down}
}

// sharedCounters are the counters behind Stats.
type sharedCounters struct {
	leases, reported, blocks, leased, unused, failures, fallbacks atomic.Int64
	reports                                                       reporter
}
