package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// The events of Slack's Events API that connhub received (migration 00011).

const slackEventCols = `id, org_id, app_id, event_id, type, team_id, enterprise_id, event_time, received_at, deliveries, body, status, error, processed_at`

func (q *queries) scanSlackEvent(r scanner) (store.SlackEvent, error) {
	var e store.SlackEvent
	var body string
	var eventTime, received, processed sql.NullInt64
	err := r.Scan(&e.ID, &e.OrgID, &e.AppID, &e.EventID, &e.Type, &e.TeamID, &e.EnterpriseID, &eventTime, &received, &e.Deliveries,
		&body, &e.Status, &e.Error, &processed)
	e.Body, e.EventTime, e.ReceivedAt, e.ProcessedAt = []byte(body), fromMS(eventTime), fromMS(received), fromMS(processed)
	return e, err
}

func (q *queries) PutSlackEvent(ctx context.Context, e store.SlackEvent) (store.SlackEvent, bool, error) {
	if e.ID == "" {
		// Ordered by the time it is kept, to the nanosecond, then at
		// random: deliveries go in order of (received_at, id), and a
		// millisecond holds many events.
		e.ID = fmt.Sprintf(store.SlackEventIDPrefix+"%016x%s", time.Now().UnixNano(), strings.TrimPrefix(store.NewID(""), "_"))
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now()
	}
	e.Deliveries, e.Status, e.Error, e.ProcessedAt, e.InstanceIDs = 1, store.SlackEventReceived, "", time.Time{}, nil
	res, err := q.exec(ctx, `INSERT INTO slack_events (`+slackEventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (app_id, event_id) DO NOTHING`,
		e.ID, e.OrgID, e.AppID, e.EventID, e.Type, e.TeamID, e.EnterpriseID, ms(e.EventTime), ms(e.ReceivedAt), e.Deliveries, string(e.Body), e.Status, e.Error)
	if err != nil {
		return store.SlackEvent{}, false, fmt.Errorf("store: put slack event: %w", q.mapErr(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return e, true, nil
	}
	// A delivery of an event kept already (Slack's retry, or a replay).
	if _, err := q.exec(ctx, `UPDATE slack_events SET deliveries = deliveries + 1 WHERE app_id = ? AND event_id = ?`, e.AppID, e.EventID); err != nil {
		return store.SlackEvent{}, false, fmt.Errorf("store: count a slack event's delivery: %w", q.mapErr(err))
	}
	kept, err := q.scanSlackEvent(q.queryRow(ctx, `SELECT `+slackEventCols+` FROM slack_events WHERE app_id = ? AND event_id = ?`, e.AppID, e.EventID))
	if err != nil {
		return store.SlackEvent{}, false, fmt.Errorf("store: slack event: %w", q.mapErr(err))
	}
	return kept, false, nil
}

func (q *queries) GetSlackEvent(ctx context.Context, orgID, id string) (store.SlackEvent, error) {
	e, err := q.scanSlackEvent(q.queryRow(ctx, `SELECT `+slackEventCols+` FROM slack_events WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return store.SlackEvent{}, fmt.Errorf("store: slack event: %w", q.mapErr(err))
	}
	rows, err := q.query(ctx, `SELECT instance_id FROM slack_event_instances WHERE event_id = ? ORDER BY instance_id`, id)
	if err != nil {
		return store.SlackEvent{}, fmt.Errorf("store: slack event's instances: %w", q.mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var in string
		if err := rows.Scan(&in); err != nil {
			return store.SlackEvent{}, err
		}
		e.InstanceIDs = append(e.InstanceIDs, in)
	}
	return e, rows.Err()
}

func (q *queries) FinishSlackEvents(ctx context.Context, done []store.SlackEventOutcome) error {
	if len(done) == 0 {
		return nil
	}
	// A statement for many events at once: a batch's outcomes are written
	// in a handful of statements, not three an event, and the one writer
	// (SQLite) is held the shorter.
	return q.inTx(ctx, func(q *queries) error {
		at := ms(now())
		type outcome struct{ org, status, error string }
		ids := map[outcome][]string{}
		var order []outcome
		for _, o := range done {
			k := outcome{o.OrgID, o.Status, o.Error}
			if _, ok := ids[k]; !ok {
				order = append(order, k)
			}
			ids[k] = append(ids[k], o.ID)
		}
		for _, k := range order {
			for chunk := range slices.Chunk(ids[k], 200) {
				args := append([]any{k.status, k.error, at, k.org}, anys(chunk)...)
				res, err := q.exec(ctx, `UPDATE slack_events SET status = ?, error = ?, processed_at = ? WHERE org_id = ? AND id IN (?`+repeat(", ?", len(chunk)-1)+`)`, args...)
				if err != nil {
					return fmt.Errorf("store: finish slack events: %w", err)
				}
				if n, _ := res.RowsAffected(); n != int64(len(chunk)) {
					return fmt.Errorf("store: finish slack events: %d of %d found: %w", n, len(chunk), store.ErrNotFound)
				}
			}
		}
		// Processed again (a retried job): the instances are what it says now.
		for chunk := range slices.Chunk(done, 200) {
			args := make([]any, len(chunk))
			for i, o := range chunk {
				args[i] = o.ID
			}
			if _, err := q.exec(ctx, `DELETE FROM slack_event_instances WHERE event_id IN (?`+repeat(", ?", len(chunk)-1)+`)`, args...); err != nil {
				return err
			}
		}
		var rows []any
		for _, o := range done {
			for _, in := range o.InstanceIDs {
				rows = append(rows, o.ID, o.OrgID, in, ms(o.ReceivedAt))
			}
		}
		for chunk := range slices.Chunk(rows, 4*200) {
			n := len(chunk) / 4
			if _, err := q.exec(ctx, `INSERT INTO slack_event_instances (event_id, org_id, instance_id, received_at) VALUES (?, ?, ?, ?)`+
				repeat(", (?, ?, ?, ?)", n-1), chunk...); err != nil {
				return fmt.Errorf("store: route slack events: %w", q.mapErr(err))
			}
		}
		return nil
	})
}

// anys is ids as statement arguments.
func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// receivedSQL is the status of an event not processed yet, written into
// the statements that look for such events: the partial indexes on
// received events (WHERE status = 'received') serve a query only when it
// names the status itself. With a parameter, SQLite never uses them, nor
// PostgreSQL once it plans a prepared statement generically: every call
// then scanned the organization's events, and the senders' order checks
// took a PostgreSQL core at 150 events a second.
const receivedSQL = `'` + store.SlackEventReceived + `'`

func (q *queries) UnprocessedBefore(ctx context.Context, orgID string, receivedAt time.Time, id string) (bool, error) {
	var one int
	err := q.queryRow(ctx, `SELECT 1 FROM slack_events WHERE org_id = ? AND status = `+receivedSQL+` AND (received_at < ? OR (received_at = ? AND id < ?)) LIMIT 1`,
		orgID, ms(receivedAt), ms(receivedAt), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: unprocessed events: %w", q.mapErr(err))
	}
	return true, nil
}

func (q *queries) ListSlackEvents(ctx context.Context, orgID string, f store.SlackEventFilter, p store.Page) ([]store.SlackEvent, string, error) {
	where, args := slackEventWhere(orgID, f)
	where, args = where+` AND e.id > ?`, append(args, p.After)
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	out, err := q.slackEvents(ctx, where+` ORDER BY e.id LIMIT ?`, append(args, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("store: list slack events: %w", err)
	}
	next := ""
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].ID
	}
	return out, next, q.routedTo(ctx, out)
}

func (q *queries) ReceivedSlackEvents(ctx context.Context, before time.Time, after string, limit int) ([]store.SlackEvent, error) {
	out, err := q.slackEvents(ctx, `e.status = `+receivedSQL+` AND e.received_at < ? AND e.id > ? ORDER BY e.id LIMIT ?`,
		[]any{ms(before), after, limit})
	if err != nil {
		return nil, fmt.Errorf("store: received slack events: %w", err)
	}
	return out, nil
}
