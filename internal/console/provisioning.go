package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/store"
)

// ---- provisioning from a directory file ----

// The provisioning pages plan a directory file against an instance's Slack
// people and apply the plan over SCIM; internal/provision decides who may,
// by the principal. /provisioning picks an instance; the instance's page
// lists its plans and runs and makes a plan from a file; a plan's page
// shows its diff and applies it; a run's page follows the run, reloading
// itself while it goes on, and starts it again when it stopped.

// provisioningView is the instances to pick from, each with whether it can
// provision and, if not, why.
type provisioningView struct {
	Instances []readyInstance
}

type readyInstance struct {
	store.Instance
	NotReady string // why it cannot provision over SCIM; "" when it can
}

func (c *Console) provisioningPage(w http.ResponseWriter, r *http.Request, req *request) {
	// The instances are listed by who may list them; the page is for who may
	// also provision them.
	if err := authz.Allow(req.p, authz.ReadProvisioning, ""); err != nil {
		c.fail(w, r, req, err)
		return
	}
	list, _, err := c.o.Instances.List(r.Context(), req.p, store.InstanceFilter{}, store.Page{Limit: store.MaxPage})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	var v provisioningView
	for _, in := range list {
		v.Instances = append(v.Instances, readyInstance{Instance: in, NotReady: notReady(in)})
	}
	c.render(w, r, http.StatusOK, "provisioning", c.view(req, "provisioning", "Provisioning", v))
}

// notReady says why in cannot provision over SCIM, or "".
func notReady(in store.Instance) string {
	if prob := instance.SCIMReadiness(in); prob != nil {
		return prob.Message
	}
	return ""
}

// plansView is an instance's plans and runs, and the form that makes a
// plan; Problems are those of the file just sent, row by row.
type plansView struct {
	Instance  store.Instance
	NotReady  string
	Plans     []planRow
	Runs      []runRow
	PlansNext string // the URL of the next page of plans, "" at the end
	RunsNext  string
	Form      planForm
	Problems  provision.Problems
}

type planRow struct {
	store.ProvisioningPlan
	Who     string // who made it
	Summary string // its counts in words
}

type runRow struct {
	store.ProvisioningRun
	Who string
}

// planForm is what the plan form was sent with, to show it again.
type planForm struct {
	Text              string
	Format            string // auto, csv or json
	MatchKey          string
	Membership        string
	Brake             string // a percentage; "" is the default
	DeactivateMissing bool
	Force             bool
}

// plansShown is how many plans, and how many runs, a page lists.
const plansShown = 20

func (c *Console) plansPage(w http.ResponseWriter, r *http.Request, req *request) {
	c.showPlans(w, r, req, http.StatusOK, planForm{Format: "auto", MatchKey: string(provision.MatchEmail), Membership: string(provision.MembershipMerge)}, nil, "")
}

func provisioningPath(id string) string { return instancePath(id) + "/provisioning" }

// showPlans renders an instance's plans and runs, with the form as it was
// sent and what was wrong with it.
func (c *Console) showPlans(w http.ResponseWriter, r *http.Request, req *request, status int, form planForm, problems provision.Problems, msg string) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	q := r.URL.Query()
	plans, plansNext, err := c.o.Provisioning.ListPlans(r.Context(), req.p, id, store.Page{After: q.Get("plans"), Limit: plansShown})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	runs, runsNext, err := c.o.Provisioning.ListRuns(r.Context(), req.p, id, store.Page{After: q.Get("runs"), Limit: plansShown})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	who := c.whoNames(r.Context(), req, in)
	v := plansView{Instance: in, NotReady: notReady(in), Form: form, Problems: problems}
	for _, p := range plans {
		v.Plans = append(v.Plans, planRow{ProvisioningPlan: p, Who: who(p.CreatedBy), Summary: countsSummary(p.Counts)})
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, runRow{ProvisioningRun: run, Who: who(run.CreatedBy)})
	}
	if plansNext != "" {
		v.PlansNext = provisioningPath(id) + "?" + url.Values{"plans": {plansNext}, "runs": {q.Get("runs")}}.Encode()
	}
	if runsNext != "" {
		v.RunsNext = provisioningPath(id) + "?" + url.Values{"plans": {q.Get("plans")}, "runs": {runsNext}}.Encode()
	}
	p := c.view(req, "provisioning", "Provisioning of "+in.Name, v)
	p.Error = msg
	c.render(w, r, status, "plans", p)
}

