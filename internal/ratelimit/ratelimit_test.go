package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/ratelimit"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func TestNeverMoreThanTheBudgetInAnyWindow(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	window := time.Second
	p := ratelimit.New(ratelimit.Options{Window: window, Margin: 10 * time.Millisecond, Now: clock.now})
	var slots []time.Time
	for range 300 {
		slots = append(slots, p.Reserve("T1/users.list", "users.list").At) // Tier 2: 20 a window
	}
	for i := 20; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-20]); gap < window {
			t.Fatalf("slots %d and %d are %s apart: 21 calls in one window", i-20, i, gap)
		}
	}
	// The least time Tier 2 allows for 300 calls is 14 windows; the margin costs 14 × 10ms.
	last := slots[len(slots)-1].Sub(slots[0])
	if floor := 14 * window; last < floor || last > floor+14*10*time.Millisecond {
		t.Errorf("300 calls span %s, want 14s plus the margins at most", last)
	}
	if slots[19] != slots[0] {
		t.Errorf("the first 20 calls should go at once; the 20th waits %s", slots[19].Sub(slots[0]))
	}
}

func TestBudgetsAreSeparate(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := ratelimit.New(ratelimit.Options{Window: time.Minute, Now: clock.now})
	start := clock.now()
	for range 20 {
		p.Reserve("T1/users.list", "users.list")
	}
	for _, tc := range []struct{ key, method string }{
		{"T2/users.list", "users.list"},                 // another workspace
		{"T1/conversations.list", "conversations.list"}, // another method
		{ratelimit.Key("T1", "chat.postMessage", "C1"), "chat.postMessage"},
		{"T1/oauth.v2.access", "oauth.v2.access"}, // no budget
		{"T1/not.a.method", "not.a.method"},
	} {
		if at := p.Reserve(tc.key, tc.method).At; at != start {
			t.Errorf("%s waits %s behind users.list", tc.key, at.Sub(start))
		}
	}
	if at := p.Reserve("T1/users.list", "users.list").At; at.Sub(start) < time.Minute {
		t.Errorf("the 21st users.list goes after %s, want a minute", at.Sub(start))
	}
	if ratelimit.Key("T1", "chat.postMessage", "C1") == ratelimit.Key("T1", "chat.postMessage", "C2") {
		t.Error("chat.postMessage budgets are not per channel")
	}
}

func TestBackoffClosesTheKey(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := ratelimit.New(ratelimit.Options{Window: time.Minute, Now: clock.now})
	p.Backoff("T1/users.list", 30*time.Second)
	if at := p.Reserve("T1/users.list", "users.list").At; at.Sub(clock.now()) != 30*time.Second {
		t.Errorf("after a 429 with Retry-After 30s the next call goes in %s", at.Sub(clock.now()))
	}
}

func TestWaitSleepsAndHonoursCancel(t *testing.T) {
	t.Parallel()
	p := ratelimit.New(ratelimit.Options{Window: 200 * time.Millisecond, Margin: time.Millisecond})
	ctx := context.Background()
	var first []*ratelimit.Ticket
	for range 20 {
		tk, d, err := p.Wait(ctx, "T/users.list", "users.list")
		if err != nil || d > 50*time.Millisecond {
			t.Fatalf("within the budget: waited %s (%v)", d, err)
		}
		first = append(first, tk)
	}
	// The 21st follows the 1st: it waits until the 1st is done and a window more.
	got := make(chan time.Duration)
	go func() {
		tk, d, _ := p.Wait(ctx, "T/users.list", "users.list")
		tk.Done()
		got <- d
	}()
	time.Sleep(300 * time.Millisecond) // the 1st call is slow: its answer takes 300ms
	for _, tk := range first {
		tk.Done()
	}
	if d := <-got; d < 500*time.Millisecond {
		t.Errorf("the 21st call waited %s; want the 1st's 300ms plus a 200ms window", d)
	}
	p.Backoff("T/users.list", time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := p.Wait(cctx, "T/users.list", "users.list"); err != context.Canceled {
		t.Errorf("a cancelled wait: %v", err)
	}
}
