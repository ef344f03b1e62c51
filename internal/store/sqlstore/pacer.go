package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// The pacer's shared lanes (migration 00010): a lane's row holds its recent
// calls as a JSON ring of [slot, done] pairs in milliseconds of the
// database's clock: when each call was let go, and when its answer came (0
// until a replica reports it). A lease locks the row, hands out the next
// slots and writes the ring back, in one transaction; so does a report.
//
// A call reaches Slack before its answer comes, so done bounds its arrival;
// a call not reported is bounded by its slot and lost. A new slot goes a
// window after the budget-th latest bound, so that no window at Slack ever
// holds more than the budget. Before the done times the ring held slot
// times only ([slot, ...]); such a ring reads as calls not reported.

// pacerCall is one call in a lane's ring.
type pacerCall struct {
	slot, done int64
}

func (c pacerCall) MarshalJSON() ([]byte, error) { return json.Marshal([2]int64{c.slot, c.done}) }

func (c *pacerCall) UnmarshalJSON(b []byte) error {
	var pair [2]int64
	if err := json.Unmarshal(b, &pair); err == nil {
		c.slot, c.done = pair[0], pair[1]
		return nil
	}
	c.done = 0
	return json.Unmarshal(b, &c.slot) // the ring before done times
}

// bound is the latest the call can have reached Slack.
func (c pacerCall) bound(lost int64) int64 {
	if c.done != 0 {
		return c.done
	}
	return c.slot + lost
}

// LeasePacerSlots hands out up to n of lane key's next slots.
func (s *Store) LeasePacerSlots(ctx context.Context, key string, budget, n int, window, lost, horizon time.Duration) (slots []int64, now int64, next time.Duration, err error) {
	if budget <= 0 || n <= 0 || window <= 0 || lost <= 0 {
		return nil, 0, 0, fmt.Errorf("store: lease pacer slots of %s: budget, n, window and lost must be positive", key)
	}
	windowMs, lostMs, horizonMs := ceilMillis(window), ceilMillis(lost), ceilMillis(horizon)
	err = s.queries.inTx(ctx, func(q *queries) error {
		slots, next = nil, 0
		var ring []pacerCall
		var blocked int64
		now, ring, blocked, err = q.pacerLane(ctx, key)
		if err != nil {
			return err
		}
		ring = slices.DeleteFunc(ring, func(c pacerCall) bool { return c.bound(lostMs)+windowMs <= now })
		bounds := make([]int64, 0, len(ring)+n)
		for range n {
			at, waits := max(now, blocked), false
			if len(ring) >= budget {
				// The budget-th latest bound: the calls after it are fewer
				// than the budget, and it must be a window behind.
				bounds = bounds[:0]
				for _, c := range ring {
					bounds = append(bounds, c.bound(lostMs))
				}
				slices.Sort(bounds)
				b := bounds[len(bounds)-budget]
				if b+windowMs > at {
					at = b + windowMs
					// Waiting on a call not reported and not yet lost: its
					// report will likely bring the slot forward.
					i := slices.IndexFunc(ring, func(c pacerCall) bool { return c.bound(lostMs) == b && c.done == 0 })
					waits = i >= 0 && ring[i].slot+lostMs > now
				}
			}
			if at > now+horizonMs {
				if len(slots) == 0 && !waits {
					next = time.Duration(at-now-horizonMs) * time.Millisecond
				}
				break
			}
			ring = append(ring, pacerCall{slot: at})
			slots = append(slots, at)
		}
		return q.putPacerLane(ctx, key, ring, blocked, windowMs, lostMs)
	})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("store: lease pacer slots of %s: %w", key, err)
	}
	return slots, now, next, nil
}

