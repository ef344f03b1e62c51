package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

const runCols = `id, org_id, instance_id, status, trigger_kind, streams, stats, error, options, progress, lease_owner, lease_until,
	started_at, finished_at, created_at, updated_at, version`

func scanRun(r scanner) (store.SyncRun, error) {
	var run store.SyncRun
	var streams, stats, options, progress string
	var leaseUntil, started, finished, created, updated sql.NullInt64
	if err := r.Scan(&run.ID, &run.OrgID, &run.InstanceID, &run.Status, &run.Trigger, &streams, &stats, &run.Error,
		&options, &progress, &run.LeaseOwner, &leaseUntil, &started, &finished, &created, &updated, &run.Version); err != nil {
		return run, err
	}
	run.LeaseUntil = fromMS(leaseUntil)
	run.StartedAt, run.FinishedAt, run.CreatedAt, run.UpdatedAt = fromMS(started), fromMS(finished), fromMS(created), fromMS(updated)
	run.Options, run.Progress = json.RawMessage(options), json.RawMessage(progress)
	if err := fromJSON(streams, &run.Streams); err != nil {
		return run, err
	}
	return run, fromJSON(stats, &run.Stats)
}

// rawJSON stores an opaque JSON value; empty is stored as {}.
func rawJSON(b json.RawMessage) string {
	if len(b) == 0 {
		return "{}"
	}
	return string(b)
}

func runArgs(r *store.SyncRun) ([]any, error) {
	stats := "{}"
	if len(r.Stats) > 0 {
		var err error
		if stats, err = toJSON(r.Stats); err != nil {
			return nil, err
		}
	}
	return []any{r.Status, r.Trigger, list(r.Streams), stats, r.Error, rawJSON(r.Options), rawJSON(r.Progress), r.LeaseOwner, ms(r.LeaseUntil),
		ms(r.StartedAt), ms(r.FinishedAt)}, nil
}

func (q *queries) CreateSyncRun(ctx context.Context, r store.SyncRun) (store.SyncRun, error) {
	if r.ID == "" {
		r.ID = store.NewID("run")
	}
	if r.Status == "" {
		r.Status = store.RunQueued
	}
	r.CreatedAt, r.UpdatedAt, r.Version = now(), now(), 1
	args, err := runArgs(&r)
	if err != nil {
		return store.SyncRun{}, err
	}
	args = append([]any{r.ID, r.OrgID, r.InstanceID}, append(args, ms(r.CreatedAt), ms(r.UpdatedAt), r.Version)...)
	if _, err := q.exec(ctx, `INSERT INTO sync_runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return store.SyncRun{}, fmt.Errorf("store: create sync run: %w", err)
	}
	r.Options, r.Progress = json.RawMessage(rawJSON(r.Options)), json.RawMessage(rawJSON(r.Progress))
	return r, nil
}

func (q *queries) getRun(ctx context.Context, where string, args ...any) (store.SyncRun, error) {
	r, err := scanRun(q.queryRow(ctx, `SELECT `+runCols+` FROM sync_runs WHERE `+where, args...))
	if err != nil {
		return store.SyncRun{}, fmt.Errorf("store: sync run: %w", q.mapErr(err))
	}
	return r, nil
}

func (q *queries) GetSyncRun(ctx context.Context, orgID, id string) (store.SyncRun, error) {
	return q.getRun(ctx, `org_id = ? AND id = ?`, orgID, id)
}

// ListSyncRuns pages newest first: the cursor is the last ID shown, and the
// next page is the IDs below it.
func (q *queries) ListSyncRuns(ctx context.Context, orgID, instanceID string, p store.Page) ([]store.SyncRun, string, error) {
	after, limit := pageArgs(p)
	rows, err := collect(scanRun)(q.query(ctx, `SELECT `+runCols+` FROM sync_runs WHERE org_id = ? AND instance_id = ? AND (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		orgID, instanceID, after, after, limit))
	if err != nil {
		return nil, "", fmt.Errorf("store: list sync runs: %w", err)
	}
	rows, next := nextCursor(rows, p, func(r store.SyncRun) string { return r.ID })
	return rows, next, nil
}

