package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/store"
)

// ProvisioningPlan is a plan as the API shows it.
type ProvisioningPlan struct {
	ID         string         `json:"id"`
	InstanceID string         `json:"instance_id"`
	Options    map[string]any `json:"options"`
	Counts     map[string]int `json:"counts" doc:"Changes by kind: create, update, reactivate, deactivate, group_create, group_update, members_added, members_removed, skipped, changes"`
	RunID      string         `json:"run_id,omitempty" doc:"The run that applied it; a plan is applied once"`
	CreatedAt  time.Time      `json:"created_at"`
	// Plan and Text are in the answers about one plan.
	Plan *provision.Plan `json:"plan,omitempty" doc:"Every change, each as the SCIM request that makes it, and what the plan leaves alone"`
	Text string          `json:"text,omitempty" doc:"The plan as a readable diff: + create, ~ update (attribute: old → new), ^ reactivate, - deactivate, ! skipped"`
}

func planView(p store.ProvisioningPlan, plan *provision.Plan) ProvisioningPlan {
	v := ProvisioningPlan{ID: p.ID, InstanceID: p.InstanceID, Options: p.Options, Counts: p.Counts, RunID: p.RunID, CreatedAt: p.CreatedAt}
	if plan != nil {
		v.Plan, v.Text = plan, plan.String()
	}
	return v
}

// ProvisioningRun is a run as the API shows it.
type ProvisioningRun struct {
	ID         string     `json:"id"`
	InstanceID string     `json:"instance_id"`
	PlanID     string     `json:"plan_id"`
	Status     string     `json:"status" enum:"queued,running,succeeded,failed,stopped"`
	Reason     string     `json:"reason,omitempty" doc:"Why it failed or stopped"`
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Failed     int        `json:"failed"`
	Skipped    int        `json:"skipped"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Outcomes are in the answer about one run, a page at a time.
	Outcomes      []ProvisioningOutcome `json:"outcomes,omitempty"`
	OutcomesAfter int                   `json:"outcomes_after,omitempty" doc:"Pass as after for the next page of outcomes; absent at the end"`
}

// ProvisioningOutcome is what became of one change.
type ProvisioningOutcome struct {
	Index      int    `json:"index"`
	Status     string `json:"status" enum:"started,done,failed,skipped"`
	SlackID    string `json:"slack_id,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	Note       string `json:"note,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
}

func runView(r store.ProvisioningRun) ProvisioningRun {
	return ProvisioningRun{ID: r.ID, InstanceID: r.InstanceID, PlanID: r.PlanID, Status: r.Status, Reason: r.Reason, Total: r.Total, Done: r.Done,
		Failed: r.Failed, Skipped: r.Skipped, CreatedAt: r.CreatedAt, StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt)}
}

type planBody struct {
	File              string  `json:"file" minLength:"1" maxLength:"16777216" doc:"The directory file's text: CSV with a header row, or a JSON array of objects. Columns: userName, email, emails, givenName, familyName, displayName, title, active, groups, guest_type, guest_expiration, guest_channels"`
	Format            string  `json:"format,omitempty" enum:"csv,json" doc:"Default csv"`
	MatchKey          string  `json:"match_key,omitempty" enum:"email,userName" doc:"What finds a person in Slack (default email)"`
	DeactivateMissing bool    `json:"deactivate_missing,omitempty" doc:"Deactivate the active people the file does not list"`
	Membership        string  `json:"membership,omitempty" enum:"merge,overwrite" doc:"merge only adds to the groups the file names (default); overwrite makes them exactly the file's"`
	BrakeShare        float64 `json:"brake_share,omitempty" minimum:"0" maximum:"1" doc:"The share of active users a plan may deactivate (default 0.10); more is refused unless force"`
	Force             bool    `json:"force,omitempty" doc:"Make the plan even when it deactivates more than brake_share"`
}

type planOutput struct{ Body ProvisioningPlan }

type plansOutput struct {
	Body struct {
		Plans []ProvisioningPlan `json:"plans"`
		Page
	}
}

type runOutput struct{ Body ProvisioningRun }

type runsOutput struct {
	Body struct {
		Runs []ProvisioningRun `json:"runs"`
		Page
	}
}

type planPath struct {
	IDPath
	PlanID string `path:"plan_id" maxLength:"100"`
}

type runPath struct {
	IDPath
	RunID string `path:"run_id" maxLength:"100"`
}

