package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/connhub/connhub/pkg/connhub"
)

// How a run's progress is shown while it goes. On a terminal, a bar a
// stream (mpb), redrawn in place: records, calls (a page each), parents done
// of a fan-out's total, the estimated time left, the time spent waiting for
// Slack's rate limits, and the state. Elsewhere (a pipe, a file, CI's log)
// plain lines, never an escape code: one when a stream changes state, and a
// summary of the run every so often.

// syncView shows the snapshots of a run as the hub reports them.
type syncView interface {
	update(run connhub.SyncRun)
	// stop ends the display with the run as last seen (finished or not).
	stop(run connhub.SyncRun)
}

// parentNames maps each fan-out stream to the stream it walks, to say "40/120
// channels" rather than "40/120 parents". Best effort: without the catalog
// the display says parents.
func (h *hubClient) parentNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	infos, err := h.Streams(ctx)
	if err != nil {
		return out
	}
	for _, s := range infos {
		if s.Parent != "" {
			out[s.Name] = s.Parent
		}
	}
	return out
}

// progressOf says how far a stream got toward its total: parents walked of
// a fan-out, else records written of what the last run wrote. total is 0
// when unknown.
func progressOf(p connhub.StreamProgress, parent string) (done, total int64, unit string) {
	if p.ParentsTotal > 0 {
		if parent == "" {
			parent = "parents"
		}
		return p.Parents + p.Skipped, p.ParentsTotal, parent
	}
	if p.Estimate > 0 {
		return p.Records, max(p.Estimate, p.Records), "records"
	}
	return p.Records, 0, "records"
}

// eta estimates how long a running stream still needs at now, from the pace
// it kept since it started toward its known total; 0 when it cannot say.
func eta(p connhub.StreamProgress, parent string, now time.Time) time.Duration {
	done, total, _ := progressOf(p, parent)
	if p.State != connhub.StreamRunning || p.StartedAt == nil || done <= 0 || total <= done {
		return 0
	}
	elapsed := now.Sub(*p.StartedAt)
	if elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done))
}

// asOf is the time to reckon a snapshot's times from: now, or the hub's last
// save of the run if the client's clock is behind the hub's. (The hub saves
// a run only when it moves, so its own time would stop while a stream waits
// for Slack.)
func asOf(run connhub.SyncRun, now time.Time) time.Time {
	if now.Before(run.UpdatedAt) {
		return run.UpdatedAt
	}
	return now
}

// took is how long a stream ran; 0 while it runs.
func took(p connhub.StreamProgress) time.Duration {
	if p.StartedAt == nil || p.FinishedAt == nil {
		return 0
	}
	return p.FinishedAt.Sub(*p.StartedAt)
}

// runTook is how long a finished run took: from its start, or its creation
// if it never started.
func runTook(run connhub.SyncRun) time.Duration {
	if run.FinishedAt == nil {
		return 0
	}
	from := run.CreatedAt
	if run.StartedAt != nil {
		from = *run.StartedAt
	}
	return run.FinishedAt.Sub(from)
}

// shown is the run as the display shows it: the streams of a stalled run
// that were running are stalled too (nothing works on them, so no ETA).
func shown(run connhub.SyncRun) connhub.SyncRun {
	if run.Status != connhub.RunStalled {
		return run
	}
	progress := make(map[string]connhub.StreamProgress, len(run.Progress))
	for name, p := range run.Progress {
		if p.State == connhub.StreamRunning {
			p.State, p.WaitingSince = connhub.RunStalled, nil
		}
		progress[name] = p
	}
	run.Progress = progress
	return run
}

// stateOf is a stream's state, saying queued while the run waits for a worker.
func stateOf(run connhub.SyncRun, name string) string {
	p := run.Progress[name]
	switch {
	case p.State == "":
		return connhub.StreamPending
	case p.State == connhub.StreamPending && run.Status == connhub.RunQueued:
		return connhub.RunQueued
	}
	return p.State
}

