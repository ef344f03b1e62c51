package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// The sync routes: the streams a sync can retrieve, an instance's runs and
// its schedule. They are the HTTP face of internal/sync; the records the
// runs write are read through records.go.

// SyncOptions are how a run was asked for.
type SyncOptions struct {
	Full          bool `json:"full" doc:"Incremental streams were walked from the start of their window again"`
	AnalyticsDays int  `json:"analytics_days" doc:"Days of member analytics the first sync fetches; 0: the default, 1 (yesterday)"`
	ThreadDays    int  `json:"thread_days" doc:"How far back the messages stream looks again for threads that moved; 0: the default, 7"`
	// JoinPublicChannels: see sync.Options.
	JoinPublicChannels bool `json:"join_public_channels" doc:"The bot joined (conversations.join, audited) the public channels whose history Slack refused it, to read them"`
}

// Issue is what made Slack pass over parents of a fan-out stream.
type Issue struct {
	Error string `json:"error" example:"not_in_channel" doc:"Slack's error code"`
	Count int64  `json:"count" doc:"How many parents (channels) Slack answered it for"`
	Hint  string `json:"hint" doc:"What it means, and what to do about it"`
}

// StreamProgress is where one stream of a run is.
type StreamProgress struct {
	State        string     `json:"state" enum:"pending,running,done,skipped,failed"`
	Reason       string     `json:"reason,omitempty" doc:"Why it was skipped: a scope not granted, a plan without the feature"`
	Error        string     `json:"error,omitempty" doc:"Why it failed"`
	Records      int64      `json:"records" doc:"Records written (inserted or updated)"`
	Inserted     int64      `json:"inserted" doc:"Of the records written, how many were new"`
	Deleted      int64      `json:"deleted" doc:"Records marked deleted at the end of a full walk"`
	Calls        int64      `json:"calls" doc:"Calls to Slack"`
	FewestCalls  int64      `json:"fewest_calls" doc:"The fewest calls the data read needed: each list's items over the largest page Slack allows, at least one a list; more calls than this mean smaller pages than Slack allows, short pages from Slack, or something read twice"`
	Retries      int64      `json:"retries" doc:"Calls to Slack tried again"`
	WaitedMS     int64      `json:"waited_ms" doc:"The stream's time spent waiting for Slack's rate budget and out Retry-After (calls that wait side by side count once)"`
	Parents      int64      `json:"parents" doc:"For a stream that fans out over another: parents done"`
	Skipped      int64      `json:"skipped" doc:"For a stream that fans out over another: parents Slack would not answer for"`
	Issues       []Issue    `json:"issues,omitempty" doc:"For a stream that fans out over another: why Slack passed parents over, by its answer, with what to do"`
	Joined       int64      `json:"joined,omitempty" doc:"Public channels the bot joined to read them (join_public_channels)"`
	WaitingSince *time.Time `json:"waiting_since,omitempty" doc:"While the stream waits for Slack's rate budget or out a Retry-After: since when (waited_ms counts the wait so far)"`
	Estimate     int64      `json:"estimate,omitempty" doc:"How many records the stream is expected to hold (what the last run wrote); absent when unknown"`
	ParentsTotal int64      `json:"parents_total,omitempty" doc:"For a stream that fans out over another: how many parents it walks"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

// SyncRun is a sync of an instance: its streams, where each got to, how it
// ended.
type SyncRun struct {
	ID         string                    `json:"id" example:"run_01m81c93bh0makq299gnxzempn"`
	InstanceID string                    `json:"instance_id"`
	Status     string                    `json:"status" enum:"queued,running,stalled,interrupted,succeeded,failed,canceled" doc:"queued until a worker takes it, then running; stalled while it is running but the replica working it stopped renewing its lease (a replica's sweeper resumes it); interrupted when the hub stopped while it ran (it resumes by itself when a hub starts); it ends succeeded, failed or canceled"`
	Trigger    string                    `json:"trigger" enum:"manual,schedule" doc:"Who asked for it: a person or program (manual), or the instance's schedule"`
	Streams    []string                  `json:"streams" doc:"The streams it syncs: those asked for and those they need"`
	Options    SyncOptions               `json:"options"`
	Progress   map[string]StreamProgress `json:"progress" doc:"Every stream of the run, by name"`
	Error      string                    `json:"error" doc:"Why it failed, was canceled, stalled or was interrupted; empty otherwise"`
	CreatedAt  time.Time                 `json:"created_at"`
	StartedAt  *time.Time                `json:"started_at,omitempty"`
	FinishedAt *time.Time                `json:"finished_at,omitempty"`
	UpdatedAt  time.Time                 `json:"updated_at"`
}

func syncRunView(r sync.Run) SyncRun {
	v := SyncRun{ID: r.ID, InstanceID: r.InstanceID, Status: r.Status, Trigger: r.Trigger, Streams: orEmpty(r.Streams),
		Options:  syncOptionsView(r.Opts),
		Progress: make(map[string]StreamProgress, len(r.Streams)), Error: r.Error,
		CreatedAt: r.CreatedAt, StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt), UpdatedAt: r.UpdatedAt}
	for _, name := range r.Streams {
		p, ok := r.State[name]
		if !ok {
			p.State = sync.StatePending
		}
		v.Progress[name] = StreamProgress{State: p.State, Reason: p.Reason, Error: p.Error,
			Records: p.Records, Inserted: p.Inserted, Deleted: p.Deleted, Calls: p.Calls, FewestCalls: p.Fewest, Retries: p.Retries, WaitedMS: p.WaitedMS,
			Parents: p.Parents, Skipped: p.Skipped, Issues: issuesView(p.Issues), Joined: p.Joined, Estimate: p.Estimate, ParentsTotal: p.ParentsTotal,
			StartedAt: timePtr(p.StartedAt), FinishedAt: timePtr(p.FinishedAt), WaitingSince: timePtr(p.WaitingSince)}
	}
	return v
}

func syncOptionsView(o sync.Options) SyncOptions {
	return SyncOptions{Full: o.Full, AnalyticsDays: o.AnalyticsDays, ThreadDays: o.ThreadDays, JoinPublicChannels: o.JoinPublicChannels}
}

func issuesView(in []sync.Issue) []Issue {
	var out []Issue
	for _, is := range in {
		out = append(out, Issue{Error: is.Error, Count: is.Count, Hint: is.Hint})
	}
	return out
}

// Schedule runs a sync of an instance at an interval.
type Schedule struct {
	InstanceID string      `json:"instance_id"`
	Every      string      `json:"every" example:"24h0m0s" doc:"The interval, as a Go duration"`
	Streams    []string    `json:"streams" doc:"The streams each run syncs; empty: the default streams of the day it starts"`
	Options    SyncOptions `json:"options"`
	Enabled    bool        `json:"enabled"`
	NextRunAt  *time.Time  `json:"next_run_at,omitempty" doc:"When the next run starts, if enabled"`
	LastRunID  string      `json:"last_run_id,omitempty" doc:"The run the schedule last started"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

func scheduleView(s sync.Schedule) Schedule {
	return Schedule{InstanceID: s.InstanceID, Every: s.Interval.String(), Streams: orEmpty(s.Streams),
		Options: syncOptionsView(s.Opts), Enabled: s.Enabled,
		NextRunAt: timePtr(s.NextRunAt), LastRunID: s.LastRunID, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

type streamsOutput struct {
	Body struct {
		Streams []sync.StreamInfo `json:"streams"`
	}
}

type syncRunOutput struct {
	Location string `header:"Location"`
	Body     SyncRun
}

type syncRunsOutput struct {
	Body struct {
		Syncs []SyncRun `json:"syncs" doc:"Newest first"`
		Page
	}
}

type scheduleOutput struct{ Body Schedule }

type syncPath struct {
	IDPath
	Sync string `path:"sync" maxLength:"100" doc:"The run's ID"`
}

func (a *API) syncRoutes() {
	tags := []string{"Syncs"}
	huma.Register(a.huma, guarded(authz.ReadAccount, huma.Operation{OperationID: "list-streams", Method: http.MethodGet, Path: "/v1/streams",
		Summary: "List the streams a sync retrieves",
		Description: "Every kind of record connhub syncs from Slack: the method that fetches it, the token, scopes and plans it needs, " +
			"whether a sync runs it by default, its key, and its fields (what where, fields and order_by of the records routes name).", Tags: tags}),
		func(ctx context.Context, _ *struct{}) (*streamsOutput, error) {
			if err := authz.Allow(principal(ctx), authz.ReadAccount, ""); err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &streamsOutput{}
			out.Body.Streams = sync.Streams()
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.RunSyncs, huma.Operation{OperationID: "start-sync", Method: http.MethodPost, Path: "/v1/instances/{id}/syncs", DefaultStatus: http.StatusAccepted,
		Summary: "Start a sync of an instance",
		Description: "Queues a run of the streams named (and the streams they need), or of the default streams; a worker of any replica runs it. " +
			"Poll the run for its progress. One run of an instance at a time: 409 sync_in_progress names the unfinished one.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body *struct {
				Streams            []string `json:"streams,omitempty" doc:"Streams to sync; empty: the default streams (GET /v1/streams)"`
				Full               bool     `json:"full,omitempty" doc:"Walk incremental streams from the start of their window again"`
				AnalyticsDays      int      `json:"analytics_days,omitempty" doc:"Days of member analytics the first sync fetches (default 1, yesterday; at most 395)"`
				ThreadDays         int      `json:"thread_days,omitempty" doc:"How far back the messages stream looks again for threads that moved (default 7, at most 90)"`
				JoinPublicChannels bool     `json:"join_public_channels,omitempty" doc:"Have the bot join (conversations.join, a write, audited) the public channels whose history Slack refuses it (not_in_channel), then read them; needs the channels:join bot scope (400 scope_not_granted without it). Private channels stay reported: no app joins those."`
			}
		}) (*syncRunOutput, error) {
			var start sync.StartInput
			if b := in.Body; b != nil {
				start = sync.StartInput{Streams: b.Streams, Options: sync.Options{Full: b.Full, AnalyticsDays: b.AnalyticsDays, ThreadDays: b.ThreadDays,
					JoinPublicChannels: b.JoinPublicChannels}}
			}
			r, err := a.o.Syncs.Start(ctx, principal(ctx), in.ID, start)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &syncRunOutput{Location: "/v1/instances/" + in.ID + "/syncs/" + r.ID, Body: syncRunView(r)}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadSyncs, huma.Operation{OperationID: "list-syncs", Method: http.MethodGet, Path: "/v1/instances/{id}/syncs",
		Summary: "List an instance's syncs", Description: "Newest first, a page at a time: pass next_cursor as cursor for the next page.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Cursor string `query:"cursor" doc:"The next_cursor of the previous page"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"20" doc:"Page size"`
		}) (*syncRunsOutput, error) {
			runs, next, err := a.o.Syncs.List(ctx, principal(ctx), in.ID, store.Page{After: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &syncRunsOutput{}
			out.Body.NextCursor = next
			out.Body.Syncs = make([]SyncRun, len(runs))
			for i, r := range runs {
				out.Body.Syncs[i] = syncRunView(r)
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadSyncs, huma.Operation{OperationID: "get-sync", Method: http.MethodGet, Path: "/v1/instances/{id}/syncs/{sync}",
		Summary: "Get a sync and its progress", Description: "Its status, and per stream its state and counts: records written, calls to Slack, time waited for Slack's rate budget.", Tags: tags}),
		func(ctx context.Context, in *syncPath) (*syncRunOutput, error) {
			r, err := a.o.Syncs.Get(ctx, principal(ctx), in.ID, in.Sync)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &syncRunOutput{Body: syncRunView(r)}, nil
		})
	huma.Register(a.huma, guarded(authz.RunSyncs, huma.Operation{OperationID: "cancel-sync", Method: http.MethodPost, Path: "/v1/instances/{id}/syncs/{sync}/cancel",
		Summary: "Cancel a sync", Description: "A queued run never starts; a running one stops at its next page. What it wrote stays. 409 sync_finished if it has ended.", Tags: tags}),
		func(ctx context.Context, in *syncPath) (*syncRunOutput, error) {
			r, err := a.o.Syncs.Cancel(ctx, principal(ctx), in.ID, in.Sync)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &syncRunOutput{Body: syncRunView(r)}, nil
		})
	huma.Register(a.huma, guarded(authz.RunSyncs, huma.Operation{OperationID: "resume-sync", Method: http.MethodPost, Path: "/v1/instances/{id}/syncs/{sync}/resume",
		Summary: "Resume a failed or canceled sync",
		Description: "Queues the run again under the same ID; its streams go on from their checkpoints. " +
			"409 sync_finished if it succeeded, sync_in_progress if another run of the instance has not finished.", Tags: tags}),
		func(ctx context.Context, in *syncPath) (*syncRunOutput, error) {
			r, err := a.o.Syncs.Resume(ctx, principal(ctx), in.ID, in.Sync)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &syncRunOutput{Body: syncRunView(r)}, nil
		})
	a.scheduleRoutes(tags)
}

func (a *API) scheduleRoutes(tags []string) {
	huma.Register(a.huma, guarded(authz.ReadSyncs, huma.Operation{OperationID: "get-sync-schedule", Method: http.MethodGet, Path: "/v1/instances/{id}/sync-schedule",
		Summary: "Get an instance's sync schedule", Description: "404 not_found when it has none.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*scheduleOutput, error) {
			s, err := a.o.Syncs.GetSchedule(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &scheduleOutput{Body: scheduleView(s)}, nil
		})
	huma.Register(a.huma, guarded(authz.ScheduleSyncs, huma.Operation{OperationID: "put-sync-schedule", Method: http.MethodPut, Path: "/v1/instances/{id}/sync-schedule",
		Summary: "Set an instance's sync schedule",
		Description: fmt.Sprintf("Creates or replaces the schedule; its first run starts one interval from now. every is a Go duration of at least %s "+
			"(Slack's limits make a full walk of a workspace more often pointless); anything else is 400 invalid_schedule.", sync.MinInterval), Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Every              string   `json:"every" example:"24h" doc:"How often, as a Go duration: 15m, 6h, 24h"`
				Streams            []string `json:"streams,omitempty" doc:"Streams to sync; empty: the default streams"`
				Full               bool     `json:"full,omitempty" doc:"Walk incremental streams from the start of their window again on each run"`
				AnalyticsDays      int      `json:"analytics_days,omitempty" doc:"Days of member analytics the first sync fetches (default 1, yesterday; at most 395)"`
				ThreadDays         int      `json:"thread_days,omitempty" doc:"How far back the messages stream looks again for threads that moved (default 7, at most 90)"`
				JoinPublicChannels bool     `json:"join_public_channels,omitempty" doc:"Have the bot join the public channels whose history Slack refuses it, on each run (needs channels:join; see start-sync)"`
				Enabled            *bool    `json:"enabled,omitempty" doc:"Whether it runs (default true)"`
			}
		}) (*scheduleOutput, error) {
			b := in.Body
			every, err := time.ParseDuration(b.Every)
			if err != nil {
				return nil, a.fail(ctx, apierror.New(http.StatusBadRequest, "invalid_schedule",
					fmt.Sprintf("every %q is not a duration: write it as Go does, e.g. 30m, 6h or 24h (at least %s)", b.Every, sync.MinInterval)))
			}
			enabled := b.Enabled == nil || *b.Enabled
			s, err := a.o.Syncs.SetSchedule(ctx, principal(ctx), in.ID, sync.ScheduleInput{Every: every, Streams: b.Streams,
				Options: sync.Options{Full: b.Full, AnalyticsDays: b.AnalyticsDays, ThreadDays: b.ThreadDays, JoinPublicChannels: b.JoinPublicChannels}, Enabled: enabled})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &scheduleOutput{Body: scheduleView(s)}, nil
		})
	huma.Register(a.huma, guarded(authz.ScheduleSyncs, huma.Operation{OperationID: "delete-sync-schedule", Method: http.MethodDelete, Path: "/v1/instances/{id}/sync-schedule", DefaultStatus: http.StatusNoContent,
		Summary: "Delete an instance's sync schedule", Description: "Runs it started are kept. 404 not_found when it has none.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := a.o.Syncs.DeleteSchedule(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})
}
