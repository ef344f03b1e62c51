package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// Provisioning plans, their runs and the runs' outcomes (migration 00013).

const planCols = `id, org_id, instance_id, options, counts, run_id, created_by, created_at`

func scanPlan(r scanner, body *string) (store.ProvisioningPlan, error) {
	var p store.ProvisioningPlan
	var options, counts string
	var created sql.NullInt64
	dest := []any{&p.ID, &p.OrgID, &p.InstanceID, &options, &counts, &p.RunID, &p.CreatedBy, &created}
	if body != nil {
		dest = append(dest, body)
	}
	if err := r.Scan(dest...); err != nil {
		return p, err
	}
	p.CreatedAt = fromMS(created)
	if err := fromJSON(options, &p.Options); err != nil {
		return p, err
	}
	return p, fromJSON(counts, &p.Counts)
}

func (q *queries) CreateProvisioningPlan(ctx context.Context, p store.ProvisioningPlan) (store.ProvisioningPlan, error) {
	if p.ID == "" {
		p.ID = store.NewID("pln")
	}
	p.CreatedAt, p.RunID = now(), ""
	options, err := toJSON(p.Options)
	if err != nil {
		return store.ProvisioningPlan{}, err
	}
	counts, err := toJSON(p.Counts)
	if err != nil {
		return store.ProvisioningPlan{}, err
	}
	if _, err := q.exec(ctx, `INSERT INTO provisioning_plans (`+planCols+`, body) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)`,
		p.ID, p.OrgID, p.InstanceID, options, counts, p.CreatedBy, ms(p.CreatedAt), string(p.Body)); err != nil {
		return store.ProvisioningPlan{}, fmt.Errorf("store: create provisioning plan: %w", q.mapErr(err))
	}
	return p, nil
}

func (q *queries) GetProvisioningPlan(ctx context.Context, orgID, id string) (store.ProvisioningPlan, error) {
	var body string
	p, err := scanPlan(q.queryRow(ctx, `SELECT `+planCols+`, body FROM provisioning_plans WHERE org_id = ? AND id = ?`, orgID, id), &body)
	if err != nil {
		return store.ProvisioningPlan{}, fmt.Errorf("store: provisioning plan: %w", q.mapErr(err))
	}
	p.Body = []byte(body)
	return p, nil
}

func (q *queries) ListProvisioningPlans(ctx context.Context, orgID, instanceID string, p store.Page) ([]store.ProvisioningPlan, string, error) {
	return newestFirst(ctx, q, "provisioning plans", func(r scanner) (store.ProvisioningPlan, error) { return scanPlan(r, nil) },
		func(p store.ProvisioningPlan) string { return p.ID }, p,
		`SELECT `+planCols+` FROM provisioning_plans WHERE org_id = ? AND instance_id = ?`, orgID, instanceID)
}

