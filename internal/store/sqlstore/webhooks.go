package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// Webhooks out and their deliveries (migration 00012).

const webhookCols = `id, org_id, instance_id, url, events, format, secret, status, status_reason, failing_since, created_by, created_at, updated_at, version`

func (q *queries) scanWebhook(r scanner) (store.Webhook, error) {
	var w store.Webhook
	var events string
	var secret []byte
	var failing, created, updated sql.NullInt64
	if err := r.Scan(&w.ID, &w.OrgID, &w.InstanceID, &w.URL, &events, &w.Format, &secret, &w.Status, &w.StatusReason, &failing,
		&w.CreatedBy, &created, &updated, &w.Version); err != nil {
		return w, err
	}
	w.FailingSince, w.CreatedAt, w.UpdatedAt = fromMS(failing), fromMS(created), fromMS(updated)
	var err error
	if w.Secret, err = q.open("webhooks", w.ID, "secret", secret); err != nil {
		return w, err
	}
	return w, fromJSON(events, &w.Events)
}

func (q *queries) CreateWebhook(ctx context.Context, w store.Webhook) (store.Webhook, error) {
	if w.ID == "" {
		w.ID = store.NewID("whk")
	}
	w.CreatedAt, w.UpdatedAt, w.Version = now(), now(), 1
	secret, err := q.seal("webhooks", w.ID, "secret", w.Secret)
	if err != nil {
		return store.Webhook{}, err
	}
	if _, err := q.exec(ctx, `INSERT INTO webhooks (`+webhookCols+`, sender_owner, sender_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL)`,
		w.ID, w.OrgID, w.InstanceID, w.URL, list(w.Events), w.Format, secret, w.Status, w.StatusReason, ms(w.FailingSince),
		w.CreatedBy, ms(w.CreatedAt), ms(w.UpdatedAt), w.Version); err != nil {
		return store.Webhook{}, fmt.Errorf("store: create webhook: %w", q.mapErr(err))
	}
	return w, nil
}