// streamDetail says in a few words where a stream is: for a running one its
// progress toward a known total and the time left; for a finished one what
// it wrote; for a skipped or failed one why.
func streamDetail(p connhub.StreamProgress, parent string, at time.Time) string {
	var parts []string
	switch p.State {
	case connhub.StreamSkipped:
		return orStatus(p.Reason, "skipped")
	case connhub.StreamFailed:
		return orStatus(p.Error, "failed")
	case connhub.StreamPending, "":
		return ""
	case connhub.StreamRunning:
		done, total, unit := progressOf(p, parent)
		switch {
		case total > 0 && unit != "records":
			parts = append(parts, count(done)+"/"+count(total)+" "+unit, plural(p.Records, "record"))
		case total > 0:
			parts = append(parts, count(done)+"/"+count(total)+" records")
		default:
			parts = append(parts, plural(p.Records, "record"))
		}
		if p.WaitingSince != nil {
			parts = append(parts, "waiting for Slack's rate limit")
		}
	case connhub.StreamDone:
		parts = append(parts, plural(p.Records, "record"))
		if p.ParentsTotal > 0 || p.Parents > 0 {
			_, _, unit := progressOf(p, parent)
			parts = append(parts, count(p.Parents)+" "+unit)
		}
	}
	parts = append(parts, plural(p.Calls, "call"))
	if p.State == connhub.StreamDone && p.Calls > p.FewestCalls && p.FewestCalls > 0 {
		parts[len(parts)-1] += " (the data needed " + count(p.FewestCalls) + ")"
	}
	if p.Skipped > 0 {
		parts = append(parts, count(p.Skipped)+" passed over")
	}
	if p.Retries > 0 {
		parts = append(parts, plural(p.Retries, "retry"))
	}
	if p.WaitedMS > 0 {
		parts = append(parts, "waited "+dur(p.Waited()))
	}
	if d := eta(p, parent, at); d > 0 {
		parts = append(parts, "ETA "+dur(d))
	}
	if d := took(p); d > 0 {
		parts = append(parts, "took "+dur(d))
	}
	return strings.Join(parts, ", ")
}

// totals adds up a run's streams.
func totals(run connhub.SyncRun) (records, calls int64, waited time.Duration) {
	for _, p := range run.Progress {
		records += p.Records
		calls += p.Calls
		waited += p.Waited()
	}
	return records, calls, waited
}

// outcome is the line that says how a finished run ended, and what Slack
// passed over.
func outcome(run connhub.SyncRun) string {
	records, calls, waited := totals(run)
	s := fmt.Sprintf("sync %s %s in %s: %s records, %s", run.ID, run.Status, dur(runTook(run)), count(records), plural(calls, "call"))
	if waited > 0 {
		s += "; streams waited " + dur(waited) + " in all for Slack's rate limits"
	}
	for _, name := range run.Streams {
		p := run.Progress[name]
		if len(p.Issues) == 0 {
			continue
		}
		var codes []string
		for _, is := range p.Issues {
			codes = append(codes, is.Error)
		}
		s += fmt.Sprintf("; %s passed over %s (%s)", name, plural(p.Skipped, "channel"), strings.Join(codes, ", "))
	}
	return s
}

// printIssues writes why Slack passed over parents of the run's streams,
// a line an answer, with what to do.
func printIssues(w io.Writer, run connhub.SyncRun, parents map[string]string) {
	first := true
	for _, name := range run.Streams {
		for _, is := range run.Progress[name].Issues {
			if first {
				fmt.Fprintln(w, "\nPassed over:")
				first = false
			}
			unit := parents[name]
			if unit == "" {
				unit = "parents"
			}
			if is.Count == 1 {
				unit = strings.TrimSuffix(unit, "s")
			}
			fmt.Fprintf(w, "  %s: %s (%s %s): %s\n", name, is.Error, count(is.Count), unit, is.Hint)
		}
	}
}