// newestFirst runs a query of an org's rows whose IDs grow with time, newest
// first, a page at a time: the cursor is the last ID given.
func newestFirst[T any](ctx context.Context, q *queries, what string, scan func(scanner) (T, error), id func(T) string, p store.Page, query string, args ...any) ([]T, string, error) {
	after, limit := pageArgs(p)
	if after != "" {
		query += ` AND id < ?`
		args = append(args, after)
	}
	rows, err := collect(scan)(q.query(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("store: list %s: %w", what, q.mapErr(err))
	}
	rows, next := nextCursor(rows, p, id)
	return rows, next, nil
}

const provRunCols = `id, org_id, instance_id, plan_id, status, reason, total, done, failed, skipped, owner, lease_until, created_by,
	created_at, started_at, finished_at, updated_at, version`

func scanProvRun(r scanner) (store.ProvisioningRun, error) {
	var x store.ProvisioningRun
	var lease, created, started, finished, updated sql.NullInt64
	err := r.Scan(&x.ID, &x.OrgID, &x.InstanceID, &x.PlanID, &x.Status, &x.Reason, &x.Total, &x.Done, &x.Failed, &x.Skipped, &x.Owner, &lease,
		&x.CreatedBy, &created, &started, &finished, &updated, &x.Version)
	x.LeaseUntil, x.CreatedAt, x.StartedAt, x.FinishedAt, x.UpdatedAt = fromMS(lease), fromMS(created), fromMS(started), fromMS(finished), fromMS(updated)
	return x, err
}

func (q *queries) StartProvisioningRun(ctx context.Context, r store.ProvisioningRun) (store.ProvisioningRun, error) {
	if r.ID == "" {
		r.ID = store.NewID("prn")
	}
	if r.Status == "" {
		r.Status = store.RunQueued
	}
	r.CreatedAt, r.UpdatedAt, r.Version = now(), now(), 1
	r.Done, r.Failed, r.Skipped = 0, 0, 0
	err := q.inTx(ctx, func(q *queries) error {
		res, err := q.exec(ctx, `UPDATE provisioning_plans SET run_id = ? WHERE org_id = ? AND id = ? AND run_id = ''`, r.ID, r.OrgID, r.PlanID)
		if err != nil {
			return q.mapErr(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if _, err := q.GetProvisioningPlan(ctx, r.OrgID, r.PlanID); err != nil {
				return err
			}
			return store.ErrConflict // applied already
		}
		_, err = q.exec(ctx, `INSERT INTO provisioning_runs (`+provRunCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, '', NULL, ?, ?, NULL, NULL, ?, ?)`,
			r.ID, r.OrgID, r.InstanceID, r.PlanID, r.Status, r.Reason, r.Total, r.CreatedBy, ms(r.CreatedAt), ms(r.UpdatedAt), r.Version)
		return q.mapErr(err)
	})
	if err != nil {
		return store.ProvisioningRun{}, fmt.Errorf("store: start provisioning run: %w", err)
	}
	return r, nil
}

func (q *queries) getProvRun(ctx context.Context, lock, orgID, id string) (store.ProvisioningRun, error) {
	r, err := scanProvRun(q.queryRow(ctx, `SELECT `+provRunCols+` FROM provisioning_runs WHERE org_id = ? AND id = ?`+lock, orgID, id))
	if err != nil {
		return store.ProvisioningRun{}, fmt.Errorf("store: provisioning run: %w", q.mapErr(err))
	}
	return r, nil
}

func (q *queries) GetProvisioningRun(ctx context.Context, orgID, id string) (store.ProvisioningRun, error) {
	return q.getProvRun(ctx, "", orgID, id)
}

func (q *queries) ListProvisioningRuns(ctx context.Context, orgID, instanceID string, p store.Page) ([]store.ProvisioningRun, string, error) {
	return newestFirst(ctx, q, "provisioning runs", scanProvRun, func(r store.ProvisioningRun) string { return r.ID }, p,
		`SELECT `+provRunCols+` FROM provisioning_runs WHERE org_id = ? AND instance_id = ?`, orgID, instanceID)
}

func (q *queries) UpdateProvisioningRun(ctx context.Context, orgID, id string, fn func(*store.ProvisioningRun) error) (store.ProvisioningRun, error) {
	return updateRow(ctx, q, "provisioning run",
		func(q *queries) (store.ProvisioningRun, error) { return q.getProvRun(ctx, q.d.ForUpdate, orgID, id) },
		fn,
		func(old store.ProvisioningRun, r *store.ProvisioningRun) {
			r.ID, r.OrgID, r.InstanceID, r.PlanID, r.CreatedBy, r.CreatedAt, r.UpdatedAt = old.ID, old.OrgID, old.InstanceID, old.PlanID, old.CreatedBy, old.CreatedAt, now()
			r.Total, r.Done, r.Failed, r.Skipped = old.Total, old.Done, old.Failed, old.Skipped
		},
		func(r *store.ProvisioningRun) *int64 { return &r.Version },
		func(q *queries, r *store.ProvisioningRun, v int64) error {
			return one(q.exec(ctx, `UPDATE provisioning_runs SET status = ?, reason = ?, owner = ?, lease_until = ?, started_at = ?, finished_at = ?,
				updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				r.Status, r.Reason, r.Owner, ms(r.LeaseUntil), ms(r.StartedAt), ms(r.FinishedAt), ms(r.UpdatedAt), r.Version, r.OrgID, r.ID, v))
		})
}

