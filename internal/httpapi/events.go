package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/eventstream"
	"github.com/connhub/connhub/internal/store"
)

// ---- Slack's Events API: the one Request URL ----

type slackEventsInput struct {
	Timestamp string `header:"X-Slack-Request-Timestamp"`
	Signature string `header:"X-Slack-Signature"`
	RetryNum  string `header:"X-Slack-Retry-Num"`
	RawBody   []byte `contentType:"application/json"`
}

type slackEventsOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (a *API) eventsRoutes() {
	if a.o.Events == nil {
		return
	}
	huma.Register(a.huma, unguarded(huma.Operation{OperationID: "slack-events", Method: http.MethodPost, Path: "/v1/events/slack",
		Summary: "Slack's Events API: the Request URL of every app",
		Description: "Set this as the Request URL of every Slack app registered in connhub (Event Subscriptions). " +
			"Each delivery is verified with the signing secret of the app it names (v0 signature, a timestamp within five minutes), " +
			"kept and deduplicated by its event_id, and acknowledged; connhub acts on it afterwards. " +
			"A url_verification is answered with its challenge. It takes no credentials: Slack's signature is the credential.",
		Tags: []string{"Events"}, Security: []map[string][]string{}, MaxBodyBytes: events.MaxBody,
		// The body is Slack's, verified by its signature, read raw: huma checks
		// nothing of it.
		SkipValidateBody: true}),
		func(ctx context.Context, in *slackEventsInput) (*slackEventsOutput, error) {
			h := http.Header{}
			h.Set("X-Slack-Request-Timestamp", in.Timestamp)
			h.Set("X-Slack-Signature", in.Signature)
			ack, err := a.o.Events.Receive(ctx, h, in.RawBody)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			if ack.Challenge != "" {
				return &slackEventsOutput{ContentType: "text/plain", Body: []byte(ack.Challenge)}, nil
			}
			return &slackEventsOutput{ContentType: "application/json", Body: mustJSON(map[string]any{"ok": true, "id": ack.ID, "duplicate": ack.Duplicate})}, nil
		})
}

type slackEventsListOutput struct {
	Body struct {
		Events     []eventstream.SlackEvent `json:"events"`
		NextCursor string                   `json:"next_cursor,omitempty"`
	}
}

func (a *API) instanceEventsRoute() {
	if a.o.Events == nil {
		return
	}
	huma.Register(a.huma, guarded(authz.ReadRecords, huma.Operation{OperationID: "list-instance-events", Method: http.MethodGet,
		Path: "/v1/instances/{id}/events", Summary: "List the Slack events an instance received, in order of receipt",
		Tags: []string{"Events"}}),
		func(ctx context.Context, in *struct {
			IDPath
			PageQuery
			Type  string    `query:"type" maxLength:"100" doc:"Only events of this type (user_change, message, …)"`
			Since time.Time `query:"since" doc:"Only events received at or after this time (RFC 3339)"`
		}) (*slackEventsListOutput, error) {
			f := store.SlackEventFilter{Since: in.Since}
			if in.Type != "" {
				f.Types = []string{in.Type}
			}
			evs, next, err := a.o.Events.List(ctx, principal(ctx), in.ID, f, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &slackEventsListOutput{}
			out.Body.Events, out.Body.NextCursor = make([]eventstream.SlackEvent, len(evs)), next
			for i, e := range evs {
				out.Body.Events[i] = eventstream.View(e)
			}
			return out, nil
		})
}
