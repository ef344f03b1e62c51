package sync

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/store"
)

// Runs wait for workers in River, a job queue that keeps its jobs in the
// hub's own database (the same SQLite file, or the same PostgreSQL database
// that every replica shares), so that a queued run survives a restart and
// any replica's worker may take it. A run's job is inserted in the
// transaction that writes the run's row (InsertTx on the store's *sql.Tx),
// so a crash between the two cannot leave a run without a job. A job only
// names its run: the run's state is the run row and the checkpoints, and
// the run's lease, not River, decides who works it.

// runArgs is the job that works a run.
type runArgs struct {
	OrgID string `json:"org_id"`
	RunID string `json:"run_id"`
}

func (runArgs) Kind() string { return "connhub.sync_run" }

const queueName = "connhub_sync"

type runWorker struct {
	river.WorkerDefaults[runArgs]
	svc *Service
}

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.svc.Execute(ctx, job.Args.OrgID, job.Args.RunID)
}

// A run may take hours against real Slack: no job timeout; its lease, not
// River's rescuer, hands a dead replica's run to another.
func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration { return -1 }

var runOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: 1}

// AddWorkers adds the worker of sync runs to the hub's workers, and Queues
// names the River queue its jobs go in: the hub opens one queue.Queue with
// every feature's, and gives it to the service with UseQueue.
func (s *Service) AddWorkers(w *river.Workers) error {
	return river.AddWorkerSafely(w, &runWorker{svc: s})
}

// Queues names the service's River queue and how many runs a replica works
// at once (Config.Workers).
func (s *Service) Queues() map[string]int { return map[string]int{queueName: s.cfg.Workers} }

// UseQueue puts the service's runs on q, which has its workers (AddWorkers):
// Start queues runs from then on, in the transaction of the run's row.
func (s *Service) UseQueue(q *queue.Queue) { s.jobs = q }

// Serve sweeps until ctx ends: it resumes runs whose replica died and
// starts runs that schedules say are due. The queue's owner (the hub)
// starts and stops the workers.
func (s *Service) Serve(ctx context.Context) error {
	if s.jobs == nil {
		return errors.New("sync: no queue to serve (UseQueue)")
	}
	s.sweep(ctx)
	queue.Every(ctx, s.cfg.SweepEvery, s.sweep)
	return nil
}

// sweep queues again the runs that no replica works (their lease lapsed, or
// they were never picked up), and starts the runs of due schedules.
func (s *Service) sweep(ctx context.Context) {
	now := s.now()
	after := ""
	for {
		runs, err := s.store.ListUnfinishedSyncRuns(ctx, after, 500)
		if err != nil {
			s.log.Warn("sync: sweep: list unfinished runs", "err", err)
			return
		}
		if len(runs) == 0 {
			break
		}
		for _, r := range runs {
			if r.Status == store.RunInterrupted {
				s.resumeInterrupted(ctx, r)
				continue
			}
			orphaned := r.Status == store.RunRunning && r.LeaseUntil.Before(now)
			stale := r.Status == store.RunQueued && r.LeaseOwner == "" && now.Sub(r.UpdatedAt) > s.cfg.SweepEvery
			if !orphaned && !stale {
				continue
			}
			s.log.Info("sync: resuming a run no replica works", "run", r.ID, "last_owner", r.LeaseOwner)
			if err := s.jobs.Insert(ctx, runArgs{OrgID: r.OrgID, RunID: r.ID}, runOpts); err != nil {
				s.log.Warn("sync: sweep: queue a run", "run", r.ID, "err", err)
			}
		}
		after = runs[len(runs)-1].ID
	}
	s.startDue(ctx)
}

// resumeInterrupted queues again a run a replica's shutdown interrupted.
// The replica that moves it back to queued (a versioned update) queues its
// job in the same transaction, so that of several sweeping at once, one
// does, and the run is never queued without a job.
func (s *Service) resumeInterrupted(ctx context.Context, r store.SyncRun) {
	claimed := false
	err := s.store.InTx(ctx, func(q store.Queries) error {
		_, err := q.UpdateSyncRun(ctx, r.OrgID, r.ID, func(cur *store.SyncRun) error {
			if cur.Version != r.Version || cur.Status != store.RunInterrupted {
				return nil // another replica claimed it
			}
			cur.Status, cur.Error, claimed = store.RunQueued, "", true
			return nil
		})
		if err != nil || !claimed {
			return err
		}
		return s.enqueueTx(ctx, q, r)
	})
	if err != nil {
		s.log.Warn("sync: sweep: resume an interrupted run", "run", r.ID, "err", err)
		return
	}
	if claimed {
		s.notify()
		s.log.Info("sync: resuming a run a shutdown interrupted", "run", r.ID)
	}
}