// DonePacerSlots records when the answers of leased slots came, or that
// their calls were not made.
func (s *Store) DonePacerSlots(ctx context.Context, done []store.PacerDone) error {
	if len(done) == 0 {
		return nil
	}
	byKey := map[string][]store.PacerDone{}
	for _, d := range done {
		byKey[d.Key] = append(byKey[d.Key], d)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys) // rows locked in one order: two reports never deadlock
	err := s.queries.inTx(ctx, func(q *queries) error {
		for _, key := range keys {
			now, ring, _, err := q.pacerLane(ctx, key)
			if err != nil {
				return err
			}
			for _, d := range byKey[key] {
				i := slices.IndexFunc(ring, func(c pacerCall) bool { return c.slot == d.Slot && c.done == 0 })
				switch {
				case i < 0: // gone already: it constrains nothing
				case d.Unused:
					ring = slices.Delete(ring, i, i+1)
				default:
					// The database's clock now, less how long ago the answer
					// came as the replica counted it before asking: never
					// earlier than the answer, so still a bound.
					ring[i].done = max(now-d.Ago.Milliseconds(), ring[i].slot)
				}
			}
			// The lane's expiry stays: a bound brought forward only ends
			// the lane's constraint sooner, and the next lease writes it.
			b, err := json.Marshal(ring)
			if err != nil {
				return err
			}
			if _, err := q.exec(ctx, `UPDATE pacer_lanes SET ring = ? WHERE key = ?`, string(b), key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: report pacer slots: %w", err)
	}
	return nil
}

// pacerLane locks lane key's row, making it if need be, and returns the
// database's clock, the ring and the block.
func (q *queries) pacerLane(ctx context.Context, key string) (now int64, ring []pacerCall, blocked int64, err error) {
	for range 2 {
		var raw string
		err = q.queryRow(ctx, `SELECT ring, blocked_until FROM pacer_lanes WHERE key = ?`+q.d.ForUpdate, key).Scan(&raw, &blocked)
		if err == nil {
			// The clock is read once the row is locked, not in the locking
			// statement: PostgreSQL may compute its columns before waiting
			// for the lock, and a lease timed by a clock read before another
			// replica's lease hands out slots that overlap it.
			if err := q.queryRow(ctx, `SELECT `+q.d.NowMillis).Scan(&now); err != nil {
				return 0, nil, 0, q.mapErr(err)
			}
			if err := json.Unmarshal([]byte(raw), &ring); err != nil {
				return 0, nil, 0, fmt.Errorf("the ring %.40q: %w", raw, err)
			}
			return now, ring, blocked, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, nil, 0, q.mapErr(err)
		}
		// A new lane. Another replica may make it at the same moment: then
		// nothing is inserted here, and the row is read (and locked) again.
		if _, err := q.exec(ctx, `INSERT INTO pacer_lanes (key, ring, blocked_until, expires_at) VALUES (?, '[]', 0, 0)
			ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return 0, nil, 0, err
		}
	}
	return 0, nil, 0, errors.New("the lane's row vanished as it was made")
}

// putPacerLane writes lane key's ring back, with when the lane stops
// constraining any slot.
func (q *queries) putPacerLane(ctx context.Context, key string, ring []pacerCall, blocked, windowMs, lostMs int64) error {
	expires := blocked
	for _, c := range ring {
		expires = max(expires, c.bound(lostMs)+windowMs)
	}
	b, err := json.Marshal(ring)
	if err != nil {
		return err
	}
	_, err = q.exec(ctx, `UPDATE pacer_lanes SET ring = ?, expires_at = ? WHERE key = ?`, string(b), expires, key)
	return err
}

// BlockPacerLane hands out no slot of key for d from now.
func (s *Store) BlockPacerLane(ctx context.Context, key string, d time.Duration) error {
	// CASE rather than GREATEST (PostgreSQL) or MAX (SQLite): both dialects
	// have it.
	_, err := s.exec(ctx, `INSERT INTO pacer_lanes (key, ring, blocked_until, expires_at) VALUES (?, '[]', `+s.d.NowMillis+` + ?, `+s.d.NowMillis+` + ?)
		ON CONFLICT (key) DO UPDATE SET
			blocked_until = CASE WHEN excluded.blocked_until > pacer_lanes.blocked_until THEN excluded.blocked_until ELSE pacer_lanes.blocked_until END,
			expires_at = CASE WHEN excluded.expires_at > pacer_lanes.expires_at THEN excluded.expires_at ELSE pacer_lanes.expires_at END`,
		key, ceilMillis(d), ceilMillis(d))
	if err != nil {
		return fmt.Errorf("store: block pacer lane %s: %w", key, err)
	}
	return nil
}

// DeleteIdlePacerLanes removes the lanes that constrain nothing any more.
func (s *Store) DeleteIdlePacerLanes(ctx context.Context) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM pacer_lanes WHERE expires_at < `+s.d.NowMillis)
	if err != nil {
		return 0, fmt.Errorf("store: delete idle pacer lanes: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ceilMillis is d in whole milliseconds, rounded up: a wait rounded down
// could let a slot go early.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
