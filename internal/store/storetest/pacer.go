package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// The pacer's lanes are timed by the database's clock. Each test below uses
// lanes of its own and spans of an hour, so that the few milliseconds
// between two statements never decide an assertion.

func testPacerLease(t *testing.T, e *env) {
	key := "A1/" + store.NewID("T") + "/users.list"
	const budget = 3
	slots, next, err := e.s.LeasePacerSlots(ctx, key, budget, 5, time.Hour, 0)
	must(t, err)
	if len(slots) != budget {
		t.Fatalf("a fresh lane: got %d slots, want the budget, %d", len(slots), budget)
	}
	for i, s := range slots {
		if s != 0 {
			t.Errorf("slot %d of a fresh lane waits %s", i, s)
		}
	}
	if next != 0 {
		t.Errorf("slots were handed out, yet next is %s", next)
	}
	slots, next, err = e.s.LeasePacerSlots(ctx, key, budget, 1, time.Hour, 0)
	must(t, err)
	if len(slots) != 0 || next < 59*time.Minute || next > time.Hour {
		t.Errorf("a spent lane: got %v, next %s; want none, and the next in about an hour", slots, next)
	}
	// With a horizon, later slots are handed out too, a span after the
	// slot a budget before each.
	slots, next, err = e.s.LeasePacerSlots(ctx, key, budget, 5, time.Hour, 90*time.Minute)
	must(t, err)
	if len(slots) != budget {
		t.Fatalf("within 90 minutes: got %d slots, want %d", len(slots), budget)
	}
	for i, s := range slots {
		if s < 59*time.Minute || s > time.Hour {
			t.Errorf("slot %d goes in %s, want about an hour", i, s)
		}
	}
	if next != 0 {
		t.Errorf("next is %s, want 0 after slots were handed out", next)
	}
	// Another lane is another budget.
	slots, _, err = e.s.LeasePacerSlots(ctx, key+"#C1", budget, 1, time.Hour, 0)
	must(t, err)
	if len(slots) != 1 || slots[0] != 0 {
		t.Errorf("another lane: got %v, want one slot at once", slots)
	}
}

func testPacerBlock(t *testing.T, e *env) {
	key := "A1/" + store.NewID("T") + "/users.list"
	must(t, e.s.BlockPacerLane(ctx, key, time.Hour))
	must(t, e.s.BlockPacerLane(ctx, key, time.Minute)) // a shorter block leaves the longer
	slots, next, err := e.s.LeasePacerSlots(ctx, key, 20, 1, time.Minute, 0)
	must(t, err)
	if len(slots) != 0 || next < 59*time.Minute || next > time.Hour {
		t.Errorf("a blocked lane: got %v, next %s; want none for an hour", slots, next)
	}
	slots, _, err = e.s.LeasePacerSlots(ctx, key, 20, 2, time.Minute, 2*time.Hour)
	must(t, err)
	if len(slots) != 2 || slots[0] < 59*time.Minute || slots[0] > time.Hour {
		t.Errorf("a blocked lane, leased two hours ahead: got %v, want two slots in about an hour", slots)
	}
}

// testPacerLeasesNeverOverspend: replicas leasing one lane at once never
// get more than its budget of slots in a span between them.
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
			slots, _, err := r.LeasePacerSlots(ctx, key, budget, 3, time.Hour, 0)
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
	_, _, err := e.s.LeasePacerSlots(ctx, kept, 1, 1, time.Hour, 0)
	must(t, err)
	gone := "A1/" + store.NewID("T") + "/users.list"
	_, _, err = e.s.LeasePacerSlots(ctx, gone, 1, 1, time.Millisecond, 0)
	must(t, err)
	// The database's clock passes the millisecond between two deletes.
	deleted := 0
	for i := 0; deleted == 0 && i < 1000; i++ {
		n, err := e.s.DeleteIdlePacerLanes(ctx)
		must(t, err)
		deleted += n
	}
	if deleted == 0 {
		t.Fatal("a lane idle for a thousand statements was never deleted")
	}
	slots, _, err := e.s.LeasePacerSlots(ctx, kept, 1, 1, time.Hour, 0)
	must(t, err)
	if len(slots) != 0 {
		t.Error("a lane still spent was deleted: its budget came back early")
	}
}
