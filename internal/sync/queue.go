package sync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

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

// riverQueue is River on the store's database. Its transactions are the
// store's own *sql.Tx on both backends (riversqlite; riverdatabasesql on
// PostgreSQL, listening for new jobs on a pgx connection of its own), so a
// run's job is inserted in the transaction that writes the run's row.
type riverQueue struct {
	client *river.Client[*sql.Tx]
	close  func()
}

var runOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: 1}

func (q *riverQueue) enqueue(ctx context.Context, orgID, runID string) error {
	_, err := q.client.Insert(ctx, runArgs{OrgID: orgID, RunID: runID}, runOpts)
	return err
}

// enqueueTx inserts the run's job in the transaction of tx, the Queries
// that Store.InTx handed its fn: the job commits with the run's row or
// neither does.
func (q *riverQueue) enqueueTx(ctx context.Context, tx store.Queries, orgID, runID string) error {
	sqlTx, ok := tx.(store.SQLTx)
	if !ok || sqlTx.SQLTx() == nil {
		return errors.New("sync: a run's job is queued in the store's SQL transaction, and there is none")
	}
	_, err := q.client.InsertTx(ctx, sqlTx.SQLTx(), runArgs{OrgID: orgID, RunID: runID}, runOpts)
	return err
}

func (q *riverQueue) start(ctx context.Context) error { return q.client.Start(ctx) }

func (q *riverQueue) stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if q.close != nil {
		q.close()
	}
	return err
}

// newRiverQueue migrates River's tables and makes a client with the run
// worker.
func newRiverQueue(ctx context.Context, s *Service, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) (*riverQueue, error) {
	if _, err := migrate(ctx, driver, log); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &runWorker{svc: s}); err != nil {
		return nil, err
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{queueName: {MaxWorkers: s.cfg.Workers}},
		Workers:           workers,
		FetchPollInterval: s.cfg.PollEvery,
		FetchCooldown:     min(s.cfg.PollEvery, 100*time.Millisecond),
		JobTimeout:        -1,
		Logger:            log,
	})
	if err != nil {
		return nil, err
	}
	return &riverQueue{client: client}, nil
}

// MigrateQueue creates or upgrades the tables of River, the job queue that
// runs wait in, in the store's database, and says at which version they are.
// Attach runs the same migration; `connhub migrate` runs it ahead, so that an
// operator upgrades the whole schema at once. dsn is as for Attach.
func MigrateQueue(ctx context.Context, db *sql.DB, backend, dsn string) (int, error) {
	quiet := slog.New(slog.DiscardHandler)
	switch backend {
	case "sqlite":
		return migrate(ctx, riversqlite.New(db), quiet)
	case "postgres":
		return migrate(ctx, riverdatabasesql.New(db), quiet)
	}
	return 0, fmt.Errorf("sync: no job queue for a %q store", backend)
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], log *slog.Logger) (int, error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return 0, fmt.Errorf("migrate the job queue: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return 0, fmt.Errorf("the job queue's tables could not be migrated: %w", err)
	}
	versions, err := m.ExistingVersions(ctx)
	if err != nil || len(versions) == 0 {
		return 0, fmt.Errorf("migrate the job queue: read its version: %v", err)
	}
	return versions[len(versions)-1].Version, nil
}

// Attach puts the service's runs on a queue on the store's database,
// migrating River's tables; Start queues runs from then on, and Serve works
// them. db is the store's database: River inserts a run's job in the
// store's transaction, and works its jobs through db. dsn is the
// PostgreSQL URL for a PostgreSQL store, where River listens for new jobs
// on a connection of its own; ignored for SQLite (River polls).
func (s *Service) Attach(ctx context.Context, db *sql.DB, backend, dsn string) error {
	if s.queue != nil {
		return errors.New("sync: the service already has a queue")
	}
	log := s.log.With("part", "queue")
	quiet := slog.New(levelAtLeast{slog.LevelWarn, log.Handler()})
	var q *riverQueue
	var err error
	switch backend {
	case "sqlite":
		q, err = newRiverQueue(ctx, s, riversqlite.New(db), quiet)
	case "postgres":
		var cfg *pgxpool.Config
		if cfg, err = pgxpool.ParseConfig(dsn); err != nil {
			return fmt.Errorf("sync: the job queue's listener: %w", err)
		}
		// River takes the listener's one connection out of the pool and
		// keeps it (riverdatabasesql.NewWithPgxListener).
		cfg.MinConns, cfg.MaxConns = 0, 1
		var pool *pgxpool.Pool
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return fmt.Errorf("sync: open the job queue's listener: %w", err)
		}
		if q, err = newRiverQueue(ctx, s, riverdatabasesql.NewWithPgxListener(db, pool), quiet); q != nil {
			q.close = pool.Close
		} else {
			pool.Close()
		}
	default:
		err = fmt.Errorf("no job queue for a %q store", backend)
	}
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.queue = q
	return nil
}

// Serve works the queue's runs until ctx ends: the workers start, and a
// sweeper that resumes runs whose replica died and starts runs that
// schedules say are due. Without Attach first, it attaches to db itself. It
// returns after stopping the workers (runs in flight stop at their next page
// and keep their checkpoints).
func (s *Service) Serve(ctx context.Context, db *sql.DB, backend, dsn string) error {
	if s.queue == nil {
		if err := s.Attach(ctx, db, backend, dsn); err != nil {
			return err
		}
	}
	if err := s.queue.start(ctx); err != nil {
		return fmt.Errorf("sync: start the job queue: %w", err)
	}
	s.sweep(ctx)
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return s.queue.stop(stopCtx)
		case <-t.C:
			s.sweep(ctx)
		}
	}
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
			if err := s.queue.enqueue(ctx, r.OrgID, r.ID); err != nil {
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

// levelAtLeast drops River's records below a level: its info lines are
// about its own machinery.
type levelAtLeast struct {
	min slog.Level
	slog.Handler
}

func (h levelAtLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelAtLeast) WithAttrs(a []slog.Attr) slog.Handler {
	return levelAtLeast{h.min, h.Handler.WithAttrs(a)}
}

func (h levelAtLeast) WithGroup(g string) slog.Handler {
	return levelAtLeast{h.min, h.Handler.WithGroup(g)}
}
