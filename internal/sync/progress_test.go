package sync_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// What a run's progress says while it goes, and across its interruptions:
// waits shown while they last, a run nobody works called stalled, counters
// that never go backwards, and a shutdown that interrupts a run rather than
// failing it.

// spend calls method with the bot token until the sandbox answers 429: the
// workspace's budget for it is spent for the rest of the window.
func spend(t *testing.T, e *env, method string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		req, _ := http.NewRequest("POST", e.SlackURL+"/api/"+method, strings.NewReader(url.Values{}.Encode()))
		req.Header.Set("Authorization", "Bearer "+e.Instance.BotToken.Reveal())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			return
		}
	}
	t.Fatalf("%s was never rate limited", method)
}

// TestAWaitForSlacksBudgetShowsWhileItLasts: a stream waiting out a 429
// shows its waiting time growing, before the call that waits is answered.
func TestAWaitForSlacksBudgetShowsWhileItLasts(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 20, Channels: 2, RateLimits: true, RateWindow: 40 * time.Second}}, sync.Config{})
	// Someone else spent the workspace's team.info budget: the sync's call
	// is answered 429, with the rest of the window to wait.
	spend(t, e, "team.info")
	r, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"team"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.svc.Execute(ctx, r.OrgID, r.ID) }()
	got := await(t, e, e.svc, r.ID, "wait shown while the call waits", func(r sync.Run) bool {
		p := r.State["team"]
		return p.WaitedMS > 0 && p.Calls == 0
	})
	if p := got.State["team"]; p.WaitingSince.IsZero() {
		t.Errorf("the waiting stream has no waiting_since: %+v", p)
	}
	// And it grows while the wait lasts.
	first := got.State["team"].WaitedMS
	await(t, e, e.svc, r.ID, "the wait growing", func(r sync.Run) bool { return r.State["team"].WaitedMS > first })
	if _, err := e.svc.Cancel(ctx, e.Admin, r.InstanceID, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r, _ := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID); r.Status != store.RunCanceled || r.State["team"].WaitedMS < first {
		t.Errorf("canceled while it waited: %s, waited %dms (%dms seen before)", r.Status, r.State["team"].WaitedMS, first)
	}
}

// TestARunWhoseLeaseLapsedIsStalled: the replica working a run died (its
// lease lapsed): the run is shown stalled, not running, until a replica
// takes it over and works it to its end.
func TestARunWhoseLeaseLapsedIsStalled(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: slacksim.Config{Users: 20, Channels: 2}}, sync.Config{})
	r, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users"}})
	if err != nil {
		t.Fatal(err)
	}
	// What a replica killed with SIGKILL leaves: running, a stream half
	// way, a lease nobody renews.
	_, err = e.Store.UpdateSyncRun(ctx, r.OrgID, r.ID, func(cur *store.SyncRun) error {
		cur.Status, cur.LeaseOwner, cur.LeaseUntil, cur.StartedAt = store.RunRunning, "dead-replica", time.Now().Add(-time.Second), time.Now().Add(-time.Minute)
		cur.Progress = []byte(`{"users":{"state":"running","records":10,"calls":1,"estimate":40,"started_at":"` + time.Now().Add(-time.Minute).Format(time.RFC3339Nano) +
			`","waiting_since":"` + time.Now().Add(-30*time.Second).Format(time.RFC3339Nano) + `"}}`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sync.RunStalled || !strings.Contains(got.Error, "lease") {
		t.Errorf("a run whose lease lapsed: %s %q, want %s saying why", got.Status, got.Error, sync.RunStalled)
	}
	if w := got.State["users"].WaitedMS; w != 0 {
		t.Errorf("a stalled run's stream is shown waiting %dms: nothing waits", w)
	}
	runs, _, err := e.svc.List(ctx, e.Admin, r.InstanceID, store.Page{Limit: 1})
	if err != nil || len(runs) != 1 || runs[0].Status != sync.RunStalled {
		t.Errorf("listed: %+v %v, want it stalled", runs, err)
	}
	// The existing path takes it over.
	if err := e.svc.Execute(ctx, r.OrgID, r.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID); got.Status != store.RunSucceeded {
		t.Errorf("taken over: %s %s", got.Status, got.Error)
	}
}

// counters are a stream's figures that must never go backwards.
func counters(p sync.StreamProgress) map[string]int64 {
	return map[string]int64{"records": p.Records, "inserted": p.Inserted, "calls": p.Calls, "retries": p.Retries, "waited_ms": p.WaitedMS,
		"parents": p.Parents, "skipped": p.Skipped}
}

// watchCounters reads the run until stop is closed and reports every
// counter it saw go backwards, from the snapshot before on.
func watchCounters(e *env, id string, before sync.Run, stop <-chan struct{}) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var back []string
		last := before
		for {
			select {
			case <-stop:
				out <- back
				return
			case <-time.After(10 * time.Millisecond):
			}
			r, err := e.svc.Get(ctx, e.Admin, e.Instance.ID, id)
			if err != nil {
				continue
			}
			for name, p := range r.State {
				was := counters(last.State[name])
				for k, v := range counters(p) {
					if v < was[k] {
						back = append(back, fmt.Sprintf("%s.%s %d → %d", name, k, was[k], v))
					}
				}
			}
			last = r
		}
	}()
	return out
}

