package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/connhub/connhub/pkg/connhub"
)

// How a provisioning run's progress is shown while it goes, as a sync's is
// (syncview.go). On a terminal, one bar (mpb), redrawn in place: the
// changes over (done, failed or skipped) of the plan's, the counts, the
// time left. Elsewhere plain lines, never an escape code: one when the run
// changes status, and a summary every so often.

// provisionView shows the snapshots of a run as the hub reports them.
type provisionView interface {
	update(run connhub.ProvisioningRun)
	// stop ends the display with the run as last seen (finished or not).
	stop(run connhub.ProvisioningRun)
}

// over is how many of the run's changes are over: done, failed or skipped.
func over(run connhub.ProvisioningRun) int { return run.Done + run.Failed + run.Skipped }

// provisionProgress says in a few words where a run is: "12/40 changes: 10
// done, 1 failed, 1 skipped".
func provisionProgress(run connhub.ProvisioningRun) string {
	return fmt.Sprintf("%s/%s changes: %s done, %s failed, %s skipped", count(int64(over(run))), count(int64(run.Total)),
		count(int64(run.Done)), count(int64(run.Failed)), count(int64(run.Skipped)))
}

// provisionETA estimates how long a running run still needs at now, from
// the pace it kept since it started; 0 when it cannot say.
func provisionETA(run connhub.ProvisioningRun, now time.Time) time.Duration {
	done := over(run)
	if run.Status != connhub.RunRunning || run.StartedAt == nil || done <= 0 || run.Total <= done {
		return 0
	}
	elapsed := now.Sub(*run.StartedAt)
	if elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(elapsed) * float64(run.Total-done) / float64(done))
}

// provisionTook is how long a finished run took, "" while it goes.
func provisionTook(run connhub.ProvisioningRun) string {
	if run.FinishedAt == nil {
		return ""
	}
	from := run.CreatedAt
	if run.StartedAt != nil {
		from = *run.StartedAt
	}
	return dur(run.FinishedAt.Sub(from))
}

// provisionDetail is the run's progress, with the time left while it runs.
func provisionDetail(run connhub.ProvisioningRun, now time.Time) string {
	s := provisionProgress(run)
	if d := provisionETA(run, now); d > 0 {
		s += ", ETA " + dur(d)
	}
	return s
}

// provisionSummary says how a finished run ended, and why when it did not
// succeed.
func provisionSummary(run connhub.ProvisioningRun) string {
	s := fmt.Sprintf("run %s %s", run.ID, run.Status)
	if d := provisionTook(run); d != "" {
		s += " in " + d
	}
	s += ": " + provisionProgress(run)
	if run.Status != connhub.RunSucceeded && run.Reason != "" {
		s += "\nReason: " + run.Reason
	}
	return s
}

// ---- plain lines ----

// applyLines prints a line when the run changes status, and a summary
// every so often.
type applyLines struct {
	w           io.Writer
	every       time.Duration // 0: no summaries
	now         func() time.Time
	status      string
	lastSummary time.Time
}

func newApplyLines(w io.Writer, every time.Duration) *applyLines {
	return &applyLines{w: w, every: every, now: time.Now, lastSummary: time.Now()}
}

func (v *applyLines) update(run connhub.ProvisioningRun) {
	if run.Status != v.status && !run.Finished() {
		fmt.Fprintf(v.w, "run %s: %s\n", run.ID, run.Status)
	}
	v.status = run.Status
	if now := v.now(); v.every > 0 && run.Status == connhub.RunRunning && now.Sub(v.lastSummary) >= v.every {
		v.lastSummary = now
		fmt.Fprintf(v.w, "run %s: %s, %s\n", run.ID, run.Status, provisionDetail(run, now))
	}
}

func (v *applyLines) stop(connhub.ProvisioningRun) {}

// ---- a bar on a terminal ----

// applyBar draws the run's bar with mpb, redrawn in place.
type applyBar struct {
	p   *mpb.Progress
	bar *mpb.Bar
	now func() time.Time

	mu     sync.Mutex
	run    connhub.ProvisioningRun // as last seen, read by the decorators
	closed bool
}

// newApplyBar draws on w, a terminal; tests add options to draw elsewhere.
func newApplyBar(w io.Writer, run connhub.ProvisioningRun, opts ...mpb.ContainerOption) *applyBar {
	v := &applyBar{p: mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithRefreshRate(200 * time.Millisecond)}, opts...)...),
		now: time.Now, run: run}
	v.bar = v.p.New(int64(run.Total), mpb.BarStyle(),
		mpb.BarWidth(barWidth),
		mpb.PrependDecorators(
			decor.Name("run "+run.ID, decor.WC{C: decor.DindentRight | decor.DSyncSpace}),
			decor.Any(func(decor.Statistics) string {
				return v.with(func(run connhub.ProvisioningRun) string { return run.Status })
			}, decor.WC{C: decor.DindentRight | decor.DSyncWidth}),
		),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			return v.with(func(run connhub.ProvisioningRun) string { return provisionDetail(run, v.now()) })
		})),
	)
	return v
}

// with calls fn with the run as last seen.
func (v *applyBar) with(fn func(connhub.ProvisioningRun) string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fn(v.run)
}

func (v *applyBar) update(run connhub.ProvisioningRun) {
	v.mu.Lock()
	v.run = run
	v.mu.Unlock()
	if v.closed {
		return
	}
	total, done := int64(max(run.Total, over(run))), int64(over(run))
	switch {
	case run.Status == connhub.RunSucceeded:
		v.bar.SetTotal(max(total, 1), false)
		v.bar.SetCurrent(max(done, 1))
		v.bar.SetTotal(max(total, 1), true)
		v.closed = true
	case run.Finished():
		v.bar.SetCurrent(done)
		v.bar.Abort(false)
		v.closed = true
	default:
		v.bar.SetTotal(total, false)
		v.bar.SetCurrent(done)
	}
}

// stop completes or aborts the bar, so that mpb draws it once more as it
// ended and returns the terminal.
func (v *applyBar) stop(run connhub.ProvisioningRun) {
	v.update(run)
	if !v.closed {
		v.bar.Abort(false)
		v.closed = true
	}
	v.p.Wait()
}
