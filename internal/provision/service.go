package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Store     store.Store
	Instances *instance.Service
	// SCIM makes the SCIM calls of plans and runs, paced in the one stack.
	SCIM *scim.Caller
	Log  *slog.Logger
	// Owner names this replica in run leases (default: host and process).
	Owner string
	// LeaseTTL is how long a run's lease lasts unless renewed (default a
	// minute); SweepEvery how often runs whose lease lapsed are queued
	// again (default 30 s).
	LeaseTTL, SweepEvery time.Duration
	// Workers are the apply's workers per kind of change (ApplyOptions).
	Workers int
	// Retry bounds a run's retries (ApplyOptions.Retry).
	Retry Retry
	// Registerer takes the runs' metrics (nil: a private registry).
	Registerer prometheus.Registerer
}

// Service plans and applies directory files for instances: the plans and
// each run's outcomes in the store, the runs on the queue, every plan and
// run in the audit log.
type Service struct {
	o       ServiceOptions
	jobs    *queue.Queue
	metrics *metrics
}

// NewService makes a Service.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Store == nil || o.Instances == nil || o.SCIM == nil {
		return nil, errors.New("provision: Store, Instances and SCIM are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = host + "/" + strconv.Itoa(os.Getpid())
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Minute
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = 30 * time.Second
	}
	return &Service{o: o, metrics: newMetrics(o.Registerer)}, nil
}

// PlanInput is a directory file and how to plan it.
type PlanInput struct {
	File    []byte
	Format  Format
	Options Options
}

// StoredPlan is a plan as the store keeps it, with the plan itself.
type StoredPlan struct {
	store.ProvisioningPlan
	Plan *Plan
}

// InvalidFileError is a file with problems: no plan was made.
type InvalidFileError struct{ Problems Problems }

func (e *InvalidFileError) Error() string { return e.Problems.Error() }

// boundClient is the Caller for one instance: a Client.
type boundClient struct {
	c  *scim.Caller
	in store.Instance
}

func (b boundClient) Do(ctx context.Context, method, path string, query url.Values, body any) (int, []byte, error) {
	status, data, err := b.c.Do(ctx, b.in, method, path, query, body)
	if err == nil && status == http.StatusTooManyRequests {
		// The stack waited out what its policy allows; Apply waits out the
		// rest within its bounds.
		return status, data, &RateLimitError{RetryAfter: time.Second}
	}
	return status, data, err
}

// ready finds the instance for p, allowed action a, able to provision.
func (s *Service) ready(ctx context.Context, p tenant.Principal, a authz.Action, instanceID string) (store.Instance, error) {
	in, err := s.o.Instances.Authorize(ctx, p, a, instanceID)
	if err != nil {
		return store.Instance{}, err
	}
	if prob := instance.SCIMReadiness(in); prob != nil {
		return store.Instance{}, prob
	}
	return in, nil
}

// Plan reads Slack's SCIM state once and plans the file against it. A file
// with problems is an *InvalidFileError; a plan over the brake, a 409
// naming how many it would deactivate.
func (s *Service) Plan(ctx context.Context, p tenant.Principal, instanceID string, in PlanInput) (StoredPlan, error) {
	inst, err := s.ready(ctx, p, authz.PlanProvisioning, instanceID)
	if err != nil {
		return StoredPlan{}, err
	}
	opts := in.Options.WithDefaults()
	if err := opts.Validate(); err != nil {
		return StoredPlan{}, apierror.New(http.StatusBadRequest, "invalid_options", err.Error())
	}
	dir, err := Parse(bytes.NewReader(in.File), in.Format, opts.MatchKey)
	var problems Problems
	if errors.As(err, &problems) {
		return StoredPlan{}, &InvalidFileError{problems}
	}
	if err != nil {
		return StoredPlan{}, apierror.New(http.StatusBadRequest, "invalid_file", err.Error())
	}
	st, err := ReadState(ctx, boundClient{s.o.SCIM, inst}, s.o.Retry)
	if err != nil {
		return StoredPlan{}, s.slackProblem(err, "read Slack's users and groups")
	}
	plan, err := NewPlan(dir, st, opts)
	var brake *BrakeError
	switch {
	case errors.As(err, &problems):
		return StoredPlan{}, &InvalidFileError{problems}
	case errors.As(err, &brake):
		return StoredPlan{}, apierror.New(http.StatusConflict, "brake", brake.Error()[len("provision: "):])
	case err != nil:
		return StoredPlan{}, err
	}
	body, err := json.Marshal(plan)
	if err != nil {
		return StoredPlan{}, err
	}
	var optMap map[string]any
	if b, err := json.Marshal(plan.Options); err == nil {
		json.Unmarshal(b, &optMap)
	}
	c := plan.Counts
	sp := store.ProvisioningPlan{OrgID: inst.OrgID, InstanceID: inst.ID, Options: optMap, Body: body, CreatedBy: audit.ActorOf(p).ID,
		Counts: map[string]int{"create": c.Create, "update": c.Update, "reactivate": c.Reactivate, "deactivate": c.Deactivate,
			"group_create": c.GroupCreate, "group_update": c.GroupUpdate, "members_added": c.MembersAdded, "members_removed": c.MembersRemoved,
			"skipped": c.Skipped, "changes": len(plan.Changes)}}
	err = s.o.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		if sp, err = q.CreateProvisioningPlan(ctx, sp); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "provisioning.plan", TargetType: "instance", TargetID: inst.ID,
			Details: map[string]any{"plan_id": sp.ID, "counts": sp.Counts, "people": len(dir.People)}})
	})
	if err != nil {
		return StoredPlan{}, err
	}
	return StoredPlan{sp, plan}, nil
}

