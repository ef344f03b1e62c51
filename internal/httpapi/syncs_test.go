package httpapi_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	syncsvc "github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

// syncHub is a hub with an installed instance and a sync service, served
// over HTTP: hubtest's parts behind the API, as `serve` wires them.
type syncHub struct {
	*hubtest.Hub
	api   *hub // url and token, for call
	syncs *syncsvc.Service
	cfg   syncsvc.Config
}

func startSyncHub(t *testing.T, o hubtest.Options, cfg syncsvc.Config) *syncHub {
	t.Helper()
	h := hubtest.Start(t, o)
	caller, err := slackcall.New(slackcall.Options{SlackURL: h.SlackURL, Tokens: h.Services, Log: h.Log})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Caller, cfg.Log = h.Store, caller, h.Log
	svc, err := syncsvc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sh := &syncHub{Hub: h, syncs: svc, cfg: cfg}
	sh.api = &hub{url: sh.serve(t, h.Store), token: apiToken(t, h)}
	return sh
}

// serve serves the API over st (the hub's store, or one that fails on cue:
// then the records are read through a sync service on it).
func (h *syncHub) serve(t *testing.T, st store.Store) string {
	t.Helper()
	syncs := h.syncs
	if st != h.Store {
		cfg := h.cfg
		cfg.Store = st
		var err error
		if syncs, err = syncsvc.New(cfg); err != nil {
			t.Fatal(err)
		}
	}
	api := httpapi.New(httpapi.Options{Store: st, Instances: h.Services, Auth: &tenant.Authenticator{Store: h.Store}, Log: h.Log, Syncs: syncs})
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// apiToken gives the hub's admin an API token.
func apiToken(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	return userToken(t, h, h.Admin.User.ID)
}

// userToken gives a person of the hub's organization an API token.
func userToken(t *testing.T, h *hubtest.Hub, userID string) string {
	t.Helper()
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.CreateAPICredential(ctx, store.APICredential{OrgID: h.Admin.Org.ID, UserID: userID, Name: "test",
		TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token)}); err != nil {
		t.Fatal(err)
	}
	return token
}

