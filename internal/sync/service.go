package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Config configures the sync service.
type Config struct {
	Store  store.Store
	Caller *slackcall.Caller
	Log    *slog.Logger
	Now    func() time.Time
	// Owner names this replica in run leases (default: host, process and a
	// random suffix).
	Owner string
	// LeaseTTL is how long a run's lease lasts unless renewed (default a
	// minute; renewed every third of it). A replica that dies leaves its
	// runs to others after this long.
	LeaseTTL time.Duration
	// SweepEvery is how often a replica looks for runs to resume and
	// schedules that are due (default 30 s).
	SweepEvery time.Duration
	// Workers is how many runs a replica works at once (default 4).
	Workers int
}

// Service starts, runs, resumes and reports syncs.
type Service struct {
	store  store.Store
	caller *slackcall.Caller
	log    *slog.Logger
	now    func() time.Time
	owner  string
	ttl    time.Duration
	cfg    Config
	jobs   *queue.Queue // where runs wait for a worker (UseQueue)

	changeMu gosync.Mutex
	changed  chan struct{} // closed at the next change of a run (Changes)
}

// New makes a Service. It runs nothing until Start is given a queue.
func New(c Config) (*Service, error) {
	if c.Store == nil || c.Caller == nil {
		return nil, errors.New("sync: a store and a Slack caller are needed")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		c.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Minute
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 30 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	return &Service{store: c.Store, caller: c.Caller, log: c.Log, now: c.Now, owner: c.Owner, ttl: c.LeaseTTL, cfg: c}, nil
}

// StartInput asks for a sync.
type StartInput struct {
	Streams []string // empty: the default streams
	Options Options
	Trigger string // "manual" (default) or "schedule"
}

// Run is a run with its progress and options read.
type Run struct {
	store.SyncRun
	State map[string]StreamProgress // by stream
	Opts  Options
}

// resolveStreams checks stream names and adds what they need: the streams
// they fan out over and the streams derived ones are computed from. The
// result is in the catalog's order.
func resolveStreams(names []string) ([]string, error) {
	if len(names) == 0 {
		names = DefaultStreams()
	}
	want := map[string]bool{}
	var add func(name string) error
	add = func(name string) error {
		s := streamByName(name)
		if s == nil {
			return apierror.New(http.StatusBadRequest, "unknown_stream", fmt.Sprintf("there is no stream %q; the streams are %s", name, strings.Join(StreamNames(), ", ")))
		}
		if want[name] {
			return nil
		}
		want[name] = true
		if s.Parent != "" {
			if err := add(s.Parent); err != nil {
				return err
			}
		}
		for _, d := range s.After {
			if err := add(d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(strings.TrimSpace(n)); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, s := range streams {
		if want[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// Start asks for a sync of an instance: the run is queued and a worker
// (of any replica) runs it. One run of an instance at a time.
func (s *Service) Start(ctx context.Context, p tenant.Principal, instanceID string, in StartInput) (Run, error) {
	if err := authz.Allow(p, authz.RunSyncs, instanceID); err != nil {
		return Run{}, err
	}
	names, err := resolveStreams(in.Streams)
	if err != nil {
		return Run{}, err
	}
	if err := in.Options.validate(); err != nil {
		return Run{}, err
	}
	inst, err := s.store.GetInstance(ctx, p.Org.ID, instanceID)
	if errors.Is(err, store.ErrNotFound) {
		return Run{}, apierror.New(http.StatusNotFound, "not_found", "there is no instance "+instanceID)
	} else if err != nil {
		return Run{}, err
	}
	if inst.Status != store.StatusActive {
		return Run{}, apierror.New(http.StatusConflict, "instance_not_active", fmt.Sprintf("the instance is %s, not active: %s", inst.Status, inst.StatusReason))
	}
	if err := in.Options.checkJoin(inst); err != nil {
		return Run{}, err
	}
	trigger := in.Trigger
	if trigger == "" {
		trigger = "manual"
	}
	opts, _ := json.Marshal(in.Options)
	progress := map[string]StreamProgress{}
	for _, n := range names {
		progress[n] = StreamProgress{State: StatePending}
	}
	prog, _ := json.Marshal(progress)
	run := store.SyncRun{ID: store.NewID("run"), OrgID: p.Org.ID, InstanceID: instanceID, Status: store.RunQueued, Trigger: trigger,
		Streams: names, Options: opts, Progress: prog}
	// The row, its audit event and its job commit together: no run is left
	// without a job to work it, and no job names a run that is not there.
	// The database refuses a second unfinished run of the instance
	// (store.ErrAlreadyExists), whichever replica asked.
	err = s.store.InTx(ctx, func(q store.Queries) (err error) {
		if run, err = q.CreateSyncRun(ctx, run); err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "sync.start", TargetType: "instance", TargetID: instanceID,
			Details: map[string]any{"run": run.ID, "streams": names, "trigger": trigger}}); err != nil {
			return err
		}
		return s.enqueueTx(ctx, q, run)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return Run{}, s.inProgress(ctx, p.Org.ID, instanceID, "; wait for it or cancel it")
	}
	if err != nil {
		return Run{}, err
	}
	s.notify()
	s.log.Info("sync: queued", "run", run.ID, "instance", instanceID, "streams", len(names), "trigger", trigger)
	return s.view(run), nil
}

// enqueueTx queues the run's job in the transaction of q, where the service
// has a queue (without one, a test works runs with Execute).
func (s *Service) enqueueTx(ctx context.Context, q store.Queries, r store.SyncRun) error {
	if s.jobs == nil {
		return nil
	}
	if err := s.jobs.InsertTx(ctx, q, runArgs{OrgID: r.OrgID, RunID: r.ID}, runOpts); err != nil {
		return fmt.Errorf("sync: queue the run: %w", err)
	}
	return nil
}

// inProgress is the 409 for a run the database refused: the instance has
// an unfinished run, which it names.
func (s *Service) inProgress(ctx context.Context, orgID, instanceID, advice string) error {
	busy := "another sync of the instance"
	if r, err := s.store.UnfinishedSyncRun(ctx, orgID, instanceID); err == nil {
		busy = "the instance's sync " + r.ID
	}
	return apierror.New(http.StatusConflict, "sync_in_progress", busy+" has not finished"+advice)
}

// Changes is closed at this service's next change of a run: a run created,
// taken by a worker, its progress saved, ended, canceled, resumed or queued
// again. Take it, read the run, and wait on it before reading again: no
// change is missed between the read and the wait. It tells of this
// service's changes only, not of another replica's.
func (s *Service) Changes() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// notify tells those waiting on Changes that a run changed.
func (s *Service) notify() {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// updateRun is store.UpdateSyncRun, telling Changes when it wrote.
func (s *Service) updateRun(ctx context.Context, orgID, runID string, fn func(*store.SyncRun) error) (store.SyncRun, error) {
	r, err := s.store.UpdateSyncRun(ctx, orgID, runID, fn)
	if err == nil {
		s.notify()
	}
	return r, err
}

// view reads a run's progress and options, and says how it is now: a run
// that is running but whose lease lapsed is stalled (its replica died; a
// sweeper resumes it), and its streams wait for nothing.
func (s *Service) view(r store.SyncRun) Run {
	v := Run{SyncRun: r, State: map[string]StreamProgress{}}
	json.Unmarshal(r.Progress, &v.State)
	json.Unmarshal(r.Options, &v.Opts)
	if now := s.now(); r.Status == store.RunRunning && !r.LeaseUntil.After(now) {
		v.Status = RunStalled
		v.Error = fmt.Sprintf("no replica works it: the lease of the one that did (%s) lapsed %s ago; a replica's sweeper resumes it from its checkpoints",
			orNone(r.LeaseOwner), now.Sub(r.LeaseUntil).Round(time.Second))
		for name, p := range v.State {
			p.WaitingSince = time.Time{}
			v.State[name] = p
		}
	}
	return v
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Get shows a run.
func (s *Service) Get(ctx context.Context, p tenant.Principal, instanceID, runID string) (Run, error) {
	if err := authz.Allow(p, authz.ReadSyncs, instanceID); err != nil {
		return Run{}, err
	}
	return s.get(ctx, p.Org.ID, instanceID, runID)
}

func (s *Service) get(ctx context.Context, orgID, instanceID, runID string) (Run, error) {
	r, err := s.store.GetSyncRun(ctx, orgID, runID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.InstanceID != instanceID) {
		return Run{}, apierror.New(http.StatusNotFound, "not_found", "the instance has no sync "+runID)
	}
	if err != nil {
		return Run{}, err
	}
	return s.view(r), nil
}

// List lists one page of an instance's runs, newest first, and the cursor
// of the next page ("" at the end).
func (s *Service) List(ctx context.Context, p tenant.Principal, instanceID string, page store.Page) ([]Run, string, error) {
	if err := authz.Allow(p, authz.ReadSyncs, instanceID); err != nil {
		return nil, "", err
	}
	orgID := p.Org.ID
	if _, err := s.store.GetInstance(ctx, orgID, instanceID); errors.Is(err, store.ErrNotFound) {
		return nil, "", apierror.New(http.StatusNotFound, "not_found", "there is no instance "+instanceID)
	} else if err != nil {
		return nil, "", err
	}
	runs, next, err := s.store.ListSyncRuns(ctx, orgID, instanceID, page)
	if err != nil {
		return nil, "", err
	}
	out := make([]Run, len(runs))
	for i, r := range runs {
		out[i] = s.view(r)
	}
	return out, next, nil
}

// Cancel stops a run: queued, it never starts; running, its worker stops at
// the next page. What it wrote stays.
func (s *Service) Cancel(ctx context.Context, p tenant.Principal, instanceID, runID string) (Run, error) {
	if err := authz.Allow(p, authz.RunSyncs, instanceID); err != nil {
		return Run{}, err
	}
	orgID := p.Org.ID
	if _, err := s.get(ctx, orgID, instanceID, runID); err != nil {
		return Run{}, err
	}
	var r store.SyncRun
	err := s.store.InTx(ctx, func(q store.Queries) (err error) {
		r, err = q.UpdateSyncRun(ctx, orgID, runID, func(r *store.SyncRun) error {
			if r.Status != store.RunQueued && r.Status != store.RunRunning && r.Status != store.RunInterrupted {
				return apierror.New(http.StatusConflict, "sync_finished", "the sync has already "+r.Status)
			}
			r.Status, r.Error = store.RunCanceled, "canceled"
			if r.LeaseOwner == "" || !r.LeaseUntil.After(s.now()) {
				// Nobody works it (queued, interrupted, or its replica died):
				// it ends now; else its worker ends it at its next page.
				r.FinishedAt, r.LeaseOwner, r.LeaseUntil = s.now(), "", time.Time{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "sync.cancel", TargetType: "instance", TargetID: instanceID, Details: map[string]any{"run": runID}})
	})
	if err != nil {
		return Run{}, err
	}
	s.notify()
	return s.view(r), nil
}

// Resume queues a run that failed, was canceled or was interrupted again,
// under the same ID: its streams go on from their checkpoints. (An
// interrupted run is resumed by the next replica that sweeps anyway.)
func (s *Service) Resume(ctx context.Context, p tenant.Principal, instanceID, runID string) (Run, error) {
	if err := authz.Allow(p, authz.RunSyncs, instanceID); err != nil {
		return Run{}, err
	}
	orgID := p.Org.ID
	if _, err := s.get(ctx, orgID, instanceID, runID); err != nil {
		return Run{}, err
	}
	var r store.SyncRun
	err := s.store.InTx(ctx, func(q store.Queries) (err error) {
		r, err = q.UpdateSyncRun(ctx, orgID, runID, func(r *store.SyncRun) error {
			switch r.Status {
			case store.RunFailed, store.RunCanceled, store.RunInterrupted:
			case store.RunQueued, store.RunRunning:
				return nil // already on its way
			default:
				return apierror.New(http.StatusConflict, "sync_finished", "the sync has "+r.Status+": start a new one")
			}
			r.Status, r.Error, r.FinishedAt = store.RunQueued, "", time.Time{}
			return nil
		})
		if err != nil {
			return err
		}
		if err := audit.Write(ctx, q, p, audit.Event{Action: "sync.resume", TargetType: "instance", TargetID: instanceID, Details: map[string]any{"run": runID}}); err != nil {
			return err
		}
		// A queued or running run gets a job too: one more is harmless
		// (a held lease refuses it), and it gives a queued run whose job
		// was lost a worker.
		return s.enqueueTx(ctx, q, r)
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		// Back to queued, it would have been a second unfinished run.
		return Run{}, s.inProgress(ctx, orgID, instanceID, "")
	}
	if err != nil {
		return Run{}, err
	}
	s.notify()
	return s.view(r), nil
}

// fail ends a run that could not start as failed, saying why; or, when
// this replica is stopping (ctx ended), gives it back as interrupted.
func (s *Service) fail(ctx context.Context, orgID, runID, why string) {
	status, finished := store.RunFailed, s.now()
	if ctx.Err() != nil {
		status, why, finished = store.RunInterrupted, interruptedReason, time.Time{}
	}
	_, err := s.updateRun(context.WithoutCancel(ctx), orgID, runID, func(r *store.SyncRun) error {
		r.Status, r.Error, r.FinishedAt, r.LeaseOwner, r.LeaseUntil = status, why, finished, "", time.Time{}
		return nil
	})
	if err != nil {
		s.log.Error("sync: could not mark a run failed", "run", runID, "err", err)
	}
}

// errNotOurs says the run is finished or another replica holds its lease.
var errNotOurs = errors.New("sync: the run is not this replica's to work")

// acquire takes the run's lease: a queued, interrupted or running run whose
// lease is free or lapsed. A lease that holds is refused even when it is this replica's:
// the run is being worked here already (a job delivered twice, or queued
// again by a resume while it ran), and two walkers must not share it.
func (s *Service) acquire(ctx context.Context, orgID, runID string) (store.SyncRun, error) {
	return s.updateRun(ctx, orgID, runID, func(r *store.SyncRun) error {
		now := s.now()
		switch {
		case r.Status != store.RunQueued && r.Status != store.RunRunning && r.Status != store.RunInterrupted:
			return errNotOurs
		case r.LeaseOwner != "" && r.LeaseUntil.After(now):
			return errNotOurs
		}
		r.Status, r.Error, r.LeaseOwner, r.LeaseUntil = store.RunRunning, "", s.owner, now.Add(s.ttl)
		if r.StartedAt.IsZero() {
			r.StartedAt = now
		}
		return nil
	})
}

// Execute works a run to its end, if it is this replica's to work: the
// queue's workers call it, and tests may directly.
func (s *Service) Execute(ctx context.Context, orgID, runID string) error {
	run, err := s.acquire(ctx, orgID, runID)
	if errors.Is(err, errNotOurs) || (err != nil && ctx.Err() != nil) {
		return nil // not ours, or this replica is stopping before it began
	}
	if err != nil {
		return err
	}
	inst, err := s.store.GetInstance(ctx, orgID, run.InstanceID)
	if err != nil {
		s.fail(ctx, orgID, runID, "the instance cannot be read: "+err.Error())
		return nil
	}
	if inst.Status != store.StatusActive {
		s.fail(ctx, orgID, runID, fmt.Sprintf("the instance is %s: %s", inst.Status, inst.StatusReason))
		return nil
	}
	r := &runner{svc: s, run: run, instance: inst, progress: map[string]*StreamProgress{}, finished: map[string]chan struct{}{}}
	json.Unmarshal(run.Options, &r.opts)
	old := map[string]StreamProgress{}
	json.Unmarshal(run.Progress, &old)
	for _, name := range run.Streams {
		p := old[name]
		p.State, p.Reason, p.Error, p.WaitingSince = StatePending, "", "", time.Time{}
		r.progress[name] = &p
		r.finished[name] = make(chan struct{})
	}
	if inst.OrgWide {
		if err := r.grantedTeams(ctx); err != nil {
			s.fail(ctx, orgID, runID, "the org install's workspaces could not be listed (auth.teams.list): "+err.Error())
			return nil
		}
		if len(r.inst().Teams) == 0 {
			s.fail(ctx, orgID, runID, "the instance is "+store.StatusNeedsWorkspaces+": "+store.NoWorkspacesReason)
			return nil
		}
	}
	s.log.Info("sync: running", "run", runID, "instance", run.InstanceID, "owner", s.owner)

	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		s.heartbeat(ctx, r, cancel)
	}()
	runErr := r.execute(ctx)
	cause := context.Cause(ctx)
	cancel(nil)
	<-beat

	progress, _ := r.snapshot()
	_, err = s.updateRun(context.WithoutCancel(ctx), orgID, runID, func(cur *store.SyncRun) error {
		if cur.LeaseOwner != s.owner {
			return errNotOurs // another replica took it over: leave it to them
		}
		cur.Progress, cur.LeaseOwner, cur.LeaseUntil, cur.FinishedAt = progress, "", time.Time{}, s.now()
		cur.Stats = stats(r)
		switch {
		case cur.Status == store.RunCanceled:
		case errors.Is(cause, errLeaseLost):
			return errNotOurs
		case parent.Err() != nil:
			// This replica is stopping: the run is given back, to be
			// resumed from its checkpoints by whichever replica sweeps next
			// (this hub's own, when it starts again).
			cur.Status, cur.Error, cur.FinishedAt = store.RunInterrupted, interruptedReason, time.Time{}
		case runErr != nil:
			cur.Status, cur.Error = store.RunFailed, runErr.Error()
		case r.allSkipped():
			// Nothing was retrieved: that is not a success.
			cur.Status, cur.Error = store.RunFailed, "every stream was skipped: "+r.skipReasons()
		default:
			cur.Status, cur.Error = store.RunSucceeded, ""
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotOurs) {
		return err
	}
	if parent.Err() != nil {
		s.log.Info("sync: interrupted by the hub's shutdown; it resumes from its checkpoints when a hub starts again", "run", runID)
		return nil
	}
	s.log.Info("sync: finished", "run", runID, "err", runErr)
	return nil
}

// interruptedReason is the Error of an interrupted run.
const interruptedReason = "the hub stopped while it ran: it resumes from its checkpoints when a hub starts again"

var (
	errLeaseLost = errors.New("sync: the run's lease was lost")
	errCanceled  = errors.New("sync: the run was canceled")
)

// heartbeat renews the run's lease and saves its progress, and stops the
// run when it is canceled or its lease is lost.
func (s *Service) heartbeat(ctx context.Context, r *runner, stop context.CancelCauseFunc) {
	renewEvery := s.ttl / 3
	save := time.NewTicker(min(time.Second, renewEvery))
	defer save.Stop()
	lastRenew := s.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-save.C:
		}
		progress, dirty := r.snapshot()
		renew := s.now().Sub(lastRenew) >= renewEvery
		if !dirty && !renew {
			continue
		}
		_, err := s.updateRun(ctx, r.run.OrgID, r.run.ID, func(cur *store.SyncRun) error {
			switch {
			case cur.LeaseOwner != s.owner:
				return errLeaseLost
			case cur.Status == store.RunCanceled:
				return errCanceled
			}
			cur.Progress = progress
			if renew {
				cur.LeaseUntil = s.now().Add(s.ttl)
			}
			return nil
		})
		switch {
		case errors.Is(err, errLeaseLost):
			stop(errLeaseLost)
			return
		case errors.Is(err, errCanceled):
			stop(errCanceled)
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("sync: could not save a run's progress", "run", r.run.ID, "err", err)
			}
		case renew:
			lastRenew = s.now()
		}
	}
}

// stats are a finished run's totals, by "stream.count".
func stats(r *runner) map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int64{}
	for name, p := range r.progress {
		out[name+".records"] = p.Records
		out[name+".calls"] = p.Calls
		out[name+".fewest_calls"] = p.Fewest
		if p.Deleted > 0 {
			out[name+".deleted"] = p.Deleted
		}
		if p.Corrected > 0 {
			out[name+".corrected"] = p.Corrected
		}
		out["records"] += p.Records
		out["calls"] += p.Calls
		out["fewest_calls"] += p.Fewest
		out["waited_ms"] += p.WaitedMS
	}
	return out
}
