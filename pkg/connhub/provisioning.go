package connhub

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Provisioning from a directory file: a plan says what applying a CSV or
// JSON list of people would change in Slack, read over SCIM; applying it
// starts its one run, which the hub works in the background, paced under
// the org's SCIM limits.

// ProvisioningPlanInput is a directory file and how to plan it.
type ProvisioningPlanInput struct {
	// File is the file's text: CSV with a header row, or a JSON array of
	// objects. Columns: userName, email, emails, givenName, familyName,
	// displayName, title, active, groups, guest_type, guest_expiration,
	// guest_channels.
	File   string `json:"file"`
	Format string `json:"format,omitempty"` // csv (default) or json
	// MatchKey finds a person in Slack: email (default) or userName.
	MatchKey string `json:"match_key,omitempty"`
	// DeactivateMissing deactivates the active people the file does not
	// list.
	DeactivateMissing bool `json:"deactivate_missing,omitempty"`
	// Membership is merge (default: people join the groups the file names,
	// nobody leaves) or overwrite (the groups become exactly the file's).
	Membership string `json:"membership,omitempty"`
	// BrakeShare is the share of active users a plan may deactivate (0:
	// the hub's default, 0.10); a plan deactivating more is refused with
	// code brake unless Force.
	BrakeShare float64 `json:"brake_share,omitempty"`
	Force      bool    `json:"force,omitempty"`
}

// ProvisioningOptions are how a plan was made, its defaults filled in.
type ProvisioningOptions struct {
	MatchKey          string  `json:"match_key"`
	DeactivateMissing bool    `json:"deactivate_missing"`
	Membership        string  `json:"membership"`
	BrakeShare        float64 `json:"brake_share"`
	Force             bool    `json:"force"`
}

// ProvisioningPlan is a plan of the changes a directory file makes in
// Slack. Plan and Text are in the answers about one plan, not in lists.
type ProvisioningPlan struct {
	ID         string              `json:"id"`
	InstanceID string              `json:"instance_id"`
	Options    ProvisioningOptions `json:"options"`
	// Counts are the changes by kind: create, update, reactivate,
	// deactivate, group_create, group_update, members_added,
	// members_removed, skipped, and changes (all of them).
	Counts    map[string]int  `json:"counts"`
	RunID     string          `json:"run_id,omitempty"` // the run that applied it; a plan is applied once
	CreatedAt time.Time       `json:"created_at"`
	Plan      *PlannedChanges `json:"plan,omitempty"`
	// Text is the plan as a readable diff: + create, ~ update (attribute:
	// old → new), ^ reactivate, - deactivate, ! skipped, and the counts.
	Text string `json:"text,omitempty"`
}

// PlannedChanges are a plan's changes, each as the SCIM request that makes
// it, and what the plan leaves alone.
type PlannedChanges struct {
	Options     ProvisioningOptions `json:"options"`
	ActiveUsers int                 `json:"active_users"` // active users in Slack when planned
	Changes     []PlannedChange     `json:"changes"`
	Skipped     []PlannedSkip       `json:"skipped,omitempty"`
	Counts      PlannedCounts       `json:"counts"`
}

// PlannedCounts sum a plan up.
type PlannedCounts struct {
	Create         int `json:"create"`
	Update         int `json:"update"`
	Reactivate     int `json:"reactivate"`
	Deactivate     int `json:"deactivate"`
	GroupCreate    int `json:"group_create"`
	GroupUpdate    int `json:"group_update"`
	MembersAdded   int `json:"members_added"`
	MembersRemoved int `json:"members_removed"`
	Skipped        int `json:"skipped"`
}

