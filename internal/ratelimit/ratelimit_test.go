package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
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

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

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

func TestKeys(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("c", ratelimit.MaxChannel+1)
	for _, tc := range []struct{ workspace, method, channel, want string }{
		{"T1", "users.list", "C1", "T1/users.list"},
		{"T1", "chat.postMessage", "C1", "T1/chat.postMessage#C1"},
		{"T1", "chat.postMessage", "#general", "T1/chat.postMessage##general"},
		{"T1", "chat.postMessage", "", "T1/chat.postMessage"},
		{"T1", "chat.postMessage", long, "T1/chat.postMessage"},
	} {
		if got := ratelimit.Key(tc.workspace, tc.method, tc.channel); got != tc.want {
			t.Errorf("Key(%s, %s, %.10q) = %q, want %q", tc.workspace, tc.method, tc.channel, got, tc.want)
		}
	}
}

// TestIdleLanesAreDropped: a lane whose calls are done and whose window has
// passed goes at the next sweep; one with a call pending, or a window not
// yet passed, or a Backoff holding it, stays.
func TestIdleLanesAreDropped(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := ratelimit.New(ratelimit.Options{Window: time.Minute, Margin: time.Second, Now: clock.now})
	p.Reserve("T/users.list", "users.list").Done()
	pending := p.Reserve("T/conversations.list", "conversations.list")
	p.Backoff("T/users.info", 10*time.Minute)
	if n, _ := p.Lanes(); n != 3 {
		t.Fatalf("got %d lanes, want 3", n)
	}
	clock.advance(61 * time.Second)
	p.Reserve("T/team.info", "team.info").Done() // the sweep runs on a Reserve
	if n, _ := p.Lanes(); n != 3 {
		t.Errorf("after a window: got %d lanes, want 3 (users.list dropped; conversations.list pending, users.info held, team.info new)", n)
	}
	pending.Done()
	clock.advance(61 * time.Second)
	p.Reserve("T/team.info", "team.info").Done()
	if n, _ := p.Lanes(); n != 2 {
		t.Errorf("after the pending call is done and a window more: got %d lanes, want 2 (users.info, team.info)", n)
	}
	clock.advance(10 * time.Minute)
	p.Reserve("T/team.info", "team.info").Done()
	if n, _ := p.Lanes(); n != 1 {
		t.Errorf("after the Backoff and a window more: got %d lanes, want 1", n)
	}
	// A dropped lane was idle: the call after it goes at once.
	if at := p.Reserve("T/users.list", "users.list").At; !at.Equal(clock.now()) {
		t.Errorf("a call on a dropped lane waits %s", at.Sub(clock.now()))
	}
}

// TestCapDropsIdleLeastRecentlyUsedThenFallsBack: at the cap a new channel
// takes the place of the least recently used idle lane; when no lane is idle
// it spends the workspace's budget of the method.
func TestCapDropsIdleLeastRecentlyUsedThenFallsBack(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := ratelimit.New(ratelimit.Options{Window: time.Minute, Margin: time.Second, Now: clock.now, MaxChannelLanes: 3})
	key := func(c string) string { return ratelimit.Key("T", "chat.postMessage", c) }
	p.Reserve(key("C1"), "chat.postMessage").Done()
	clock.advance(30 * time.Second)
	p.Reserve(key("C2"), "chat.postMessage").Done()
	p.Reserve(key("C3"), "chat.postMessage").Done()
	clock.advance(31 * time.Second) // C1 is idle; C2 and C3 are not
	p.Reserve(key("C4"), "chat.postMessage").Done()
	if n, _ := p.Lanes(); n != 3 {
		t.Fatalf("got %d lanes, want 3", n)
	}
	// C1 went: its next call is free. C4 has its own lane: 60 calls go at once.
	for range 59 {
		p.Reserve(key("C4"), "chat.postMessage").Done()
	}
	if at := p.Reserve(key("C4"), "chat.postMessage").At; at.Equal(clock.now()) {
		t.Error("the 61st call in C4 goes at once: C4 has no lane of its own")
	}
	// Now no lane is idle: C5 falls back to the workspace's lane of the
	// method (which, at its first call, the cap does not keep out).
	for i := range 60 {
		if at := p.Reserve(key("C5"), "chat.postMessage").At; !at.Equal(clock.now()) {
			t.Fatalf("call %d in C5 waits %s", i+1, at.Sub(clock.now()))
		}
	}
	if n, _ := p.Lanes(); n != 4 {
		t.Errorf("got %d lanes, want 4: three channels and the workspace's", n)
	}
	if at := p.Reserve(key("C6"), "chat.postMessage").At; at.Equal(clock.now()) {
		t.Error("C6 goes at once: it should share the workspace's lane, which C5 has spent")
	}
	if at := p.Reserve("T/chat.postMessage", "chat.postMessage").At; at.Equal(clock.now()) {
		t.Error("the workspace's lane is not the one C5 and C6 spent")
	}
}