// slackProblem is what a failed SCIM read answers.
func (s *Service) slackProblem(err error, what string) error {
	var prob *apierror.Problem
	if errors.As(err, &prob) {
		return prob
	}
	s.o.Log.Warn("provision: "+what, "err", err)
	return apierror.New(http.StatusBadGateway, "slack_unavailable", "connhub could not "+what+": "+err.Error())
}

// GetPlan reads one of an instance's plans.
func (s *Service) GetPlan(ctx context.Context, p tenant.Principal, instanceID, planID string) (StoredPlan, error) {
	if _, err := s.o.Instances.Authorize(ctx, p, authz.ReadProvisioning, instanceID); err != nil {
		return StoredPlan{}, err
	}
	sp, err := s.o.Store.GetProvisioningPlan(ctx, p.Org.ID, planID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sp.InstanceID != instanceID) {
		return StoredPlan{}, apierror.New(http.StatusNotFound, "not_found", "no such plan for this instance")
	}
	if err != nil {
		return StoredPlan{}, err
	}
	return withPlan(sp)
}

// errNoPlan is the answer about a plan the caller may not know of.
var errNoPlan = apierror.New(http.StatusNotFound, "not_found", "no such plan in your organization")

// PlanByID reads one of the organization's plans by its ID alone, for a
// caller that does not know its instance (the CLI applying a PLAN_ID). The
// caller must be allowed to read the plan's instance's provisioning: an
// instance token sees its own instance's plans only, and any other plan is
// not found, as another organization's is.
func (s *Service) PlanByID(ctx context.Context, p tenant.Principal, planID string) (StoredPlan, error) {
	// Refused before looking: who may not read plans learns nothing of
	// which exist.
	if err := authz.Allow(p, authz.ReadProvisioning, ""); err != nil {
		return StoredPlan{}, err
	}
	sp, err := s.o.Store.GetProvisioningPlan(ctx, p.Org.ID, planID)
	if errors.Is(err, store.ErrNotFound) {
		return StoredPlan{}, errNoPlan
	}
	if err != nil {
		return StoredPlan{}, err
	}
	_, err = s.o.Instances.Authorize(ctx, p, authz.ReadProvisioning, sp.InstanceID)
	var prob *apierror.Problem
	if errors.As(err, &prob) && prob.Status == http.StatusNotFound {
		return StoredPlan{}, errNoPlan
	}
	if err != nil {
		return StoredPlan{}, err
	}
	return withPlan(sp)
}

// withPlan decodes a stored plan's changes.
func withPlan(sp store.ProvisioningPlan) (StoredPlan, error) {
	var plan Plan
	if err := json.Unmarshal(sp.Body, &plan); err != nil {
		return StoredPlan{}, fmt.Errorf("provision: plan %s: %w", sp.ID, err)
	}
	return StoredPlan{sp, &plan}, nil
}

// ListPlans lists an instance's plans, newest first, without their changes.
func (s *Service) ListPlans(ctx context.Context, p tenant.Principal, instanceID string, page store.Page) ([]store.ProvisioningPlan, string, error) {
	if _, err := s.o.Instances.Authorize(ctx, p, authz.ReadProvisioning, instanceID); err != nil {
		return nil, "", err
	}
	return s.o.Store.ListProvisioningPlans(ctx, p.Org.ID, instanceID, page)
}

