package replicatest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAKilledApplyResumesWithoutADuplicateCreate: a `connhub serve` process
// applying a plan of 1,500 creates, paced under Slack's SCIM limits, is
// killed with SIGKILL mid-run and started again. The run's lease lapses
// (--run-lease 2s), the sweep queues the run again, and it resumes from the
// outcomes in the store: every person is at Slack exactly once, each
// change's outcome is done once, and the run succeeds. A create the dead
// process had sent without recording Slack's answer is looked up before it
// is sent again; that is the case the test is after, and a create refused
// as taken would show as a failed outcome or as a second person.
func TestAKilledApplyResumesWithoutADuplicateCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub twice and applies 1,500 creates")
	}
	const creates = 1500
	c := newCluster(t, 1, "--run-lease", "2s")
	r := c.replicas[0]
	id, instanceToken := c.install(r, "Acme")
	idp := "Bearer " + instanceToken
	before := c.people(r, idp, "")

	var file strings.Builder
	file.WriteString("userName,email,title\n")
	for i := range creates {
		fmt.Fprintf(&file, "killtest%d,killtest%d@acme.example,Survivor\n", i, i)
	}
	var plan struct {
		ID     string         `json:"id"`
		Counts map[string]int `json:"counts"`
	}
	base := "/v1/instances/" + id + "/provisioning"
	if st := c.call(r, "POST", base+"/plans", c.admin(), map[string]any{"file": file.String()}, &plan); st != http.StatusCreated || plan.Counts["create"] != creates {
		t.Fatalf("plan: HTTP %d, counts %v", st, plan.Counts)
	}
	type run struct {
		ID, Status, Reason           string
		Total, Done, Failed, Skipped int
		Outcomes                     []struct {
			Index   int
			Status  string
			SlackID string `json:"slack_id"`
		}
		OutcomesAfter int `json:"outcomes_after"`
	}
	var applied run
	if st := c.call(r, "POST", base+"/plans/"+plan.ID+"/apply", c.admin(), nil, &applied); st != http.StatusAccepted {
		t.Fatalf("apply: HTTP %d", st)
	}
	get := func(r *replica, after int) run {
		var got run
		if st := c.call(r, "GET", fmt.Sprintf("%s/runs/%s?after=%d&limit=1000", base, applied.ID, after), c.admin(), nil, &got); st != http.StatusOK {
			t.Fatalf("the run: HTTP %d", st)
		}
		return got
	}

	// Mid-run: a fifth of the creates done.
	eventually(t, "a fifth of the creates done", 3*time.Minute, func() bool { return get(r, 0).Done >= creates/5 })
	r.kill()
	atKill := get(c.start(0), 0)
	r = c.replicas[0]
	t.Logf("killed with %d of %d changes done; started again", atKill.Done, atKill.Total)
	if atKill.Done == atKill.Total {
		t.Fatal("the run was over before the kill: the test tests nothing")
	}

	var final run
	eventually(t, "the run to end after the restart", 5*time.Minute, func() bool {
		final = get(r, 0)
		return final.Status != "queued" && final.Status != "running"
	})
	if final.Status != "succeeded" || final.Done != creates || final.Failed != 0 || final.Skipped != 0 {
		t.Fatalf("the run ended %s (%s): %d done, %d failed, %d skipped of %d", final.Status, final.Reason, final.Done, final.Failed, final.Skipped, final.Total)
	}

	// Every outcome done once, each with a Slack ID of its own.
	ids := map[string]int{}
	for after := 0; ; {
		page := get(r, after)
		for _, o := range page.Outcomes {
			if o.Status != "done" || o.SlackID == "" {
				t.Errorf("change %d: %s, Slack ID %q", o.Index, o.Status, o.SlackID)
			}
			ids[o.SlackID]++
		}
		if page.OutcomesAfter == 0 {
			break
		}
		after = page.OutcomesAfter
	}
	if len(ids) != creates {
		t.Errorf("%d distinct Slack IDs in the outcomes, want %d", len(ids), creates)
	}

	// Slack has each person once, and nobody else new.
	after := c.people(r, idp, "killtest")
	if len(after) != creates {
		t.Errorf("%d people named killtest* at Slack, want %d", len(after), creates)
	}
	for name, n := range after {
		if n != 1 {
			t.Errorf("%s is at Slack %d times", name, n)
		}
	}
	if all := c.people(r, idp, ""); len(all) != len(before)+creates {
		t.Errorf("Slack has %d people, %d before the run: want %d more", len(all), len(before), creates)
	}
	t.Logf("%d people made once each; the sandbox's SCIM requests by route: %v", creates, c.sandbox.Stats().SCIM)
}

// people counts Slack's people by userName, those whose userName starts with
// prefix, read through the hub's SCIM endpoint with bearer auth.
func (c *cluster) people(r *replica, auth, prefix string) map[string]int {
	c.t.Helper()
	out := map[string]int{}
	for start := 1; ; {
		var page struct {
			TotalResults int `json:"totalResults"`
			Resources    []struct {
				UserName string `json:"userName"`
			}
		}
		if st := c.call(r, "GET", "/scim/v2/Users?"+url.Values{"startIndex": {fmt.Sprint(start)}, "count": {"1000"}}.Encode(), auth, nil, &page); st != http.StatusOK {
			c.t.Fatalf("SCIM Users from %d: HTTP %d", start, st)
		}
		for _, u := range page.Resources {
			if strings.HasPrefix(u.UserName, prefix) {
				out[u.UserName]++
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			return out
		}
	}
}
