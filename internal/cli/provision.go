package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

type provisionPlanOptions struct {
	clientFlags
	Instance          string
	From              string // a file, or - for stdin
	Format            string // csv or json; "": by the file's extension
	MatchKey          string
	DeactivateMissing bool
	Groups            string
	Brake             float64
	Force             bool
}

type provisionApplyOptions struct {
	clientFlags
	followFlags
	Plan   string
	NoWait bool
}

type provisionRunOptions struct {
	clientFlags
	followFlags
	Instance, Run string
	After, Limit  int
	Watch         bool
}

func newProvisionCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Plan a directory file of people against Slack over SCIM, then apply it (admins; an instance token for its own instance)",
		Long: "Provisioning from a directory file, as `terraform plan` and `apply` do: `provision plan` reads\n" +
			"Slack's users and groups once over SCIM and shows what the file would change (creates, updates\n" +
			"attribute by attribute, reactivations, deactivations, group changes) without changing anything;\n" +
			"`provision apply` sends the plan's changes through the hub, paced under Slack's org-wide SCIM\n" +
			"limits, and follows them. A plan that would deactivate more than --brake of the active users is\n" +
			"refused unless --force. The instance needs what SCIM needs (`connhub instances ping ID`).",
	}
	cf.register(cmd.PersistentFlags())

	plan := provisionPlanOptions{}
	planCmd := &cobra.Command{
		Use:   "plan INSTANCE --from FILE [--format csv|json] [--match email|userName] [--deactivate-missing] [--groups merge|overwrite] [--brake 0.1] [--force]",
		Short: "Plan a directory file: show what applying it would change at Slack, change nothing",
		Long: "Plan a CSV (a header row, then a person a row) or JSON (an array of objects) file of people against\n" +
			"the instance's Slack, and print the plan as a diff: + create, ~ update (attribute: old → new),\n" +
			"^ reactivate, - deactivate, ! skipped, then the counts. The plan is kept at the hub under its ID\n" +
			"for `connhub provision apply`. The columns: userName, email, emails, givenName, familyName,\n" +
			"displayName, title, active, groups (separated by ;), guest_type, guest_expiration, guest_channels.\n" +
			"A file with problems is refused with each problem on a line, row by row, and nothing is planned.",
		Args: exactArgs("INSTANCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan.clientFlags, plan.Instance = cf, args[0]
			return runProvisionPlan(cmd.Context(), plan, io)
		},
	}
	f := planCmd.Flags()
	f.StringVar(&plan.From, "from", "", "the directory file (required; - reads stdin)")
	f.StringVar(&plan.Format, "format", "", "csv or json (default: json for a .json file, else csv)")
	f.StringVar(&plan.MatchKey, "match", "email", "what finds a person in Slack: email or userName")
	f.BoolVar(&plan.DeactivateMissing, "deactivate-missing", false, "deactivate the active people the file does not list")
	f.StringVar(&plan.Groups, "groups", "merge", "merge: people join the groups the file names, nobody leaves; overwrite: the groups become exactly the file's")
	f.Float64Var(&plan.Brake, "brake", 0.1, "the share of active users a plan may deactivate, 0 to 1; more is refused unless --force")
	f.BoolVar(&plan.Force, "force", false, "make the plan even when it deactivates more than --brake")
	planCmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"csv", "json"}, cobra.ShellCompDirectiveNoFileComp))
	planCmd.RegisterFlagCompletionFunc("match", cobra.FixedCompletions([]string{"email", "userName"}, cobra.ShellCompDirectiveNoFileComp))
	planCmd.RegisterFlagCompletionFunc("groups", cobra.FixedCompletions([]string{"merge", "overwrite"}, cobra.ShellCompDirectiveNoFileComp))

	apply := provisionApplyOptions{}
	applyCmd := &cobra.Command{
		Use:   "apply PLAN_ID [--no-wait]",
		Short: "Apply a plan and follow its run to its end",
		Long: "Apply a plan: the hub sends its changes to Slack in the background, paced under the org's SCIM\n" +
			"limits, each outcome kept as it is known. The command follows the run, on a terminal with a\n" +
			"progress bar, elsewhere with a line when it starts and a summary every --summary-every; it ends\n" +
			"with what was done, failed and skipped, and exits non-zero if the run failed or stopped. Ctrl-C\n" +
			"stops following; the run goes on at the hub. A plan is applied once: plan again to apply again.",
		Args: exactArgs("PLAN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			apply.clientFlags, apply.Plan = cf, args[0]
			return runProvisionApply(cmd.Context(), apply, io)
		},
	}
	applyCmd.Flags().BoolVar(&apply.NoWait, "no-wait", false, "start the run and return without following it")
	apply.followFlags.register(applyCmd.Flags())

	var plansLimit int
	plansCmd := clientCmd(io, &cf, "plans INSTANCE", "List an instance's provisioning plans, newest first", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			plans, err := upTo(plansLimit, func(o connhub.ListOptions) ([]connhub.ProvisioningPlan, string, error) {
				p, err := h.ProvisioningPlans(ctx, args[0], o)
				return p.Plans, p.NextCursor, err
			})
			if err != nil || !h.human() {
				return orEmit(h, plans, err)
			}
			tw := newTable(io.stdout)
			row(tw, "PLAN", "CREATED", "CHANGES", "CREATE", "UPDATE", "REACTIVATE", "DEACTIVATE", "GROUPS", "SKIPPED", "RUN")
			for _, p := range plans {
				c := p.Counts
				row(tw, p.ID, p.CreatedAt.UTC().Format("2006-01-02 15:04:05"), fmt.Sprint(c["changes"]), fmt.Sprint(c["create"]), fmt.Sprint(c["update"]),
					fmt.Sprint(c["reactivate"]), fmt.Sprint(c["deactivate"]), fmt.Sprint(c["group_create"]+c["group_update"]), fmt.Sprint(c["skipped"]), p.RunID)
			}
			return tw.Flush()
		})
	plansCmd.Flags().IntVar(&plansLimit, "limit", 20, "at most this many plans, newest first (0: every one)")

	var runsLimit int
	runsCmd := clientCmd(io, &cf, "runs INSTANCE", "List an instance's provisioning runs, newest first", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			runs, err := upTo(runsLimit, func(o connhub.ListOptions) ([]connhub.ProvisioningRun, string, error) {
				p, err := h.ProvisioningRuns(ctx, args[0], o)
				return p.Runs, p.NextCursor, err
			})
			if err != nil || !h.human() {
				return orEmit(h, runs, err)
			}
			tw := newTable(io.stdout)
			row(tw, "RUN", "PLAN", "STATUS", "CHANGES", "DONE", "FAILED", "SKIPPED", "CREATED", "TOOK", "REASON")
			for _, r := range runs {
				row(tw, r.ID, r.PlanID, r.Status, fmt.Sprint(r.Total), fmt.Sprint(r.Done), fmt.Sprint(r.Failed), fmt.Sprint(r.Skipped),
					r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), provisionTook(r), r.Reason)
			}
			return tw.Flush()
		})
	runsCmd.Flags().IntVar(&runsLimit, "limit", 20, "at most this many runs, newest first (0: every one)")

	show := provisionRunOptions{}
	runCmd := &cobra.Command{
		Use:   "run INSTANCE RUN_ID [--after N] [--limit N] [--watch]",
		Short: "Show a provisioning run: its progress and its changes' outcomes",
		Long: "Show a run and, a page at a time, what became of each change of its plan: done (with the Slack ID\n" +
			"it made or changed), failed (with Slack's error), skipped (with why). --watch follows a run that\n" +
			"has not ended as `connhub provision apply` does, and exits non-zero if it failed or stopped.",
		Args: exactArgs("INSTANCE", "RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			show.clientFlags, show.Instance, show.Run = cf, args[0], args[1]
			return runProvisionRun(cmd.Context(), show, io)
		},
	}
	runCmd.Flags().IntVar(&show.After, "after", 0, "the outcomes of the changes after this index")
	runCmd.Flags().IntVar(&show.Limit, "limit", 100, "at most this many outcomes (at most 5000)")
	runCmd.Flags().BoolVarP(&show.Watch, "watch", "w", false, "follow the run until it ends")
	show.followFlags.register(runCmd.Flags())

	resumeCmd := clientCmd(io, &cf, "resume INSTANCE RUN_ID", "Start a stopped or failed run again: what was done is not sent again", exactArgs("INSTANCE", "RUN_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			run, err := h.ResumeProvisioningRun(ctx, args[0], args[1])
			if err != nil || !h.human() {
				return orEmit(h, run, err)
			}
			fmt.Fprintf(io.stdout, "connhub: run %s of instance %s is %s again: changes done or skipped are not sent again, failed ones are; "+
				"follow it with `connhub provision run %s %s --watch`\n", run.ID, run.InstanceID, run.Status, run.InstanceID, run.ID)
			return nil
		})

	cmd.AddCommand(planCmd, applyCmd, plansCmd, runsCmd, runCmd, resumeCmd)
	cf.registerOutputs(cmd, plansCmd, runsCmd)
	completeInstanceArg(io, &cf, planCmd, plansCmd, runsCmd)
	for _, c := range []*cobra.Command{runCmd, resumeCmd} {
		c.ValidArgsFunction = completeArgs(io, &cf, instanceIDs, provisioningRunIDs)
	}
	applyCmd.ValidArgsFunction = completeArgs(io, &cf, unappliedPlanIDs)
	return cmd
}