// TestManyChannelsStayBounded: calls to 40,000 channels leave no more lanes
// than the cap and little heap.
func TestManyChannelsStayBounded(t *testing.T) {
	const channels, maxLanes = 40_000, 1000
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	p := ratelimit.New(ratelimit.Options{Window: time.Minute, Now: clock.now, MaxChannelLanes: maxLanes})
	before := heap()
	for i := range channels {
		p.Reserve(ratelimit.Key("T1", "chat.postMessage", fmt.Sprintf("C%08d", i)), "chat.postMessage").Done()
		if i%100 == 0 {
			clock.advance(time.Second)
		}
	}
	if all, channels := p.Lanes(); channels > maxLanes || all > maxLanes+1 {
		t.Errorf("got %d lanes, %d of channels; want at most %d of channels and the workspace's", all, channels, maxLanes)
	}
	// A thousand lanes of one slot each are well under a MiB; 40,000 lanes
	// of a full ring were 128 MB.
	if grown := int64(heap()) - int64(before); grown > 4<<20 {
		t.Errorf("the heap grew by %d KiB, want under 4 MiB", grown>>10)
	}
	runtime.KeepAlive(p)
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestCloseEndsWaits(t *testing.T) {
	t.Parallel()
	p := ratelimit.New(ratelimit.Options{Window: time.Hour})
	ctx := context.Background()
	if _, _, err := p.Wait(ctx, "T/team.accessLogs", "team.accessLogs"); err != nil { // Tier 2: the first goes at once
		t.Fatal(err)
	}
	p.Backoff("T/team.accessLogs", time.Hour)
	got := make(chan error)
	go func() {
		_, _, err := p.Wait(ctx, "T/team.accessLogs", "team.accessLogs")
		got <- err
	}()
	for p.Waiting() == 0 { // bounded by the test's timeout
		runtime.Gosched()
	}
	p.Close()
	if err := <-got; !errors.Is(err, ratelimit.ErrClosed) {
		t.Errorf("a waiting call: got %v, want ErrClosed", err)
	}
	if _, _, err := p.Wait(ctx, "T/users.list", "users.list"); !errors.Is(err, ratelimit.ErrClosed) {
		t.Errorf("a call after Close: got %v, want ErrClosed", err)
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

// A SCIM limit is a bucket of its burst that refills at its rate
// (slackspec.Budget): the pacer lets the burst go at once, then a burst every
// time the rate takes to refill it, so that Slack's bucket is never empty.
func TestSCIMBurstsRefillAtTheirRate(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	window := 9 * time.Second // POST /Users: 180 a window, burst 20: 20 every second
	p := ratelimit.New(ratelimit.Options{Window: window, Margin: time.Millisecond, Now: clock.now})
	var slots []time.Time
	for range 200 {
		slots = append(slots, p.Reserve("E1/scim.users.create", "scim.users.create").At)
	}
	if slots[19] != slots[0] {
		t.Errorf("the burst of 20 should go at once; the 20th waits %s", slots[19].Sub(slots[0]))
	}
	for i := 20; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-20]); gap < time.Second {
			t.Fatalf("slots %d and %d are %s apart: 21 calls while the bucket refills 20", i-20, i, gap)
		}
	}
	// 200 calls at 180 a window after a burst of 20: 9 refills of a second.
	if last, floor := slots[len(slots)-1].Sub(slots[0]), 9*time.Second; last < floor || last > floor+9*time.Millisecond {
		t.Errorf("200 calls span %s, want %s plus the margins", last, floor)
	}
}
