package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/connhub/connhub/pkg/connhub"
)

// followFlags are the flags of the commands that follow a run as it goes.
type followFlags struct {
	Interval     time.Duration
	SummaryEvery time.Duration
}

func (f *followFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.Interval, "poll-interval", time.Second, "how often to ask the hub where the sync is")
	fs.DurationVar(&f.SummaryEvery, "summary-every", 10*time.Second, "when not printing to a terminal: how often to print a summary line (0: never)")
	fs.MarkHidden("poll-interval")
}

type syncRunOptions struct {
	clientFlags
	followFlags
	Instance      string
	Streams       []string
	Full          bool
	AnalyticsDays int
	ThreadDays    int
	Detach        bool
	Join          bool // --join-public-channels
}

type syncStatusOptions struct {
	clientFlags
	followFlags
	Instance string
	Sync     string // "": the latest run
	Watch    bool
}

type syncScheduleOptions struct {
	clientFlags
	Instance      string
	Every         time.Duration
	Streams       []string
	Full          bool
	AnalyticsDays int
	ThreadDays    int
	Join          bool // --join-public-channels
	Enable        bool
	Disable       bool
	Delete        bool
	changed       func(string) bool
}

func newStreamsCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "streams",
		Short: "List the streams of workspace data a sync retrieves",
		Long: "List the streams a sync retrieves: the Slack method that fetches each, the scopes it needs, how\n" +
			"it is walked (full: everything each time, vanished records marked deleted; incremental: only\n" +
			"what is new; derived: computed from other streams), and whether a sync runs it by default.\n" +
			"-o json shows each stream's plans, parent, inputs, key and fields too, and the Events API event\n" +
			"types that keep it fresh between syncs.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.connect(io)
			if err != nil {
				return err
			}
			infos, err := h.Streams(cmd.Context())
			if err != nil {
				return h.fail(err)
			}
			if !h.human() {
				return h.emit(infos)
			}
			tw := newTable(io.stdout)
			row(tw, "NAME", "METHOD", "SCOPES", "WALK", "DEFAULT")
			for _, s := range infos {
				walk := s.Walk
				if s.Parent != "" {
					walk += " (over " + s.Parent + ")"
				}
				row(tw, s.Name, s.Method, join(s.Scopes), walk, yesNo(s.Default))
			}
			return tw.Flush()
		},
	}
	cf.register(cmd.Flags())
	cf.outputFlags.register(cmd, true)
	return cmd
}

func newSyncCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "sync",
		Aliases: []string{"syncs"},
		Short:   "Retrieve a workspace's data: start, follow, cancel, resume and schedule syncs",
		Long: "A sync retrieves streams of an instance's workspace data (`connhub streams` lists them) into the\n" +
			"hub, where `connhub records` queries them and `connhub export` exports them. The hub runs a\n" +
			"sync in the background: these commands start one and follow it, and stopping them (Ctrl-C)\n" +
			"leaves it running. The commands call the hub at --server with CONNHUB_TOKEN, or the context of\n" +
			"`connhub login`, or with the API token in the hub's DATA_DIR/admin-credentials.",
	}
	cf.register(cmd.PersistentFlags())

	run := syncRunOptions{}
	runCmd := &cobra.Command{
		Use:   "run INSTANCE [--streams a,b] [--full] [--analytics-days N] [--detach]",
		Short: "Start a sync of an instance and follow it to its end",
		Long: "Start a sync of an instance and show its progress while it runs: on a terminal a bar for each\n" +
			"stream, elsewhere a line each time a stream changes state and a summary every --summary-every.\n" +
			"It ends with a table of the streams, and exits non-zero if the sync failed or was canceled.\n" +
			"Ctrl-C stops following; the sync keeps running at the hub (`connhub sync status INSTANCE SYNC\n" +
			"--watch` follows it again). --detach starts it and returns at once.\n\n" +
			"--streams names the streams to run (the hub adds the ones they need); the default is every\n" +
			"stream `connhub streams` marks default.",
		Args: exactArgs("INSTANCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			run.clientFlags, run.Instance = cf, args[0]
			return runSyncRun(cmd.Context(), run, io)
		},
	}
	f := runCmd.Flags()
	f.StringSliceVar(&run.Streams, "streams", nil, "the streams to run, comma-separated (default: the default streams)")
	f.BoolVar(&run.Full, "full", false, "walk incremental streams from the start of their window again")
	f.IntVar(&run.AnalyticsDays, "analytics-days", 0, "days of member analytics a first sync fetches, 1 to 395 (default 1: yesterday)")
	f.IntVar(&run.ThreadDays, "thread-days", 0, "how far back the messages stream looks again for threads that moved, 1 to 90 (default 7)")
	f.BoolVar(&run.Detach, "detach", false, "start the sync and return without following it")
	f.BoolVar(&run.Join, "join-public-channels", false, joinFlagUsage)
	run.followFlags.register(f)

	status := syncStatusOptions{}
	statusCmd := &cobra.Command{
		Use:   "status INSTANCE [SYNC] [--watch]",
		Short: "Show a sync (the latest one if SYNC is left out), or follow it with --watch",
		Long: "Show a sync and where each of its streams got to: the latest sync of the instance, or SYNC.\n" +
			"--watch follows it to its end as `connhub sync run` does, and exits non-zero if it failed or\n" +
			"was canceled.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return exactArgs("INSTANCE", "[SYNC]")(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			status.clientFlags, status.Instance = cf, args[0]
			if len(args) == 2 {
				status.Sync = args[1]
			}
			return runSyncStatus(cmd.Context(), status, io)
		},
	}
	statusCmd.Flags().BoolVarP(&status.Watch, "watch", "w", false, "follow the sync until it ends")
	status.followFlags.register(statusCmd.Flags())

	var listLimit int
	listCmd := &cobra.Command{
		Use:   "list INSTANCE",
		Short: "List an instance's latest syncs, newest first",
		Args:  exactArgs("INSTANCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSyncList(cmd.Context(), cf, args[0], listLimit, io)
		},
	}
	listCmd.Flags().IntVar(&listLimit, "limit", 20, "at most this many syncs, newest first (0: every one)")

	cancelCmd := &cobra.Command{
		Use:   "cancel INSTANCE SYNC",
		Short: "Cancel a sync: a queued one never starts, a running one stops at its next page",
		Long: "Cancel a sync. A queued sync never starts; a running one stops after the page it is writing.\n" +
			"What it wrote stays, and `connhub sync resume` goes on from where it stopped.",
		Args: exactArgs("INSTANCE", "SYNC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSyncAction(cmd.Context(), cf, args[0], args[1], "cancel", io)
		},
	}
	resumeCmd := &cobra.Command{
		Use:   "resume INSTANCE SYNC",
		Short: "Resume a failed or canceled sync from its checkpoints",
		Long: "Queue a failed or canceled sync again under the same ID: each stream goes on from the last page\n" +
			"it wrote. Follow it with `connhub sync status INSTANCE SYNC --watch`.",
		Args: exactArgs("INSTANCE", "SYNC"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSyncAction(cmd.Context(), cf, args[0], args[1], "resume", io)
		},
	}

	sched := syncScheduleOptions{}
	schedCmd := &cobra.Command{
		Use:   "schedule INSTANCE [--every 24h] [--streams a,b] [--disable] [--delete]",
		Short: "Show, set, disable or delete an instance's sync schedule",
		Long: "Without flags, show the instance's sync schedule. --every sets it: a sync every interval (at\n" +
			"least 15m), the first one interval from now, of --streams (default: the default streams).\n" +
			"--disable keeps the schedule but stops its syncs, --enable starts them again, and --delete\n" +
			"deletes it. Flags left out keep what the schedule has.",
		Args: exactArgs("INSTANCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sched.clientFlags, sched.Instance, sched.changed = cf, args[0], cmd.Flags().Changed
			return runSyncSchedule(cmd.Context(), sched, io)
		},
	}
	f = schedCmd.Flags()
	f.DurationVar(&sched.Every, "every", 0, "run a sync this often, e.g. 24h or 6h (at least 15m)")
	f.StringSliceVar(&sched.Streams, "streams", nil, "the streams each sync runs, comma-separated (default: the default streams)")
	f.BoolVar(&sched.Full, "full", false, "walk incremental streams from the start of their window each time")
	f.IntVar(&sched.AnalyticsDays, "analytics-days", 0, "days of member analytics a first sync fetches, 1 to 395 (default 1: yesterday)")
	f.IntVar(&sched.ThreadDays, "thread-days", 0, "how far back the messages stream looks again for threads that moved, 1 to 90 (default 7)")
	f.BoolVar(&sched.Join, "join-public-channels", false, joinFlagUsage)
	f.BoolVar(&sched.Enable, "enable", false, "run the schedule's syncs again after --disable")
	f.BoolVar(&sched.Disable, "disable", false, "keep the schedule but run no sync until --enable")
	f.BoolVar(&sched.Delete, "delete", false, "delete the schedule")

	cmd.AddCommand(runCmd, statusCmd, listCmd, cancelCmd, resumeCmd, schedCmd)
	cf.registerOutputs(cmd, listCmd)
	completeInstanceArg(io, &cf, runCmd, listCmd, schedCmd)
	for _, c := range []*cobra.Command{statusCmd, cancelCmd, resumeCmd} {
		c.ValidArgsFunction = completeArgs(io, &cf, instanceIDs, syncIDs)
	}
	completeStreamsFlag(io, &cf, runCmd, schedCmd)
	return cmd
}