// whoNames names who made plans and runs: a person by their email when the
// principal may list the organization's people, the instance's own token
// as such, anyone else by their ID.
func (c *Console) whoNames(ctx context.Context, req *request, in store.Instance) func(string) string {
	names := map[string]string{in.ID: "the instance token of " + in.Name}
	if users, _, err := c.accounts().ListUsers(ctx, req.p, store.Page{Limit: store.MaxPage}); err == nil {
		for _, u := range users {
			names[u.ID] = u.Email
		}
	}
	return func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
}

// countsWords are a plan's counts in the order and the words the pages use.
var countsWords = []struct{ Key, One, Many string }{
	{"create", "person to create", "people to create"},
	{"update", "person to update", "people to update"},
	{"reactivate", "person to reactivate", "people to reactivate"},
	{"deactivate", "person to deactivate", "people to deactivate"},
	{"group_create", "group to create", "groups to create"},
	{"group_update", "group to update", "groups to update"},
	{"members_added", "member added", "members added"},
	{"members_removed", "member removed", "members removed"},
	{"skipped", "row skipped", "rows skipped"},
}

// countsSummary says a plan's counts in words, those that are not zero.
func countsSummary(counts map[string]int) string {
	var parts []string
	for _, w := range countsWords {
		switch n := counts[w.Key]; n {
		case 0:
		case 1:
			parts = append(parts, "1 "+w.One)
		default:
			parts = append(parts, strconv.Itoa(n)+" "+w.Many)
		}
	}
	if counts["changes"] == 0 {
		parts = append([]string{"no change"}, parts...)
	}
	return strings.Join(parts, ", ")
}

// makePlan plans the uploaded or pasted file. A file with problems comes
// back with each problem and its row; the brake's refusal, and any other,
// with its message; a plan made goes to its page.
func (c *Console) makePlan(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	form := planForm{Text: r.PostFormValue("text"), Format: r.PostFormValue("format"), MatchKey: r.PostFormValue("match_key"),
		Membership: r.PostFormValue("membership"), Brake: strings.TrimSpace(r.PostFormValue("brake")),
		DeactivateMissing: r.PostFormValue("deactivate_missing") == "on", Force: r.PostFormValue("force") == "on"}
	in, msg := planInput(r, form)
	if msg != "" {
		c.showPlans(w, r, req, http.StatusBadRequest, form, nil, msg)
		return
	}
	sp, err := c.o.Provisioning.Plan(r.Context(), req.p, id, in)
	var invalid *provision.InvalidFileError
	switch {
	case errors.As(err, &invalid):
		msg := fmt.Sprintf("The file has %d problems; nothing was planned: fix them and plan again.", len(invalid.Problems))
		if len(invalid.Problems) == 1 {
			msg = "The file has a problem; nothing was planned: fix it and plan again."
		}
		c.showPlans(w, r, req, http.StatusUnprocessableEntity, form, invalid.Problems, msg)
		return
	case err != nil:
		status, msg, ok := problem(err)
		if !ok {
			c.internal(w, r, req, err)
			return
		}
		c.showPlans(w, r, req, status, form, nil, msg)
		return
	}
	c.flashAndGo(w, r, req, true, fmt.Sprintf("Planned %s: %s. Nothing changed at Slack yet: check the plan, then apply it.", sp.ID, countsSummary(sp.Counts)),
		planPath(id, sp.ID))
}

