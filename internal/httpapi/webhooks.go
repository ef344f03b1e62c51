package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/webhooks"
)

// ---- webhooks out ----

// Webhook is a subscription to the Slack events connhub received.
type Webhook struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	Events       []string   `json:"events" doc:"Event types (user_change, message, …), or [\"*\"]"`
	InstanceID   string     `json:"instance_id,omitempty" doc:"The instance whose events it takes; empty: every instance of the organization"`
	Format       string     `json:"format" enum:"slack,standard" doc:"slack: Slack's envelope signed as Slack signs; standard: Standard Webhooks"`
	Status       string     `json:"status" enum:"active,paused"`
	StatusReason string     `json:"status_reason,omitempty"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	Secret       string     `json:"secret,omitempty" doc:"The signing secret: shown once, when the subscription is made"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func webhookView(w store.Webhook) Webhook {
	v := Webhook{ID: w.ID, URL: w.URL, Events: w.Events, InstanceID: w.InstanceID, Format: w.Format, Status: w.Status,
		StatusReason: w.StatusReason, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	if !w.FailingSince.IsZero() {
		t := w.FailingSince
		v.FailingSince = &t
	}
	return v
}

// WebhookDelivery is one event's delivery to a subscription.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id" doc:"The event (evt_…): the webhook-id, the same on every attempt"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status" enum:"pending,delivered"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status,omitempty" doc:"The subscriber's last HTTP status"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	ReceivedAt    time.Time  `json:"received_at" doc:"When connhub received the event: deliveries go in this order"`
}

func deliveryView(d store.WebhookDelivery) WebhookDelivery {
	v := WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
		LastStatus: d.LastStatus, LastError: d.LastError, ReceivedAt: d.ReceivedAt}
	if d.Status == store.DeliveryPending && !d.NextAttemptAt.IsZero() {
		t := d.NextAttemptAt
		v.NextAttemptAt = &t
	}
	if !d.DeliveredAt.IsZero() {
		t := d.DeliveredAt
		v.DeliveredAt = &t
	}
	return v
}

type webhookBody struct {
	URL        *string  `json:"url,omitempty" maxLength:"2000"`
	Events     []string `json:"events,omitempty" maxItems:"100"`
	InstanceID *string  `json:"instance_id,omitempty" maxLength:"100"`
	Format     *string  `json:"format,omitempty" enum:"slack,standard"`
	Status     *string  `json:"status,omitempty" enum:"active,paused" doc:"PATCH only: active resumes a paused subscription, which then delivers what it missed"`
}

func (b webhookBody) input() webhooks.Input {
	return webhooks.Input{URL: b.URL, Events: b.Events, InstanceID: b.InstanceID, Format: b.Format, Status: b.Status}
}

type webhookOutput struct{ Body Webhook }

type webhooksOutput struct {
	Body struct {
		Webhooks   []Webhook `json:"webhooks"`
		NextCursor string    `json:"next_cursor,omitempty"`
	}
}

