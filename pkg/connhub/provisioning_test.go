package connhub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/pkg/connhub"
)

// TestProvisioning plans and applies a directory file through the hub as a
// program would: the file's problems come back row by row, the brake
// refuses, a good plan is found by its ID alone, applied and followed to
// its end, and its run's outcomes are paged.
func TestProvisioning(t *testing.T) {
	t.Parallel()
	h := setup(t)
	created, err := h.c.CreateInstance(ctx, connhub.CreateInstanceInput{Name: "Provisioned"})
	if err != nil {
		t.Fatal(err)
	}
	consent(t, created.AuthorizeURL, "allow")
	if _, err := h.c.WaitActive(ctx, created.ID, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	id := created.ID

	_, err = h.c.CreateProvisioningPlan(ctx, id, connhub.ProvisioningPlanInput{File: "userName,email,shoe_size\nada,not-an-email,42\n"})
	e := wantError(t, err, http.StatusUnprocessableEntity, "invalid_file")
	if len(e.Problems) < 2 {
		t.Fatalf("invalid_file with %d problems: %+v; want the unknown column and the bad email", len(e.Problems), e.Problems)
	}
	var rows []string
	for _, p := range e.Problems {
		rows = append(rows, p.String())
	}
	has := func(prefix string) bool {
		return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, prefix) })
	}
	if !has("row 1: shoe_size: unknown column") || !has("row 2: email: ") {
		t.Errorf("the problems: %q; want the header's unknown column and row 2's email, each with its row and column", rows)
	}

	users, err := h.c.SCIMUsers(ctx, id, connhub.SCIMListOptions{Filter: "active eq true", Count: 1000})
	if err != nil || len(users.Resources) < 3 {
		t.Fatalf("SCIMUsers: %d, %v", len(users.Resources), err)
	}
	people := users.Resources
	_, err = h.c.CreateProvisioningPlan(ctx, id, connhub.ProvisioningPlanInput{DeactivateMissing: true,
		File: fmt.Sprintf("userName,email\n%s,%s\n", people[0].UserName, people[0].PrimaryEmail())})
	if e := wantError(t, err, http.StatusConflict, "brake"); !strings.Contains(e.Message, "force") {
		t.Errorf("the brake says %q; want it to say how to force", e.Message)
	}

	file := fmt.Sprintf("userName,email,title\n%s,%s,Chief Planner\nnewcomer,newcomer@acme.example,Apprentice\n", people[1].UserName, people[1].PrimaryEmail())
	plan, err := h.c.CreateProvisioningPlan(ctx, id, connhub.ProvisioningPlanInput{File: file, MatchKey: "email"})
	if err != nil || plan.Counts["create"] != 1 || plan.Counts["update"] != 1 || plan.Counts["changes"] != 2 || plan.Plan == nil ||
		len(plan.Plan.Changes) != 2 || plan.Options.MatchKey != "email" || !strings.Contains(plan.Text, "+ [") {
		t.Fatalf("CreateProvisioningPlan: %+v, %v; want a create and an update", plan, err)
	}
	if ch := plan.Plan.Changes[0]; ch.Index != 1 || ch.Request.Method == "" || ch.Key == "" {
		t.Errorf("the plan's first change: %+v", ch)
	}
	byID, err := h.c.ProvisioningPlanByID(ctx, plan.ID)
	if err != nil || byID.InstanceID != id || byID.Text != plan.Text {
		t.Errorf("ProvisioningPlanByID: %+v, %v; want the plan of %s", byID, err, id)
	}
	if got, err := h.c.ProvisioningPlan(ctx, id, plan.ID); err != nil || got.ID != plan.ID || len(got.Plan.Changes) != 2 {
		t.Errorf("ProvisioningPlan: %+v, %v", got, err)
	}
	_, err = h.c.ProvisioningPlanByID(ctx, "pln_nosuchplan")
	wantError(t, err, http.StatusNotFound, "not_found")
	if page, err := h.c.ProvisioningPlans(ctx, id, connhub.ListOptions{}); err != nil || len(page.Plans) != 1 || page.Plans[0].ID != plan.ID || page.Plans[0].Text != "" {
		t.Errorf("ProvisioningPlans: %+v, %v; want the one plan, without its text", page, err)
	}

	run, err := h.c.ApplyProvisioningPlan(ctx, id, plan.ID)
	if err != nil || run.PlanID != plan.ID || run.Total != 2 {
		t.Fatalf("ApplyProvisioningPlan: %+v, %v", run, err)
	}
	_, err = h.c.ApplyProvisioningPlan(ctx, id, plan.ID)
	wantError(t, err, http.StatusConflict, "plan_applied")
	var seen []connhub.ProvisioningRun
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	final, err := h.c.WaitProvisioningRun(wctx, id, run.ID, connhub.ProvisioningWaitOptions{Interval: 20 * time.Millisecond,
		OnPoll: func(r connhub.ProvisioningRun) { seen = append(seen, r) }})
	if err != nil || final.Status != connhub.RunSucceeded || final.Done != 2 || final.FinishedAt == nil || len(final.Outcomes) != 0 {
		t.Fatalf("WaitProvisioningRun: %+v, %v; want it succeeded with 2 done, without outcomes", final, err)
	}
	if len(seen) == 0 || seen[len(seen)-1].Status != connhub.RunSucceeded {
		t.Errorf("OnPoll was given %d snapshots; want the last one succeeded", len(seen))
	}

	first, err := h.c.ProvisioningRun(ctx, id, run.ID, connhub.OutcomeOptions{Limit: 1})
	if err != nil || len(first.Outcomes) != 1 || first.Outcomes[0].Index != 1 || first.OutcomesAfter != 1 {
		t.Errorf("ProvisioningRun(limit 1): %+v, %v; want the first outcome and where the next page starts", first, err)
	}
	var indexes []int
	for o, err := range h.c.AllProvisioningOutcomes(ctx, id, run.ID) {
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != "done" || o.HTTPStatus/100 != 2 {
			t.Errorf("outcome %+v; want done, with Slack's answer", o)
		}
		indexes = append(indexes, o.Index)
	}
	if !slices.Equal(indexes, []int{1, 2}) {
		t.Errorf("AllProvisioningOutcomes: %v; want 1 and 2", indexes)
	}
	if page, err := h.c.ProvisioningRuns(ctx, id, connhub.ListOptions{Limit: 5}); err != nil || len(page.Runs) != 1 || page.Runs[0].ID != run.ID {
		t.Errorf("ProvisioningRuns: %+v, %v", page, err)
	}
	_, err = h.c.ResumeProvisioningRun(ctx, id, run.ID)
	wantError(t, err, http.StatusConflict, "run_not_stopped")
}