// TestCountersNeverGoBackwardsAcrossAResume: a run stopped half way and
// resumed goes on from its counts; the streams it had finished keep their
// times.
func TestCountersNeverGoBackwardsAcrossAResume(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: killCfg}, sync.Config{})
	r, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users", "channels", "channel_members", "licenses"}})
	if err != nil {
		t.Fatal(err)
	}
	stopCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.svc.Execute(stopCtx, r.OrgID, r.ID) }()
	await(t, e, e.svc, r.ID, "a fan-out half way", func(r sync.Run) bool {
		p := r.State["channel_members"]
		return r.State["users"].State == sync.StateDone && p.State == sync.StateRunning && p.Parents > 20
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	before, err := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.State["channel_members"].State == sync.StateDone {
		t.Fatalf("the run finished before it was stopped: the test proves nothing")
	}

	watching := make(chan struct{})
	seen := watchCounters(e, r.ID, before, watching)
	if err := e.svc.Execute(ctx, r.OrgID, r.ID); err != nil {
		t.Fatal(err)
	}
	close(watching)
	after, err := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != store.RunSucceeded {
		t.Fatalf("resumed: %s %s; %s", after.Status, after.Error, states(after))
	}
	for _, back := range <-seen {
		t.Errorf("while resumed, a counter went backwards: %s", back)
	}
	for name, was := range before.State {
		now := after.State[name]
		for k, v := range counters(was) {
			if counters(now)[k] < v {
				t.Errorf("%s.%s: %d after the resume, %d before", name, k, counters(now)[k], v)
			}
		}
		if was.State == sync.StateDone && (!now.StartedAt.Equal(was.StartedAt) || !now.FinishedAt.Equal(was.FinishedAt)) {
			t.Errorf("%s, done before the resume: ran %s → %s, after it %s → %s", name, was.StartedAt, was.FinishedAt, now.StartedAt, now.FinishedAt)
		}
	}
}

// TestAShutdownInterruptsARunThatResumesByItself: the hub stopping (its
// engine's context ends) leaves the run interrupted, logged at INFO, and
// the hub started again works it to its end. A user's cancel stays canceled.
func TestAShutdownInterruptsARunThatResumesByItself(t *testing.T) {
	t.Parallel()
	e := setup(t, hubtest.Options{Sandbox: killCfg}, sync.Config{})
	db := e.Store.(interface{ DB() *sql.DB }).DB()
	serve := func(svc *sync.Service) (stop func()) {
		q := hubtest.SyncQueue(t, svc, db, "sqlite", e.DSN, 50*time.Millisecond)
		serveCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- q.Work(serveCtx, svc.Serve) }()
		var once gosync.Once
		stop = func() {
			once.Do(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve: %v", err)
				}
			})
		}
		t.Cleanup(stop)
		return stop
	}
	cfg := sync.Config{SweepEvery: time.Hour}
	first := e.replica(t, cfg)
	stopFirst := serve(first)
	r, err := first.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users", "channels", "channel_members"}})
	if err != nil {
		t.Fatal(err)
	}
	await(t, e, first, r.ID, "the run under way", func(r sync.Run) bool {
		return r.Status == store.RunRunning && r.State["channel_members"].Parents > 0
	})
	logsBefore := len(e.Logs.String())
	stopFirst()
	got, err := e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunInterrupted {
		t.Fatalf("a run the hub's shutdown stopped: %s %q, want %s", got.Status, got.Error, store.RunInterrupted)
	}
	for name, p := range got.State {
		if p.State == sync.StateFailed {
			t.Errorf("%s: failed (%s) by a shutdown", name, p.Error)
		}
	}
	logs := e.Logs.String()[logsBefore:]
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("the shutdown logged: %s", line)
		}
	}
	if !strings.Contains(logs, `"level":"INFO","msg":"sync: interrupted`) {
		t.Errorf("the shutdown did not say at INFO that the run was interrupted:\n%s", logs)
	}

	// The hub starts again: the run is resumed without anyone asking.
	second := e.replica(t, cfg)
	stopSecond := serve(second)
	if got := waitRun(t, e, second, r.ID); got.Status != store.RunSucceeded {
		t.Fatalf("after the restart the run %s: %s; %s", got.Status, got.Error, states(got))
	}

	// A user's cancel is a cancel, and stays one when the hub stops.
	r, err = second.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users", "channels", "channel_members"}})
	if err != nil {
		t.Fatal(err)
	}
	await(t, e, second, r.ID, "the second run under way", func(r sync.Run) bool { return r.State["channel_members"].Parents > 0 })
	if _, err := e.svc.Cancel(ctx, e.Admin, r.InstanceID, r.ID); err != nil {
		t.Fatal(err)
	}
	got = waitRun(t, e, second, r.ID)
	stopSecond()
	if got, _ = e.svc.Get(ctx, e.Admin, r.InstanceID, r.ID); got.Status != store.RunCanceled {
		t.Errorf("a canceled run: %s %q", got.Status, got.Error)
	}
}