func (q *queries) getWebhook(ctx context.Context, lock string, orgID, id string) (store.Webhook, error) {
	w, err := q.scanWebhook(q.queryRow(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE org_id = ? AND id = ?`+lock, orgID, id))
	if err != nil {
		return store.Webhook{}, fmt.Errorf("store: webhook: %w", q.mapErr(err))
	}
	return w, nil
}

func (q *queries) GetWebhook(ctx context.Context, orgID, id string) (store.Webhook, error) {
	return q.getWebhook(ctx, "", orgID, id)
}

func (q *queries) ListWebhooks(ctx context.Context, orgID, instanceID string, p store.Page) ([]store.Webhook, string, error) {
	if instanceID != "" {
		return listAfter(ctx, q, "webhooks", q.scanWebhook, func(w store.Webhook) string { return w.ID }, p,
			`SELECT `+webhookCols+` FROM webhooks WHERE org_id = ? AND instance_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID, instanceID)
	}
	return listAfter(ctx, q, "webhooks", q.scanWebhook, func(w store.Webhook) string { return w.ID }, p,
		`SELECT `+webhookCols+` FROM webhooks WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID)
}

func (q *queries) UpdateWebhook(ctx context.Context, orgID, id string, fn func(*store.Webhook) error) (store.Webhook, error) {
	return updateRow(ctx, q, "webhook",
		func(q *queries) (store.Webhook, error) { return q.getWebhook(ctx, q.d.ForUpdate, orgID, id) },
		fn,
		func(old store.Webhook, w *store.Webhook) {
			w.ID, w.OrgID, w.CreatedBy, w.CreatedAt, w.UpdatedAt = old.ID, old.OrgID, old.CreatedBy, old.CreatedAt, now()
		},
		func(w *store.Webhook) *int64 { return &w.Version },
		func(q *queries, w *store.Webhook, v int64) error {
			secret, err := q.seal("webhooks", w.ID, "secret", w.Secret)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE webhooks SET instance_id = ?, url = ?, events = ?, format = ?, secret = ?, status = ?, status_reason = ?,
				failing_since = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				w.InstanceID, w.URL, list(w.Events), w.Format, secret, w.Status, w.StatusReason, ms(w.FailingSince), ms(w.UpdatedAt), w.Version,
				w.OrgID, w.ID, v))
		})
}

func (q *queries) DeleteWebhook(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "webhook", "webhooks", orgID, id)
}

func (q *queries) LeaseWebhookSender(ctx context.Context, orgID, id, owner string, until time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE webhooks SET sender_owner = ?, sender_until = ?
		WHERE org_id = ? AND id = ? AND (sender_owner = '' OR sender_owner = ? OR sender_until IS NULL OR sender_until < ?)`,
		owner, ms(until), orgID, id, owner, ms(now()))
	if err != nil {
		return false, fmt.Errorf("store: lease webhook sender: %w", q.mapErr(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) ReleaseWebhookSender(ctx context.Context, orgID, id, owner string) error {
	_, err := q.exec(ctx, `UPDATE webhooks SET sender_owner = '', sender_until = NULL WHERE org_id = ? AND id = ? AND sender_owner = ?`, orgID, id, owner)
	if err != nil {
		return fmt.Errorf("store: release webhook sender: %w", q.mapErr(err))
	}
	return nil
}

const deliveryCols = `id, org_id, webhook_id, event_id, event_type, received_at, status, attempts, last_status, last_error, next_attempt_at, delivered_at, created_at`

func scanDelivery(r scanner) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var received, next, delivered, created sql.NullInt64
	err := r.Scan(&d.ID, &d.OrgID, &d.WebhookID, &d.EventID, &d.EventType, &received, &d.Status, &d.Attempts, &d.LastStatus, &d.LastError,
		&next, &delivered, &created)
	d.ReceivedAt, d.NextAttemptAt, d.DeliveredAt, d.CreatedAt = fromMS(received), fromMS(next), fromMS(delivered), fromMS(created)
	return d, err
}

func (q *queries) AddWebhookDeliveries(ctx context.Context, ds []store.WebhookDelivery) (int, error) {
	added := 0
	err := q.inTx(ctx, func(q *queries) error {
		for chunk := range slices.Chunk(ds, 100) {
			args := make([]any, 0, len(chunk)*10)
			for _, d := range chunk {
				if d.ID == "" {
					d.ID = store.NewID("whd")
				}
				if d.Status == "" {
					d.Status = store.DeliveryPending
				}
				if d.NextAttemptAt.IsZero() {
					d.NextAttemptAt = now()
				}
				args = append(args, d.ID, d.OrgID, d.WebhookID, d.EventID, d.EventType, ms(d.ReceivedAt), d.Status, ms(d.NextAttemptAt), ms(now()))
			}
			const row = "(?, ?, ?, ?, ?, ?, ?, 0, 0, '', ?, NULL, ?)"
			res, err := q.exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`) VALUES `+row+repeat(", "+row, len(chunk)-1)+`
				ON CONFLICT (webhook_id, event_id) DO NOTHING`, args...)
			if err != nil {
				return fmt.Errorf("store: add webhook deliveries: %w", q.mapErr(err))
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return nil
	})
	return added, err
}

func (q *queries) NextWebhookDelivery(ctx context.Context, orgID, webhookID string) (store.WebhookDelivery, error) {
	d, err := scanDelivery(q.queryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE org_id = ? AND webhook_id = ? AND status = ? ORDER BY received_at, event_id LIMIT 1`, orgID, webhookID, store.DeliveryPending))
	if err != nil {
		return store.WebhookDelivery{}, fmt.Errorf("store: next webhook delivery: %w", q.mapErr(err))
	}
	return d, nil
}

func (q *queries) GetWebhookDelivery(ctx context.Context, orgID, webhookID, id string) (store.WebhookDelivery, error) {
	d, err := scanDelivery(q.queryRow(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE org_id = ? AND webhook_id = ? AND id = ?`, orgID, webhookID, id))
	if err != nil {
		return store.WebhookDelivery{}, fmt.Errorf("store: webhook delivery: %w", q.mapErr(err))
	}
	return d, nil
}

func (q *queries) PutWebhookDelivery(ctx context.Context, d store.WebhookDelivery) error {
	if d.NextAttemptAt.IsZero() {
		d.NextAttemptAt = now()
	}
	err := one(q.exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?, delivered_at = ?
		WHERE org_id = ? AND webhook_id = ? AND id = ?`,
		d.Status, d.Attempts, d.LastStatus, d.LastError, ms(d.NextAttemptAt), ms(d.DeliveredAt), d.OrgID, d.WebhookID, d.ID))
	if err != nil {
		return fmt.Errorf("store: put webhook delivery: %w", err)
	}
	return nil
}

func (q *queries) ListWebhookDeliveries(ctx context.Context, orgID, webhookID string, p store.Page) ([]store.WebhookDelivery, string, error) {
	// Newest first, in the order of the events' receipt (received_at, then
	// the event's ID, which is ordered to the nanosecond): the cursor is the
	// ID of the last one given.
	args := []any{orgID, webhookID}
	where := ``
	if p.After != "" {
		where = ` AND (received_at, event_id) < (SELECT received_at, event_id FROM webhook_deliveries WHERE org_id = ? AND webhook_id = ? AND id = ?)`
		args = append(args, orgID, webhookID, p.After)
	}
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := q.query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE org_id = ? AND webhook_id = ?`+where+`
		ORDER BY received_at DESC, event_id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list webhook deliveries: %w", q.mapErr(err))
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].ID
	}
	return out, next, nil
}

func (q *queries) ReplayWebhook(ctx context.Context, w store.Webhook, since time.Time) (int, error) {
	n := 0
	err := q.inTx(ctx, func(q *queries) error {
		at := ms(now())
		res, err := q.exec(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?
			WHERE org_id = ? AND webhook_id = ? AND received_at >= ?`, store.DeliveryPending, at, w.OrgID, w.ID, ms(since))
		if err != nil {
			return fmt.Errorf("store: replay webhook: %w", q.mapErr(err))
		}
		again, _ := res.RowsAffected()
		// The events it has no delivery of. The delivery's ID is made of the
		// event's, so that a replay adds each once.
		from, args := `slack_events e`, []any{}
		if w.InstanceID != "" {
			from, args = `slack_events e JOIN slack_event_instances i ON i.event_id = e.id AND i.instance_id = ?`, []any{w.InstanceID}
		}
		types := ``
		if !slices.Contains(w.Events, "*") {
			types = ` AND e.type IN (?` + strings.Repeat(`, ?`, len(w.Events)-1) + `)`
		}
		args = append(args, w.OrgID, ms(since), store.SlackEventProcessed)
		for _, t := range w.Events {
			if types != "" {
				args = append(args, t)
			}
		}
		res, err = q.exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`)
			SELECT 'whd_' || e.id, e.org_id, ?, e.id, e.type, e.received_at, ?, 0, 0, '', ?, NULL, ?
			FROM `+from+` WHERE e.org_id = ? AND e.received_at >= ? AND e.status = ?`+types+`
			ON CONFLICT (webhook_id, event_id) DO NOTHING`,
			append([]any{w.ID, store.DeliveryPending, at, at}, args...)...)
		if err != nil {
			return fmt.Errorf("store: replay webhook: %w", q.mapErr(err))
		}
		added, _ := res.RowsAffected()
		n = int(again + added)
		return nil
	})
	return n, err
}
func (q *queries) WebhooksDue(ctx context.Context, at time.Time, limit int) ([][2]string, error) {
	out, err := collect(scanOrgAndID)(q.query(ctx, `SELECT w.org_id, w.id FROM webhooks w
		WHERE w.status = ? AND (w.sender_owner = '' OR w.sender_until IS NULL OR w.sender_until < ?)
		AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = ? AND d.next_attempt_at <= ?)
		ORDER BY w.id LIMIT ?`, store.WebhookActive, ms(at), store.DeliveryPending, ms(at), limit))
	if err != nil {
		return nil, fmt.Errorf("store: webhooks due: %w", q.mapErr(err))
	}
	return out, nil
}