func runProvisionPlan(ctx context.Context, opts provisionPlanOptions, io streams) error {
	format := opts.Format
	if format == "" {
		format = "csv"
		if strings.EqualFold(filepath.Ext(opts.From), ".json") {
			format = "json"
		}
	}
	switch {
	case opts.From == "":
		return usageError{errors.New("--from is required: the directory file to plan (- reads stdin)")}
	case format != "csv" && format != "json":
		return usageError{fmt.Errorf("--format %q: want csv or json", format)}
	case opts.MatchKey != "email" && opts.MatchKey != "userName":
		return usageError{fmt.Errorf("--match %q: want email or userName", opts.MatchKey)}
	case opts.Groups != "merge" && opts.Groups != "overwrite":
		return usageError{fmt.Errorf("--groups %q: want merge or overwrite", opts.Groups)}
	case opts.Brake <= 0 || opts.Brake > 1:
		return usageError{fmt.Errorf("--brake %g: want a share of the active users above 0 and at most 1, such as 0.1 for 10%%", opts.Brake)}
	}
	file, err := readDirectoryFile(opts.From)
	if err != nil {
		return err
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	plan, err := h.CreateProvisioningPlan(ctx, opts.Instance, connhub.ProvisioningPlanInput{File: file, Format: format, MatchKey: opts.MatchKey,
		DeactivateMissing: opts.DeactivateMissing, Membership: opts.Groups, BrakeShare: opts.Brake, Force: opts.Force})
	var e *connhub.Error
	switch {
	case errors.As(err, &e) && e.Code == "invalid_file":
		// A problem a line, row by row, then the error's one line.
		for _, p := range e.Problems {
			fmt.Fprintln(io.stderr, p.String())
		}
		return h.fail(err)
	case errors.As(err, &e) && e.Code == "brake":
		return fmt.Errorf("%w; --force makes the plan anyway", h.fail(err))
	case err != nil:
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(plan)
	}
	fmt.Fprint(io.stdout, plan.Text)
	changes := plan.Counts["changes"]
	if changes == 0 {
		fmt.Fprintf(io.stdout, "\nconnhub: plan %s of instance %s: Slack already matches the file; there is nothing to apply\n", plan.ID, plan.InstanceID)
		return nil
	}
	fmt.Fprintf(io.stdout, "\nconnhub: saved plan %s of instance %s: %s\n", plan.ID, plan.InstanceID, plural(int64(changes), "change"))
	fmt.Fprintf(io.stdout, "Apply it with `connhub provision apply %s`\n", plan.ID)
	return nil
}

// readDirectoryFile reads the file to plan; - is stdin.
func readDirectoryFile(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(stdin())
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", usageError{fmt.Errorf("--from %s: %w", name, err)}
	}
	if len(b) == 0 {
		return "", usageError{fmt.Errorf("--from %s: the file is empty", name)}
	}
	return string(b), nil
}