const joinFlagUsage = "have the bot join the public channels Slack says it is not in (not_in_channel), to read them; needs the channels:join scope, and each join is audited"

func runSyncRun(ctx context.Context, opts syncRunOptions, io streams) error {
	if opts.AnalyticsDays < 0 || opts.AnalyticsDays > 395 {
		return usageError{fmt.Errorf("--analytics-days %d: want 1 to 395 (Slack keeps 13 months)", opts.AnalyticsDays)}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	run, err := h.StartSync(ctx, opts.Instance, connhub.StartSyncInput{Streams: opts.Streams, Full: opts.Full, AnalyticsDays: opts.AnalyticsDays,
		ThreadDays: opts.ThreadDays, JoinPublicChannels: opts.Join})
	var e *connhub.Error
	switch {
	case errors.As(err, &e) && e.Code == "sync_in_progress":
		return fmt.Errorf("%w; follow it with `connhub sync status %s --watch`", h.fail(err), opts.Instance)
	case err != nil:
		return h.fail(err)
	}
	if opts.Detach {
		if !h.human() {
			return h.emit(run)
		}
		fmt.Fprintf(io.stdout, "connhub: started sync %s of instance %s (%s): %s\n", run.ID, run.InstanceID, run.Status, join(run.Streams))
		fmt.Fprintf(io.stdout, "Follow it with `connhub sync status %s %s --watch`\n", run.InstanceID, run.ID)
		return nil
	}
	if h.human() {
		fmt.Fprintf(io.stdout, "connhub: started sync %s of instance %s: %s\n", run.ID, run.InstanceID, plural(int64(len(run.Streams)), "stream"))
	}
	return h.follow(ctx, run, opts.followFlags)
}

// follow shows a run until it ends, then its streams, and returns an error
// when it failed or was canceled. Stopped by ctx (Ctrl-C), it says that the
// run goes on and how to follow it again.
func (h *hubClient) follow(ctx context.Context, run connhub.SyncRun, ff followFlags) error {
	wait := connhub.WaitOptions{Interval: ff.Interval}
	var view syncView
	parents := map[string]string{}
	if h.human() {
		parents = h.parentNames(ctx)
		fmt.Fprintln(h.io.stdout, "Ctrl-C stops following; the sync keeps running at the hub.")
		if stdoutTerminal(h.io.stdout) {
			view = newBarView(h.io.stdout, run, parents)
		} else {
			view = newLineView(h.io.stdout, parents, ff.SummaryEvery)
		}
		wait.OnPoll = view.update
	}
	final, err := h.WaitSync(ctx, run.InstanceID, run.ID, wait)
	if final.ID == "" {
		final = run
	}
	if view != nil {
		view.stop(final)
	}
	var se *connhub.SyncError
	switch {
	case err == nil, errors.As(err, &se):
	case ctx.Err() != nil:
		return fmt.Errorf("stopped following: sync %s keeps running at the hub; follow it again with `connhub sync status %s %s --watch`",
			run.ID, run.InstanceID, run.ID)
	default:
		return h.fail(err)
	}
	if err := h.printEnded(final, parents); err != nil {
		return err
	}
	if se != nil {
		return runFailure(final)
	}
	return nil
}

// printEnded shows a run that ended: the JSON object, or its streams and
// how it ended.
func (h *hubClient) printEnded(run connhub.SyncRun, parents map[string]string) error {
	if !h.human() {
		return h.emit(run)
	}
	fmt.Fprintln(h.io.stdout)
	if err := printRunStreams(h.io.stdout, run, parents, time.Now()); err != nil {
		return err
	}
	if run.Status == connhub.RunSucceeded {
		fmt.Fprintf(h.io.stdout, "connhub: %s\n", outcome(run))
	}
	return nil
}

// notInChannels reports whether a stream of the run failed because Slack
// passed over its every channel for the bot not being in it.
func notInChannels(run connhub.SyncRun) bool {
	for _, p := range run.Progress {
		if p.State != "failed" {
			continue
		}
		for _, is := range p.Issues {
			if is.Error == "not_in_channel" {
				return true
			}
		}
	}
	return false
}

// runFailure is the error of a run that failed or was canceled.
func runFailure(run connhub.SyncRun) error {
	msg := "sync " + run.ID + " " + run.Status
	if run.Error != "" && run.Error != run.Status {
		msg += ": " + run.Error
	}
	switch {
	case run.Status == connhub.RunFailed && notInChannels(run):
		// Resuming asks Slack the same question again: the bot must join.
		msg += fmt.Sprintf(" (invite the app's bot to the channels, or `connhub sync run %s --join-public-channels` joins the public ones)", run.InstanceID)
	case run.Status == connhub.RunFailed || run.Status == connhub.RunCanceled:
		msg += fmt.Sprintf(" (`connhub sync resume %s %s` goes on from where it stopped)", run.InstanceID, run.ID)
	}
	return errors.New(msg)
}

func runSyncStatus(ctx context.Context, opts syncStatusOptions, io streams) error {
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	var run connhub.SyncRun
	if opts.Sync == "" {
		page, err := h.ListSyncs(ctx, opts.Instance, connhub.ListOptions{Limit: 1})
		if err != nil {
			return h.fail(err)
		}
		runs := page.Syncs
		if len(runs) == 0 {
			return fmt.Errorf("instance %s has no sync yet: start one with `connhub sync run %s`", opts.Instance, opts.Instance)
		}
		run = runs[0]
	} else if run, err = h.GetSync(ctx, opts.Instance, opts.Sync); err != nil {
		return h.fail(err)
	}
	if opts.Watch && !run.Finished() {
		if h.human() {
			fmt.Fprintf(io.stdout, "connhub: following sync %s of instance %s (%s)\n", run.ID, run.InstanceID, run.Status)
		}
		return h.follow(ctx, run, opts.followFlags)
	}
	if !h.human() {
		return h.emit(run)
	}
	parents := h.parentNames(ctx)
	if err := h.printRun(run, parents); err != nil {
		return err
	}
	if opts.Watch && run.Status != connhub.RunSucceeded {
		return runFailure(run)
	}
	return nil
}

// printRun shows a run: its fields, then its streams.
func (h *hubClient) printRun(run connhub.SyncRun, parents map[string]string) error {
	records, calls, waited := totals(run)
	var opts []string
	if run.Options.Full {
		opts = append(opts, "full")
	}
	if run.Options.AnalyticsDays > 0 {
		opts = append(opts, fmt.Sprintf("%d days of analytics", run.Options.AnalyticsDays))
	}
	if run.Options.ThreadDays > 0 {
		opts = append(opts, fmt.Sprintf("threads looked at again for %d days", run.Options.ThreadDays))
	}
	if run.Options.JoinPublicChannels {
		opts = append(opts, "join public channels")
	}
	tookText := ""
	if d := runTook(run); d > 0 {
		tookText = dur(d)
	}
	err := printFields(h.io.stdout, []field{
		{"Sync", run.ID}, {"Instance", run.InstanceID}, {"Status", run.Status}, {"Error", run.Error}, {"Trigger", run.Trigger},
		{"Options", strings.Join(opts, ", ")}, {"Created", when(run.CreatedAt)}, {"Started", timeText(run.StartedAt)},
		{"Finished", timeText(run.FinishedAt)}, {"Took", tookText},
		{"Totals", fmt.Sprintf("%s records, %s, waited %s for rate limits", count(records), plural(calls, "call"), dur(waited))},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(h.io.stdout)
	return printRunStreams(h.io.stdout, run, parents, time.Now())
}

func runSyncList(ctx context.Context, cf clientFlags, instance string, limit int, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	if limit < 0 {
		return usageError{fmt.Errorf("--limit %d: want 0 (every sync) or more", limit)}
	}
	// A page at a time, newest first, until the limit or the last page.
	runs := []connhub.SyncRun{}
	for o := (connhub.ListOptions{Limit: 1000}); ; {
		if limit > 0 {
			o.Limit = min(limit-len(runs), 1000)
		}
		page, err := h.ListSyncs(ctx, instance, o)
		if err != nil {
			return h.fail(err)
		}
		runs = append(runs, page.Syncs...)
		if page.NextCursor == "" || (limit > 0 && len(runs) >= limit) {
			break
		}
		o.Cursor = page.NextCursor
	}
	if !h.human() {
		return h.emit(runs)
	}
	tw := newTable(io.stdout)
	row(tw, "SYNC", "STATUS", "TRIGGER", "STREAMS", "RECORDS", "CALLS", "CREATED", "TOOK", "ERROR")
	for _, r := range runs {
		records, calls, _ := totals(r)
		tookText := ""
		if d := runTook(r); d > 0 {
			tookText = dur(d)
		}
		row(tw, r.ID, r.Status, r.Trigger, fmt.Sprint(len(r.Streams)), count(records), count(calls),
			r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), tookText, r.Error)
	}
	return tw.Flush()
}

func runSyncAction(ctx context.Context, cf clientFlags, instance, syncID, action string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	var run connhub.SyncRun
	if action == "cancel" {
		run, err = h.CancelSync(ctx, instance, syncID)
	} else {
		run, err = h.ResumeSync(ctx, instance, syncID)
	}
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(run)
	}
	switch action {
	case "cancel":
		fmt.Fprintf(io.stdout, "connhub: canceled sync %s of instance %s; what it wrote stays, and `connhub sync resume %s %s` goes on from where it stopped\n",
			run.ID, run.InstanceID, run.InstanceID, run.ID)
	default:
		fmt.Fprintf(io.stdout, "connhub: sync %s of instance %s is %s again; follow it with `connhub sync status %s %s --watch`\n",
			run.ID, run.InstanceID, run.Status, run.InstanceID, run.ID)
	}
	return nil
}

func runSyncSchedule(ctx context.Context, opts syncScheduleOptions, io streams) error {
	changing := false
	for _, name := range []string{"every", "streams", "full", "analytics-days", "thread-days", "join-public-channels", "enable", "disable"} {
		changing = changing || opts.changed(name)
	}
	switch {
	case opts.Delete && changing:
		return usageError{errors.New("--delete deletes the schedule: give it alone")}
	case opts.Enable && opts.Disable:
		return usageError{errors.New("--enable and --disable contradict each other")}
	case opts.changed("every") && opts.Every < 15*time.Minute:
		return usageError{fmt.Errorf("--every %s: a schedule runs at most every 15m", opts.Every)}
	case opts.AnalyticsDays < 0 || opts.AnalyticsDays > 395:
		return usageError{fmt.Errorf("--analytics-days %d: want 1 to 395 (Slack keeps 13 months)", opts.AnalyticsDays)}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	if opts.Delete {
		if err := h.DeleteSyncSchedule(ctx, opts.Instance); err != nil {
			return h.fail(err)
		}
		if h.human() {
			fmt.Fprintf(io.stdout, "connhub: deleted the sync schedule of instance %s\n", opts.Instance)
		}
		return nil
	}
	current, err := h.GetSyncSchedule(ctx, opts.Instance)
	exists := err == nil
	switch {
	case err != nil && !connhub.IsNotFound(err):
		return h.fail(err)
	case !changing && !exists:
		return fmt.Errorf("instance %s has no sync schedule: set one with `connhub sync schedule %s --every 24h`", opts.Instance, opts.Instance)
	case !changing:
		return h.printSchedule(current)
	case !exists && !opts.changed("every"):
		return usageError{fmt.Errorf("instance %s has no sync schedule yet: give --every to set one", opts.Instance)}
	}
	// What is not given stays as the schedule has it.
	in := connhub.ScheduleInput{Every: current.Interval(), Streams: current.Streams, Full: current.Options.Full,
		AnalyticsDays: current.Options.AnalyticsDays, ThreadDays: current.Options.ThreadDays, JoinPublicChannels: current.Options.JoinPublicChannels,
		Enabled: current.Enabled || !exists}
	if opts.changed("every") {
		in.Every = opts.Every
	}
	if opts.changed("streams") {
		in.Streams = opts.Streams
	}
	if opts.changed("full") {
		in.Full = opts.Full
	}
	if opts.changed("analytics-days") {
		in.AnalyticsDays = opts.AnalyticsDays
	}
	if opts.changed("thread-days") {
		in.ThreadDays = opts.ThreadDays
	}
	if opts.changed("join-public-channels") {
		in.JoinPublicChannels = opts.Join
	}
	switch {
	case opts.Enable:
		in.Enabled = true
	case opts.Disable:
		in.Enabled = false
	}
	sc, err := h.SetSyncSchedule(ctx, opts.Instance, in)
	if err != nil {
		return h.fail(err)
	}
	if h.human() {
		fmt.Fprintf(io.stdout, "connhub: set the sync schedule of instance %s\n", opts.Instance)
	}
	return h.printSchedule(sc)
}

func (h *hubClient) printSchedule(sc connhub.Schedule) error {
	if !h.human() {
		return h.emit(sc)
	}
	what := join(sc.Streams)
	if what == "" {
		what = "the default streams"
	}
	var opts []string
	if sc.Options.Full {
		opts = append(opts, "full")
	}
	if sc.Options.AnalyticsDays > 0 {
		opts = append(opts, fmt.Sprintf("%d days of analytics", sc.Options.AnalyticsDays))
	}
	if sc.Options.ThreadDays > 0 {
		opts = append(opts, fmt.Sprintf("threads looked at again for %d days", sc.Options.ThreadDays))
	}
	if sc.Options.JoinPublicChannels {
		opts = append(opts, "join public channels")
	}
	every := sc.Every
	if d := sc.Interval(); d > 0 {
		every = shortDuration(d)
	}
	next := timeText(sc.NextRunAt)
	if !sc.Enabled {
		next = "none: disabled (--enable runs it again)"
	}
	return printFields(h.io.stdout, []field{
		{"Instance", sc.InstanceID}, {"Every", every}, {"Streams", what}, {"Options", strings.Join(opts, ", ")},
		{"Enabled", yesNo(sc.Enabled)}, {"Next run", next}, {"Last run", sc.LastRunID},
		{"Created", when(sc.CreatedAt)}, {"Updated", when(sc.UpdatedAt)},
	})
}

// shortDuration writes a whole interval without its zero units: 24h, 1h30m, 15m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}