// printRunStreams writes the table of a run's streams.
func printRunStreams(w io.Writer, run connhub.SyncRun, parents map[string]string, now time.Time) error {
	run = shown(run)
	tw := newTable(w)
	row(tw, "STREAM", "STATE", "RECORDS", "NEW", "DELETED", "CALLS", "RETRIES", "WAITED", "TOOK", "NOTE")
	at := asOf(run, now)
	for _, name := range run.Streams {
		p := run.Progress[name]
		note := ""
		switch p.State {
		case connhub.StreamSkipped:
			note = p.Reason
		case connhub.StreamFailed:
			note = p.Error
		default:
			done, total, unit := progressOf(p, parents[name])
			if unit != "records" && total > 0 {
				note = count(done) + "/" + count(total) + " " + unit
				if p.Skipped > 0 {
					note += " (" + count(p.Skipped) + " passed over)"
				}
			}
			if d := eta(p, parents[name], at); d > 0 {
				note = strings.TrimPrefix(note+", ETA "+dur(d), ", ")
			}
		}
		tookText := ""
		if d := took(p); d > 0 {
			tookText = dur(d)
		}
		row(tw, name, stateOf(run, name), count(p.Records), count(p.Inserted), count(p.Deleted), count(p.Calls), count(p.Retries),
			dur(p.Waited()), tookText, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printIssues(w, run, parents)
	return nil
}

// ---- plain lines ----

// lineView prints a line when a stream changes state, and a summary of the
// run every so often.
type lineView struct {
	w           io.Writer
	parents     map[string]string
	every       time.Duration // 0: no summaries
	now         func() time.Time
	status      string
	states      map[string]string // as last printed
	lastSummary time.Time
}

func newLineView(w io.Writer, parents map[string]string, every time.Duration) *lineView {
	return &lineView{w: w, parents: parents, every: every, now: time.Now, states: map[string]string{}, lastSummary: time.Now()}
}

func (v *lineView) update(run connhub.SyncRun) {
	run = shown(run)
	if run.Status != v.status && !run.Finished() {
		fmt.Fprintf(v.w, "sync %s: %s\n", run.ID, run.Status)
	}
	v.status = run.Status
	at := asOf(run, v.now())
	for _, name := range run.Streams {
		p := run.Progress[name]
		if p.State == v.states[name] || (p.State == connhub.StreamPending && v.states[name] == "") {
			continue
		}
		v.states[name] = p.State
		line := name + ": " + p.State
		switch detail := streamDetail(p, v.parents[name], at); {
		case detail != "" && (p.State == connhub.StreamSkipped || p.State == connhub.StreamFailed):
			line += ": " + detail
		case detail != "":
			line += ", " + detail
		}
		fmt.Fprintln(v.w, line)
	}
	if now := v.now(); v.every > 0 && run.Status == connhub.RunRunning && now.Sub(v.lastSummary) >= v.every {
		v.lastSummary = now
		fmt.Fprintln(v.w, summaryLine(run, v.parents, at))
	}
}

func (v *lineView) stop(connhub.SyncRun) {}

// summaryLine says where a running run is: streams finished, what the
// running ones are at, and the totals so far.
func summaryLine(run connhub.SyncRun, parents map[string]string, at time.Time) string {
	run = shown(run)
	finished := 0
	var running []string
	for _, name := range run.Streams {
		p := run.Progress[name]
		switch p.State {
		case connhub.StreamDone, connhub.StreamSkipped, connhub.StreamFailed:
			finished++
		case connhub.StreamRunning:
			done, total, unit := progressOf(p, parents[name])
			s := name + " " + count(done)
			if total > 0 {
				s += "/" + count(total)
			}
			s += " " + unit
			if d := eta(p, parents[name], at); d > 0 {
				s += " ETA " + dur(d)
			}
			running = append(running, s)
		}
	}
	records, calls, waited := totals(run)
	s := fmt.Sprintf("sync %s: %s, %d/%d streams finished", run.ID, run.Status, finished, len(run.Streams))
	if len(running) > 0 {
		s += "; running: " + strings.Join(running, ", ")
	}
	s += fmt.Sprintf("; %s records, %s so far", count(records), plural(calls, "call"))
	if waited > 0 {
		s += ", waited " + dur(waited) + " for rate limits"
	}
	return s
}

// ---- bars on a terminal ----

// barWidth is the width of a stream's bar, without its text.
const barWidth = 24

// barView draws a bar a stream with mpb, redrawn in place.
type barView struct {
	p       *mpb.Progress
	bars    map[string]*mpb.Bar
	parents map[string]string

	now func() time.Time

	mu     sync.Mutex
	run    connhub.SyncRun // as last seen, read by the decorators
	closed map[string]bool // streams whose bar completed or was aborted
}

// newBarView draws on w, a terminal; tests add options to draw elsewhere.
func newBarView(w io.Writer, run connhub.SyncRun, parents map[string]string, opts ...mpb.ContainerOption) *barView {
	v := &barView{p: mpb.New(append([]mpb.ContainerOption{mpb.WithOutput(w), mpb.WithRefreshRate(200 * time.Millisecond)}, opts...)...),
		bars: map[string]*mpb.Bar{}, parents: parents, now: time.Now, run: run, closed: map[string]bool{}}
	for _, name := range run.Streams {
		v.bars[name] = v.p.New(0, mpb.BarStyle(),
			mpb.BarWidth(barWidth),
			mpb.BarFillerMiddleware(v.unknownTotal(name)),
			mpb.PrependDecorators(
				decor.Name(name, decor.WC{C: decor.DindentRight | decor.DSyncSpace}),
				decor.Any(func(decor.Statistics) string {
					return v.with(func(run connhub.SyncRun) string { return stateOf(run, name) })
				},
					decor.WC{C: decor.DindentRight | decor.DSyncWidth}),
			),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return v.with(func(run connhub.SyncRun) string {
					return streamDetail(run.Progress[name], parents[name], asOf(run, v.now()))
				})
			})),
		)
	}
	return v
}

