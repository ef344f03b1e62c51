package sync_test

import (
	"database/sql"
	"errors"
	"net/http"
	"os"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/sync"
)

// A run's row and its job go together, and an instance has one unfinished
// run, whichever replica is asked.

// queued is a hub whose services queue runs in River on its database, on
// PostgreSQL when CONNHUB_TEST_POSTGRES names one, else SQLite.
func queued(t *testing.T, postgres bool) (*env, *sql.DB) {
	t.Helper()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10, Channels: 2}, Postgres: postgres}, sync.Config{})
	db := e.Store.(interface{ DB() *sql.DB }).DB()
	hubtest.SyncQueue(t, e.svc, db, e.Store.Backend(), e.DSN, 0)
	return e, db
}

func backends(t *testing.T, test func(t *testing.T, postgres bool)) {
	for _, b := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			if b.postgres && os.Getenv(storetest.PostgresEnv) == "" {
				t.Skip(storetest.PostgresEnv + " is not set")
			}
			test(t, b.postgres)
		})
	}
}

// jobs counts the run jobs in River's table.
func jobs(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'connhub.sync_run'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func runs(t *testing.T, e *env) []store.SyncRun {
	t.Helper()
	list, _, err := e.Store.ListSyncRuns(ctx, e.Admin.Org.ID, e.Instance.ID, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func inProgress(err error) (*apierror.Problem, bool) {
	var p *apierror.Problem
	return p, errors.As(err, &p) && p.Status == http.StatusConflict && p.Code == "sync_in_progress"
}

// TestTwoReplicasAskedAtOnceStartOneRun: two services over one store and
// one queue (two replicas) asked at the same moment to sync one instance:
// one run and one job; the other caller is told 409 sync_in_progress,
// naming the run.
func TestTwoReplicasAskedAtOnceStartOneRun(t *testing.T) {
	t.Parallel()
	postgres := os.Getenv(storetest.PostgresEnv) != ""
	e, db := queued(t, postgres)
	other := e.replica(t, sync.Config{})
	hubtest.SyncQueue(t, other, db, e.Store.Backend(), e.DSN, 0)
	for round := range 5 {
		var wg gosync.WaitGroup
		start := make(chan struct{})
		results := make([]error, 2)
		started := make([]sync.Run, 2)
		for i, svc := range []*sync.Service{e.svc, other} {
			wg.Go(func() {
				<-start
				started[i], results[i] = svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"team"}})
			})
		}
		close(start)
		wg.Wait()
		var winner sync.Run
		var refusal *apierror.Problem
		for i, err := range results {
			if err == nil {
				winner = started[i]
			} else if p, ok := inProgress(err); ok {
				refusal = p
			} else {
				t.Fatalf("round %d, replica %d: %v", round, i, err)
			}
		}
		if winner.ID == "" || refusal == nil {
			t.Fatalf("round %d: %v; want one run started and one 409 sync_in_progress", round, results)
		}
		if !strings.Contains(refusal.Message, winner.ID) {
			t.Errorf("round %d: the refusal %q does not name the run %s", round, refusal.Message, winner.ID)
		}
		if got := runs(t, e); len(got) != round+1 {
			t.Fatalf("round %d: %d runs, want %d", round, len(got), round+1)
		}
		if got := jobs(t, db); got != round+1 {
			t.Errorf("round %d: %d jobs, want %d: one a run", round, got, round+1)
		}
		// Nothing works the queue here: end the run for the next round.
		if _, err := e.svc.Cancel(ctx, e.Admin, e.Instance.ID, winner.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestARunAndItsJobCommitTogether: when the job cannot be inserted the
// run is not there either (nor its audit event); when the run cannot be
// inserted no job is.
func TestARunAndItsJobCommitTogether(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, postgres bool) {
		e, db := queued(t, postgres)
		// The database refuses every new job.
		refuse := []string{`CREATE TRIGGER refuse_jobs BEFORE INSERT ON river_job BEGIN SELECT RAISE(ABORT, 'no jobs today'); END`}
		allow := []string{`DROP TRIGGER refuse_jobs`}
		if postgres {
			refuse = []string{`CREATE FUNCTION refuse_jobs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no jobs today'; END $$`,
				`CREATE TRIGGER refuse_jobs BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_jobs()`}
			allow = []string{`DROP TRIGGER refuse_jobs ON river_job`}
		}
		exec := func(stmts []string) {
			for _, q := range stmts {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		}
		exec(refuse)
		_, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"team"}})
		if err == nil || !strings.Contains(err.Error(), "no jobs today") {
			t.Fatalf("a start whose job the database refused: %v", err)
		}
		if got := runs(t, e); len(got) != 0 {
			t.Errorf("the job was refused, and the run is there: %+v", got[0])
		}
		events, _, err := e.Store.ListAudit(ctx, e.Admin.Org.ID, store.AuditFilter{Action: "sync.start"}, store.Page{})
		if err != nil || len(events) != 0 {
			t.Errorf("the job was refused, and the audit log says the sync started: %v %v", events, err)
		}
		exec(allow)

		// Now the other way round: a run the database refuses (the
		// instance has one unfinished) has no job.
		first, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"team"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := jobs(t, db); got != 1 {
			t.Fatalf("%d jobs after one start, want 1", got)
		}
		_, err = e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users"}})
		if p, ok := inProgress(err); !ok || !strings.Contains(p.Message, first.ID) {
			t.Fatalf("a second start: %v; want 409 sync_in_progress naming %s", err, first.ID)
		}
		if got := jobs(t, db); got != 1 {
			t.Errorf("%d jobs after a refused start, want still 1", got)
		}
		// A resume that would make a second unfinished run is refused
		// the same way, and queues nothing.
		if _, err := e.svc.Cancel(ctx, e.Admin, e.Instance.ID, first.ID); err != nil {
			t.Fatal(err)
		}
		second, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"team"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Resume(ctx, e.Admin, e.Instance.ID, first.ID)
		if p, ok := inProgress(err); !ok || !strings.Contains(p.Message, second.ID) {
			t.Errorf("resuming a canceled run while another is queued: %v; want 409 sync_in_progress naming %s", err, second.ID)
		}
		if got := jobs(t, db); got != 2 {
			t.Errorf("%d jobs after two starts and a refused resume, want 2", got)
		}
	})
}