func (a *API) provisioningRoutes() {
	if a.o.Provisioning == nil {
		return
	}
	s := a.o.Provisioning
	tags := []string{"Provisioning"}
	huma.Register(a.huma, guarded(authz.PlanProvisioning, huma.Operation{OperationID: "create-provisioning-plan", Method: http.MethodPost,
		Path: "/v1/instances/{id}/provisioning/plans", DefaultStatus: http.StatusCreated, Summary: "Plan a directory file against Slack's people",
		Description: "Reads Slack's users and groups once over SCIM (at its largest page) and answers what applying the file would change: creates, updates " +
			"attribute by attribute, reactivations, deactivations and group changes, each as the SCIM request that makes it. Nothing changes at Slack until " +
			"the plan is applied. A file with problems answers 422 invalid_file listing each with its row and column; a plan deactivating more than brake_share " +
			"of the active users answers 409 brake unless force. The body may be up to 32 MiB.", Tags: tags, MaxBodyBytes: maxPlanBody}),
		func(ctx context.Context, in *struct {
			IDPath
			Body planBody
		}) (*planOutput, error) {
			b := in.Body
			sp, err := s.Plan(ctx, principal(ctx), in.ID, provision.PlanInput{File: []byte(b.File), Format: provision.Format(orDefault(b.Format, "csv")),
				Options: provision.Options{MatchKey: provision.MatchKey(b.MatchKey), DeactivateMissing: b.DeactivateMissing,
					Membership: provision.Membership(b.Membership), BrakeShare: b.BrakeShare, Force: b.Force}})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &planOutput{Body: planView(sp.ProvisioningPlan, sp.Plan)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadProvisioning, huma.Operation{OperationID: "list-provisioning-plans", Method: http.MethodGet,
		Path: "/v1/instances/{id}/provisioning/plans", Summary: "List an instance's provisioning plans, newest first", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			PageQuery
		}) (*plansOutput, error) {
			ps, next, err := s.ListPlans(ctx, principal(ctx), in.ID, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &plansOutput{}
			out.Body.Plans, out.Body.NextCursor = []ProvisioningPlan{}, next
			for _, p := range ps {
				out.Body.Plans = append(out.Body.Plans, planView(p, nil))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadProvisioning, huma.Operation{OperationID: "get-provisioning-plan", Method: http.MethodGet,
		Path: "/v1/instances/{id}/provisioning/plans/{plan_id}", Summary: "Get a provisioning plan with its changes", Tags: tags}),
		func(ctx context.Context, in *planPath) (*planOutput, error) {
			sp, err := s.GetPlan(ctx, principal(ctx), in.ID, in.PlanID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &planOutput{Body: planView(sp.ProvisioningPlan, sp.Plan)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadProvisioning, huma.Operation{OperationID: "get-provisioning-plan-by-id", Method: http.MethodGet,
		Path: "/v1/provisioning/plans/{plan_id}", Summary: "Get a provisioning plan by its ID alone",
		Description: "The plan as GET /v1/instances/{id}/provisioning/plans/{plan_id} answers it, for a caller that knows the plan's ID but " +
			"not its instance (the answer's instance_id names it). An instance token sees its own instance's plans only.", Tags: tags}),
		func(ctx context.Context, in *struct {
			PlanID string `path:"plan_id" maxLength:"100"`
		}) (*planOutput, error) {
			sp, err := s.PlanByID(ctx, principal(ctx), in.PlanID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &planOutput{Body: planView(sp.ProvisioningPlan, sp.Plan)}, nil
		})
	huma.Register(a.huma, guarded(authz.ApplyProvisioning, huma.Operation{OperationID: "apply-provisioning-plan", Method: http.MethodPost,
		Path: "/v1/instances/{id}/provisioning/plans/{plan_id}/apply", DefaultStatus: http.StatusAccepted, Summary: "Apply a provisioning plan",
		Description: "Starts the plan's one run on the queue: its changes go to Slack paced under the org's SCIM limits, creates, updates and " +
			"deactivations side by side, each outcome kept as it is known, so that a run resumed after a crash repeats nothing done. Follow it at " +
			"GET …/provisioning/runs/{run_id}.", Tags: tags}),
		func(ctx context.Context, in *planPath) (*runOutput, error) {
			r, err := s.Apply(ctx, principal(ctx), in.ID, in.PlanID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &runOutput{Body: runView(r)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadProvisioning, huma.Operation{OperationID: "list-provisioning-runs", Method: http.MethodGet,
		Path: "/v1/instances/{id}/provisioning/runs", Summary: "List an instance's provisioning runs, newest first", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			PageQuery
		}) (*runsOutput, error) {
			rs, next, err := s.ListRuns(ctx, principal(ctx), in.ID, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &runsOutput{}
			out.Body.Runs, out.Body.NextCursor = []ProvisioningRun{}, next
			for _, r := range rs {
				out.Body.Runs = append(out.Body.Runs, runView(r))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadProvisioning, huma.Operation{OperationID: "get-provisioning-run", Method: http.MethodGet,
		Path: "/v1/instances/{id}/provisioning/runs/{run_id}", Summary: "Get a provisioning run: its progress and its changes' outcomes", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			RunID string `path:"run_id" maxLength:"100"`
			After int    `query:"after" minimum:"0" doc:"Outcomes of changes after this index"`
			Limit int    `query:"limit" minimum:"0" maximum:"5000" doc:"How many outcomes (default 100; 0 with after absent: the default)"`
			// Outcomes false answers the run's progress alone, for a caller
			// that follows it.
			Outcomes bool `query:"outcomes" default:"true" doc:"false: the run without its outcomes (its progress alone)"`
		}) (*runOutput, error) {
			limit := in.Limit
			switch {
			case !in.Outcomes:
				limit = 0
			case limit == 0:
				limit = 100
			}
			r, outs, err := s.GetRun(ctx, principal(ctx), in.ID, in.RunID, in.After, limit)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			v := runView(r)
			for _, o := range outs {
				v.Outcomes = append(v.Outcomes, ProvisioningOutcome{Index: o.Index, Status: o.Status, SlackID: o.SlackID, HTTPStatus: o.HTTPStatus,
					Error: o.Error, Note: o.Note, Attempts: o.Attempts})
			}
			if limit > 0 && len(outs) == limit {
				v.OutcomesAfter = outs[len(outs)-1].Index
			}
			return &runOutput{Body: v}, nil
		})
	huma.Register(a.huma, guarded(authz.ApplyProvisioning, huma.Operation{OperationID: "resume-provisioning-run", Method: http.MethodPost,
		Path: "/v1/instances/{id}/provisioning/runs/{run_id}/resume", DefaultStatus: http.StatusAccepted, Summary: "Start a stopped or failed run again",
		Description: "It goes on where it was: changes done or skipped are not sent again; failed ones are.", Tags: tags}),
		func(ctx context.Context, in *runPath) (*runOutput, error) {
			r, err := s.Resume(ctx, principal(ctx), in.ID, in.RunID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &runOutput{Body: runView(r)}, nil
		})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