// PlannedChange is one SCIM request of a plan.
type PlannedChange struct {
	Index int    `json:"index"` // from 1; a run's outcomes name it
	Kind  string `json:"kind"`  // create, update, reactivate, deactivate, group_create, group_update
	Row   int    `json:"row,omitempty"`
	// Key names what changes: a person's match key value, or a group's
	// name. Target is the Slack ID changed, "" for a create.
	Key     string          `json:"key"`
	Target  string          `json:"target,omitempty"`
	Attrs   []PlannedAttr   `json:"attrs,omitempty"`
	Added   []PlannedMember `json:"added,omitempty"`
	Removed []PlannedMember `json:"removed,omitempty"`
	// Needs are the changes that must be over first.
	Needs   []int          `json:"needs,omitempty"`
	Request PlannedRequest `json:"request"`
}

// PlannedAttr is an attribute a change sets, by its SCIM name (userName,
// name.givenName, emails[primary]…): Old → New.
type PlannedAttr struct {
	Attr string `json:"attr"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new"`
}

// PlannedMember is a member a group change adds or removes.
type PlannedMember struct {
	ID     string `json:"id,omitempty"`     // the Slack user ID; "" for a person the plan creates
	Change int    `json:"change,omitempty"` // the change the member waits for
	Name   string `json:"name"`
}

// PlannedRequest is the SCIM request a change sends.
type PlannedRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
}

// PlannedSkip is something a plan leaves alone on purpose, and why.
type PlannedSkip struct {
	Row    int    `json:"row,omitempty"`
	Key    string `json:"key"`
	Target string `json:"target,omitempty"`
	Reason string `json:"reason"`
}

// ProvisioningStopped is the status of a run that stopped before its end
// with its progress kept: ResumeProvisioningRun goes on where it was. A
// run is otherwise RunQueued, RunRunning, RunSucceeded or RunFailed.
const ProvisioningStopped = "stopped"

// ProvisioningRun is the applying of a plan, with its progress.
type ProvisioningRun struct {
	ID         string     `json:"id"`
	InstanceID string     `json:"instance_id"`
	PlanID     string     `json:"plan_id"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"` // why it failed or stopped
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Failed     int        `json:"failed"`
	Skipped    int        `json:"skipped"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Outcomes are in the answer about one run, a page at a time: pass
	// OutcomesAfter as OutcomeOptions.After for the next (0 at the end).
	Outcomes      []ProvisioningOutcome `json:"outcomes,omitempty"`
	OutcomesAfter int                   `json:"outcomes_after,omitempty"`
}

// Finished reports whether the run will do nothing more unless resumed.
func (r ProvisioningRun) Finished() bool { return r.Status != RunQueued && r.Status != RunRunning }

// ProvisioningOutcome is what became of one change of a run's plan.
type ProvisioningOutcome struct {
	Index      int    `json:"index"`
	Status     string `json:"status"` // started (being sent), done, failed, skipped
	SlackID    string `json:"slack_id,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	Note       string `json:"note,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
}

// ProvisioningPlanPage is one page of an instance's plans.
type ProvisioningPlanPage struct {
	Plans      []ProvisioningPlan `json:"plans"`
	NextCursor string             `json:"next_cursor"` // "" on the last page
}

// ProvisioningRunPage is one page of an instance's runs.
type ProvisioningRunPage struct {
	Runs       []ProvisioningRun `json:"runs"`
	NextCursor string            `json:"next_cursor"` // "" on the last page
}

// OutcomeOptions page a run's outcomes: those of the changes after index
// After (0: from the first), at most Limit (0: the hub's 100; at most
// 5000).
type OutcomeOptions struct {
	After int
	Limit int
	// None asks for the run's progress alone, without outcomes.
	None bool
}

func provisioningPath(instanceID string) string {
	return "/v1/instances/" + pathID(instanceID) + "/provisioning"
}

// CreateProvisioningPlan plans a directory file against the instance's
// Slack (POST /v1/instances/{id}/provisioning/plans): nothing changes at
// Slack until the plan is applied. A file with problems is an *Error with
// code invalid_file and its Problems; a plan deactivating more than the
// brake allows, an *Error with code brake (409).
func (c *Client) CreateProvisioningPlan(ctx context.Context, instanceID string, in ProvisioningPlanInput) (ProvisioningPlan, error) {
	var out ProvisioningPlan
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, provisioningPath(instanceID)+"/plans", nil, in, &out)
	return out, err
}