// Apply starts the plan's one run, on the queue. A plan applied already
// answers 409 naming its run.
func (s *Service) Apply(ctx context.Context, p tenant.Principal, instanceID, planID string) (store.ProvisioningRun, error) {
	inst, err := s.ready(ctx, p, authz.ApplyProvisioning, instanceID)
	if err != nil {
		return store.ProvisioningRun{}, err
	}
	sp, err := s.GetPlan(ctx, p, instanceID, planID)
	if err != nil {
		return store.ProvisioningRun{}, err
	}
	if sp.RunID != "" {
		return store.ProvisioningRun{}, apierror.New(http.StatusConflict, "plan_applied", "the plan was applied already, by run "+sp.RunID+
			": follow it (GET …/provisioning/runs/"+sp.RunID+"), start it again if it stopped, or make a new plan")
	}
	var run store.ProvisioningRun
	err = s.o.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		run, err = q.StartProvisioningRun(ctx, store.ProvisioningRun{OrgID: inst.OrgID, InstanceID: inst.ID, PlanID: planID,
			Total: len(sp.Plan.Changes), CreatedBy: audit.ActorOf(p).ID})
		if errors.Is(err, store.ErrConflict) {
			return apierror.New(http.StatusConflict, "plan_applied", "the plan was applied already: make a new plan")
		}
		if err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "provisioning.apply", TargetType: "instance", TargetID: inst.ID,
			Details: map[string]any{"plan_id": planID, "run_id": run.ID, "changes": run.Total}}); err != nil {
			return err
		}
		return s.queueRun(ctx, q, run)
	})
	if err == nil {
		s.started(ctx, run)
	}
	return run, err
}

// Resume starts a stopped run again: it goes on where it was.
func (s *Service) Resume(ctx context.Context, p tenant.Principal, instanceID, runID string) (store.ProvisioningRun, error) {
	if _, err := s.ready(ctx, p, authz.ApplyProvisioning, instanceID); err != nil {
		return store.ProvisioningRun{}, err
	}
	var run store.ProvisioningRun
	err := s.o.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		run, err = q.UpdateProvisioningRun(ctx, p.Org.ID, runID, func(r *store.ProvisioningRun) error {
			switch {
			case r.InstanceID != instanceID:
				return store.ErrNotFound
			case r.Status != store.ProvisioningStopped && r.Status != store.RunFailed:
				return apierror.New(http.StatusConflict, "run_not_stopped", "the run is "+r.Status+": only a stopped or failed run starts again")
			}
			r.Status, r.Reason, r.FinishedAt, r.Owner, r.LeaseUntil = store.RunQueued, "", time.Time{}, "", time.Time{}
			return nil
		})
		if err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "provisioning.resume", TargetType: "instance", TargetID: instanceID,
			Details: map[string]any{"run_id": runID}}); err != nil {
			return err
		}
		return s.queueRun(ctx, q, run)
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.ProvisioningRun{}, apierror.New(http.StatusNotFound, "not_found", "no such run for this instance")
	}
	if err == nil {
		s.started(ctx, run)
	}
	return run, err
}

// GetRun reads a run, and its outcomes from index after on (limit 0:
// none).
func (s *Service) GetRun(ctx context.Context, p tenant.Principal, instanceID, runID string, after, limit int) (store.ProvisioningRun, []store.ProvisioningOutcome, error) {
	if _, err := s.o.Instances.Authorize(ctx, p, authz.ReadProvisioning, instanceID); err != nil {
		return store.ProvisioningRun{}, nil, err
	}
	run, err := s.o.Store.GetProvisioningRun(ctx, p.Org.ID, runID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && run.InstanceID != instanceID) {
		return store.ProvisioningRun{}, nil, apierror.New(http.StatusNotFound, "not_found", "no such run for this instance")
	}
	if err != nil || limit <= 0 {
		return run, nil, err
	}
	outs, err := s.o.Store.ListProvisioningOutcomes(ctx, p.Org.ID, runID, after, limit)
	return run, outs, err
}

// ListRuns lists an instance's runs, newest first.
func (s *Service) ListRuns(ctx context.Context, p tenant.Principal, instanceID string, page store.Page) ([]store.ProvisioningRun, string, error) {
	if _, err := s.o.Instances.Authorize(ctx, p, authz.ReadProvisioning, instanceID); err != nil {
		return nil, "", err
	}
	return s.o.Store.ListProvisioningRuns(ctx, p.Org.ID, instanceID, page)
}

