// Package queue is where connhub's background jobs wait for a worker:
// River, in the hub's own database (the same SQLite file, or the same
// PostgreSQL database every replica shares), so that a queued job survives
// a restart and any replica may work it. Each feature (the syncs' runs, the
// events' processing) adds its workers and names its River queue; the hub
// opens one Queue with all of them, and a feature inserts its jobs in the
// store's own transaction (InsertTx), so that a job commits with the rows
// it is about, or neither does.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/connhub/connhub/internal/store"
)

// Config configures a Queue.
type Config struct {
	// Workers are every feature's workers (river.AddWorkerSafely).
	Workers *river.Workers
	// Queues name the River queues the features insert into, each with the
	// most jobs a replica works at once.
	Queues map[string]int
	// PollEvery is how often the queue looks for new jobs where the database
	// cannot notify (SQLite; default 200 ms).
	PollEvery time.Duration
	Log       *slog.Logger
}

// Queue is River on the store's database. Its transactions are the store's
// own *sql.Tx on both backends (riversqlite; riverdatabasesql on
// PostgreSQL, listening for new jobs on a pgx connection of its own).
type Queue struct {
	client *river.Client[*sql.Tx]
	close  func()
}

// Open migrates River's tables in db and makes the queue; Start works its
// jobs. dsn is the PostgreSQL URL for a PostgreSQL store, where River
// listens for new jobs on a connection of its own; ignored for SQLite
// (River polls).
// FetchCooldown is the shortest time between two fetches of a queue's jobs
// by one replica: a queue worked one job at a time (as the events' is)
// starts at most one job per FetchCooldown, whatever the backlog.
const FetchCooldown = 100 * time.Millisecond

func Open(ctx context.Context, db *sql.DB, backend, dsn string, c Config) (*Queue, error) {
	if c.Workers == nil || len(c.Queues) == 0 {
		return nil, errors.New("queue: no workers or no queues")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 200 * time.Millisecond
	}
	quiet := slog.New(levelAtLeast{slog.LevelWarn, c.Log.With("part", "queue").Handler()})
	q := &Queue{}
	var driver riverdriver.Driver[*sql.Tx]
	switch backend {
	case "sqlite":
		driver = riversqlite.New(db)
	case "postgres":
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("queue: the listener: %w", err)
		}
		// River takes the listener's one connection out of the pool and
		// keeps it (riverdatabasesql.NewWithPgxListener).
		cfg.MinConns, cfg.MaxConns = 0, 1
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("queue: open the listener: %w", err)
		}
		driver, q.close = riverdatabasesql.NewWithPgxListener(db, pool), pool.Close
	default:
		return nil, fmt.Errorf("queue: no job queue for a %q store", backend)
	}
	if _, err := migrate(ctx, driver, quiet); err != nil {
		q.closeListener()
		return nil, err
	}
	queues := map[string]river.QueueConfig{}
	for name, n := range c.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: max(n, 1)}
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            queues,
		Workers:           c.Workers,
		FetchPollInterval: c.PollEvery,
		FetchCooldown:     min(c.PollEvery, FetchCooldown),
		JobTimeout:        -1,
		Logger:            quiet,
	})
	if err != nil {
		q.closeListener()
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.client = client
	return q, nil
}

func (q *Queue) closeListener() {
	if q.close != nil {
		q.close()
	}
}

// Insert queues a job on its own (e.g. a sweeper's: the rows it is about
// are as they should be already).
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := q.client.Insert(ctx, args, opts)
	return err
}

// InsertTx queues a job in the transaction of tx, the Queries that
// Store.InTx handed its fn: the job commits with the rows or neither does.
func (q *Queue) InsertTx(ctx context.Context, tx store.Queries, args river.JobArgs, opts *river.InsertOpts) error {
	sqlTx, ok := tx.(store.SQLTx)
	if !ok || sqlTx.SQLTx() == nil {
		return errors.New("queue: a job is queued in the store's SQL transaction, and there is none")
	}
	_, err := q.client.InsertTx(ctx, sqlTx.SQLTx(), args, opts)
	return err
}

// Work works the queue's jobs until ctx ends, with the features' own loops
// beside them (the syncs' sweeper), each run until ctx ends; then it stops
// the workers (jobs in flight are told to stop; given 30 s) and the
// listener. It returns early only when the workers cannot start.
func (q *Queue) Work(ctx context.Context, loops ...func(context.Context) error) error {
	if err := q.client.Start(ctx); err != nil {
		q.closeListener()
		return fmt.Errorf("queue: start the workers: %w", err)
	}
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, loop := range loops {
		wg.Go(func() { errs[i] = loop(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	errs = append(errs, q.client.Stop(stopCtx))
	q.closeListener()
	return errors.Join(errs...)
}

// Every runs fn every d until ctx ends: the loop of the features' sweeps,
// which run beside the workers (Work).
func Every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Migrate creates or upgrades River's tables in the store's database, and
// says at which version they are. Open runs the same migration; `connhub
// migrate` runs it ahead, so that an operator upgrades the whole schema at
// once.
func Migrate(ctx context.Context, db *sql.DB, backend string) (int, error) {
	quiet := slog.New(slog.DiscardHandler)
	switch backend {
	case "sqlite":
		return migrate(ctx, riversqlite.New(db), quiet)
	case "postgres":
		return migrate(ctx, riverdatabasesql.New(db), quiet)
	}
	return 0, fmt.Errorf("queue: no job queue for a %q store", backend)
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