// TestProvisioningTypesMatchTheDocument holds the SDK's provisioning types
// to the API's, as the hub's OpenAPI document (the golden one the hub's
// tests check) describes them: the same JSON fields, no more, no fewer.
func TestProvisioningTypesMatchTheDocument(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "httpapi", "testdata", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for schema, v := range map[string]any{
		"PlanBody": connhub.ProvisioningPlanInput{}, "ProvisioningPlan": connhub.ProvisioningPlan{}, "Options": connhub.ProvisioningOptions{},
		"Plan": connhub.PlannedChanges{}, "Counts": connhub.PlannedCounts{}, "Change": connhub.PlannedChange{}, "AttrChange": connhub.PlannedAttr{},
		"MemberRef": connhub.PlannedMember{}, "Request": connhub.PlannedRequest{}, "Skip": connhub.PlannedSkip{},
		"ProvisioningRun": connhub.ProvisioningRun{}, "ProvisioningOutcome": connhub.ProvisioningOutcome{},
		"PlansOutputBody": connhub.ProvisioningPlanPage{}, "RunsOutputBody": connhub.ProvisioningRunPage{}, "Problem": connhub.FileProblem{},
	} {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Errorf("the document has no schema %s", schema)
			continue
		}
		var want []string
		for name := range s.Properties {
			if name != "$schema" {
				want = append(want, name)
			}
		}
		var got []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				got = append(got, name)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s has the JSON fields %v; the document's %s has %v", typ.Name(), got, schema, want)
		}
	}
}
