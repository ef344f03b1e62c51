package store

import (
	"context"
	"time"
)

// ProvisioningPlan is a plan of SCIM changes for an instance, computed from
// a directory file against Slack's state (internal/provision). Body is the
// plan as that package serializes it; the store keeps it as it is.
type ProvisioningPlan struct {
	ID         string
	OrgID      string
	InstanceID string
	Options    map[string]any
	Counts     map[string]int
	Body       []byte // omitted by ListProvisioningPlans
	RunID      string // "" until the plan is applied; a plan is applied once
	CreatedBy  string
	CreatedAt  time.Time
}

// ProvisioningRun is the applying of a plan: its progress, and which
// replica works it (Owner, until LeaseUntil unless renewed).
type ProvisioningRun struct {
	ID         string
	OrgID      string
	InstanceID string
	PlanID     string
	Status     string // RunQueued, RunRunning, RunSucceeded, RunFailed, ProvisioningStopped
	Reason     string
	Total      int
	Done       int
	Failed     int
	Skipped    int
	Owner      string
	LeaseUntil time.Time
	CreatedBy  string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	UpdatedAt  time.Time
	Version    int64
}

// ProvisioningStopped is a run that stopped before its end with its
// progress kept (Slack failing for too long, or someone stopping it): it
// may be started again and goes on where it was.
const ProvisioningStopped = "stopped"

// Finished reports whether the run will do nothing more unless started
// again.
func (r ProvisioningRun) Finished() bool {
	return r.Status != RunQueued && r.Status != RunRunning
}

// ProvisioningOutcome is what became of one change of a run's plan.
type ProvisioningOutcome struct {
	RunID      string
	Index      int    // the change's index in the plan
	Status     string // OutcomeStarted, OutcomeDone, OutcomeFailed, OutcomeSkipped
	SlackID    string // the user or group the change made or changed
	HTTPStatus int    // Slack's answer to the last send; 0: none
	Error      string // Slack's error description, for a failure
	Note       string // why it was skipped, or how a done one was found done
	Attempts   int
	At         time.Time
}

// Outcomes of a change. A started change is being sent: found so after a
// crash, Slack may or may not have acted on it. It is counted in none of
// the run's counts.
const (
	OutcomeStarted = "started"
	OutcomeDone    = "done"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
)

// ProvisioningQueries keep plans, their runs and the runs' outcomes
// (migration 00013).
type ProvisioningQueries interface {
	CreateProvisioningPlan(ctx context.Context, p ProvisioningPlan) (ProvisioningPlan, error)
	GetProvisioningPlan(ctx context.Context, orgID, id string) (ProvisioningPlan, error)
	// ListProvisioningPlans lists an instance's plans, newest first, without
	// their bodies.
	ListProvisioningPlans(ctx context.Context, orgID, instanceID string, page Page) ([]ProvisioningPlan, string, error)
	// StartProvisioningRun records the run of its plan: ErrConflict if the
	// plan has a run already.
	StartProvisioningRun(ctx context.Context, r ProvisioningRun) (ProvisioningRun, error)
	GetProvisioningRun(ctx context.Context, orgID, id string) (ProvisioningRun, error)
	// ListProvisioningRuns lists an instance's runs, newest first.
	ListProvisioningRuns(ctx context.Context, orgID, instanceID string, page Page) ([]ProvisioningRun, string, error)
	// UpdateProvisioningRun changes a run's status, reason, times and lease;
	// its counts are the outcomes'.
	UpdateProvisioningRun(ctx context.Context, orgID, id string, fn func(*ProvisioningRun) error) (ProvisioningRun, error)
	// LeaseProvisioningRun makes owner the one worker of an unfinished run
	// until until, if nobody else holds it: it reports whether owner does.
	LeaseProvisioningRun(ctx context.Context, orgID, id, owner string, until time.Time) (bool, error)
	// ProvisioningRunsAdrift lists the unfinished runs, of every
	// organization, whose lease lapsed before now (their replica died), at
	// most limit, as [org ID, run ID].
	ProvisioningRunsAdrift(ctx context.Context, now time.Time, limit int) ([][2]string, error)
	// PutProvisioningOutcome records what became of a change, and counts
	// it in its run: a change's outcome may change (a failure done on a
	// later start), never be counted twice.
	PutProvisioningOutcome(ctx context.Context, orgID string, o ProvisioningOutcome) error
	// ListProvisioningOutcomes lists a run's outcomes by index, from index
	// after on (-1: from the start).
	ListProvisioningOutcomes(ctx context.Context, orgID, runID string, after, limit int) ([]ProvisioningOutcome, error)
}
