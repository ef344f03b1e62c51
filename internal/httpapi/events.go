package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/events"
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