type deliveriesOutput struct {
	Body struct {
		Deliveries []WebhookDelivery `json:"deliveries"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}
}

func (a *API) webhookRoutes() {
	if a.o.Webhooks == nil {
		return
	}
	w := a.o.Webhooks
	tags := []string{"Webhooks"}
	huma.Register(a.huma, guarded(authz.WriteWebhooks, huma.Operation{OperationID: "create-webhook", Method: http.MethodPost, Path: "/v1/webhooks",
		DefaultStatus: http.StatusCreated, Summary: "Subscribe a URL to Slack events",
		Description: "Every event connhub receives for the instance (or, without instance_id, for every instance of the organization) " +
			"whose type is in events is delivered to url, at least once, in order of receipt, signed with the subscription's secret, which this answer shows once. " +
			"format slack (the default) is Slack's envelope signed as Slack signs, so an existing Slack app needs only a new signing secret and Request URL; " +
			"standard follows the Standard Webhooks specification. An instance's token subscribes for its own instance.",
		Tags: tags}),
		func(ctx context.Context, in *struct{ Body webhookBody }) (*webhookOutput, error) {
			c, err := w.Create(ctx, principal(ctx), in.Body.input())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			v := webhookView(c.Webhook)
			v.Secret = c.Secret
			return &webhookOutput{Body: v}, nil
		})
	huma.Register(a.huma, guarded(authz.ReadWebhooks, huma.Operation{OperationID: "list-webhooks", Method: http.MethodGet, Path: "/v1/webhooks",
		Summary: "List webhook subscriptions", Tags: tags}),
		func(ctx context.Context, in *PageQuery) (*webhooksOutput, error) {
			ws, next, err := w.List(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &webhooksOutput{}
			out.Body.Webhooks, out.Body.NextCursor = []Webhook{}, next
			for _, x := range ws {
				out.Body.Webhooks = append(out.Body.Webhooks, webhookView(x))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadWebhooks, huma.Operation{OperationID: "get-webhook", Method: http.MethodGet, Path: "/v1/webhooks/{id}",
		Summary: "Get a webhook subscription", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*webhookOutput, error) {
			x, err := w.Get(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &webhookOutput{Body: webhookView(x)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteWebhooks, huma.Operation{OperationID: "update-webhook", Method: http.MethodPatch, Path: "/v1/webhooks/{id}",
		Summary: "Change, pause or resume a webhook subscription", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body webhookBody
		}) (*webhookOutput, error) {
			x, err := w.Update(ctx, principal(ctx), in.ID, in.Body.input())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &webhookOutput{Body: webhookView(x)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteWebhooks, huma.Operation{OperationID: "delete-webhook", Method: http.MethodDelete, Path: "/v1/webhooks/{id}",
		DefaultStatus: http.StatusNoContent, Summary: "End a webhook subscription", Description: "Its pending deliveries are dropped.", Tags: tags}),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := w.Delete(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})
	huma.Register(a.huma, guarded(authz.ReadWebhooks, huma.Operation{OperationID: "list-webhook-deliveries", Method: http.MethodGet,
		Path: "/v1/webhooks/{id}/deliveries", Summary: "List a subscription's deliveries, newest first", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			PageQuery
		}) (*deliveriesOutput, error) {
			ds, next, err := w.Deliveries(ctx, principal(ctx), in.ID, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &deliveriesOutput{}
			out.Body.Deliveries, out.Body.NextCursor = []WebhookDelivery{}, next
			for _, d := range ds {
				out.Body.Deliveries = append(out.Body.Deliveries, deliveryView(d))
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.WriteWebhooks, huma.Operation{OperationID: "retry-webhook-delivery", Method: http.MethodPost,
		Path: "/v1/webhooks/{id}/deliveries/{delivery_id}/retry", Summary: "Send a delivery again, now",
		Description: "A pending delivery goes without waiting out its backoff; a delivered one goes once more, with the same event ID.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			DeliveryID string `path:"delivery_id" maxLength:"100"`
		}) (*struct{ Body WebhookDelivery }, error) {
			d, err := w.Retry(ctx, principal(ctx), in.ID, in.DeliveryID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body WebhookDelivery }{Body: deliveryView(d)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteWebhooks, huma.Operation{OperationID: "replay-webhook", Method: http.MethodPost,
		Path: "/v1/webhooks/{id}/replay", Summary: "Deliver again the events received since a time",
		Description: "Every event the subscription wants that connhub received at or after since is delivered again, in order of receipt, " +
			"including those received before the subscription existed.", Tags: tags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Since time.Time `json:"since" doc:"RFC 3339"`
			}
		}) (*struct {
			Body struct {
				Pending int `json:"pending" doc:"Deliveries pending for the replay"`
			}
		}, error) {
			n, err := w.Replay(ctx, principal(ctx), in.ID, in.Body.Since)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &struct {
				Body struct {
					Pending int `json:"pending" doc:"Deliveries pending for the replay"`
				}
			}{}
			out.Body.Pending = n
			return out, nil
		})
}