// ---- the runs, on the queue ----

const queueName = "connhub_provisioning"

type runArgs struct {
	OrgID string `json:"org_id"`
	RunID string `json:"run_id"`
}

func (runArgs) Kind() string { return "provisioning_run" }

var runOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: 3}

type runWorker struct {
	river.WorkerDefaults[runArgs]
	svc *Service
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.svc.work(ctx, w.svc.o.Owner+"/"+strconv.FormatInt(job.ID, 10), job.Args.OrgID, job.Args.RunID)
}

// AddWorkers adds the run worker to the hub's workers.
func (s *Service) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &runWorker{svc: s})
}

// Queues names the provisioning's River queue: a replica applies two plans
// at once at most (each paced under the org's SCIM limits anyway).
func (s *Service) Queues() map[string]int { return map[string]int{queueName: 2} }

// UseQueue runs plans on q, which has the service's workers.
func (s *Service) UseQueue(q *queue.Queue) { s.jobs = q }

// queueRun queues the run in q's transaction. Without a queue (a test's
// hub), started is told to work it in a goroutine once the
// transaction commits.
func (s *Service) queueRun(ctx context.Context, q store.Queries, r store.ProvisioningRun) error {
	if s.jobs == nil {
		return nil
	}
	return s.jobs.InsertTx(ctx, q, runArgs{OrgID: r.OrgID, RunID: r.ID}, runOpts)
}

// started works a run just committed when there is no queue to.
func (s *Service) started(ctx context.Context, r store.ProvisioningRun) {
	if s.jobs == nil {
		go s.work(context.WithoutCancel(ctx), s.o.Owner+"/inline", r.OrgID, r.ID)
	}
}

// Serve queues again, every SweepEvery, the runs no replica works (their
// lease lapsed: the replica died), until ctx ends.
func (s *Service) Serve(ctx context.Context) error {
	queue.Every(ctx, s.o.SweepEvery, s.sweep)
	return nil
}

func (s *Service) sweep(ctx context.Context) {
	adrift, err := s.o.Store.ProvisioningRunsAdrift(ctx, time.Now().Add(-s.o.SweepEvery), 100)
	if err != nil {
		s.o.Log.Warn("provision: sweep", "err", err)
		return
	}
	for _, k := range adrift {
		if err := s.jobs.Insert(ctx, runArgs{OrgID: k[0], RunID: k[1]}, runOpts); err != nil {
			s.o.Log.Warn("provision: sweep: queue a run again", "run", k[1], "err", err)
		}
	}
}

