package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

func newWebhooksCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "webhooks",
		Aliases: []string{"webhook"},
		Short:   "Hand the Slack events the hub receives on to your endpoints (admins; an instance token for its own instance)",
		Long: "A webhook subscription delivers the Slack events of one instance, or of every instance, to a URL: at\n" +
			"least once, in order of receipt, signed with the subscription's secret (shown once, when it is made).\n" +
			"Format slack is Slack's envelope signed as Slack signs, so an existing Slack app needs only the new\n" +
			"signing secret and Request URL; format standard follows Standard Webhooks (whsec_… secrets).\n" +
			"`deliveries` shows what was sent and how it went, `retry` sends one again now, and\n" +
			"`connhub events replay` sends again every event since a time.",
	}
	cf.register(cmd.PersistentFlags())

	var in connhub.CreateWebhookInput
	create := clientCmd(io, &cf, "create --url URL --events a,b|* [--instance ID] [--format slack|standard]",
		"Subscribe a URL to Slack events (prints its signing secret once)", noArgs,
		func(ctx context.Context, h *hubClient, _ []string) error {
			switch {
			case in.URL == "":
				return usageError{errors.New("--url is required: where to deliver the events")}
			case len(in.Events) == 0:
				return usageError{errors.New("--events is required: the event types to deliver, comma-separated (user_change,message), or '*' for every type")}
			}
			w, err := h.CreateWebhook(ctx, in)
			if err != nil || !h.human() {
				return orEmit(h, w, err)
			}
			of := "every instance"
			if w.InstanceID != "" {
				of = "instance " + w.InstanceID
			}
			fmt.Fprintf(io.stdout, "connhub: subscribed %s to %s of %s, in %s format: webhook %s\n", w.URL, join(w.Events), of, w.Format, w.ID)
			if err := printFields(io.stdout, []field{{"Signing secret", w.Secret}}); err != nil {
				return err
			}
			fmt.Fprintln(io.stdout, "The secret is shown once: keep it now. The hub keeps it sealed and cannot show it again; a new one means a new subscription.")
			return nil
		})
	f := create.Flags()
	f.StringVar(&in.URL, "url", "", "where to deliver the events: an https URL of yours (required)")
	f.StringSliceVar(&in.Events, "events", nil, "the event types to deliver, comma-separated (user_change,message), or '*' for every type (required)")
	f.StringVar(&in.InstanceID, "instance", "", "deliver only this instance's events (default: every instance's; an instance token: its own)")
	f.StringVar(&in.Format, "format", connhub.FormatSlack, "slack (Slack's envelope and signature) or standard (Standard Webhooks)")
	create.RegisterFlagCompletionFunc("instance", completeFromHub(io, &cf, instanceIDs))
	create.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]cobra.Completion{connhub.FormatSlack, connhub.FormatStandard}, cobra.ShellCompDirectiveNoFileComp))

	list := clientCmd(io, &cf, "list", "List the webhook subscriptions (never their secrets)", noArgs, func(ctx context.Context, h *hubClient, _ []string) error {
		ws, err := collectPages(ctx, h.ListWebhooks)
		if err != nil || !h.human() {
			return orEmit(h, ws, err)
		}
		tw := newTable(io.stdout)
		row(tw, "ID", "URL", "EVENTS", "INSTANCE", "FORMAT", "STATUS")
		for _, w := range ws {
			instance := w.InstanceID
			if instance == "" {
				instance = "(every)"
			}
			status := w.Status
			if w.StatusReason != "" {
				status += ": " + w.StatusReason
			} else if w.FailingSince != nil {
				status += ", failing since " + shortTime(w.FailingSince)
			}
			row(tw, w.ID, w.URL, join(w.Events), instance, w.Format, status)
		}
		return tw.Flush()
	})

	var limit int
	deliveries := clientCmd(io, &cf, "deliveries WEBHOOK_ID", "List a subscription's deliveries, newest first", exactArgs("WEBHOOK_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			if limit < 1 || limit > 1000 {
				return usageError{fmt.Errorf("--limit %d: want 1 to 1000", limit)}
			}
			page, err := h.WebhookDeliveries(ctx, args[0], connhub.ListOptions{Limit: limit})
			if err != nil || !h.human() {
				return orEmit(h, page.Deliveries, err)
			}
			tw := newTable(io.stdout)
			row(tw, "ID", "EVENT", "TYPE", "STATUS", "ATTEMPTS", "LAST ANSWER", "NEXT ATTEMPT", "DELIVERED")
			for _, d := range page.Deliveries {
				row(tw, d.ID, d.EventID, d.EventType, d.Status, strconv.Itoa(d.Attempts), lastAnswer(d), shortTime(d.NextAttemptAt), shortTime(d.DeliveredAt))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.NextCursor != "" {
				fmt.Fprintf(io.stderr, "connhub: the newest %d shown; there are more (--limit up to 1000)\n", limit)
			}
			return nil
		})
	deliveries.Flags().IntVar(&limit, "limit", 20, "how many deliveries, newest first (at most 1000)")

	retry := clientCmd(io, &cf, "retry WEBHOOK_ID DELIVERY_ID", "Send a delivery again, now (with the same event ID)", exactArgs("WEBHOOK_ID", "DELIVERY_ID"),
		func(ctx context.Context, h *hubClient, args []string) error {
			d, err := h.RetryDelivery(ctx, args[0], args[1])
			if err != nil || !h.human() {
				return orEmit(h, d, err)
			}
			fmt.Fprintf(io.stdout, "connhub: delivery %s (%s %s) is queued to be sent again now\n", d.ID, d.EventType, d.EventID)
			return nil
		})

	cmd.AddCommand(create, list, deliveries, retry)
	cf.registerOutputs(cmd, list, deliveries)
	deliveries.ValidArgsFunction = completeArgs(io, &cf, webhookIDs)
	retry.ValidArgsFunction = completeArgs(io, &cf, webhookIDs, deliveryIDs)
	return cmd
}

// lastAnswer says how the subscriber last answered a delivery.
func lastAnswer(d connhub.WebhookDelivery) string {
	switch {
	case d.LastError != "" && d.LastStatus != 0:
		return fmt.Sprintf("HTTP %d: %s", d.LastStatus, d.LastError)
	case d.LastError != "":
		return d.LastError
	case d.LastStatus != 0:
		return "HTTP " + strconv.Itoa(d.LastStatus)
	}
	return ""
}

// deliveryIDs are the latest deliveries of the webhook args[0].
func deliveryIDs(ctx context.Context, h *hubClient, args []string) []cobra.Completion {
	page, err := h.WebhookDeliveries(ctx, args[0], connhub.ListOptions{Limit: 20})
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, 0, len(page.Deliveries))
	for _, d := range page.Deliveries {
		out = append(out, cobra.CompletionWithDesc(d.ID, d.EventType+", "+d.Status+", "+d.ReceivedAt.UTC().Format(time.DateTime)))
	}
	return out
}