func runProvisionApply(ctx context.Context, opts provisionApplyOptions, io streams) error {
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	plan, err := h.ProvisioningPlanByID(ctx, opts.Plan)
	if err != nil {
		return h.fail(err)
	}
	run, err := h.ApplyProvisioningPlan(ctx, plan.InstanceID, plan.ID)
	var e *connhub.Error
	switch {
	case errors.As(err, &e) && e.Code == "plan_applied" && plan.RunID != "":
		return fmt.Errorf("%w; see its run with `connhub provision run %s %s`", h.fail(err), plan.InstanceID, plan.RunID)
	case err != nil:
		return h.fail(err)
	}
	if opts.NoWait {
		if !h.human() {
			return h.emit(run)
		}
		fmt.Fprintf(io.stdout, "connhub: applying plan %s to instance %s: run %s (%s), %s\n", plan.ID, run.InstanceID, run.ID, run.Status, plural(int64(run.Total), "change"))
		fmt.Fprintf(io.stdout, "Follow it with `connhub provision run %s %s --watch`\n", run.InstanceID, run.ID)
		return nil
	}
	if h.human() {
		fmt.Fprintf(io.stdout, "connhub: applying plan %s to instance %s: run %s, %s\n", plan.ID, run.InstanceID, run.ID, plural(int64(run.Total), "change"))
	}
	return h.followProvisioning(ctx, run, opts.followFlags)
}

