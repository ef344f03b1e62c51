package events

import (
	"context"
	"time"

	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/store"
)

// Kept events are queued for processing in batches, after their answer: a
// River job inserted with each event cost more than the rest of receiving
// it (on SQLite, River's insert statement is parsed afresh each time: half
// the receiver's CPU at 1,000 events a second), and the answer is what Slack
// times. An event kept but not yet queued when its process dies is found by
// the sweep (Serve), which queues the received events older than
// sweepAfter: none is left behind.

// Batches are processed one at a time, and a replica starts at most one
// job each queue.FetchCooldown: so that a backlog is worked in batches as
// large as the rate needs, not one small batch per fetch, a batch is
// queued batchEvery after its first event only if the one before was
// queued at least queue.FetchCooldown before (or when it is full).

const (
	batchMax   = 200                   // events a job processes
	batchEvery = 10 * time.Millisecond // the shortest an event waits to be queued
	sweepEvery = 10 * time.Second      // how often received events are looked for
	sweepAfter = 5 * time.Second       // how old a received event is when the sweep queues it
	pendingMax = 50_000                // events waiting to be queued here; past it the sweep queues them
)

// queued hands a kept event to the batcher; when it is full, the sweep
// queues the event instead.
func (s *Service) queued(e store.SlackEvent) {
	if s.jobs == nil {
		return
	}
	select {
	case s.pending <- eventRef{OrgID: e.OrgID, ID: e.ID}:
	default:
	}
}

// Serve queues kept events for processing, in batches, and sweeps for
// received events nobody queued, until ctx ends. The queue's owner (the
// hub) works the jobs.
func (s *Service) Serve(ctx context.Context) error {
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	var batch []eventRef
	var last time.Time // when the last batch was queued
	flush := func() {
		if len(batch) == 0 {
			return
		}
		last = time.Now()
		if err := s.jobs.Insert(context.WithoutCancel(ctx), processArgs{Events: batch}, processOpts); err != nil {
			s.log.Warn("events: queue a batch for processing; the sweep will", "events", len(batch), "err", err)
		}
		batch = nil
	}
	var tick <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-ctx.Done():
			flush()
			return nil
		case e := <-s.pending:
			batch = append(batch, e)
			if len(batch) >= batchMax {
				flush()
			} else if timer == nil {
				timer = time.NewTimer(batchEvery)
				tick = timer.C
			}
		case <-tick:
			if wait := queue.FetchCooldown - time.Since(last); wait > 0 {
				timer.Reset(wait)
				continue
			}
			timer, tick = nil, nil
			flush()
		case <-sweep.C:
			flush()
			s.sweep(ctx)
		}
	}
}

// sweep queues the events received more than sweepAfter ago and not
// processed: kept by a replica that died before it queued them, or past the
// batcher's bound. A batch queued twice processes each event once.
func (s *Service) sweep(ctx context.Context) {
	after := ""
	for {
		evs, err := s.store.ReceivedSlackEvents(ctx, s.now().Add(-sweepAfter), after, batchMax)
		if err != nil || len(evs) == 0 {
			if err != nil {
				s.log.Warn("events: sweep", "err", err)
			}
			return
		}
		refs := make([]eventRef, len(evs))
		for i, e := range evs {
			refs[i] = eventRef{OrgID: e.OrgID, ID: e.ID}
		}
		if err := s.jobs.Insert(ctx, processArgs{Events: refs}, processOpts); err != nil {
			s.log.Warn("events: sweep: queue", "err", err)
			return
		}
		s.log.Info("events: queued events nobody had queued", "events", len(refs))
		after = evs[len(evs)-1].ID
	}
}