// UnfinishedSyncRun reads the one row the index sync_runs_unfinished allows.
func (q *queries) UnfinishedSyncRun(ctx context.Context, orgID, instanceID string) (store.SyncRun, error) {
	return q.getRun(ctx, `org_id = ? AND instance_id = ? AND status IN (?, ?, ?)`, orgID, instanceID, store.RunQueued, store.RunRunning, store.RunInterrupted)
}

func (q *queries) ListUnfinishedSyncRuns(ctx context.Context, after string, limit int) ([]store.SyncRun, error) {
	rows, err := collect(scanRun)(q.query(ctx, `SELECT `+runCols+` FROM sync_runs WHERE status IN (?, ?, ?) AND id > ? ORDER BY id LIMIT ?`,
		store.RunQueued, store.RunRunning, store.RunInterrupted, after, max(1, min(limit, 1000))))
	if err != nil {
		return nil, fmt.Errorf("store: list unfinished sync runs: %w", err)
	}
	return rows, nil
}

func (q *queries) UpdateSyncRun(ctx context.Context, orgID, id string, fn func(*store.SyncRun) error) (store.SyncRun, error) {
	return updateRow(ctx, q, "sync run",
		func(q *queries) (store.SyncRun, error) {
			return q.getRun(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.SyncRun, r *store.SyncRun) {
			r.ID, r.OrgID, r.InstanceID, r.CreatedAt, r.UpdatedAt = old.ID, old.OrgID, old.InstanceID, old.CreatedAt, now()
		},
		func(r *store.SyncRun) *int64 { return &r.Version },
		func(q *queries, r *store.SyncRun, v int64) error {
			args, err := runArgs(r)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE sync_runs SET status = ?, trigger_kind = ?, streams = ?, stats = ?, error = ?, options = ?, progress = ?,
				lease_owner = ?, lease_until = ?, started_at = ?, finished_at = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				append(args, ms(r.UpdatedAt), r.Version, r.OrgID, r.ID, v)...))
		})
}

const scheduleCols = `org_id, instance_id, interval_seconds, streams, options, enabled, next_run_at, last_run_id, created_at, updated_at, version`

func scanSchedule(r scanner) (store.SyncSchedule, error) {
	var s store.SyncSchedule
	var secs int64
	var streams, options string
	var next, created, updated sql.NullInt64
	if err := r.Scan(&s.OrgID, &s.InstanceID, &secs, &streams, &options, &s.Enabled, &next, &s.LastRunID, &created, &updated, &s.Version); err != nil {
		return s, err
	}
	s.Interval, s.Options = time.Duration(secs)*time.Second, json.RawMessage(options)
	s.NextRunAt, s.CreatedAt, s.UpdatedAt = fromMS(next), fromMS(created), fromMS(updated)
	return s, fromJSON(streams, &s.Streams)
}

func (q *queries) PutSyncSchedule(ctx context.Context, s store.SyncSchedule) (store.SyncSchedule, error) {
	if s.Interval < time.Second {
		return store.SyncSchedule{}, fmt.Errorf("store: put sync schedule: the interval must be at least a second")
	}
	err := q.inTx(ctx, func(q *queries) error {
		if err := q.ownsInstance(ctx, s.OrgID, s.InstanceID); err != nil {
			return err
		}
		at := now()
		s.CreatedAt, s.UpdatedAt, s.Version = at, at, 1
		if old, err := q.getSchedule(ctx, `org_id = ? AND instance_id = ?`+q.d.ForUpdate, s.OrgID, s.InstanceID); err == nil {
			s.CreatedAt, s.Version = old.CreatedAt, old.Version+1
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM sync_schedules WHERE org_id = ? AND instance_id = ?`, s.OrgID, s.InstanceID); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO sync_schedules (`+scheduleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.OrgID, s.InstanceID, int64(s.Interval/time.Second), list(s.Streams), rawJSON(s.Options), s.Enabled, ms(s.NextRunAt), s.LastRunID,
			ms(s.CreatedAt), ms(s.UpdatedAt), s.Version)
		return err
	})
	if err != nil {
		return store.SyncSchedule{}, fmt.Errorf("store: put sync schedule: %w", err)
	}
	s.Interval = s.Interval.Truncate(time.Second)
	s.Options = json.RawMessage(rawJSON(s.Options))
	return s, nil
}