// TestADueScheduleSkipsWhileARunIsUnfinished: a schedule that falls due
// while the instance's last run has not finished starts nothing, says so at
// INFO, and waits for its next time.
func TestADueScheduleSkipsWhileARunIsUnfinished(t *testing.T) {
	t.Parallel()
	var mu gosync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10, Channels: 2}}, sync.Config{Now: now})
	busy, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users"}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := e.svc.SetSchedule(ctx, e.Admin, e.Instance.ID, sync.ScheduleInput{Every: 24 * time.Hour, Streams: []string{"team"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = sc.NextRunAt.Add(time.Second)
	mu.Unlock()
	logsBefore := len(e.Logs.String())
	e.svc.StartDue(ctx)
	if got := runs(t, e); len(got) != 1 || got[0].ID != busy.ID {
		t.Errorf("runs after the due schedule: %d, want only the unfinished one %s", len(got), busy.ID)
	}
	next, err := e.svc.GetSchedule(ctx, e.Admin, e.Instance.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !next.NextRunAt.After(now()) || next.LastRunID != "" {
		t.Errorf("the schedule after its skipped time: next %s (now %s), last run %q; want the next time later, no run", next.NextRunAt, now(), next.LastRunID)
	}
	logs := e.Logs.String()[logsBefore:]
	if !strings.Contains(logs, `"level":"INFO","msg":"sync: a scheduled sync skipped`) || strings.Contains(logs, `"level":"WARN"`) {
		t.Errorf("the skip was not told at INFO, or something warned:\n%s", logs)
	}
}
