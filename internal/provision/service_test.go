package provision_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
)

var ctx = context.Background()

// api calls the hub's API with a bearer and decodes the answer.
type api struct {
	t      *testing.T
	base   string
	bearer string
}

func (a api) call(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	req.Header.Set("Authorization", "Bearer "+a.bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (a api) must(want int, method, path string, body any) map[string]any {
	a.t.Helper()
	status, out := a.call(method, path, body)
	if status != want {
		a.t.Fatalf("%s %s: HTTP %d %v; want %d", method, path, status, out, want)
	}
	return out
}

// An identity team's day through the hub's API, on the queue as serve runs
// it: a file with problems is told row by row and nothing is planned; a
// plan that would deactivate half the workspace is refused by the brake; a
// good file is planned, applied and seen done at Slack; planned again, it
// changes nothing.
func TestPlanAndApplyThroughTheHub(t *testing.T) {
	t.Parallel()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 30}})
	tok, err := h.Services.Token(ctx, h.Admin, h.Instance.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := api{t: t, base: h.URL, bearer: tok.Reveal()}
	plans := "/v1/instances/" + h.Instance.ID + "/provisioning/plans"

	// Slack's people, as SCIM lists them.
	list := c.must(http.StatusOK, http.MethodGet, "/scim/v2/Users?count=1000&filter="+url.QueryEscape("active eq true"), nil)
	var people []map[string]any
	for _, r := range list["Resources"].([]any) {
		people = append(people, r.(map[string]any))
	}
	email := func(u map[string]any) string {
		for _, e := range u["emails"].([]any) {
			if e.(map[string]any)["primary"] == true {
				return e.(map[string]any)["value"].(string)
			}
		}
		return u["emails"].([]any)[0].(map[string]any)["value"].(string)
	}

	bad := c.must(http.StatusUnprocessableEntity, http.MethodPost, plans, map[string]any{
		"file": "userName,email,shoe_size\nada,not-an-email,42\n"})
	if bad["code"] != "invalid_file" || len(bad["problems"].([]any)) < 2 {
		t.Errorf("a file with an unknown column and a bad email: %v", bad)
	}
	if rows := fmt.Sprint(bad["problems"]); !strings.Contains(rows, "row:2") {
		t.Errorf("the problems do not name row 2: %s", rows)
	}

	// A large directory is taken whole (the API's other routes take 1 MiB):
	// this one, 2 MiB, has an unknown column.
	large := "userName,email,shoe_size\n" + strings.Repeat("ada,ada@acme.example,42\n", 2<<20/24)
	if big := c.must(http.StatusUnprocessableEntity, http.MethodPost, plans, map[string]any{"file": large}); big["code"] != "invalid_file" {
		t.Errorf("a 2 MiB file: %v", big)
	}
	if status, _ := c.call(http.MethodPost, plans, map[string]any{"file": strings.Repeat("x", 33<<20)}); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 33 MiB file: HTTP %d, want 413", status)
	}

	half := "userName,email\n" + fmt.Sprintf("%s,%s\n", people[0]["userName"], email(people[0]))
	brake := c.must(http.StatusConflict, http.MethodPost, plans, map[string]any{"file": half, "deactivate_missing": true})
	if brake["code"] != "brake" || !strings.Contains(fmt.Sprint(brake["message"]), "force") {
		t.Errorf("a plan deactivating all but one: %v", brake)
	}

	var file strings.Builder
	file.WriteString("userName,email,title,active,groups\n")
	fmt.Fprintf(&file, "%s,%s,Chief Planner,true,Planners\n", people[1]["userName"], email(people[1]))
	fmt.Fprintf(&file, "%s,%s,,false,\n", people[2]["userName"], email(people[2]))
	for i := range 3 {
		fmt.Fprintf(&file, "newcomer%d,newcomer%d@acme.example,Apprentice,true,Planners\n", i, i)
	}
	plan := c.must(http.StatusCreated, http.MethodPost, plans, map[string]any{"file": file.String()})
	counts := plan["counts"].(map[string]any)
	if counts["create"] != 3.0 || counts["update"] != 1.0 || counts["deactivate"] != 1.0 || counts["group_create"] != 1.0 {
		t.Fatalf("the plan's counts: %v\n%s", counts, plan["text"])
	}
	if !strings.Contains(plan["text"].(string), "+") {
		t.Errorf("the plan's text: %s", plan["text"])
	}
	id := plan["id"].(string)
	// By its ID alone, as the CLI's apply finds it.
	if byID := c.must(http.StatusOK, http.MethodGet, "/v1/provisioning/plans/"+id, nil); byID["instance_id"] != h.Instance.ID || byID["text"] != plan["text"] {
		t.Errorf("the plan by its ID alone: instance %v, text %q; want %s and the plan's text", byID["instance_id"], byID["text"], h.Instance.ID)
	}
	c.must(http.StatusNotFound, http.MethodGet, "/v1/provisioning/plans/pln_nosuchplan", nil)

	run := c.must(http.StatusAccepted, http.MethodPost, plans+"/"+id+"/apply", nil)
	runID := run["id"].(string)
	if status, again := c.call(http.MethodPost, plans+"/"+id+"/apply", nil); status != http.StatusConflict || again["code"] != "plan_applied" {
		t.Errorf("applying a plan twice: HTTP %d %v", status, again)
	}
	runs := "/v1/instances/" + h.Instance.ID + "/provisioning/runs/"
	hubtest.Eventually(t, "the run to finish", func() bool {
		run = c.must(http.StatusOK, http.MethodGet, runs+runID+"?limit=100", nil)
		return run["status"] != store.RunQueued && run["status"] != store.RunRunning
	})
	if run["status"] != store.RunSucceeded || run["done"] != run["total"] || run["total"] != 6.0 {
		t.Fatalf("the run ended %v: %v", run["status"], run)
	}
	if outs := run["outcomes"].([]any); len(outs) != 6 {
		t.Errorf("the run lists %d outcomes, want 6", len(outs))
	}
	if bare := c.must(http.StatusOK, http.MethodGet, runs+runID+"?outcomes=false", nil); bare["outcomes"] != nil || bare["done"] != 6.0 {
		t.Errorf("the run without its outcomes: %v", bare)
	}

	// Slack has it all, once.
	for i := range 3 {
		found := c.must(http.StatusOK, http.MethodGet, "/scim/v2/Users?filter="+url.QueryEscape(fmt.Sprintf(`userName eq "newcomer%d"`, i)), nil)
		if found["totalResults"] != 1.0 {
			t.Errorf("newcomer%d is at Slack %v times", i, found["totalResults"])
		}
	}
	if u := c.must(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+people[1]["id"].(string), nil); u["title"] != "Chief Planner" {
		t.Errorf("the update: title %v", u["title"])
	}
	if u := c.must(http.StatusOK, http.MethodGet, "/scim/v2/Users/"+people[2]["id"].(string), nil); u["active"] != false {
		t.Errorf("the deactivation: active %v", u["active"])
	}
	g := c.must(http.StatusOK, http.MethodGet, "/scim/v2/Groups?filter="+url.QueryEscape(`displayName eq "Planners"`), nil)
	if g["totalResults"] != 1.0 || len(g["Resources"].([]any)[0].(map[string]any)["members"].([]any)) != 4 {
		t.Errorf("the group Planners: %v", g)
	}

	again := c.must(http.StatusCreated, http.MethodPost, plans, map[string]any{"file": file.String()})
	if n := again["counts"].(map[string]any)["changes"]; n != 0.0 {
		t.Errorf("the same file planned again has %v changes:\n%s", n, again["text"])
	}
	// Every plan and the run are in the audit log.
	events, _, err := h.Store.ListAudit(ctx, h.Admin.Org.ID, store.AuditFilter{}, store.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Action]++
		if e.Action == "scim.write" && e.Details["run_id"] == runID {
			seen["change"]++
		}
		if d := fmt.Sprint(e.Details); strings.Contains(d, "Chief Planner") || strings.Contains(d, "Apprentice") {
			t.Errorf("an audit event holds a value the run set: %s %s", e.Action, d)
		}
	}
	if seen["provisioning.plan"] != 2 || seen["provisioning.apply"] != 1 {
		t.Errorf("the audit log has %d plans and %d applies, want 2 and 1", seen["provisioning.plan"], seen["provisioning.apply"])
	}
	// And each change the run sent with the admin token, before it sent it.
	if seen["change"] != 6 {
		t.Errorf("the audit log has %d of the run's changes, want 6", seen["change"])
	}

	// The run in the metrics.
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`connhub_provisioning_changes_total{kind="create",status="done"} 3`,
		`connhub_provisioning_changes_total{kind="deactivate",status="done"} 1`, `connhub_provisioning_runs_total{status="succeeded"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
