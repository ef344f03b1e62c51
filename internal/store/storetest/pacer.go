package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// The pacer's lanes are timed by the database's clock. Each test below uses
// lanes of its own and windows of an hour, so that the few milliseconds
// between two statements never decide an assertion.

// waits turns leased slots into waits from the lease.
func waits(slots []int64, now int64) []time.Duration {
	var w []time.Duration
	for _, s := range slots {
		w = append(w, time.Duration(s-now)*time.Millisecond)
	}
	return w
}

func aboutAnHour(d time.Duration) bool { return d >= 59*time.Minute && d <= 61*time.Minute }

func testPacerLease(t *testing.T, e *env) {
	key := "A1/" + store.NewID("T") + "/users.list"
	const budget = 3
	lease := func(n int, horizon time.Duration) ([]time.Duration, []int64, time.Duration) {
		t.Helper()
		slots, now, next, err := e.s.LeasePacerSlots(ctx, key, budget, n, time.Hour, time.Hour, horizon)
		must(t, err)
		if len(slots) > 0 && next != 0 {
			t.Errorf("slots were handed out, yet next is %s", next)
		}
		return waits(slots, now), slots, next
	}
	w, first, _ := lease(5, 0)
	if len(w) != budget {
		t.Fatalf("a fresh lane: got %d slots, want the budget, %d", len(w), budget)
	}
	for i, d := range w {
		if d != 0 {
			t.Errorf("slot %d of a fresh lane waits %s", i, d)
		}
	}
	// Its calls are not reported: the next slot waits on them, and the
	// caller is to ask again soon.
	if w, _, next := lease(1, 0); len(w) != 0 || next != 0 {
		t.Errorf("a lane of unreported calls: got %v, next %s; want none, and next zero (ask again)", w, next)
	}
	var done []store.PacerDone
	for _, s := range first {
		done = append(done, store.PacerDone{Key: key, Slot: s})
	}
	must(t, e.s.DonePacerSlots(ctx, done))
	must(t, e.s.DonePacerSlots(ctx, done)) // again: already done, nothing changes
	if w, _, next := lease(1, 0); len(w) != 0 || !aboutAnHour(next) {
		t.Errorf("a spent lane: got %v, next %s; want none, and the next in about an hour", w, next)
	}
	// With a horizon, later slots are handed out too, a window after the
	// answer a budget before each.
	w, later, _ := lease(5, 90*time.Minute)
	if len(w) != budget {
		t.Fatalf("within 90 minutes: got %d slots, want %d", len(w), budget)
	}
	for i, d := range w {
		if !aboutAnHour(d) {
			t.Errorf("slot %d goes in %s, want about an hour", i, d)
		}
	}
	// A slot whose call was not made counts no more: it is handed out
	// again, and only it.
	must(t, e.s.DonePacerSlots(ctx, []store.PacerDone{{Key: key, Slot: later[0], Unused: true}}))
	if w, _, _ := lease(5, 90*time.Minute); len(w) != 1 || !aboutAnHour(w[0]) {
		t.Errorf("after one slot went unused: got %v, want it again, in about an hour", w)
	}
	// Another lane is another budget.
	if slots, now, _, err := e.s.LeasePacerSlots(ctx, key+"#C1", budget, 1, time.Hour, time.Hour, 0); err != nil || len(slots) != 1 || slots[0] != now {
		t.Errorf("another lane: got %v (now %d), %v; want one slot at once", slots, now, err)
	}
}

// testPacerLostCalls: a call never reported (its replica died) counts as
// having reached Slack lost after its slot.
func testPacerLostCalls(t *testing.T, e *env) {
	key := "A1/" + store.NewID("T") + "/users.list"
	slots, _, _, err := e.s.LeasePacerSlots(ctx, key, 2, 2, time.Hour, time.Millisecond, 0)
	must(t, err)
	if len(slots) != 2 {
		t.Fatalf("a fresh lane: got %d slots, want 2", len(slots))
	}
	time.Sleep(5 * time.Millisecond) // past lost, by the database's clock too
	slots, now, next, err := e.s.LeasePacerSlots(ctx, key, 2, 1, time.Hour, time.Millisecond, 0)
	must(t, err)
	if len(slots) != 0 || !aboutAnHour(next) {
		t.Errorf("after lost calls: got %v, next %s; want none, and the next a window after they were lost", waits(slots, now), next)
	}
}

func testPacerBlock(t *testing.T, e *env) {
	key := "A1/" + store.NewID("T") + "/users.list"
	must(t, e.s.BlockPacerLane(ctx, key, time.Hour))
	must(t, e.s.BlockPacerLane(ctx, key, time.Minute)) // a shorter block leaves the longer
	slots, now, next, err := e.s.LeasePacerSlots(ctx, key, 20, 1, time.Minute, time.Minute, 0)
	must(t, err)
	if len(slots) != 0 || !aboutAnHour(next) {
		t.Errorf("a blocked lane: got %v, next %s; want none for an hour", waits(slots, now), next)
	}
	slots, now, _, err = e.s.LeasePacerSlots(ctx, key, 20, 2, time.Minute, time.Minute, 2*time.Hour)
	must(t, err)
	if w := waits(slots, now); len(w) != 2 || !aboutAnHour(w[0]) {
		t.Errorf("a blocked lane, leased two hours ahead: got %v, want two slots in about an hour", w)
	}
}

// testPacerLeasesNeverOverspend: replicas leasing one lane at once never
// get more than its budget of slots in a window between them.
func testPacerLeasesNeverOverspend(t *testing.T, b Backend) {
	s, reopen := b.New(t, Keys(t, 1))
	replicas := []store.Store{s, reopen(Keys(t, 1)), reopen(Keys(t, 1))}
	key := "A1/T1/conversations.list"
	const budget = 20
	var (
		mu    sync.Mutex
		total int
		wg    sync.WaitGroup
	)
	for i := range 12 {
		r := replicas[i%len(replicas)]
		wg.Go(func() {
			slots, _, _, err := r.LeasePacerSlots(ctx, key, budget, 3, time.Hour, time.Hour, 0)
			if err != nil {
				t.Errorf("lease: %v", err)
				return
			}
			mu.Lock()
			total += len(slots)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != budget {
		t.Errorf("12 leases of 3 at once got %d slots, want the budget, %d", total, budget)
	}
}

func testPacerIdleLanes(t *testing.T, e *env) {
	kept := "A1/" + store.NewID("T") + "/users.list"
	_, _, _, err := e.s.LeasePacerSlots(ctx, kept, 1, 1, time.Hour, time.Hour, 0)
	must(t, err)
	gone := "A1/" + store.NewID("T") + "/users.list"
	_, _, _, err = e.s.LeasePacerSlots(ctx, gone, 1, 1, time.Millisecond, time.Millisecond, 0)
	must(t, err)
	// The database's clock passes the milliseconds between deletes.
	deleted := 0
	for i := 0; deleted == 0 && i < 1000; i++ {
		n, err := e.s.DeleteIdlePacerLanes(ctx)
		must(t, err)
		deleted += n
	}
	if deleted == 0 {
		t.Fatal("a lane idle for a thousand statements was never deleted")
	}
	slots, _, _, err := e.s.LeasePacerSlots(ctx, kept, 1, 1, time.Hour, time.Hour, 0)
	must(t, err)
	if len(slots) != 0 {
		t.Error("a lane still spent was deleted: its budget came back early")
	}
}