func (q *queries) getSchedule(ctx context.Context, where string, args ...any) (store.SyncSchedule, error) {
	s, err := scanSchedule(q.queryRow(ctx, `SELECT `+scheduleCols+` FROM sync_schedules WHERE `+where, args...))
	if err != nil {
		return store.SyncSchedule{}, q.mapErr(err)
	}
	return s, nil
}

func (q *queries) GetSyncSchedule(ctx context.Context, orgID, instanceID string) (store.SyncSchedule, error) {
	s, err := q.getSchedule(ctx, `org_id = ? AND instance_id = ?`, orgID, instanceID)
	if err != nil {
		return s, fmt.Errorf("store: sync schedule: %w", err)
	}
	return s, nil
}

func (q *queries) UpdateSyncSchedule(ctx context.Context, orgID, instanceID string, fn func(*store.SyncSchedule) error) (store.SyncSchedule, error) {
	return updateRow(ctx, q, "sync schedule",
		func(q *queries) (store.SyncSchedule, error) {
			return q.getSchedule(ctx, `org_id = ? AND instance_id = ?`+q.d.ForUpdate, orgID, instanceID)
		},
		fn,
		func(old store.SyncSchedule, s *store.SyncSchedule) {
			s.OrgID, s.InstanceID, s.CreatedAt, s.UpdatedAt = old.OrgID, old.InstanceID, old.CreatedAt, now()
		},
		func(s *store.SyncSchedule) *int64 { return &s.Version },
		func(q *queries, s *store.SyncSchedule, v int64) error {
			if s.Interval < time.Second {
				return fmt.Errorf("the interval must be at least a second")
			}
			return one(q.exec(ctx, `UPDATE sync_schedules SET interval_seconds = ?, streams = ?, options = ?, enabled = ?, next_run_at = ?, last_run_id = ?,
				updated_at = ?, version = ? WHERE org_id = ? AND instance_id = ? AND version = ?`,
				int64(s.Interval/time.Second), list(s.Streams), rawJSON(s.Options), s.Enabled, ms(s.NextRunAt), s.LastRunID,
				ms(s.UpdatedAt), s.Version, s.OrgID, s.InstanceID, v))
		})
}

func (q *queries) DeleteSyncSchedule(ctx context.Context, orgID, instanceID string) error {
	if err := one(q.exec(ctx, `DELETE FROM sync_schedules WHERE org_id = ? AND instance_id = ?`, orgID, instanceID)); err != nil {
		return fmt.Errorf("store: delete sync schedule: %w", err)
	}
	return nil
}

func (q *queries) ListDueSyncSchedules(ctx context.Context, t time.Time, limit int) ([]store.SyncSchedule, error) {
	rows, err := collect(scanSchedule)(q.query(ctx, `SELECT `+scheduleCols+` FROM sync_schedules WHERE enabled = ? AND next_run_at <= ? ORDER BY next_run_at, instance_id LIMIT ?`,
		true, ms(t), max(1, min(limit, 1000))))
	if err != nil {
		return nil, fmt.Errorf("store: list due sync schedules: %w", err)
	}
	return rows, nil
}

const checkpointCols = `org_id, instance_id, stream, run_id, cursor, updated_at, version`

