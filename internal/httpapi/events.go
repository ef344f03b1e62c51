package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/events"
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

// SlackEvent is an event of Slack's Events API as connhub received it.
type SlackEvent struct {
	ID           string          `json:"id" doc:"connhub's ID (evt_…): ordered by receipt; the webhook-id of its deliveries"`
	EventID      string          `json:"event_id" doc:"Slack's (Ev…)"`
	Type         string          `json:"type"`
	TeamID       string          `json:"team_id,omitempty"`
	EnterpriseID string          `json:"enterprise_id,omitempty"`
	EventTime    time.Time       `json:"event_time"`
	ReceivedAt   time.Time       `json:"received_at"`
	Deliveries   int             `json:"deliveries" doc:"How many times Slack delivered it (its retries)"`
	Status       string          `json:"status" enum:"received,processed,unrouted,failed"`
	Error        string          `json:"error,omitempty"`
	Envelope     json.RawMessage `json:"envelope" doc:"Slack's envelope as it came, less its verification token"`
}

type slackEventsListOutput struct {
	Body struct {
		Events     []SlackEvent `json:"events"`
		NextCursor string       `json:"next_cursor,omitempty"`
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
			out.Body.Events, out.Body.NextCursor = []SlackEvent{}, next
			for _, e := range evs {
				out.Body.Events = append(out.Body.Events, SlackEvent{ID: e.ID, EventID: e.EventID, Type: e.Type, TeamID: e.TeamID,
					EnterpriseID: e.EnterpriseID, EventTime: e.EventTime, ReceivedAt: e.ReceivedAt, Deliveries: e.Deliveries, Status: e.Status,
					Error: e.Error, Envelope: e.Body})
			}
			return out, nil
		})
}
