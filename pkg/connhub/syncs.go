package connhub

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Streams describes every stream a sync can retrieve (GET /v1/streams), in
// the order a sync starts them.
func (c *Client) Streams(ctx context.Context) ([]StreamInfo, error) {
	var out struct {
		Streams []StreamInfo `json:"streams"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/streams", nil, nil, &out)
	return out.Streams, err
}

func syncsPath(instanceID string) string { return "/v1/instances/" + pathID(instanceID) + "/syncs" }

// StartSync asks for a sync of an instance (POST /v1/instances/{id}/syncs):
// the run is queued, and a worker of the hub runs it. The answer is the
// queued run; WaitSync follows it. An instance has one run at a time: while
// one is queued or running, the hub answers 409 sync_in_progress.
func (c *Client) StartSync(ctx context.Context, instanceID string, in StartSyncInput) (SyncRun, error) {
	var out SyncRun
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, syncsPath(instanceID), nil, in, &out)
	return out, err
}

// GetSync returns a run with its progress (GET
// /v1/instances/{id}/syncs/{sync}).
func (c *Client) GetSync(ctx context.Context, instanceID, syncID string) (SyncRun, error) {
	var out SyncRun
	if err := needIDs(instanceID, syncID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, syncsPath(instanceID)+"/"+pathID(syncID), nil, nil, &out)
	return out, err
}

// ListSyncs returns one page of an instance's runs, newest first (GET
// /v1/instances/{id}/syncs); opts.Limit 0 leaves the page size to the hub
// (20). Pass the page's NextCursor as opts.Cursor for the next page.
func (c *Client) ListSyncs(ctx context.Context, instanceID string, opts ListOptions) (SyncPage, error) {
	var out SyncPage
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, syncsPath(instanceID), pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllSyncs iterates over every run of an instance, newest first, page after
// page. It stops at the first error, which it yields.
func (c *Client) AllSyncs(ctx context.Context, instanceID string) iter.Seq2[SyncRun, error] {
	return all(ctx, ListOptions{}, func(ctx context.Context, o ListOptions) ([]SyncRun, string, error) {
		p, err := c.ListSyncs(ctx, instanceID, o)
		return p.Syncs, p.NextCursor, err
	})
}

// CancelSync stops a run (POST /v1/instances/{id}/syncs/{sync}/cancel): a
// queued one never starts, a running one stops at its next page; what it
// wrote stays. A run that has finished is a 409 sync_finished.
func (c *Client) CancelSync(ctx context.Context, instanceID, syncID string) (SyncRun, error) {
	return c.syncAction(ctx, instanceID, syncID, "cancel")
}

// ResumeSync queues a failed or canceled run again under the same ID (POST
// /v1/instances/{id}/syncs/{sync}/resume): its streams go on from their
// checkpoints. A run that succeeded is a 409 sync_finished.
func (c *Client) ResumeSync(ctx context.Context, instanceID, syncID string) (SyncRun, error) {
	return c.syncAction(ctx, instanceID, syncID, "resume")
}

func (c *Client) syncAction(ctx context.Context, instanceID, syncID, action string) (SyncRun, error) {
	var out SyncRun
	if err := needIDs(instanceID, syncID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, syncsPath(instanceID)+"/"+pathID(syncID)+"/"+action, nil, nil, &out)
	return out, err
}

func needIDs(instanceID, syncID string) error {
	if err := needID("instance", instanceID); err != nil {
		return err
	}
	return needID("sync", syncID)
}

// SyncError says a run that was waited for did not succeed.
type SyncError struct {
	Run SyncRun
}

func (e *SyncError) Error() string {
	msg := fmt.Sprintf("connhub: sync %s %s", e.Run.ID, e.Run.Status)
	if e.Run.Error != "" && e.Run.Error != e.Run.Status {
		msg += ": " + e.Run.Error
	}
	return msg
}

// WaitOptions tune WaitSync.
type WaitOptions struct {
	// Interval is the time between polls (a second if not positive).
	Interval time.Duration
	// Retries is how many polls in a row may fail for a reason that passes
	// (the hub unreachable or restarting, an answer 429 or 5xx) before
	// WaitSync gives up; 0 means 3, a negative number none.
	Retries int
	// OnPoll, if set, is called with each snapshot of the run, the last one
	// included, in the goroutine that called WaitSync.
	OnPoll func(SyncRun)
}

// WaitSync polls a run until it finishes, calling opts.OnPoll with each
// snapshot. It returns the run as it ended, and a *SyncError when it failed
// or was canceled. A poll that fails for a reason that passes is retried at
// the next interval, up to opts.Retries times in a row; any other error is
// returned at once. When ctx is done it returns ctx's error and the run as
// last seen: the run goes on at the hub.
func (c *Client) WaitSync(ctx context.Context, instanceID, syncID string, opts WaitOptions) (SyncRun, error) {
	if err := needIDs(instanceID, syncID); err != nil {
		return SyncRun{}, err
	}
	run, err := poll(ctx, opts.Interval, opts.Retries,
		func(ctx context.Context) (SyncRun, error) { return c.GetSync(ctx, instanceID, syncID) },
		func(r SyncRun) bool {
			if opts.OnPoll != nil {
				opts.OnPoll(r)
			}
			return r.Finished()
		})
	if err == nil && run.Status != RunSucceeded {
		err = &SyncError{Run: run}
	}
	return run, err
}

// poll gets a run every interval (a second if not positive) and hands each
// snapshot to seen, until seen says it finished: it returns the run then.
// A get that fails for a reason that passes is tried again at the next
// interval, up to retries times in a row (0 means 3, a negative number
// none); any other error is returned at once. When ctx is done it returns
// ctx's error and the run as last seen.
func poll[T any](ctx context.Context, interval time.Duration, retries int, get func(context.Context) (T, error), seen func(T) (finished bool)) (T, error) {
	if interval <= 0 {
		interval = time.Second
	}
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last T
	failures := 0
	for {
		run, err := get(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return last, ctx.Err()
		case err != nil && transient(err) && failures < retries:
			failures++
		case err != nil:
			return last, err
		default:
			failures = 0
			last = run
			if seen(run) {
				return run, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}

// transient reports whether a failed request may succeed if sent again: the
// hub could not be reached or did not answer in time, or answered 429 or 5xx
// (restarting, or a proxy in front of it that lost it for a moment). The
// caller has checked that its own context is not done.
func transient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	var ue *url.Error
	return errors.As(err, &ue) // the transport's: refused, reset, timed out
}

func schedulePath(instanceID string) string {
	return "/v1/instances/" + pathID(instanceID) + "/sync-schedule"
}

// GetSyncSchedule returns an instance's sync schedule (GET
// /v1/instances/{id}/sync-schedule); an instance without one is a 404
// (IsNotFound).
func (c *Client) GetSyncSchedule(ctx context.Context, instanceID string) (Schedule, error) {
	var out Schedule
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, schedulePath(instanceID), nil, nil, &out)
	return out, err
}

// SetSyncSchedule creates or replaces an instance's sync schedule (PUT
// /v1/instances/{id}/sync-schedule). The first run is one interval from
// now. An interval under 15 minutes is a 400 invalid_schedule.
func (c *Client) SetSyncSchedule(ctx context.Context, instanceID string, in ScheduleInput) (Schedule, error) {
	var out Schedule
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPut, schedulePath(instanceID), nil, in, &out)
	return out, err
}

// DeleteSyncSchedule deletes an instance's sync schedule (DELETE
// /v1/instances/{id}/sync-schedule).
func (c *Client) DeleteSyncSchedule(ctx context.Context, instanceID string) error {
	if err := needID("instance", instanceID); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, schedulePath(instanceID), nil, nil, nil)
}
