package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

func newEventsCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "events",
		Short: "See the Slack events the hub received: list them, follow them as they come, replay them to a webhook",
		Long: "The hub receives Slack's events for every instance (its Request URL is /v1/events/slack), keeps them and\n" +
			"routes them to the instances they belong to. `list` shows an instance's, in order of receipt; `tail`\n" +
			"follows every event you may see as the hub processes it, a line each, and goes on where it was after\n" +
			"a lost connection; `replay` delivers the events since a time to a webhook again (`connhub webhooks`).",
	}
	cf.register(cmd.PersistentFlags())

	var typ, since string
	var limit int
	list := clientCmd(io, &cf, "list INSTANCE [--type T] [--since TIME]", "List the Slack events an instance received, in order of receipt", exactArgs("INSTANCE"),
		func(ctx context.Context, h *hubClient, args []string) error {
			at, err := parseWhen("--since", since)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d: want 0 (every event) or more", limit)}
			}
			evs, more := []connhub.SlackEvent{}, false
			for e, err := range h.AllInstanceEvents(ctx, args[0], connhub.EventFilter{Type: typ, Since: at}) {
				if err != nil {
					return err
				}
				if limit > 0 && len(evs) == limit {
					more = true
					break
				}
				evs = append(evs, e)
			}
			if more {
				defer fmt.Fprintf(io.stderr, "connhub: stopped at --limit %d; there are more (--since narrows, --limit 0 shows every one)\n", limit)
			}
			if !h.human() {
				return h.emit(evs)
			}
			tw := newTable(io.stdout)
			row(tw, "RECEIVED", "TYPE", "EVENT_ID", "TEAM", "STATUS")
			for _, e := range evs {
				row(tw, e.ReceivedAt.UTC().Format(time.RFC3339), e.Type, e.EventID, e.TeamID, e.Status)
			}
			return tw.Flush()
		})
	list.Flags().StringVar(&typ, "type", "", "only the events of this type: user_change, message, …")
	list.Flags().StringVar(&since, "since", "", "only the events received at or after: RFC 3339, or a Go duration back from now (24h)")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many events, oldest first (0: every one)")

	tail := tailOptions{}
	tailCmd := &cobra.Command{
		Use:   "tail [--instance ID]... [--type T]...",
		Short: "Follow the Slack events as the hub processes them, a line each, until Ctrl-C",
		Long: "Follow the Slack events you may see (an instance token: its own instance's) as the hub processes them,\n" +
			"in order of receipt, a line each: when it was received, its type, Slack's event ID, the workspace,\n" +
			"what became of it and the instances it reached. --instance and --type narrow it, each repeatable;\n" +
			"--since starts it earlier than now. A lost connection (the hub restarting, the network) is\n" +
			"connected again from the last event shown: nothing is missed or shown twice. Ctrl-C stops it.\n" +
			"-o jsonl prints each event as the API's JSON object, a line each; --jq filters each.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tail.clientFlags = cf
			return runEventsTail(cmd.Context(), tail, io)
		},
	}
	f := tailCmd.Flags()
	f.StringArrayVar(&tail.Instances, "instance", nil, "only the events routed to this instance (repeat for several)")
	f.StringArrayVar(&tail.Types, "type", nil, "only the events of this type (repeat for several)")
	f.StringVar(&tail.Since, "since", "", "start with the events received at or after: RFC 3339, or a Go duration back from now (10m); default now")
	registerFormat(tailCmd, &cf.Format, []string{"table", "jsonl"}, "output format: a line an event, or its JSON")
	f.StringVar(&cf.JQ, "jq", "", "filter each event's JSON with a jq expression, e.g. '.envelope.event.user'")
	tailCmd.RegisterFlagCompletionFunc("jq", cobra.NoFileCompletions)

	var replaySince string
	replay := clientCmd(io, &cf, "replay WEBHOOK_ID --since TIME", "Deliver again to a webhook every event it wants received since a time", exactArgs("WEBHOOK_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if replaySince == "" {
				return usageError{errors.New("--since is required: the time from which to deliver again (RFC 3339, or a duration back from now such as 24h)")}
			}
			at, err := parseWhen("--since", replaySince)
			if err != nil {
				return err
			}
			n, err := h.ReplayWebhook(ctx, args[0], at)
			if err != nil || !h.human() {
				return orEmit(h, map[string]any{"webhook_id": args[0], "pending": n}, err)
			}
			fmt.Fprintf(io.stdout, "connhub: %s queued for webhook %s: the events it wants received since %s, in order of receipt\n",
				plural(int64(n), "delivery"), args[0], at.UTC().Format(time.RFC3339))
			return nil
		})
	replay.Flags().StringVar(&replaySince, "since", "", "deliver the events received at or after: RFC 3339, or a Go duration back from now (24h) (required)")

	cmd.AddCommand(list, tailCmd, replay)
	cf.registerOutputs(cmd, list)
	completeInstanceArg(io, &cf, list)
	tailCmd.RegisterFlagCompletionFunc("instance", completeFromHub(io, &cf, instanceIDs))
	replay.ValidArgsFunction = completeArgs(io, &cf, webhookIDs)
	return cmd
}

// tailOptions are the flags of `connhub events tail`.
type tailOptions struct {
	clientFlags
	Instances []string
	Types     []string
	Since     string
}

func runEventsTail(ctx context.Context, opts tailOptions, io streams) error {
	since, err := parseWhen("--since", opts.Since)
	if err != nil {
		return err
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	if h.human() && stdoutTerminal(io.stdout) {
		fmt.Fprintln(io.stderr, "connhub: following the events as the hub processes them; Ctrl-C stops")
	}
	err = h.FollowEvents(ctx, connhub.FollowOptions{StreamOptions: connhub.StreamOptions{InstanceIDs: opts.Instances, Types: opts.Types, Since: since},
		OnReconnect: func(err error, wait time.Duration) {
			why := "the hub ended the stream"
			if !streamEnded(err) {
				why = h.fail(err).Error()
			}
			fmt.Fprintf(io.stderr, "connhub: %s; connecting again in %s, from the last event shown\n", why, wait.Round(time.Millisecond))
		}}, func(e connhub.SlackEvent) error { return h.printEvent(e) })
	if ctx.Err() != nil {
		return nil // Ctrl-C: stopping is what was asked
	}
	return h.fail(err)
}

// printEvent prints one event of a tail: a line, or its JSON.
func (h *hubClient) printEvent(e connhub.SlackEvent) error {
	w := h.io.stdout
	switch {
	case h.out.jq != nil:
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return h.out.filter(w, b)
	case h.out.format == "jsonl":
		return emitLine(w, e)
	}
	ins := strings.Join(e.InstanceIDs, ",")
	if ins == "" {
		ins = "-"
	}
	team := e.TeamID
	if team == "" {
		team = "-"
	}
	_, err := fmt.Fprintf(w, "%s  %-24s %s  %s  %-9s %s\n", e.ReceivedAt.UTC().Format(time.RFC3339), e.Type, e.EventID, team, e.Status, ins)
	return err
}

// webhookIDs are the webhook subscriptions' IDs, each with its URL.
func webhookIDs(ctx context.Context, h *hubClient, _ []string) []cobra.Completion {
	var out []cobra.Completion
	for w, err := range h.AllWebhooks(ctx) {
		if err != nil {
			return nil
		}
		out = append(out, cobra.CompletionWithDesc(w.ID, w.URL))
	}
	return out
}

// streamEnded reports whether a stream was lost because the hub ended it
// (a shutdown), not because it broke.
func streamEnded(err error) bool { return errors.Is(err, io.EOF) }