// planInput reads the plan form: the file uploaded, or pasted, and the
// options. msg says what is wrong with the form, if anything.
func planInput(r *http.Request, form planForm) (in provision.PlanInput, msg string) {
	name := ""
	f, h, err := r.FormFile("file")
	switch {
	case err == nil:
		defer f.Close()
		if in.File, err = io.ReadAll(f); err != nil {
			return in, "The uploaded file could not be read; send it again."
		}
		name = h.Filename
		if strings.TrimSpace(form.Text) != "" && len(in.File) > 0 {
			return in, "Upload a file or paste one, not both."
		}
	case !errors.Is(err, http.ErrMissingFile) && !errors.Is(err, http.ErrNotMultipart):
		return in, "The uploaded file could not be read; send it again."
	}
	if len(in.File) == 0 {
		in.File = []byte(form.Text)
	}
	if strings.TrimSpace(string(in.File)) == "" {
		return in, "Choose a directory file to upload, or paste one: CSV with a header row, or a JSON array of people."
	}
	switch form.Format {
	case "csv", "json":
		in.Format = provision.Format(form.Format)
	default:
		in.Format = formatOf(name, in.File)
	}
	in.Options = provision.Options{MatchKey: provision.MatchKey(form.MatchKey), Membership: provision.Membership(form.Membership),
		DeactivateMissing: form.DeactivateMissing, Force: form.Force}
	if form.Brake != "" {
		pct, err := strconv.ParseFloat(strings.TrimSuffix(form.Brake, "%"), 64)
		if err != nil || pct <= 0 || pct > 100 {
			return in, "The brake is a percentage of the active users above 0 and at most 100, such as 10; or leave it empty for 10."
		}
		in.Options.BrakeShare = pct / 100
	}
	return in, ""
}

// formatOf is a file's format by its name, else by its first character: a
// JSON file is an array.
func formatOf(name string, file []byte) provision.Format {
	switch n := strings.ToLower(name); {
	case strings.HasSuffix(n, ".json"):
		return provision.FormatJSON
	case strings.HasSuffix(n, ".csv"):
		return provision.FormatCSV
	}
	if strings.HasPrefix(strings.TrimSpace(string(file)), "[") {
		return provision.FormatJSON
	}
	return provision.FormatCSV
}

// planView is one plan: its counts, options and diff.
type planView struct {
	Instance store.Instance
	Plan     provision.StoredPlan
	Who      string
	Counts   []planCount
	Lines    []diffLine
	Brake    float64 // the brake, in percent
	CanApply bool    // the principal may apply it, and it has not been
}

type planCount struct {
	Key, Name string
	N         int
}

// diffLine is a line of the plan's text; Class marks what it does: add,
// change, reactivate, remove or skip.
type diffLine struct {
	Text, Class string
}

func planPath(id, planID string) string {
	return provisioningPath(id) + "/plans/" + url.PathEscape(planID)
}