// followProvisioning shows a run until it ends, then how it ended, and
// returns an error when it failed or stopped. Stopped by ctx (Ctrl-C), it
// says that the run goes on and how to follow it again.
func (h *hubClient) followProvisioning(ctx context.Context, run connhub.ProvisioningRun, ff followFlags) error {
	wait := connhub.ProvisioningWaitOptions{Interval: ff.Interval}
	var view provisionView
	if h.human() {
		fmt.Fprintln(h.io.stdout, "Ctrl-C stops following; the run goes on at the hub.")
		if stdoutTerminal(h.io.stdout) {
			view = newApplyBar(h.io.stdout, run)
		} else {
			view = newApplyLines(h.io.stdout, ff.SummaryEvery)
		}
		wait.OnPoll = view.update
	}
	final, err := h.WaitProvisioningRun(ctx, run.InstanceID, run.ID, wait)
	if final.ID == "" {
		final = run
	}
	if view != nil {
		view.stop(final)
	}
	var re *connhub.ProvisioningRunError
	switch {
	case err == nil, errors.As(err, &re):
	case ctx.Err() != nil:
		return fmt.Errorf("stopped following: run %s goes on at the hub; follow it again with `connhub provision run %s %s --watch`",
			run.ID, run.InstanceID, run.ID)
	default:
		return h.fail(err)
	}
	if !h.human() {
		if err := h.emit(final); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(h.io.stdout, "\nconnhub: %s\n", provisionSummary(final))
		if final.Failed > 0 {
			if err := h.printFailed(ctx, final); err != nil {
				return err
			}
		}
	}
	if re != nil {
		return provisionFailure(final)
	}
	return nil
}

// maxFailedShown bounds the failed changes a finished run lists.
const maxFailedShown = 20

// printFailed lists the run's failed changes, with what they were.
func (h *hubClient) printFailed(ctx context.Context, run connhub.ProvisioningRun) error {
	changes := h.planChanges(ctx, run)
	var failed []connhub.ProvisioningOutcome
	for o, err := range h.AllProvisioningOutcomes(ctx, run.InstanceID, run.ID) {
		if err != nil {
			return h.fail(err)
		}
		if o.Status == "failed" {
			failed = append(failed, o)
		}
	}
	fmt.Fprintln(h.io.stdout, "\nFailed:")
	if err := printOutcomes(h.io.stdout, failed[:min(len(failed), maxFailedShown)], changes); err != nil {
		return err
	}
	if len(failed) > maxFailedShown {
		fmt.Fprintf(h.io.stdout, "… and %d more: `connhub provision run %s %s --limit 5000` lists every outcome\n", len(failed)-maxFailedShown, run.InstanceID, run.ID)
	}
	return nil
}

