package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The pacer's shared lanes (migration 00010): a lane's row holds the times
// of its last slots, at most a budget of them, ascending, in milliseconds of
// the database's clock. A lease locks the row, hands out the next slots and
// writes the ring back, in one transaction.

// LeasePacerSlots hands out up to n of lane key's next slots.
func (s *Store) LeasePacerSlots(ctx context.Context, key string, budget, n int, span, horizon time.Duration) (slots []time.Duration, next time.Duration, err error) {
	if budget <= 0 || n <= 0 || span <= 0 {
		return nil, 0, fmt.Errorf("store: lease pacer slots of %s: budget, n and span must be positive", key)
	}
	spanMs, horizonMs := ceilMillis(span), ceilMillis(horizon)
	err = s.queries.inTx(ctx, func(q *queries) error {
		slots, next = nil, 0
		now, ring, blocked, err := q.pacerLane(ctx, key)
		if err != nil {
			return err
		}
		// A slot older than a span constrains nothing: drop it.
		for len(ring) > 0 && ring[0]+spanMs <= now {
			ring = ring[1:]
		}
		base := max(now, blocked)
		for range n {
			at := base
			if len(ring) > 0 {
				at = max(at, ring[len(ring)-1]) // in order: the ring stays ascending
			}
			if len(ring) >= budget {
				at = max(at, ring[len(ring)-budget]+spanMs)
			}
			if at > now+horizonMs {
				if len(slots) == 0 {
					next = time.Duration(at-now-horizonMs) * time.Millisecond
				}
				break
			}
			ring = append(ring, at)
			slots = append(slots, time.Duration(at-now)*time.Millisecond)
		}
		if len(ring) > budget {
			ring = ring[len(ring)-budget:]
		}
		expires := blocked
		if len(ring) > 0 {
			expires = max(expires, ring[len(ring)-1]+spanMs)
		}
		b, err := json.Marshal(ring)
		if err != nil {
			return err
		}
		_, err = q.exec(ctx, `UPDATE pacer_lanes SET ring = ?, expires_at = ? WHERE key = ?`, string(b), expires, key)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: lease pacer slots of %s: %w", key, err)
	}
	return slots, next, nil
}

// pacerLane locks lane key's row, making it if need be, and returns the
// database's clock, the ring and the block.
func (q *queries) pacerLane(ctx context.Context, key string) (now int64, ring []int64, blocked int64, err error) {
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
