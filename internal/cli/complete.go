package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/pkg/connhub"
)

// Shell completion: `connhub completion bash|zsh|fish|powershell` prints
// cobra's script, which calls `connhub __complete …` as the person types.
// What only the hub knows (instance IDs, stream names, sync IDs) is asked of
// the hub the command would call, with the same flags, environment and
// context; on any error there is simply nothing to offer, never a message
// in the person's prompt. Nothing here completes to a file name.

// completeTimeout bounds how long a completion waits for the hub.
const completeTimeout = 3 * time.Second

// completeFromHub completes with what ask gets from the hub.
func completeFromHub(io streams, cf *clientFlags, ask func(ctx context.Context, h *hubClient, args []string) []cobra.Completion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		server, token, err := cf.hub(io.getenv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completeTimeout)
		defer cancel()
		var out []cobra.Completion
		for _, c := range ask(ctx, newHubClient(server, token, output{format: "table"}, io), args) {
			if strings.HasPrefix(c, toComplete) {
				out = append(out, c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// instanceIDs are the instances' IDs, each with its name.
func instanceIDs(ctx context.Context, h *hubClient, _ []string) []cobra.Completion {
	var out []cobra.Completion
	for in, err := range h.AllInstances(ctx, connhub.ListInstancesOptions{}) {
		if err != nil {
			return nil
		}
		out = append(out, cobra.CompletionWithDesc(in.ID, in.Name))
	}
	return out
}

// streamNames are the hub's streams, each with its Slack method.
func streamNames(ctx context.Context, h *hubClient, _ []string) []cobra.Completion {
	infos, err := h.Streams(ctx)
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(infos))
	for _, s := range infos {
		out = append(out, cobra.CompletionWithDesc(s.Name, s.Method))
	}
	return out
}

// syncIDs are the latest syncs of the instance args[0].
func syncIDs(ctx context.Context, h *hubClient, args []string) []cobra.Completion {
	page, err := h.ListSyncs(ctx, args[0], connhub.ListOptions{Limit: 20})
	if err != nil {
		return nil
	}
	runs := page.Syncs
	out := make([]cobra.Completion, 0, len(runs))
	for _, r := range runs {
		out = append(out, cobra.CompletionWithDesc(r.ID, r.Status+", "+r.CreatedAt.UTC().Format("2006-01-02 15:04")))
	}
	return out
}

// provisioningRunIDs are the latest provisioning runs of the instance
// args[0].
func provisioningRunIDs(ctx context.Context, h *hubClient, args []string) []cobra.Completion {
	page, err := h.ProvisioningRuns(ctx, args[0], connhub.ListOptions{Limit: 20})
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(page.Runs))
	for _, r := range page.Runs {
		out = append(out, cobra.CompletionWithDesc(r.ID, r.Status+", "+r.CreatedAt.UTC().Format("2006-01-02 15:04")))
	}
	return out
}

// unappliedPlanIDs are the latest provisioning plans of every instance
// that no run applied yet, each with its instance and its changes.
func unappliedPlanIDs(ctx context.Context, h *hubClient, _ []string) []cobra.Completion {
	var out []cobra.Completion
	for in, err := range h.AllInstances(ctx, connhub.ListInstancesOptions{}) {
		if err != nil {
			return out
		}
		page, err := h.ProvisioningPlans(ctx, in.ID, connhub.ListOptions{Limit: 20})
		if err != nil {
			continue // an instance without SCIM, or not the caller's to plan
		}
		for _, p := range page.Plans {
			if p.RunID == "" {
				out = append(out, cobra.CompletionWithDesc(p.ID, fmt.Sprintf("%s, %d changes, %s", in.Name, p.Counts["changes"], p.CreatedAt.UTC().Format("2006-01-02 15:04"))))
			}
		}
	}
	return out
}

// completeArgs completes each positional argument with what its function
// gives; none past the last.
func completeArgs(io streams, cf *clientFlags, each ...func(context.Context, *hubClient, []string) []cobra.Completion) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(each) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeFromHub(io, cf, each[len(args)])(cmd, args, toComplete)
	}
}

// completeInstanceArg completes a command whose one argument is an instance.
func completeInstanceArg(io streams, cf *clientFlags, cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.ValidArgsFunction = completeArgs(io, cf, instanceIDs)
	}
}

// completeStreamsFlag completes a comma-separated --streams.
func completeStreamsFlag(io streams, cf *clientFlags, cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.RegisterFlagCompletionFunc("streams", func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			done, last := "", toComplete
			if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
				done, last = toComplete[:i+1], toComplete[i+1:]
			}
			names, dir := completeFromHub(io, cf, streamNames)(cmd, args, last)
			for i := range names {
				names[i] = done + names[i]
			}
			return names, dir | cobra.ShellCompDirectiveNoSpace
		})
	}
}

// completeEditions completes --edition with the Slack connector's editions.
func completeEditions(cmd *cobra.Command) {
	var out []cobra.Completion
	if c, ok := connector.Get("slack"); ok {
		for _, e := range c.Editions {
			out = append(out, cobra.CompletionWithDesc(e.Key, e.Name))
		}
	}
	cmd.RegisterFlagCompletionFunc("edition", cobra.FixedCompletions(out, cobra.ShellCompDirectiveNoFileComp))
}

// completeContexts completes the names of the contexts `connhub login` saved.
func completeContexts(io streams) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := loadCLIConfig(io.getenv)
		if err != nil || len(args) > 0 && cmd.Flags().Lookup("context") == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range cfg.names() {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, cobra.CompletionWithDesc(n, cfg.Contexts[n].Server))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