// planChanges are the changes of the run's plan by index, to say what each
// outcome is of. Best effort: without the plan the outcomes are shown
// alone.
func (h *hubClient) planChanges(ctx context.Context, run connhub.ProvisioningRun) map[int]connhub.PlannedChange {
	out := map[int]connhub.PlannedChange{}
	plan, err := h.ProvisioningPlan(ctx, run.InstanceID, run.PlanID)
	if err != nil || plan.Plan == nil {
		return out
	}
	for _, c := range plan.Plan.Changes {
		out[c.Index] = c
	}
	return out
}

// printOutcomes writes a table of outcomes, each with its change.
func printOutcomes(w io.Writer, outs []connhub.ProvisioningOutcome, changes map[int]connhub.PlannedChange) error {
	tw := newTable(w)
	row(tw, "CHANGE", "KIND", "KEY", "STATUS", "SLACK ID", "HTTP", "ATTEMPTS", "NOTE")
	for _, o := range outs {
		c := changes[o.Index]
		answer, note := "", o.Note
		if o.HTTPStatus != 0 {
			answer = fmt.Sprint(o.HTTPStatus)
		}
		if o.Error != "" {
			note = strings.TrimSuffix(o.Error+"; "+o.Note, "; ")
		}
		slackID := o.SlackID
		if slackID == "" {
			slackID = c.Target
		}
		row(tw, fmt.Sprintf("[%d]", o.Index), c.Kind, c.Key, o.Status, slackID, answer, fmt.Sprint(o.Attempts), note)
	}
	return tw.Flush()
}

// provisionFailure is the error of a run that failed or stopped; what was
// printed before it (the summary, the run's fields or its JSON) says why.
func provisionFailure(run connhub.ProvisioningRun) error {
	return fmt.Errorf("provisioning run %s %s; `connhub provision resume %s %s` goes on where it was, sending nothing done again",
		run.ID, run.Status, run.InstanceID, run.ID)
}

func runProvisionRun(ctx context.Context, opts provisionRunOptions, io streams) error {
	if opts.After < 0 || opts.Limit < 1 || opts.Limit > 5000 {
		return usageError{fmt.Errorf("--after %d --limit %d: want an index of 0 or more, and 1 to 5000 outcomes", opts.After, opts.Limit)}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	run, err := h.ProvisioningRun(ctx, opts.Instance, opts.Run, connhub.OutcomeOptions{After: opts.After, Limit: opts.Limit})
	if err != nil {
		return h.fail(err)
	}
	if opts.Watch && !run.Finished() {
		if h.human() {
			fmt.Fprintf(io.stdout, "connhub: following run %s of instance %s (%s)\n", run.ID, run.InstanceID, run.Status)
		}
		return h.followProvisioning(ctx, run, opts.followFlags)
	}
	if !h.human() {
		return h.emit(run)
	}
	err = printFields(io.stdout, []field{
		{"Run", run.ID}, {"Instance", run.InstanceID}, {"Plan", run.PlanID}, {"Status", run.Status}, {"Reason", run.Reason},
		{"Progress", provisionProgress(run)}, {"Created", when(run.CreatedAt)}, {"Started", timeText(run.StartedAt)},
		{"Finished", timeText(run.FinishedAt)}, {"Took", provisionTook(run)},
	})
	if err != nil {
		return err
	}
	if len(run.Outcomes) > 0 {
		fmt.Fprintln(io.stdout)
		if err := printOutcomes(io.stdout, run.Outcomes, h.planChanges(ctx, run)); err != nil {
			return err
		}
	}
	if run.OutcomesAfter > 0 {
		fmt.Fprintf(io.stdout, "More: `connhub provision run %s %s --after %d`\n", run.InstanceID, run.ID, run.OutcomesAfter)
	}
	if opts.Watch && run.Status != connhub.RunSucceeded {
		return provisionFailure(run)
	}
	return nil
}

// upTo reads a list a page at a time, newest first, until limit items (0:
// every one) or the last page.
func upTo[T any](limit int, page func(connhub.ListOptions) ([]T, string, error)) ([]T, error) {
	if limit < 0 {
		return nil, usageError{fmt.Errorf("--limit %d: want 0 (every one) or more", limit)}
	}
	out := []T{}
	for o := (connhub.ListOptions{Limit: 1000}); ; {
		if limit > 0 {
			o.Limit = min(limit-len(out), 1000)
		}
		items, next, err := page(o)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		o.Cursor = next
	}
}
