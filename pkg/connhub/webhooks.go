package connhub

import (
	"context"
	"iter"
	"net/http"
	"time"
)

// Webhook formats.
const (
	FormatSlack    = "slack"    // Slack's envelope, signed as Slack signs
	FormatStandard = "standard" // the Standard Webhooks specification
)

// Webhook is a subscription to the Slack events the hub receives.
type Webhook struct {
	ID           string     `json:"id"`
	URL          string     `json:"url"`
	Events       []string   `json:"events"`                // event types, or "*"
	InstanceID   string     `json:"instance_id,omitempty"` // "": every instance of the organization
	Format       string     `json:"format"`                // FormatSlack or FormatStandard
	Status       string     `json:"status"`                // active or paused
	StatusReason string     `json:"status_reason,omitempty"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// Secret is the signing secret, in CreateWebhook's answer only.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WebhookPage is one page of subscriptions.
type WebhookPage struct {
	Webhooks   []Webhook `json:"webhooks"`
	NextCursor string    `json:"next_cursor"`
}

// CreateWebhookInput subscribes a URL.
type CreateWebhookInput struct {
	URL        string   `json:"url"`
	Events     []string `json:"events"`                // event types (user_change, message, …), or "*"
	InstanceID string   `json:"instance_id,omitempty"` // one instance's events; "": every instance's
	Format     string   `json:"format,omitempty"`      // FormatSlack (the default) or FormatStandard
}

// WebhookDelivery is one event's delivery to a subscription.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"` // the event's (evt_…): the same on every attempt
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // pending or delivered
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status,omitempty"` // the subscriber's last HTTP status
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	ReceivedAt    time.Time  `json:"received_at"` // the event's: deliveries go in this order
}

// DeliveryPage is one page of a subscription's deliveries, newest first.
type DeliveryPage struct {
	Deliveries []WebhookDelivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor"`
}

func webhookPath(id string) string { return "/v1/webhooks/" + pathID(id) }

// CreateWebhook subscribes a URL to Slack events (POST /v1/webhooks). The
// answer holds the subscription's signing secret, which is shown this once.
func (c *Client) CreateWebhook(ctx context.Context, in CreateWebhookInput) (Webhook, error) {
	var out Webhook
	err := c.do(ctx, http.MethodPost, "/v1/webhooks", nil, in, &out)
	return out, err
}

// ListWebhooks returns one page of the subscriptions the caller may see.
func (c *Client) ListWebhooks(ctx context.Context, opts ListOptions) ([]Webhook, string, error) {
	var out WebhookPage
	err := c.do(ctx, http.MethodGet, "/v1/webhooks", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out.Webhooks, out.NextCursor, err
}

// AllWebhooks iterates over every subscription the caller may see.
func (c *Client) AllWebhooks(ctx context.Context) iter.Seq2[Webhook, error] {
	return all(ctx, ListOptions{Limit: 1000}, c.ListWebhooks)
}

// GetWebhook returns a subscription (without its secret).
func (c *Client) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	var out Webhook
	if err := needID("webhook", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, webhookPath(id), nil, nil, &out)
	return out, err
}

// WebhookDeliveries returns one page of a subscription's deliveries, newest
// first.
func (c *Client) WebhookDeliveries(ctx context.Context, id string, opts ListOptions) (DeliveryPage, error) {
	var out DeliveryPage
	if err := needID("webhook", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, webhookPath(id)+"/deliveries", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// RetryDelivery sends a delivery again, now: a pending one without waiting
// out its backoff, a delivered one once more, with the same event ID.
func (c *Client) RetryDelivery(ctx context.Context, webhookID, deliveryID string) (WebhookDelivery, error) {
	var out WebhookDelivery
	if err := needID("webhook", webhookID); err != nil {
		return out, err
	}
	if err := needID("delivery", deliveryID); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, webhookPath(webhookID)+"/deliveries/"+pathID(deliveryID)+"/retry", nil, nil, &out)
	return out, err
}

// ReplayWebhook delivers again every event the subscription wants that the
// hub received at or after since, in order of receipt, and says how many
// deliveries that made pending.
func (c *Client) ReplayWebhook(ctx context.Context, id string, since time.Time) (int, error) {
	if err := needID("webhook", id); err != nil {
		return 0, err
	}
	var out struct {
		Pending int `json:"pending"`
	}
	err := c.do(ctx, http.MethodPost, webhookPath(id)+"/replay", nil, map[string]any{"since": since.UTC().Format(time.RFC3339Nano)}, &out)
	return out.Pending, err
}