func (q *queries) GetCheckpoint(ctx context.Context, orgID, instanceID, stream string) (store.Checkpoint, error) {
	var cp store.Checkpoint
	var cursor string
	var updated sql.NullInt64
	err := q.queryRow(ctx, `SELECT `+checkpointCols+` FROM checkpoints WHERE org_id = ? AND instance_id = ? AND stream = ?`, orgID, instanceID, stream).
		Scan(&cp.OrgID, &cp.InstanceID, &cp.Stream, &cp.RunID, &cursor, &updated, &cp.Version)
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("store: checkpoint: %w", q.mapErr(err))
	}
	cp.Cursor, cp.UpdatedAt = []byte(cursor), fromMS(updated)
	return cp, nil
}

func (q *queries) PutCheckpoint(ctx context.Context, cp store.Checkpoint) (store.Checkpoint, error) {
	cursor := string(cp.Cursor)
	if cursor == "" {
		cursor = "null"
	}
	cp.UpdatedAt = now()
	var err error
	if cp.Version == 0 {
		_, err = q.exec(ctx, `INSERT INTO checkpoints (`+checkpointCols+`) VALUES (?, ?, ?, ?, ?, ?, 1)`,
			cp.OrgID, cp.InstanceID, cp.Stream, cp.RunID, cursor, ms(cp.UpdatedAt))
		if errors.Is(err, store.ErrAlreadyExists) {
			err = store.ErrConflict
		}
	} else {
		err = one(q.exec(ctx, `UPDATE checkpoints SET run_id = ?, cursor = ?, updated_at = ?, version = version + 1 WHERE org_id = ? AND instance_id = ? AND stream = ? AND version = ?`,
			cp.RunID, cursor, ms(cp.UpdatedAt), cp.OrgID, cp.InstanceID, cp.Stream, cp.Version))
		if errors.Is(err, store.ErrNotFound) {
			err = store.ErrConflict
		}
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("store: put checkpoint %s/%s: %w", cp.InstanceID, cp.Stream, err)
	}
	cp.Version++
	return cp, nil
}

// ownsInstance checks the instance belongs to the organization, so that no
// write names another organization's instance.
func (q *queries) ownsInstance(ctx context.Context, orgID, instanceID string) error {
	var one int
	if err := q.queryRow(ctx, `SELECT 1 FROM instances WHERE org_id = ? AND id = ?`, orgID, instanceID).Scan(&one); err != nil {
		return fmt.Errorf("instance: %w", q.mapErr(err))
	}
	return nil
}

// knownKeys counts how many of recs' keys the stream already holds.
func (q *queries) knownKeys(ctx context.Context, instanceID, stream string, recs []store.Record) (int, error) {
	known := 0
	for start := 0; start < len(recs); start += 500 {
		batch := recs[start:min(start+500, len(recs))]
		args := []any{instanceID, stream}
		for _, r := range batch {
			args = append(args, r.Key)
		}
		var n int
		err := q.queryRow(ctx, `SELECT COUNT(*) FROM records WHERE instance_id = ? AND stream = ? AND record_key IN (?`+repeat(", ?", len(batch)-1)+`)`, args...).Scan(&n)
		if err != nil {
			return 0, q.mapErr(err)
		}
		known += n
	}
	return known, nil
}

const recordCols = `org_id, instance_id, stream, record_key, team_id, data, source_updated_at, first_seen_at, last_seen_at, seen_run_id, deleted_at`

