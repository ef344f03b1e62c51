package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// Plans are kept as given, applied once; a run counts each change's outcome
// once, whatever order outcomes come in and however they change; a lapsed
// lease shows the run adrift and lets another replica take it.
func testProvisioning(t *testing.T, e *env) {
	org := e.org(t)
	in := e.instance(t, org.ID, nil)
	body := []byte(`{"changes":[{"kind":"create"},{"kind":"update"},{"kind":"deactivate"}]}`)
	p, err := e.s.CreateProvisioningPlan(ctx, store.ProvisioningPlan{OrgID: org.ID, InstanceID: in.ID, CreatedBy: "usr_1",
		Options: map[string]any{"match": "email"}, Counts: map[string]int{"create": 1, "update": 1, "deactivate": 1}, Body: body})
	must(t, err)
	got, err := e.s.GetProvisioningPlan(ctx, org.ID, p.ID)
	must(t, err)
	if string(got.Body) != string(body) || got.Counts["deactivate"] != 1 || got.Options["match"] != "email" || got.RunID != "" {
		t.Fatalf("the plan read back: %+v", got)
	}
	if _, err := e.s.GetProvisioningPlan(ctx, e.org(t).ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another organization's plan: %v, want not found", err)
	}
	// IDs order by millisecond only (store.NewID): the second plan is made
	// in a later one, so that "newest first" has one answer.
	time.Sleep(2 * time.Millisecond)
	p2, err := e.s.CreateProvisioningPlan(ctx, store.ProvisioningPlan{OrgID: org.ID, InstanceID: in.ID, CreatedBy: "usr_1", Body: []byte(`{}`)})
	must(t, err)
	plans, next, err := e.s.ListProvisioningPlans(ctx, org.ID, in.ID, store.Page{Limit: 1})
	must(t, err)
	if len(plans) != 1 || plans[0].ID != p2.ID || plans[0].Body != nil || next == "" {
		t.Fatalf("the first page of plans, newest first: %+v, next %q", plans, next)
	}
	if plans, _, _ = e.s.ListProvisioningPlans(ctx, org.ID, in.ID, store.Page{Limit: 1, After: next}); len(plans) != 1 || plans[0].ID != p.ID {
		t.Fatalf("the second page of plans: %+v", plans)
	}

	r, err := e.s.StartProvisioningRun(ctx, store.ProvisioningRun{OrgID: org.ID, InstanceID: in.ID, PlanID: p.ID, Total: 3, CreatedBy: "usr_1"})
	must(t, err)
	if _, err := e.s.StartProvisioningRun(ctx, store.ProvisioningRun{OrgID: org.ID, InstanceID: in.ID, PlanID: p.ID, Total: 3}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second run of a plan: %v, want conflict", err)
	}
	if got, _ := e.s.GetProvisioningPlan(ctx, org.ID, p.ID); got.RunID != r.ID {
		t.Errorf("the plan names run %q, want %s", got.RunID, r.ID)
	}

	// Leases: one owner at a time, and a lapsed one is adrift.
	ok, err := e.s.LeaseProvisioningRun(ctx, org.ID, r.ID, "replica-a", time.Now().Add(time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("a queued run's first lease was refused")
	}
	if ok, _ := e.s.LeaseProvisioningRun(ctx, org.ID, r.ID, "replica-b", time.Now().Add(time.Minute)); ok {
		t.Error("a second replica took a held lease")
	}
	adrift, err := e.s.ProvisioningRunsAdrift(ctx, time.Now().Add(2*time.Minute), 100)
	must(t, err)
	if !containsKey(adrift, org.ID, r.ID) {
		t.Errorf("a run whose lease lapsed is not adrift: %v", adrift)
	}
	if ok, _ := e.s.LeaseProvisioningRun(ctx, org.ID, r.ID, "replica-b", time.Now().Add(-time.Second)); ok {
		t.Error("replica-b took the lease before it lapsed")
	}

	// Outcomes, concurrently and changing: counted once each.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := store.OutcomeDone
			if i == 2 {
				status = store.OutcomeFailed
			}
			must(t, e.s.PutProvisioningOutcome(ctx, org.ID, store.ProvisioningOutcome{RunID: r.ID, Index: i, Status: status, SlackID: "U" + string(rune('A'+i))}))
		}()
	}
	wg.Wait()
	must(t, e.s.PutProvisioningOutcome(ctx, org.ID, store.ProvisioningOutcome{RunID: r.ID, Index: 0, Status: store.OutcomeDone, SlackID: "UA"}))
	must(t, e.s.PutProvisioningOutcome(ctx, org.ID, store.ProvisioningOutcome{RunID: r.ID, Index: 2, Status: store.OutcomeStarted, Attempts: 2}))
	if run, _ := e.s.GetProvisioningRun(ctx, org.ID, r.ID); run.Done != 2 || run.Failed != 0 {
		t.Errorf("a failed change sent again counts %d done, %d failed; want 2, 0 (started counts nowhere)", run.Done, run.Failed)
	}
	must(t, e.s.PutProvisioningOutcome(ctx, org.ID, store.ProvisioningOutcome{RunID: r.ID, Index: 2, Status: store.OutcomeDone, SlackID: "UC",
		HTTPStatus: 200, Note: "found done", Attempts: 3}))
	run, err := e.s.GetProvisioningRun(ctx, org.ID, r.ID)
	must(t, err)
	if run.Done != 3 || run.Failed != 0 || run.Skipped != 0 {
		t.Errorf("counts %d done, %d failed, %d skipped; want 3, 0, 0", run.Done, run.Failed, run.Skipped)
	}
	if err := e.s.PutProvisioningOutcome(ctx, org.ID, store.ProvisioningOutcome{RunID: r.ID, Index: 0, Status: "maybe"}); err == nil {
		t.Error("an outcome that is not one was taken")
	}
	outs, err := e.s.ListProvisioningOutcomes(ctx, org.ID, r.ID, 0, 10)
	must(t, err)
	if len(outs) != 2 || outs[0].Index != 1 || outs[1].SlackID != "UC" || outs[1].Note != "found done" || outs[1].Attempts != 3 || outs[1].HTTPStatus != 200 {
		t.Errorf("the outcomes after index 0: %+v", outs)
	}
	if outs, _ := e.s.ListProvisioningOutcomes(ctx, e.org(t).ID, r.ID, -1, 10); len(outs) != 0 {
		t.Errorf("another organization reads a run's outcomes: %+v", outs)
	}

	// The run finishes: its counts stay what the outcomes made them.
	run, err = e.s.UpdateProvisioningRun(ctx, org.ID, r.ID, func(x *store.ProvisioningRun) error {
		x.Status, x.FinishedAt, x.Done = store.RunSucceeded, time.Now(), 0
		return nil
	})
	must(t, err)
	if run.Done != 3 || !run.Finished() {
		t.Errorf("after finishing: %+v", run)
	}
	if ok, _ := e.s.LeaseProvisioningRun(ctx, org.ID, r.ID, "replica-b", time.Now().Add(time.Minute)); ok {
		t.Error("a finished run was leased")
	}
	if adrift, _ := e.s.ProvisioningRunsAdrift(ctx, time.Now().Add(time.Hour), 100); containsKey(adrift, org.ID, r.ID) {
		t.Error("a finished run is adrift")
	}
	runs, _, err := e.s.ListProvisioningRuns(ctx, org.ID, in.ID, store.Page{})
	must(t, err)
	if len(runs) != 1 || runs[0].ID != r.ID {
		t.Errorf("the instance's runs: %+v", runs)
	}
}

func containsKey(keys [][2]string, orgID, id string) bool {
	for _, k := range keys {
		if k == [2]string{orgID, id} {
			return true
		}
	}
	return false
}
