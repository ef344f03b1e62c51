// Package redisbudget keeps the pacer's shared budgets in Redis, with the
// GCRA limiter of github.com/go-redis/redis_rate: the design measured
// against the PostgreSQL leases of package store (docs/ARCHITECTURE.md,
// "One budget for all replicas"). A lane is a GCRA key whose rate is the
// method's budget per span and whose burst is one: Slack counts calls in a
// sliding window, and a GCRA with a burst of b lets b-1 more calls than its
// rate into some window, so the only burst that never meets a 429 is one.
// Each call costs a round trip (two with the check for a 429's block).
package redisbudget

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Budget is a ratelimit.Shared in Redis.
type Budget struct {
	rdb    *redis.Client
	lim    *redis_rate.Limiter
	prefix string
}

// New connects to the Redis at url (redis://HOST:PORT/DB); prefix starts
// every key it writes.
func New(url, prefix string) (*Budget, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisbudget: %w", err)
	}
	rdb := redis.NewClient(o)
	return &Budget{rdb: rdb, lim: redis_rate.NewLimiter(rdb), prefix: prefix}, nil
}

// Ping checks that Redis answers.
func (b *Budget) Ping(ctx context.Context) error { return b.rdb.Ping(ctx).Err() }

// Close closes the connections.
func (b *Budget) Close() error { return b.rdb.Close() }

// LeasePacerSlots allows up to n calls now, if the lane is not blocked: a
// GCRA allows no call ahead of its time, so the horizon is not used.
func (b *Budget) LeasePacerSlots(ctx context.Context, key string, budget, n int, span, horizon time.Duration) ([]time.Duration, time.Duration, error) {
	blocked, err := b.rdb.PTTL(ctx, b.prefix+"block:"+key).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("redisbudget: %w", err)
	}
	if blocked > 0 {
		return nil, blocked, nil
	}
	// With a burst of one, a GCRA allows one call at a time, whatever n.
	// AllowN, not AllowAtMost: the latter compares a float that should be
	// exactly 1 with 1, and where rounding makes it 0.99999 it refuses,
	// with a Retry-After of nothing, for ever (met here).
	res, err := b.lim.AllowN(ctx, b.prefix+key, redis_rate.Limit{Rate: budget, Burst: 1, Period: span}, 1)
	if err != nil {
		return nil, 0, fmt.Errorf("redisbudget: %w", err)
	}
	if res.Allowed == 0 {
		return nil, max(res.RetryAfter, time.Millisecond), nil
	}
	return make([]time.Duration, res.Allowed), 0, nil
}

// BlockPacerLane allows no call of key for d, unless it is blocked longer.
func (b *Budget) BlockPacerLane(ctx context.Context, key string, d time.Duration) error {
	k := b.prefix + "block:" + key
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, k, 1, d)
		p.Do(ctx, "PEXPIRE", k, max(d.Milliseconds(), 1), "GT")
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisbudget: %w", err)
	}
	return nil
}
