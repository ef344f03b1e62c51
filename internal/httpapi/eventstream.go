package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/eventstream"
)

// The stream of the Slack events connhub receives: server-sent events
// (internal/eventstream), read from the store by internal/events, so that
// any replica serves it.

type eventStreamOutput struct {
	Body func(huma.Context)
}

func (a *API) eventStreamRoute() {
	if a.o.Events == nil {
		return
	}
	data := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[eventstream.SlackEvent](), true, "SlackEvent")
	message := &huma.Schema{Type: huma.TypeObject, Title: "A server-sent event",
		Description: "One message of the stream, written as text/event-stream: the lines id: …, event: slack_event and data: … (the event as one line of JSON), then an empty line. " +
			"Comments (lines that begin with a colon, : keepalive) come when the stream has been silent a while.",
		Properties: map[string]*huma.Schema{
			"id":    {Type: huma.TypeString, Description: "The event's ID (evt_…): reconnect with it as Last-Event-ID to go on after it"},
			"event": {Type: huma.TypeString, Enum: []any{eventstream.Name}},
			"data":  data,
		}, Required: []string{"id", "event", "data"}}
	huma.Register(a.huma, guarded(authz.ReadRecords, huma.Operation{OperationID: "stream-events", Method: http.MethodGet, Path: "/v1/events/stream",
		Summary: "Follow the Slack events connhub receives, as server-sent events",
		Description: "The Slack events of the instances the caller may read, as they are processed, in order of receipt, each once, " +
			"as server-sent events (text/event-stream, what a browser's EventSource reads): a message an event, whose id is the event's ID and whose data is the event " +
			"as GET /v1/instances/{id}/events lists it, and a comment (: keepalive) every 15 seconds of silence. " +
			"An instance's token gets its own instance's events; people get every instance's they may read, and an organization's admins the events that reached no instance too. " +
			"instance_id and type narrow the stream (each may be repeated). It starts with the events received from now on, or since a time; " +
			"a reader that reconnects with the last ID it got as Last-Event-ID (a browser does so by itself), or as after, goes on after that event: nothing missed, nothing twice. " +
			"Before any event, the stream sends an id without data, where it started (since_<Unix milliseconds>), to reconnect with just as well. " +
			"The stream holds an event until it is processed, and until every event received before it is: a stretch of seconds after its receipt. " +
			"Any replica serves it; one that shuts down ends its streams, and their readers reconnect.",
		Tags: []string{"Events"},
		Responses: map[string]*huma.Response{"200": {Description: "The events, as they come",
			Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: huma.TypeArray, Items: message,
				Description: "Server-sent events, one message an event, serialized as the HTML standard says"}}}}}}),
		func(ctx context.Context, in *struct {
			InstanceIDs []string  `query:"instance_id,explode" maxItems:"100" doc:"Only the events routed to this instance; repeat it for several (an instance's token may name only its own)"`
			Types       []string  `query:"type,explode" maxItems:"100" doc:"Only the events of this type (user_change, message, …); repeat it for several"`
			LastEventID string    `header:"Last-Event-ID" maxLength:"100" doc:"Where the reader is: the ID of the last event it got, or the id the stream started with (since_…); the stream goes on from there"`
			After       string    `query:"after" maxLength:"100" doc:"As Last-Event-ID, for a first connection that cannot set headers; Last-Event-ID wins"`
			Since       time.Time `query:"since" doc:"Without Last-Event-ID or after: start with the events received at or after this time (RFC 3339); default now"`
		}) (*eventStreamOutput, error) {
			after := in.LastEventID
			if after == "" {
				after = in.After
			}
			st, err := a.o.Events.Stream(ctx, principal(ctx), events.StreamInput{Filter: events.Filter{InstanceIDs: in.InstanceIDs, Types: in.Types},
				After: after, Since: in.Since})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &eventStreamOutput{Body: func(hctx huma.Context) {
				r, w := humago.Unwrap(hctx)
				eventstream.Serve(w, r, st, a.o.Log)
			}}, nil
		})
}