func (q *queries) LeaseProvisioningRun(ctx context.Context, orgID, id, owner string, until time.Time) (bool, error) {
	res, err := q.exec(ctx, `UPDATE provisioning_runs SET owner = ?, lease_until = ?
		WHERE org_id = ? AND id = ? AND status IN ('queued', 'running') AND (owner = '' OR owner = ? OR lease_until IS NULL OR lease_until < ?)`,
		owner, ms(until), orgID, id, owner, ms(now()))
	if err != nil {
		return false, fmt.Errorf("store: lease provisioning run: %w", q.mapErr(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (q *queries) ProvisioningRunsAdrift(ctx context.Context, at time.Time, limit int) ([][2]string, error) {
	out, err := collect(scanOrgAndID)(q.query(ctx, `SELECT org_id, id FROM provisioning_runs
		WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?`, ms(at), limit))
	if err != nil {
		return nil, fmt.Errorf("store: provisioning runs adrift: %w", q.mapErr(err))
	}
	return out, nil
}

// counter is the run's column that counts an outcome's status ("" for a
// started change, which no column counts).
func counter(status string) (string, error) {
	switch status {
	case store.OutcomeStarted:
		return "", nil
	case store.OutcomeDone:
		return "done", nil
	case store.OutcomeFailed:
		return "failed", nil
	case store.OutcomeSkipped:
		return "skipped", nil
	}
	return "", fmt.Errorf("store: %q is not an outcome", status)
}

const outcomeCols = `run_id, idx, status, slack_id, http_status, error, note, attempts, at`

func (q *queries) PutProvisioningOutcome(ctx context.Context, orgID string, o store.ProvisioningOutcome) error {
	col, err := counter(o.Status)
	if err != nil {
		return err
	}
	if o.At.IsZero() {
		o.At = now()
	}
	err = q.inTx(ctx, func(q *queries) error {
		// The run's row first, locked: its counts and its outcomes change
		// together, one writer at a time.
		if _, err := q.getProvRun(ctx, q.d.ForUpdate, orgID, o.RunID); err != nil {
			return err
		}
		var was string
		switch err := q.queryRow(ctx, `SELECT status FROM provisioning_outcomes WHERE run_id = ? AND idx = ?`, o.RunID, o.Index).Scan(&was); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return q.mapErr(err)
		}
		if _, err := q.exec(ctx, `INSERT INTO provisioning_outcomes (`+outcomeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, idx) DO UPDATE SET status = excluded.status, slack_id = excluded.slack_id, http_status = excluded.http_status,
				error = excluded.error, note = excluded.note, attempts = excluded.attempts, at = excluded.at`,
			o.RunID, o.Index, o.Status, o.SlackID, o.HTTPStatus, o.Error, o.Note, o.Attempts, ms(o.At)); err != nil {
			return q.mapErr(err)
		}
		old := ""
		if was != "" {
			if old, err = counter(was); err != nil {
				return err
			}
		}
		if old == col {
			return nil
		}
		var set []string
		if col != "" {
			set = append(set, col+` = `+col+` + 1`)
		}
		if old != "" {
			set = append(set, old+` = `+old+` - 1`)
		}
		return one(q.exec(ctx, `UPDATE provisioning_runs SET `+strings.Join(set, ", ")+`, updated_at = ? WHERE org_id = ? AND id = ?`, ms(now()), orgID, o.RunID))
	})
	if err != nil {
		return fmt.Errorf("store: put provisioning outcome: %w", err)
	}
	return nil
}

func (q *queries) ListProvisioningOutcomes(ctx context.Context, orgID, runID string, after, limit int) ([]store.ProvisioningOutcome, error) {
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	out, err := collect(func(r scanner) (store.ProvisioningOutcome, error) {
		var o store.ProvisioningOutcome
		var at sql.NullInt64
		err := r.Scan(&o.RunID, &o.Index, &o.Status, &o.SlackID, &o.HTTPStatus, &o.Error, &o.Note, &o.Attempts, &at)
		o.At = fromMS(at)
		return o, err
	})(q.query(ctx, `SELECT o.run_id, o.idx, o.status, o.slack_id, o.http_status, o.error, o.note, o.attempts, o.at FROM provisioning_outcomes o
		JOIN provisioning_runs r ON r.id = o.run_id WHERE r.org_id = ? AND o.run_id = ? AND o.idx > ? ORDER BY o.idx LIMIT ?`, orgID, runID, after, limit))
	if err != nil {
		return nil, fmt.Errorf("store: list provisioning outcomes: %w", q.mapErr(err))
	}
	return out, nil
}