// work applies a run's plan while it holds the run's lease, renewing it;
// another worker holding it applies it instead.
func (s *Service) work(ctx context.Context, owner, orgID, runID string) error {
	ok, err := s.o.Store.LeaseProvisioningRun(ctx, orgID, runID, owner, time.Now().Add(s.o.LeaseTTL))
	if err != nil || !ok {
		return err
	}
	run, err := s.o.Store.GetProvisioningRun(ctx, orgID, runID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go s.renew(ctx, cancel, owner, orgID, runID)

	run, err = s.o.Store.UpdateProvisioningRun(ctx, orgID, runID, func(r *store.ProvisioningRun) error {
		r.Status = store.RunRunning
		if r.StartedAt.IsZero() {
			r.StartedAt = time.Now()
		}
		return nil
	})
	if err != nil {
		return err
	}
	status, reason := store.RunSucceeded, ""
	res, err := s.apply(ctx, run)
	var stopped *StoppedError
	switch {
	case errors.As(err, &stopped):
		status, reason = store.ProvisioningStopped, stopped.Error()
	case context.Cause(ctx) == errLeaseLost:
		return nil // another replica has it now
	case ctx.Err() != nil:
		return ctx.Err() // shutting down: the lease lapses and the sweep queues it again
	case err != nil:
		status, reason = store.RunFailed, err.Error()
	case res.Failed > 0:
		status, reason = store.RunFailed, fmt.Sprintf("%d of %d changes failed: Slack refused them (their outcomes say why); fix and start the run again, or make a new plan", res.Failed, run.Total)
	}
	_, err = s.o.Store.UpdateProvisioningRun(context.WithoutCancel(ctx), orgID, runID, func(r *store.ProvisioningRun) error {
		r.Status, r.Reason, r.FinishedAt, r.Owner, r.LeaseUntil = status, reason, time.Now(), "", time.Time{}
		return nil
	})
	if err == nil {
		s.metrics.runs.WithLabelValues(status).Inc()
	}
	return err
}

var errLeaseLost = errors.New("provision: the run's lease was lost")

// renew keeps the run's lease until ctx ends; losing it cancels the run.
func (s *Service) renew(ctx context.Context, cancel context.CancelCauseFunc, owner, orgID, runID string) {
	t := time.NewTicker(s.o.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := s.o.Store.LeaseProvisioningRun(ctx, orgID, runID, owner, time.Now().Add(s.o.LeaseTTL))
		if err == nil && !ok {
			cancel(errLeaseLost)
			return
		}
	}
}

// apply runs the plan with the store as its Progress.
func (s *Service) apply(ctx context.Context, run store.ProvisioningRun) (Result, error) {
	sp, err := s.o.Store.GetProvisioningPlan(ctx, run.OrgID, run.PlanID)
	if err != nil {
		return Result{}, err
	}
	var plan Plan
	if err := json.Unmarshal(sp.Body, &plan); err != nil {
		return Result{}, fmt.Errorf("the plan %s: %w", run.PlanID, err)
	}
	inst, err := s.o.Store.GetInstance(ctx, run.OrgID, run.InstanceID)
	if err != nil {
		return Result{}, err
	}
	if prob := instance.SCIMReadiness(inst); prob != nil {
		return Result{}, prob
	}
	return Apply(ctx, boundClient{s.o.SCIM, inst}, &plan, &storeProgress{s: s.o.Store, run: run, plan: &plan, metrics: s.metrics},
		ApplyOptions{Workers: s.o.Workers, Retry: s.o.Retry})
}

// storeProgress keeps a run's outcomes in the store: each is written before
// Record returns, so that a run resumed after a crash repeats nothing done.
// A change's start, recorded just before it is sent with the instance's
// admin token, is written with its audit event in one transaction: no
// record, no call.
type storeProgress struct {
	s       store.Store
	run     store.ProvisioningRun
	plan    *Plan
	metrics *metrics
}

func (p *storeProgress) Outcomes(ctx context.Context) (map[int]Outcome, error) {
	out := map[int]Outcome{}
	after := 0
	for {
		page, err := p.s.ListProvisioningOutcomes(ctx, p.run.OrgID, p.run.ID, after, 5000)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			out[o.Index] = Outcome{Index: o.Index, Status: Status(o.Status), ID: o.SlackID, HTTPStatus: o.HTTPStatus, Error: o.Error, Note: o.Note, Attempts: o.Attempts}
			after = o.Index
		}
		if len(page) < 5000 {
			return out, nil
		}
	}
}

func (p *storeProgress) Record(ctx context.Context, o Outcome) error {
	put := func(q store.Queries) error {
		return q.PutProvisioningOutcome(ctx, p.run.OrgID, store.ProvisioningOutcome{RunID: p.run.ID, Index: o.Index, Status: string(o.Status),
			SlackID: o.ID, HTTPStatus: o.HTTPStatus, Error: o.Error, Note: o.Note, Attempts: o.Attempts})
	}
	if o.Status != StatusStarted {
		if err := put(p.s); err != nil {
			return err
		}
		if o.Index >= 1 && o.Index <= len(p.plan.Changes) {
			p.metrics.changes.WithLabelValues(string(p.plan.Changes[o.Index-1].Kind), string(o.Status)).Inc()
		}
		return nil
	}
	return p.s.InTx(ctx, func(q store.Queries) error {
		if err := put(q); err != nil {
			return err
		}
		return audit.Write(ctx, q, audit.System(p.run.OrgID), audit.Event{Action: "scim.write", TargetType: "instance", TargetID: p.run.InstanceID,
			Details: p.details(o.Index)})
	})
}

// details says what change i sends, as the SCIM relay's audit events do
// (the endpoint, the Slack ID, the attributes, never their values), and
// which run of whose sends it.
func (p *storeProgress) details(i int) map[string]any {
	d := map[string]any{"run_id": p.run.ID, "plan_id": p.run.PlanID, "change": i, "applied_by": p.run.CreatedBy}
	if i < 1 || i > len(p.plan.Changes) {
		return d
	}
	c := p.plan.Changes[i-1]
	for k, v := range scim.WriteDetails(c.Request.Method, c.Request.Body) {
		d[k] = v
	}
	d["kind"], d["endpoint"] = string(c.Kind), c.Request.Method+" "+c.Request.Path
	if c.Target != "" {
		d["slack_id"] = c.Target
	}
	return d
}