// with calls fn with the run as last seen.
func (v *barView) with(fn func(connhub.SyncRun) string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return fn(v.run)
}

// unknownTotal draws a spinner for a running stream whose total is unknown
// (the bar could not say how far it is), and blanks for one not started.
func (v *barView) unknownTotal(name string) func(mpb.BarFiller) mpb.BarFiller {
	return func(bar mpb.BarFiller) mpb.BarFiller {
		spin := mpb.SpinnerStyle().PositionLeft().Build()
		return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
			if st.Total > 0 {
				return bar.Fill(w, st)
			}
			width := min(barWidth, st.AvailableWidth)
			if width <= 0 {
				return nil
			}
			if v.with(func(run connhub.SyncRun) string { return run.Progress[name].State }) == connhub.StreamRunning && !st.Aborted {
				return spin.Fill(w, st)
			}
			_, err := io.WriteString(w, strings.Repeat(" ", width))
			return err
		})
	}
}

func (v *barView) update(run connhub.SyncRun) {
	run = shown(run)
	v.mu.Lock()
	v.run = run
	v.mu.Unlock()
	for _, name := range run.Streams {
		bar, p := v.bars[name], run.Progress[name]
		if bar == nil || v.closed[name] {
			continue
		}
		done, total, _ := progressOf(p, v.parents[name])
		switch p.State {
		case connhub.StreamDone:
			bar.SetTotal(max(done, 1), true)
			v.closed[name] = true
		case connhub.StreamSkipped, connhub.StreamFailed:
			bar.Abort(false)
			v.closed[name] = true
		case connhub.StreamRunning:
			if total > 0 {
				total = max(total, done)
			}
			bar.SetTotal(total, false)
			bar.SetCurrent(done)
		}
	}
}

// stop completes or aborts every bar, so that mpb draws them once more as
// they ended and returns the terminal.
func (v *barView) stop(run connhub.SyncRun) {
	v.update(run)
	for name, bar := range v.bars {
		if !v.closed[name] {
			bar.Abort(false)
			v.closed[name] = true
		}
	}
	v.p.Wait()
}

// ---- numbers ----

// count writes n with thousands separators: 12,345.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// plural is "1 call", "2 calls", "3 retries".
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if w, ok := strings.CutSuffix(word, "y"); ok {
		return count(n) + " " + w + "ies"
	}
	return count(n) + " " + word + "s"
}

// dur writes a duration for people: 0s, <1ms, 850ms, 3.2s, 42s, 1m23s, 2h05m.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second).Seconds())) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