func (q *queries) UpsertRecords(ctx context.Context, orgID, instanceID, stream, runID string, recs []store.Record) (int, error) {
	recs = lastOfEachKey(recs)
	inserted := 0
	err := q.inTx(ctx, func(q *queries) error {
		if err := q.ownsInstance(ctx, orgID, instanceID); err != nil {
			return err
		}
		if q.d.UpsertReturning == "" {
			known, err := q.knownKeys(ctx, instanceID, stream, recs)
			if err != nil {
				return err
			}
			inserted = len(recs) - known
		}
		at := ms(now())
		rows := max(q.d.BatchRows, 1)
		var stmt *sql.Stmt
		for start := 0; start < len(recs); start += rows {
			batch := recs[start:min(start+rows, len(recs))]
			args := make([]any, 0, len(batch)*10)
			for _, r := range batch {
				data := string(r.Data)
				if data == "" {
					data = "null"
				}
				args = append(args, orgID, instanceID, stream, r.Key, r.TeamID, data, ms(r.SourceUpdatedAt), at, at, runID)
			}
			// Full batches repeat: their statement is prepared once; the
			// last, shorter one is sent as it is.
			var use *sql.Stmt
			query := ""
			if len(batch) < rows {
				query = q.d.Placeholders(upsertRecords(len(batch)) + q.d.UpsertReturning)
			} else {
				if stmt == nil {
					var err error
					if stmt, err = q.db.PrepareContext(ctx, q.d.Placeholders(upsertRecords(rows)+q.d.UpsertReturning)); err != nil {
						return q.mapErr(err)
					}
					defer stmt.Close()
				}
				use = stmt
			}
			affected, fresh, err := q.upsertBatch(ctx, use, query, args)
			if err != nil {
				return q.mapErr(err)
			}
			inserted += fresh
			// The org_id condition keeps an upsert from touching a row of
			// another organization even if the keys collided.
			if affected != len(batch) {
				return fmt.Errorf("a record of another organization has one of these keys: %w", store.ErrConflict)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: upsert %s records: %w", stream, err)
	}
	return inserted, nil
}

// upsertBatch runs one upsert, through stmt when it is not nil: the rows it
// wrote and, where the dialect's statement says which were new
// (UpsertReturning), how many were.
func (q *queries) upsertBatch(ctx context.Context, stmt *sql.Stmt, query string, args []any) (affected, fresh int, err error) {
	if q.d.UpsertReturning == "" {
		var res sql.Result
		if stmt != nil {
			res, err = stmt.ExecContext(ctx, args...)
		} else {
			res, err = q.db.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return 0, 0, err
		}
		n, err := res.RowsAffected()
		return int(n), 0, err
	}
	var rows *sql.Rows
	if stmt != nil {
		rows, err = stmt.QueryContext(ctx, args...)
	} else {
		rows, err = q.db.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var isNew bool
		if err := rows.Scan(&isNew); err != nil {
			return 0, 0, err
		}
		affected++
		if isNew {
			fresh++
		}
	}
	return affected, fresh, rows.Err()
}

// upsertRecords is the statement that upserts n records.
func upsertRecords(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO records (` + recordCols + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)")
	}
	b.WriteString(` ON CONFLICT (instance_id, stream, record_key) DO UPDATE SET team_id = excluded.team_id, data = excluded.data,
		source_updated_at = excluded.source_updated_at, last_seen_at = excluded.last_seen_at, seen_run_id = excluded.seen_run_id, deleted_at = NULL
		WHERE records.org_id = excluded.org_id`)
	return b.String()
}

// lastOfEachKey keeps the last record of each key, in order: a page that
// names an object twice writes it once (one statement may not touch a row
// twice on PostgreSQL).
func lastOfEachKey(recs []store.Record) []store.Record {
	last := make(map[string]int, len(recs))
	for i, r := range recs {
		last[r.Key] = i
	}
	if len(last) == len(recs) {
		return recs
	}
	out := make([]store.Record, 0, len(last))
	for i, r := range recs {
		if last[r.Key] == i {
			out = append(out, r)
		}
	}
	return out
}

func (q *queries) MarkUnseen(ctx context.Context, orgID, instanceID, stream, runID string, at time.Time) (int, error) {
	r, err := q.exec(ctx, `UPDATE records SET deleted_at = ? WHERE org_id = ? AND instance_id = ? AND stream = ? AND seen_run_id <> ? AND deleted_at IS NULL`,
		ms(at), orgID, instanceID, stream, runID)
	if err != nil {
		return 0, fmt.Errorf("store: mark unseen %s records: %w", stream, err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

func (q *queries) MarkRecordDeleted(ctx context.Context, orgID, instanceID, stream, key, runID string, at time.Time) (bool, error) {
	r, err := q.exec(ctx, `UPDATE records SET deleted_at = ?, last_seen_at = ?, seen_run_id = ?
		WHERE org_id = ? AND instance_id = ? AND stream = ? AND record_key = ? AND deleted_at IS NULL`,
		ms(at), ms(at), runID, orgID, instanceID, stream, key)
	if err != nil {
		return false, fmt.Errorf("store: mark a %s record deleted: %w", stream, err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

func (q *queries) MarkTeamDeleted(ctx context.Context, orgID, instanceID, teamID string, at time.Time) (int, error) {
	if teamID == "" {
		return 0, fmt.Errorf("store: mark a workspace's records: no workspace named")
	}
	r, err := q.exec(ctx, `UPDATE records SET deleted_at = ? WHERE org_id = ? AND instance_id = ? AND team_id = ? AND deleted_at IS NULL`,
		ms(at), orgID, instanceID, teamID)
	if err != nil {
		return 0, fmt.Errorf("store: mark workspace %s's records: %w", teamID, err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

func scanRecord(r scanner) (store.Record, error) {
	var rec store.Record
	var data string
	var src, first, last, deleted sql.NullInt64
	err := r.Scan(&rec.OrgID, &rec.InstanceID, &rec.Stream, &rec.Key, &rec.TeamID, &data, &src, &first, &last, &rec.SeenRunID, &deleted)
	rec.Data = []byte(data)
	rec.SourceUpdatedAt, rec.FirstSeenAt, rec.LastSeenAt, rec.DeletedAt = fromMS(src), fromMS(first), fromMS(last), fromMS(deleted)
	return rec, err
}

func (q *queries) GetRecord(ctx context.Context, orgID, instanceID, stream, key string) (store.Record, error) {
	rec, err := scanRecord(q.queryRow(ctx, `SELECT `+recordCols+` FROM records WHERE org_id = ? AND instance_id = ? AND stream = ? AND record_key = ?`,
		orgID, instanceID, stream, key))
	if err != nil {
		return store.Record{}, fmt.Errorf("store: record: %w", q.mapErr(err))
	}
	return rec, nil
}

func (q *queries) ListRecords(ctx context.Context, orgID, instanceID, stream string, f store.RecordFilter, p store.Page) ([]store.Record, string, error) {
	where, args := `org_id = ? AND instance_id = ? AND stream = ?`, []any{orgID, instanceID, stream}
	if f.TeamID != "" {
		where, args = where+` AND team_id = ?`, append(args, f.TeamID)
	}
	if !f.IncludeDeleted {
		where += ` AND deleted_at IS NULL`
	}
	if !f.UpdatedSince.IsZero() {
		where, args = where+` AND last_seen_at >= ?`, append(args, ms(f.UpdatedSince))
	}
	if f.KeyPrefix != "" {
		// A range of the key's bytewise order, which the primary key's
		// index serves: "C1/" up to "C10".
		last := len(f.KeyPrefix) - 1
		if f.KeyPrefix[last] == 0xff {
			return nil, "", fmt.Errorf("store: a key prefix that ends in 0xff")
		}
		end := f.KeyPrefix[:last] + string([]byte{f.KeyPrefix[last] + 1})
		where, args = where+` AND record_key >= ? AND record_key < ?`, append(args, f.KeyPrefix, end)
	}
	if f.WrittenByEvents {
		where += ` AND substr(seen_run_id, 1, ` + strconv.Itoa(len(store.SlackEventIDPrefix)) + `) = '` + store.SlackEventIDPrefix + `'`
	}
	cols := recordCols
	if f.WithoutData {
		cols = strings.Replace(cols, "data", "'null' AS data", 1)
	}
	return listAfter(ctx, q, stream+" records", scanRecord, func(r store.Record) string { return r.Key }, p,
		`SELECT `+cols+` FROM records WHERE `+where+` AND record_key > ? ORDER BY record_key LIMIT ?`, args...)
}
