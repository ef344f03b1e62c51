package console_test

import (
	"bytes"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// provisioningEnv is a hub served as serve serves it, the console
// included, whose queue applies the plans.
func provisioningEnv(t *testing.T) *env {
	t.Helper()
	hub := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20}})
	e := &env{hub: hub, url: hub.URL}
	e.token = e.tokenFor(t, hub.Admin.User)
	return e
}

// tokenFor makes an API token for u, with scopes if any.
func (e *env) tokenFor(t *testing.T, u store.User, scopes ...string) string {
	t.Helper()
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.hub.Store.CreateAPICredential(ctx, store.APICredential{OrgID: u.OrgID, UserID: u.ID, Name: "console test", Scopes: scopes,
		TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token)}); err != nil {
		t.Fatal(err)
	}
	return token
}

// postFile posts a multipart form, as a browser sends one with a file
// input: fields, and content as the file named name ("" for none chosen).
func (b *browser) postFile(path string, fields url.Values, name, content string) answer {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		b.t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.e.url+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// row is the table row of the page whose id is id, as an answer of its own.
func row(t *testing.T, a answer, id string) answer {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr id="` + regexp.QuoteMeta(id) + `">.*?</tr>`).FindString(a.body)
	if m == "" {
		t.Fatalf("no row %s on the page: %.1500s", id, a.body)
	}
	return answer{status: a.status, body: m}
}

// An admin's day on the Provisioning pages, on the queue as serve runs it:
// a file with problems is shown row by row and nothing is planned; the
// brake refuses a plan that would deactivate the workspace; an uploaded
// CSV is planned, its diff shown, applied, and its run seen succeeded with
// each change's outcome; applying it again is refused.
func TestProvisioningPlanAndApply(t *testing.T) {
	t.Parallel()
	e := provisioningEnv(t)
	id := e.hub.Instance.ID
	base := "/instances/" + id + "/provisioning"
	b := e.browser(t)
	csrf := b.signin(e.token)

	wantIn(t, b.get("/instances"), `id="nav-provisioning"`, `id="provisioning-`+id+`" href="`+base+`"`)
	picker := b.get("/provisioning")
	wantStatus(t, picker, http.StatusOK)
	wantIn(t, picker, `id="pick-`+id+`" href="`+base+`"`, `<span class="ok">ready</span>`, `aria-current="page">Provisioning<`)
	empty := b.get(base)
	wantStatus(t, empty, http.StatusOK)
	wantIn(t, empty, `id="no-plans"`, `id="no-runs"`, `enctype="multipart/form-data"`, `<label for="plan-file">`, `<label for="plan-text">`,
		`<label for="plan-match-key">`, `<label for="plan-membership">`, `<label for="plan-deactivate-missing">`, `<label for="plan-force">`, `id="make-plan"`)
	wantNotIn(t, empty, `id="not-ready"`)

	// A file larger than the hub takes in one request is told so, not
	// taken for a stale form.
	big := b.postFile(base+"/plans", url.Values{"csrf": {csrf}}, "people.csv", "userName,email\n"+strings.Repeat("someone,someone@acme.example\n", 40_000))
	wantStatus(t, big, http.StatusRequestEntityTooLarge)
	wantIn(t, big, "larger than the hub takes in one request (1024 KiB)")

	// A pasted file with an unknown column and a bad email: every problem
	// with its row, the text kept, nothing planned.
	bad := b.postFile(base+"/plans", url.Values{"csrf": {csrf}, "text": {"userName,email,shoe_size\nada,not-an-email,42\n"}}, "", "")
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	wantIn(t, bad, `id="error"`, "nothing was planned", `id="file-problems"`, "<code>shoe_size</code>", "<code>invalid_email</code>", "not-an-email")
	if !regexp.MustCompile(`<tr class="problem"><td>2</td><td><code>email</code>`).MatchString(bad.body) {
		t.Errorf("the invalid email is not shown on row 2: %.2000s", bad.body)
	}

	file := "userName,email,title,groups\n" +
		"newcomer0,newcomer0@acme.example,Apprentice,Planners\n" +
		"newcomer1,newcomer1@acme.example,Apprentice,Planners\n" +
		"newcomer2,newcomer2@acme.example,Apprentice,Planners\n"
	// The same people, with everyone else deactivated: the brake.
	brake := b.postFile(base+"/plans", url.Values{"csrf": {csrf}, "deactivate_missing": {"on"}}, "people.csv", file)
	wantStatus(t, brake, http.StatusConflict)
	wantIn(t, brake, `id="error"`, "more than the brake", "force", `id="plan-deactivate-missing" name="deactivate_missing" checked`)
	if plans, _, _ := e.hub.Store.ListProvisioningPlans(ctx, e.hub.Admin.Org.ID, id, store.Page{}); len(plans) != 0 {
		t.Fatalf("refused files left %d plans", len(plans))
	}

	made := b.postFile(base+"/plans", url.Values{"csrf": {csrf}, "format": {"auto"}, "match_key": {"email"}, "membership": {"merge"}}, "people.csv", file)
	if made.status != http.StatusSeeOther || !strings.HasPrefix(made.location, base+"/plans/") {
		t.Fatalf("make a plan: got %d to %q: %.1500s", made.status, made.location, made.body)
	}
	planID := strings.TrimPrefix(made.location, base+"/plans/")
	plan := b.get(made.location)
	wantStatus(t, plan, http.StatusOK)
	wantIn(t, plan, `id="flash"`, "Planned "+planID, `id="plan-who">admin@acme.example<`, "match by email",
		`<tr id="count-create"><th scope="row">people to create</th><td>3</td>`, `<tr id="count-group_create"><th scope="row">groups to create</th><td>1</td>`,
		`<tr id="count-changes"><th scope="row">changes in all</th><td>4</td>`, `id="apply-plan"`)
	// The diff, as text: html/template escapes its + and quotes.
	wantIn(t, answer{body: html.UnescapeString(plan.body)}, `<span class="add">+ [1] create newcomer0@acme.example (row 2)</span>`,
		`<span>      title:            "Apprentice"</span>`, `<span class="add">+ [4] create group "Planners"</span>`)
	list := b.get(base)
	wantIn(t, row(t, list, "plan-"+planID), "admin@acme.example", "3 people to create", "1 group to create", "not applied")

	applied := b.post(base+"/plans/"+planID+"/apply", url.Values{"csrf": {csrf}})
	if applied.status != http.StatusSeeOther || !strings.HasPrefix(applied.location, base+"/runs/") {
		t.Fatalf("apply: got %d to %q: %.1500s", applied.status, applied.location, applied.body)
	}
	runID := strings.TrimPrefix(applied.location, base+"/runs/")
	var run answer
	hubtest.Eventually(t, "the run's page to show it finished", func() bool {
		run = b.get(applied.location)
		return !strings.Contains(run.body, `id="run-status">queued<`) && !strings.Contains(run.body, `id="run-status">running<`)
	})
	wantIn(t, run, `id="run-status">succeeded<`, "4 done, 0 failed, 0 skipped of 4", `<progress id="run-progress" max="4" value="4">`, "Changes 1 to 4 of 4")
	wantNotIn(t, run, `http-equiv="refresh"`, `id="resume-run"`)
	for i, want := range []string{"create", "create", "create", "group_create"} {
		o := row(t, run, "outcome-"+strconv.Itoa(i+1))
		if !strings.Contains(o.body, "<td>"+want+"</td>") || !strings.Contains(o.body, `<span class="status done">done</span>`) || !strings.Contains(o.body, "<td>201</td>") ||
			!regexp.MustCompile(`<td><code>[A-Za-z0-9_-]+</code></td>`).MatchString(o.body) {
			t.Errorf("outcome %d: %s; want a %s done, 201, with its Slack ID", i+1, o.body, want)
		}
	}

	// The plan names its run and offers no second apply; a second apply
	// anyway is told the plan was applied.
	plan = b.get(made.location)
	wantIn(t, plan, `id="plan-run"><code>`+runID+`</code>`)
	wantNotIn(t, plan, `id="apply-plan"`)
	again := b.post(base+"/plans/"+planID+"/apply", url.Values{"csrf": {csrf}})
	if again.status != http.StatusSeeOther || again.location != made.location {
		t.Fatalf("apply again: got %d to %q", again.status, again.location)
	}
	wantIn(t, b.get(again.location), `id="flash" class="flash bad"`, "applied already")
	list = b.get(base)
	wantIn(t, row(t, list, "plan-"+planID), `id="plan-run-`+runID+`"`)
	wantIn(t, row(t, list, "run-"+runID), `<span class="status succeeded">succeeded</span>`, "4 done, 0 failed, 0 skipped of 4")
	if got := b.post(base+"/plans/"+planID+"/apply", url.Values{"csrf": {"stale"}}); got.status != http.StatusForbidden {
		t.Errorf("an apply without the session's CSRF token: got %d, want 403", got.status)
	}
}

// A run with a failure is shown failed with Slack's answer, and Resume
// starts it again; people who may not apply (a member, an admin's token
// without the scim scope) see no provisioning and are refused; an instance
// token cannot sign in to the console at all.
func TestProvisioningFailedRunAndWhoMayApply(t *testing.T) {
	t.Parallel()
	e := provisioningEnv(t)
	id := e.hub.Instance.ID
	base := "/instances/" + id + "/provisioning"
	admin := e.browser(t)
	csrf := admin.signin(e.token)

	// Slack provisions guests on Enterprise Grid only: elsewhere 403.
	made := admin.postFile(base+"/plans", url.Values{"csrf": {csrf}}, "", "")
	wantStatus(t, made, http.StatusBadRequest)
	wantIn(t, made, "Choose a directory file")
	made = admin.postFile(base+"/plans", url.Values{"csrf": {csrf}}, "partners.json", `[{"userName":"partner1","email":"partner1@partner.example","guest_type":"multi"}]`)
	wantStatus(t, made, http.StatusSeeOther)
	planID := strings.TrimPrefix(made.location, base+"/plans/")

	member, err := e.hub.Store.CreateUser(ctx, store.User{OrgID: e.hub.Admin.Org.ID, Email: "member@acme.example", Role: store.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		who, token, refusal string
	}{
		{"a member", e.tokenFor(t, member), "only organization admins"},
		{"an admin's read-only token", e.tokenFor(t, e.hub.Admin.User, authz.ScopeInstancesRead), "do not include scim"},
	} {
		b := e.browser(t)
		csrf := b.signin(tc.token)
		wantNotIn(t, b.get("/instances"), `id="nav-provisioning"`, `id="provisioning-`+id+`"`)
		for _, path := range []string{"/provisioning", base, base + "/plans/" + planID} {
			got := b.get(path)
			wantStatus(t, got, http.StatusForbidden)
			wantIn(t, got, tc.refusal)
		}
		got := b.post(base+"/plans/"+planID+"/apply", url.Values{"csrf": {csrf}})
		if got.status != http.StatusSeeOther {
			t.Fatalf("%s applies: got %d: %.500s", tc.who, got.status, got.body)
		}
		wantIn(t, b.get(got.location), tc.refusal)
		if sp, err := e.hub.Store.GetProvisioningPlan(ctx, e.hub.Admin.Org.ID, planID); err != nil || sp.RunID != "" {
			t.Fatalf("%s applied the plan: run %q, %v", tc.who, sp.RunID, err)
		}
	}
	instanceToken, err := e.hub.Services.Token(ctx, e.hub.Admin, id)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	form := b.get("/signin")
	got := b.post("/signin", url.Values{"csrf": {b.csrf(form)}, "token": {instanceToken.Reveal()}})
	wantStatus(t, got, http.StatusUnauthorized)
	wantIn(t, got, "an instance token")

	applied := admin.post(base+"/plans/"+planID+"/apply", url.Values{"csrf": {csrf}})
	wantStatus(t, applied, http.StatusSeeOther)
	finished := func(what string) answer {
		var run answer
		hubtest.Eventually(t, what, func() bool {
			run = admin.get(applied.location)
			return !strings.Contains(run.body, `id="run-status">queued<`) && !strings.Contains(run.body, `id="run-status">running<`)
		})
		return run
	}
	run := finished("the run to finish")
	wantIn(t, run, `id="run-status">failed<`, `id="run-reason"`, "1 of 1 changes failed", "0 done, 1 failed, 0 skipped of 1", `id="resume-run"`)
	wantIn(t, row(t, run, "outcome-1"), "<td>create</td>", `<span class="status failed">failed</span>`, "<td>403</td>")

	resumed := admin.post(applied.location+"/resume", url.Values{"csrf": {csrf}})
	if resumed.status != http.StatusSeeOther || resumed.location != applied.location {
		t.Fatalf("resume: got %d to %q", resumed.status, resumed.location)
	}
	wantIn(t, finished("the resumed run to finish"), `id="run-status">failed<`, `id="resume-run"`)
}