func (c *Console) planPage(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	sp, err := c.o.Provisioning.GetPlan(r.Context(), req.p, id, r.PathValue("plan"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	v := planView{Instance: in, Plan: sp, Who: c.whoNames(r.Context(), req, in)(sp.CreatedBy), Lines: diffLines(sp.Plan.String()),
		Brake: 100 * sp.Plan.Options.BrakeShare, CanApply: sp.RunID == "" && authz.Allow(req.p, authz.ApplyProvisioning, id) == nil}
	for _, w := range countsWords {
		v.Counts = append(v.Counts, planCount{Key: w.Key, Name: w.Many, N: sp.Counts[w.Key]})
	}
	v.Counts = append(v.Counts, planCount{Key: "changes", Name: "changes in all", N: sp.Counts["changes"]})
	c.render(w, r, http.StatusOK, "plan", c.view(req, "provisioning", "Plan "+sp.ID, v))
}

// diffLines splits a plan's text into lines, each marked by its sign.
func diffLines(text string) []diffLine {
	classes := map[byte]string{'+': "add", '~': "change", '^': "reactivate", '-': "remove", '!': "skip"}
	var lines []diffLine
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		t := strings.TrimLeft(l, " ")
		d := diffLine{Text: l}
		if len(t) > 1 && t[1] == ' ' {
			d.Class = classes[t[0]]
		}
		lines = append(lines, d)
	}
	return lines
}

// applyPlan starts the plan's run and goes to it; a refusal (applied
// already, the instance unable to provision) comes back to the plan.
func (c *Console) applyPlan(w http.ResponseWriter, r *http.Request, req *request) {
	id, planID := r.PathValue("id"), r.PathValue("plan")
	run, err := c.o.Provisioning.Apply(r.Context(), req.p, id, planID)
	if err != nil {
		c.actionFailed(w, r, req, err, planPath(id, planID))
		return
	}
	c.flashAndGo(w, r, req, true, fmt.Sprintf("Applying plan %s: run %s sends its %d changes to Slack.", planID, run.ID, run.Total), runPath(id, run.ID))
}

// runView is one run: its progress and a page of its plan's changes, each
// with its outcome.
type runView struct {
	Instance  store.Instance
	Run       store.ProvisioningRun
	Who       string
	Finished  int  // changes done, failed or skipped
	Live      bool // queued or running: the page reloads itself
	CanResume bool // stopped or failed, and the principal may start it again
	Outcomes  []outcomeRow
	From, To  int    // the changes shown, by index
	Prev      string // the URLs of the pages of changes before and after
	Next      string
}

// outcomeRow is a change of the plan and what became of it; Status is
// "pending" while nothing has.
type outcomeRow struct {
	store.ProvisioningOutcome
	Kind   provision.Kind
	Key    string // the person's match key, or the group's name
	Target string // the Slack user or group it changes; "" for a create
}

// outcomesShown is how many changes a run's page lists.
const outcomesShown = 200

func runPath(id, runID string) string {
	return provisioningPath(id) + "/runs/" + url.PathEscape(runID)
}

func (c *Console) runPage(w http.ResponseWriter, r *http.Request, req *request) {
	id, runID := r.PathValue("id"), r.PathValue("run")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	after = max(after, 0)
	run, outs, err := c.o.Provisioning.GetRun(r.Context(), req.p, id, runID, after, outcomesShown)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	sp, err := c.o.Provisioning.GetPlan(r.Context(), req.p, id, run.PlanID)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	v := runView{Instance: in, Run: run, Who: c.whoNames(r.Context(), req, in)(run.CreatedBy), Finished: run.Done + run.Failed + run.Skipped,
		Live: !run.Finished(), From: after + 1}
	v.CanResume = (run.Status == store.ProvisioningStopped || run.Status == store.RunFailed) && authz.Allow(req.p, authz.ApplyProvisioning, id) == nil
	byIndex := make(map[int]store.ProvisioningOutcome, len(outs))
	for _, o := range outs {
		byIndex[o.Index] = o
	}
	changes := sp.Plan.Changes
	for i := after; i < len(changes) && i < after+outcomesShown; i++ {
		ch := changes[i]
		o, ok := byIndex[ch.Index]
		if !ok {
			o = store.ProvisioningOutcome{Index: ch.Index, Status: "pending"}
		}
		v.Outcomes = append(v.Outcomes, outcomeRow{ProvisioningOutcome: o, Kind: ch.Kind, Key: ch.Key, Target: ch.Target})
		v.To = ch.Index
	}
	if after > 0 {
		v.Prev = runPath(id, runID) + "?after=" + strconv.Itoa(max(after-outcomesShown, 0))
	}
	if after+outcomesShown < len(changes) {
		v.Next = runPath(id, runID) + "?after=" + strconv.Itoa(after+outcomesShown)
	}
	p := c.view(req, "provisioning", "Run "+run.ID, v)
	if v.Live {
		p.Refresh = 3
	}
	c.render(w, r, http.StatusOK, "run", p)
}

// resumeRun starts a stopped or failed run again, where it was.
func (c *Console) resumeRun(w http.ResponseWriter, r *http.Request, req *request) {
	id, runID := r.PathValue("id"), r.PathValue("run")
	if _, err := c.o.Provisioning.Resume(r.Context(), req.p, id, runID); err != nil {
		c.actionFailed(w, r, req, err, runPath(id, runID))
		return
	}
	c.flashAndGo(w, r, req, true, "Run "+runID+" started again: it goes on where it was, sending the changes not done yet.", runPath(id, runID))
}