// ProvisioningPlan returns one of an instance's plans with its changes
// (GET /v1/instances/{id}/provisioning/plans/{plan_id}).
func (c *Client) ProvisioningPlan(ctx context.Context, instanceID, planID string) (ProvisioningPlan, error) {
	var out ProvisioningPlan
	if err := needProvisioningIDs(instanceID, "plan", planID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, provisioningPath(instanceID)+"/plans/"+pathID(planID), nil, nil, &out)
	return out, err
}

// ProvisioningPlanByID returns a plan with its changes by its ID alone (GET
// /v1/provisioning/plans/{plan_id}); its InstanceID names its instance.
func (c *Client) ProvisioningPlanByID(ctx context.Context, planID string) (ProvisioningPlan, error) {
	var out ProvisioningPlan
	if err := needID("plan", planID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/provisioning/plans/"+pathID(planID), nil, nil, &out)
	return out, err
}

// ProvisioningPlans returns one page of an instance's plans, newest first,
// without their changes (GET /v1/instances/{id}/provisioning/plans).
func (c *Client) ProvisioningPlans(ctx context.Context, instanceID string, opts ListOptions) (ProvisioningPlanPage, error) {
	var out ProvisioningPlanPage
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, provisioningPath(instanceID)+"/plans", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllProvisioningPlans iterates over every plan of an instance, newest
// first, page after page. It stops at the first error, which it yields.
func (c *Client) AllProvisioningPlans(ctx context.Context, instanceID string) iter.Seq2[ProvisioningPlan, error] {
	return all(ctx, ListOptions{}, func(ctx context.Context, o ListOptions) ([]ProvisioningPlan, string, error) {
		p, err := c.ProvisioningPlans(ctx, instanceID, o)
		return p.Plans, p.NextCursor, err
	})
}

// ApplyProvisioningPlan starts the plan's one run (POST
// /v1/instances/{id}/provisioning/plans/{plan_id}/apply) and returns it
// queued; WaitProvisioningRun follows it. A plan applied already is an
// *Error with code plan_applied (409).
func (c *Client) ApplyProvisioningPlan(ctx context.Context, instanceID, planID string) (ProvisioningRun, error) {
	var out ProvisioningRun
	if err := needProvisioningIDs(instanceID, "plan", planID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, provisioningPath(instanceID)+"/plans/"+pathID(planID)+"/apply", nil, nil, &out)
	return out, err
}

// ProvisioningRuns returns one page of an instance's runs, newest first
// (GET /v1/instances/{id}/provisioning/runs).
func (c *Client) ProvisioningRuns(ctx context.Context, instanceID string, opts ListOptions) (ProvisioningRunPage, error) {
	var out ProvisioningRunPage
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, provisioningPath(instanceID)+"/runs", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllProvisioningRuns iterates over every run of an instance, newest
// first, page after page. It stops at the first error, which it yields.
func (c *Client) AllProvisioningRuns(ctx context.Context, instanceID string) iter.Seq2[ProvisioningRun, error] {
	return all(ctx, ListOptions{}, func(ctx context.Context, o ListOptions) ([]ProvisioningRun, string, error) {
		p, err := c.ProvisioningRuns(ctx, instanceID, o)
		return p.Runs, p.NextCursor, err
	})
}

// ProvisioningRun returns a run with its progress and a page of its
// changes' outcomes, by index (GET
// /v1/instances/{id}/provisioning/runs/{run_id}).
func (c *Client) ProvisioningRun(ctx context.Context, instanceID, runID string, o OutcomeOptions) (ProvisioningRun, error) {
	var out ProvisioningRun
	if err := needProvisioningIDs(instanceID, "run", runID); err != nil {
		return out, err
	}
	q := url.Values{}
	if o.After > 0 {
		q.Set("after", strconv.Itoa(o.After))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.None {
		q.Set("outcomes", "false")
	}
	err := c.do(ctx, http.MethodGet, provisioningPath(instanceID)+"/runs/"+pathID(runID), q, nil, &out)
	return out, err
}

// AllProvisioningOutcomes iterates over every outcome of a run, by index,
// a page of 5000 at a time. It stops at the first error, which it yields.
func (c *Client) AllProvisioningOutcomes(ctx context.Context, instanceID, runID string) iter.Seq2[ProvisioningOutcome, error] {
	return func(yield func(ProvisioningOutcome, error) bool) {
		for o := (OutcomeOptions{Limit: 5000}); ; {
			run, err := c.ProvisioningRun(ctx, instanceID, runID, o)
			if err != nil {
				yield(ProvisioningOutcome{}, err)
				return
			}
			for _, out := range run.Outcomes {
				if !yield(out, nil) {
					return
				}
			}
			if run.OutcomesAfter == 0 {
				return
			}
			o.After = run.OutcomesAfter
		}
	}
}

// ResumeProvisioningRun starts a stopped or failed run again (POST
// /v1/instances/{id}/provisioning/runs/{run_id}/resume): changes done or
// skipped are not sent again, failed ones are. Any other run is an *Error
// with code run_not_stopped (409).
func (c *Client) ResumeProvisioningRun(ctx context.Context, instanceID, runID string) (ProvisioningRun, error) {
	var out ProvisioningRun
	if err := needProvisioningIDs(instanceID, "run", runID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, provisioningPath(instanceID)+"/runs/"+pathID(runID)+"/resume", nil, nil, &out)
	return out, err
}

func needProvisioningIDs(instanceID, what, id string) error {
	if err := needID("instance", instanceID); err != nil {
		return err
	}
	return needID(what, id)
}

// ProvisioningRunError says a run that was waited for did not succeed: it
// failed, or stopped.
type ProvisioningRunError struct {
	Run ProvisioningRun
}

func (e *ProvisioningRunError) Error() string {
	msg := fmt.Sprintf("connhub: provisioning run %s %s", e.Run.ID, e.Run.Status)
	if e.Run.Reason != "" {
		msg += ": " + e.Run.Reason
	}
	return msg
}

// ProvisioningWaitOptions tune WaitProvisioningRun.
type ProvisioningWaitOptions struct {
	// Interval is the time between polls (a second if not positive).
	Interval time.Duration
	// Retries is how many polls in a row may fail for a reason that passes
	// (the hub unreachable or restarting, an answer 429 or 5xx); 0 means
	// 3, a negative number none.
	Retries int
	// OnPoll, if set, is called with each snapshot of the run (without
	// outcomes), the last one included, in the goroutine that called
	// WaitProvisioningRun.
	OnPoll func(ProvisioningRun)
}

// noOutcomes asks for a run without its outcomes.
var noOutcomes = OutcomeOptions{None: true}

// WaitProvisioningRun polls a run until it finishes, as WaitSync does a
// sync: it returns the run as it ended, and a *ProvisioningRunError when it
// failed or stopped. When ctx is done it returns ctx's error and the run as
// last seen: the run goes on at the hub.
func (c *Client) WaitProvisioningRun(ctx context.Context, instanceID, runID string, opts ProvisioningWaitOptions) (ProvisioningRun, error) {
	if err := needProvisioningIDs(instanceID, "run", runID); err != nil {
		return ProvisioningRun{}, err
	}
	run, err := poll(ctx, opts.Interval, opts.Retries,
		func(ctx context.Context) (ProvisioningRun, error) {
			return c.ProvisioningRun(ctx, instanceID, runID, noOutcomes)
		},
		func(r ProvisioningRun) bool {
			if opts.OnPoll != nil {
				opts.OnPoll(r)
			}
			return r.Finished()
		})
	if err == nil && run.Status != RunSucceeded {
		err = &ProvisioningRunError{Run: run}
	}
	return run, err
}