// syncRun is a run as the contract shows it.
type syncRun struct {
	ID         string   `json:"id"`
	InstanceID string   `json:"instance_id"`
	Status     string   `json:"status"`
	Trigger    string   `json:"trigger"`
	Streams    []string `json:"streams"`
	Options    struct {
		Full          bool `json:"full"`
		AnalyticsDays int  `json:"analytics_days"`
	} `json:"options"`
	Progress map[string]struct {
		State     string     `json:"state"`
		Reason    string     `json:"reason"`
		Error     string     `json:"error"`
		Records   int64      `json:"records"`
		Calls     int64      `json:"calls"`
		StartedAt *time.Time `json:"started_at"`
	} `json:"progress"`
	Error      string     `json:"error"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func (h *syncHub) syncsPath() string { return "/v1/instances/" + h.Instance.ID + "/syncs" }

// start asks for a sync over HTTP and checks it is queued.
func (h *syncHub) start(t *testing.T, body any) syncRun {
	t.Helper()
	var r syncRun
	resp := h.api.call(t, "POST", h.syncsPath(), "", body, &r)
	wantStatus(t, resp, http.StatusAccepted)
	if r.Status != store.RunQueued || r.InstanceID != h.Instance.ID || r.Trigger != "manual" {
		t.Fatalf("a new run: %+v", r)
	}
	if got, want := resp.Header.Get("Location"), h.syncsPath()+"/"+r.ID; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	return r
}

// wait polls a run until it has finished.
func (h *syncHub) wait(t *testing.T, id string) syncRun {
	t.Helper()
	for {
		// The hub's sync service works the run: read it over HTTP after
		// each change the service makes, until it ends.
		changed := h.syncs.Changes()
		var r syncRun
		wantStatus(t, h.api.call(t, "GET", h.syncsPath()+"/"+id, "", nil, &r), http.StatusOK)
		if r.Status != store.RunQueued && r.Status != store.RunRunning {
			return r
		}
		<-changed
	}
}

// execute works a run in the background, as a queue's worker would.
func (h *syncHub) execute(t *testing.T, id string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.syncs.Execute(context.WithoutCancel(ctx), h.Admin.Org.ID, id) }()
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Errorf("execute %s: %v", id, err)
		}
	})
}

func wantError(t *testing.T, resp *http.Response, e *apiErr, status int, code string, mentions ...string) {
	t.Helper()
	if resp.StatusCode != status || e.Code != code {
		t.Fatalf("%s %s: got %d %s (%s), want %d %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, e.Code, e.Message, status, code)
	}
	for _, m := range mentions {
		if !strings.Contains(e.Message, m) {
			t.Errorf("%s: the message %q does not mention %q", code, e.Message, m)
		}
	}
}

var backends = []struct {
	name     string
	postgres bool
}{{"sqlite", false}, {"postgres", true}}

func TestSyncsOverHTTP(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := startSyncHub(t, hubtest.Options{Postgres: b.postgres, Sandbox: slacksim.Config{Users: 40, Channels: 6}}, syncsvc.Config{})

			var streams struct {
				Streams []struct {
					Name   string   `json:"name"`
					Walk   string   `json:"walk"`
					Fields []string `json:"fields"`
				} `json:"streams"`
			}
			wantStatus(t, h.api.call(t, "GET", "/v1/streams", "", nil, &streams), http.StatusOK)
			i := slices.IndexFunc(streams.Streams, func(s struct {
				Name   string   `json:"name"`
				Walk   string   `json:"walk"`
				Fields []string `json:"fields"`
			}) bool {
				return s.Name == "users"
			})
			if i < 0 || streams.Streams[i].Walk != "full" || !slices.Contains(streams.Streams[i].Fields, "real_name") {
				t.Fatalf("GET /v1/streams: no users stream with its fields: %+v", streams.Streams)
			}

			var e apiErr
			wantError(t, h.api.call(t, "POST", h.syncsPath(), "", map[string]any{"streams": []string{"userz"}}, &e), &e, http.StatusBadRequest, "unknown_stream", "userz", "users", "channels")
			e = apiErr{}
			wantError(t, h.api.call(t, "POST", "/v1/instances/ins_nope/syncs", "", nil, &e), &e, http.StatusNotFound, "not_found")

			run := h.start(t, map[string]any{"streams": []string{"users", "channels"}, "analytics_days": 3})
			if !slices.Contains(run.Streams, "users") || !slices.Contains(run.Streams, "channels") || run.Options.AnalyticsDays != 3 {
				t.Errorf("the run's streams and options: %v %+v", run.Streams, run.Options)
			}
			for _, s := range run.Streams {
				if run.Progress[s].State != syncsvc.StatePending {
					t.Errorf("a queued run's stream %s is %q, want pending", s, run.Progress[s].State)
				}
			}
			e = apiErr{}
			wantError(t, h.api.call(t, "POST", h.syncsPath(), "", nil, &e), &e, http.StatusConflict, "sync_in_progress", run.ID)

			// Canceled while queued, resumed, then worked to its end.
			var got syncRun
			wantStatus(t, h.api.call(t, "POST", h.syncsPath()+"/"+run.ID+"/cancel", "", nil, &got), http.StatusOK)
			if got.Status != store.RunCanceled || got.FinishedAt == nil {
				t.Errorf("canceled: %s, finished %v", got.Status, got.FinishedAt)
			}
			e = apiErr{}
			wantError(t, h.api.call(t, "POST", h.syncsPath()+"/"+run.ID+"/cancel", "", nil, &e), &e, http.StatusConflict, "sync_finished")
			wantStatus(t, h.api.call(t, "POST", h.syncsPath()+"/"+run.ID+"/resume", "", nil, &got), http.StatusOK)
			if got.Status != store.RunQueued || got.ID != run.ID {
				t.Errorf("resumed: %s %s, want queued %s", got.ID, got.Status, run.ID)
			}
			h.execute(t, run.ID)
			got = h.wait(t, run.ID)
			if got.Status != store.RunSucceeded || got.StartedAt == nil || got.FinishedAt == nil {
				t.Fatalf("run %s: %s (%s)", got.ID, got.Status, got.Error)
			}
			if len(got.Progress) != len(got.Streams) {
				t.Errorf("progress of %d streams, want every one of %v", len(got.Progress), got.Streams)
			}
			for _, s := range got.Streams {
				if p := got.Progress[s]; p.State != syncsvc.StateDone || p.Calls == 0 || p.StartedAt == nil {
					t.Errorf("stream %s: %+v", s, p)
				}
			}
			if got, want := got.Progress["users"].Records, int64(h.Sandbox.Summary().Teams[0].Users); got != want {
				t.Errorf("users: %d records, want %d", got, want)
			}
			e = apiErr{}
			wantError(t, h.api.call(t, "POST", h.syncsPath()+"/"+run.ID+"/resume", "", nil, &e), &e, http.StatusConflict, "sync_finished")
			e = apiErr{}
			wantError(t, h.api.call(t, "POST", h.syncsPath()+"/"+run.ID+"/cancel", "", nil, &e), &e, http.StatusConflict, "sync_finished")

			// A second run: the list is newest first.
			second := h.start(t, nil)
			if len(second.Streams) != len(syncsvc.DefaultStreams()) {
				t.Errorf("a run without streams syncs %v, want the default streams %v", second.Streams, syncsvc.DefaultStreams())
			}
			var list struct {
				Syncs      []syncRun `json:"syncs"`
				NextCursor string    `json:"next_cursor"`
			}
			wantStatus(t, h.api.call(t, "GET", h.syncsPath()+"?limit=5", "", nil, &list), http.StatusOK)
			if len(list.Syncs) != 2 || list.Syncs[0].ID != second.ID || list.Syncs[1].ID != run.ID || list.NextCursor != "" {
				t.Errorf("GET syncs: %d runs, next %q; want %s then %s, no next page", len(list.Syncs), list.NextCursor, second.ID, run.ID)
			}
			// A page at a time.
			wantStatus(t, h.api.call(t, "GET", h.syncsPath()+"?limit=1", "", nil, &list), http.StatusOK)
			if len(list.Syncs) != 1 || list.Syncs[0].ID != second.ID || list.NextCursor == "" {
				t.Fatalf("GET syncs?limit=1: %d runs, next %q; want %s and a next page", len(list.Syncs), list.NextCursor, second.ID)
			}
			wantStatus(t, h.api.call(t, "GET", h.syncsPath()+"?limit=1&cursor="+list.NextCursor, "", nil, &list), http.StatusOK)
			if len(list.Syncs) != 1 || list.Syncs[0].ID != run.ID || list.NextCursor != "" {
				t.Errorf("GET syncs?limit=1&cursor=: %d runs, next %q; want %s and the end", len(list.Syncs), list.NextCursor, run.ID)
			}
			wantStatus(t, h.api.call(t, "POST", h.syncsPath()+"/"+second.ID+"/cancel", "", nil, &got), http.StatusOK)
			e = apiErr{}
			wantError(t, h.api.call(t, "GET", h.syncsPath()+"/run_nope", "", nil, &e), &e, http.StatusNotFound, "not_found")
		})
	}
}

// TestSyncsRunOnTheQueue works runs as `serve` does: River on the hub's own
// database. A run asked for while no worker ran is picked up when the queue
// starts; one asked for after goes straight to it.
func TestSyncsRunOnTheQueue(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := startSyncHub(t, hubtest.Options{Postgres: b.postgres, Sandbox: slacksim.Config{Users: 30, Channels: 4}},
				syncsvc.Config{SweepEvery: 50 * time.Millisecond})
			early := h.start(t, map[string]any{"streams": []string{"users"}})

			db, ok := h.Store.(interface{ DB() *sql.DB })
			if !ok {
				t.Fatalf("the store %T does not expose its database", h.Store)
			}
			qctx, stop := context.WithCancel(ctx)
			served := make(chan error, 1)
			q := hubtest.SyncQueue(t, h.syncs, db.DB(), h.Store.Backend(), h.DSN, 20*time.Millisecond)
			go func() { served <- q.Work(qctx, h.syncs.Serve) }()
			t.Cleanup(func() {
				stop()
				if err := <-served; err != nil {
					t.Errorf("the queue did not stop cleanly: %v", err)
				}
			})

			if r := h.wait(t, early.ID); r.Status != store.RunSucceeded {
				t.Fatalf("the run asked for before the queue started: %s (%s)", r.Status, r.Error)
			}
			late := h.start(t, map[string]any{"streams": []string{"team", "users"}})
			if r := h.wait(t, late.ID); r.Status != store.RunSucceeded || r.Progress["team"].Records != 1 {
				t.Fatalf("the run asked for while the queue ran: %s (%s) %+v", r.Status, r.Error, r.Progress)
			}
		})
	}
}

func TestSyncSchedule(t *testing.T) {
	t.Parallel()
	h := startSyncHub(t, hubtest.Options{Sandbox: slacksim.Config{Users: 10}}, syncsvc.Config{})
	path := "/v1/instances/" + h.Instance.ID + "/sync-schedule"
	type schedule struct {
		InstanceID string   `json:"instance_id"`
		Every      string   `json:"every"`
		Streams    []string `json:"streams"`
		Options    struct {
			Full          bool `json:"full"`
			AnalyticsDays int  `json:"analytics_days"`
		} `json:"options"`
		Enabled   bool       `json:"enabled"`
		NextRunAt *time.Time `json:"next_run_at"`
		CreatedAt time.Time  `json:"created_at"`
	}

	var e apiErr
	wantError(t, h.api.call(t, "GET", path, "", nil, &e), &e, http.StatusNotFound, "not_found")
	for _, every := range []string{"14m59s", "10m", "daily", "-24h"} {
		e = apiErr{}
		wantError(t, h.api.call(t, "PUT", path, "", map[string]any{"every": every}, &e), &e, http.StatusBadRequest, "invalid_schedule", "15m")
	}
	e = apiErr{}
	wantError(t, h.api.call(t, "PUT", path, "", map[string]any{"every": "1h", "streams": []string{"userz"}}, &e), &e, http.StatusBadRequest, "unknown_stream", "users")
	e = apiErr{}
	wantError(t, h.api.call(t, "PUT", "/v1/instances/ins_nope/sync-schedule", "", map[string]any{"every": "1h"}, &e), &e, http.StatusNotFound, "not_found")

	var put schedule
	before := time.Now()
	wantStatus(t, h.api.call(t, "PUT", path, "", map[string]any{"every": "15m"}, &put), http.StatusOK)
	if put.Every != "15m0s" || !put.Enabled || len(put.Streams) != 0 {
		t.Errorf("the shortest schedule: %+v", put)
	}
	wantStatus(t, h.api.call(t, "PUT", path, "", map[string]any{"every": "24h", "streams": []string{"users"}, "full": true, "analytics_days": 30}, &put), http.StatusOK)
	if put.InstanceID != h.Instance.ID || put.Every != "24h0m0s" || !put.Enabled || !slices.Equal(put.Streams, []string{"users"}) ||
		!put.Options.Full || put.Options.AnalyticsDays != 30 {
		t.Errorf("PUT: %+v", put)
	}
	if put.NextRunAt == nil || put.NextRunAt.Before(before.Add(24*time.Hour-time.Minute)) || put.NextRunAt.After(time.Now().Add(24*time.Hour)) {
		t.Errorf("next run at %v, want a day from now", put.NextRunAt)
	}
	var got schedule
	wantStatus(t, h.api.call(t, "GET", path, "", nil, &got), http.StatusOK)
	if got.Every != put.Every || !slices.Equal(got.Streams, put.Streams) || got.Options != put.Options || got.Enabled != put.Enabled {
		t.Errorf("GET %+v, want what PUT answered %+v", got, put)
	}
	wantStatus(t, h.api.call(t, "PUT", path, "", map[string]any{"every": "6h", "enabled": false}, &got), http.StatusOK)
	if got.Enabled || got.Every != "6h0m0s" {
		t.Errorf("a disabled schedule: %+v", got)
	}
	wantStatus(t, h.api.call(t, "DELETE", path, "", nil, nil), http.StatusNoContent)
	e = apiErr{}
	wantError(t, h.api.call(t, "GET", path, "", nil, &e), &e, http.StatusNotFound, "not_found")
	e = apiErr{}
	wantError(t, h.api.call(t, "DELETE", path, "", nil, &e), &e, http.StatusNotFound, "not_found")
}
