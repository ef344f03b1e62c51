package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/connhub/connhub/internal/store"
)

// Reading the kept Slack events by filter and in order of receipt: the
// instances' lists, and the event streams that follow what arrives
// (internal/events).

// slackEventWhere is the WHERE clause (after "FROM slack_events e") that
// selects an organization's events as f says.
func slackEventWhere(orgID string, f store.SlackEventFilter) (string, []any) {
	where, args := `e.org_id = ?`, []any{orgID}
	switch {
	case len(f.InstanceIDs) > 0:
		where += ` AND EXISTS (SELECT 1 FROM slack_event_instances i WHERE i.event_id = e.id AND i.instance_id IN (` + marks(len(f.InstanceIDs)) + `))`
		for _, id := range f.InstanceIDs {
			args = append(args, id)
		}
	case f.Routed:
		where += ` AND EXISTS (SELECT 1 FROM slack_event_instances i WHERE i.event_id = e.id)`
	}
	if len(f.Types) > 0 {
		where += ` AND e.type IN (` + marks(len(f.Types)) + `)`
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if !f.Since.IsZero() {
		where, args = where+` AND e.received_at >= ?`, append(args, ms(f.Since))
	}
	return where, args
}

// marks is n placeholders, comma-separated.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// slackEvents runs SELECT … FROM slack_events e WHERE rest.
func (q *queries) slackEvents(ctx context.Context, rest string, args []any) ([]store.SlackEvent, error) {
	cols := `e.` + strings.ReplaceAll(slackEventCols, `, `, `, e.`)
	rows, err := q.query(ctx, `SELECT `+cols+` FROM slack_events e WHERE `+rest, args...)
	if err != nil {
		return nil, q.mapErr(err)
	}
	defer rows.Close()
	var out []store.SlackEvent
	for rows.Next() {
		e, err := q.scanSlackEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// routedTo fills in the instances each event was routed to, in one query.
func (q *queries) routedTo(ctx context.Context, evs []store.SlackEvent) error {
	if len(evs) == 0 {
		return nil
	}
	at := make(map[string]int, len(evs))
	args := make([]any, len(evs))
	for i, e := range evs {
		at[e.ID], args[i] = i, e.ID
	}
	rows, err := q.query(ctx, `SELECT event_id, instance_id FROM slack_event_instances WHERE event_id IN (`+marks(len(evs))+`) ORDER BY event_id, instance_id`, args...)
	if err != nil {
		return fmt.Errorf("store: slack events' instances: %w", q.mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var ev, in string
		if err := rows.Scan(&ev, &in); err != nil {
			return err
		}
		evs[at[ev]].InstanceIDs = append(evs[at[ev]].InstanceIDs, in)
	}
	return rows.Err()
}

func (q *queries) ScanSlackEvents(ctx context.Context, orgID string, s store.SlackEventScan) ([]store.SlackEvent, error) {
	where, args := slackEventWhere(orgID, s.SlackEventFilter)
	if k := s.After; !k.ReceivedAt.IsZero() {
		op := ">"
		if s.AfterIncluded {
			op = ">="
		}
		where += ` AND (e.received_at > ? OR (e.received_at = ? AND e.id ` + op + ` ?))`
		args = append(args, ms(k.ReceivedAt), ms(k.ReceivedAt), k.ID)
	}
	if k := s.Before; !k.ReceivedAt.IsZero() {
		where += ` AND (e.received_at < ? OR (e.received_at = ? AND e.id < ?))`
		args = append(args, ms(k.ReceivedAt), ms(k.ReceivedAt), k.ID)
	}
	order := ` ORDER BY e.received_at, e.id`
	if s.Newest {
		order = ` ORDER BY e.received_at DESC, e.id DESC`
	}
	out, err := q.slackEvents(ctx, where+order+` LIMIT ?`, append(args, store.Page{Limit: s.Limit}.Size()))
	if err != nil {
		return nil, fmt.Errorf("store: scan slack events: %w", err)
	}
	return out, q.routedTo(ctx, out)
}

func (q *queries) FirstUnprocessedSlackEvent(ctx context.Context, orgID string) (store.SlackEventKey, error) {
	var k store.SlackEventKey
	var at sql.NullInt64
	err := q.queryRow(ctx, `SELECT received_at, id FROM slack_events WHERE org_id = ? AND status = `+receivedSQL+` ORDER BY received_at, id LIMIT 1`,
		orgID).Scan(&at, &k.ID)
	if err != nil {
		if err = q.mapErr(err); !errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("store: the first unprocessed slack event: %w", err)
		}
		return store.SlackEventKey{}, err
	}
	k.ReceivedAt = fromMS(at)
	return k, nil
}
