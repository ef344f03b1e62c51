package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

const auditCols = `id, org_id, actor_kind, actor_id, credential_id, source_ip, action, target_type, target_id, outcome, request_id, details, at, seq, prev_hash, hash`

// AppendAudit appends e to its organization's chain: it locks the chain's
// head (audit_heads), numbers the event after it, hashes it with the head's
// hash, and moves the head, all in one transaction (the caller's, when it
// runs in one).
func (q *queries) AppendAudit(ctx context.Context, e store.AuditEvent) (store.AuditEvent, error) {
	if e.ID == "" {
		e.ID = store.NewID("evt")
	}
	if e.At.IsZero() {
		e.At = now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	if e.Outcome == "" {
		e.Outcome = "success"
	}
	details := "{}"
	if len(e.Details) > 0 {
		var err error
		if details, err = toJSON(e.Details); err != nil {
			return store.AuditEvent{}, err
		}
	}
	err := q.inTx(ctx, func(q *queries) error {
		var seq int64
		var prev []byte
		err := q.queryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE org_id = ?`+q.d.ForUpdate, e.OrgID).Scan(&seq, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			// An organization made before its head was: begin its chain now.
			if _, err := q.exec(ctx, `INSERT INTO audit_heads (org_id, seq, hash, genesis) VALUES (?, 0, NULL, 1)`, e.OrgID); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		e.Seq, e.PrevHash = seq+1, prev
		e.Hash = store.AuditHash(prev, e, details)
		if _, err := q.exec(ctx, `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.OrgID, e.ActorKind, e.ActorID, e.CredentialID, e.SourceIP, e.Action, e.TargetType, e.TargetID, e.Outcome, e.RequestID,
			details, ms(e.At), e.Seq, nullBytes(e.PrevHash), e.Hash); err != nil {
			return err
		}
		return one(q.exec(ctx, `UPDATE audit_heads SET seq = ?, hash = ? WHERE org_id = ?`, e.Seq, e.Hash, e.OrgID))
	})
	if err != nil {
		return store.AuditEvent{}, fmt.Errorf("store: append audit event: %w", q.mapErr(err))
	}
	return e, nil
}

// auditRow is an event as stored, with its details as the text that was
// hashed.
type auditRow struct {
	store.AuditEvent
	details string
}

func scanAudit(r scanner) (auditRow, error) {
	var e auditRow
	var at sql.NullInt64
	if err := r.Scan(&e.ID, &e.OrgID, &e.ActorKind, &e.ActorID, &e.CredentialID, &e.SourceIP, &e.Action, &e.TargetType, &e.TargetID,
		&e.Outcome, &e.RequestID, &e.details, &at, &e.Seq, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.At = fromMS(at)
	return e, fromJSON(e.details, &e.Details)
}

// ListAudit lists an organization's events newest first; the cursor is the
// last event's Seq.
func (q *queries) ListAudit(ctx context.Context, orgID string, f store.AuditFilter, p store.Page) ([]store.AuditEvent, string, error) {
	where, args := `org_id = ?`, []any{orgID}
	if p.After != "" {
		seq, err := strconv.ParseInt(p.After, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("store: list audit events: the cursor %q is not one a list returned: %w", p.After, store.ErrNotFound)
		}
		where, args = where+` AND seq < ?`, append(args, seq)
	}
	if f.ActorID != "" {
		where, args = where+` AND actor_id = ?`, append(args, f.ActorID)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		where, args = where+` AND substr(action, 1, ?) = ?`, append(args, len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		where, args = where+` AND action = ?`, append(args, f.Action)
	}
	if f.TargetID != "" {
		where, args = where+` AND target_id = ?`, append(args, f.TargetID)
	}
	if !f.Since.IsZero() {
		where, args = where+` AND at >= ?`, append(args, ms(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = where+` AND at < ?`, append(args, ms(f.Until))
	}
	_, limit := pageArgs(p)
	rows, err := collect(scanAudit)(q.query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE `+where+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...))
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit events: %w", err)
	}
	rows, next := nextCursor(rows, p, func(e auditRow) string { return strconv.FormatInt(e.Seq, 10) })
	out := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = r.AuditEvent
	}
	return out, next, nil
}

// verifyPage is how many events VerifyAudit reads at a time.
const verifyPage = 1000

// VerifyAudit walks the chain in Seq order: every event must follow the one
// before (no gap), link to its hash, and hash to what it stores; the head
// must name the last event, so that a cut tail shows too.
func (q *queries) VerifyAudit(ctx context.Context, orgID string) (store.AuditVerification, error) {
	var v store.AuditVerification
	var headSeq, genesis int64
	var headHash []byte
	err := q.queryRow(ctx, `SELECT seq, hash, genesis FROM audit_heads WHERE org_id = ?`, orgID).Scan(&headSeq, &headHash, &genesis)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil // no event yet
	} else if err != nil {
		return v, fmt.Errorf("store: verify audit: %w", err)
	}
	broken := func(seq int64, why string) (store.AuditVerification, error) {
		v.BrokenAt, v.Reason = seq, why
		return v, nil
	}
	var last int64
	var prev []byte
	for {
		rows, err := collect(scanAudit)(q.query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?`, orgID, last, verifyPage))
		if err != nil {
			return v, fmt.Errorf("store: verify audit: %w", err)
		}
		for _, e := range rows {
			if e.Seq != last+1 {
				return broken(last+1, fmt.Sprintf("event %d is missing", last+1))
			}
			last = e.Seq
			if e.Seq < genesis {
				v.Unchained++
				continue
			}
			if !bytes.Equal(e.PrevHash, prev) {
				return broken(e.Seq, fmt.Sprintf("event %d (%s) does not link to the hash of event %d", e.Seq, e.ID, e.Seq-1))
			}
			if !bytes.Equal(e.Hash, store.AuditHash(prev, e.AuditEvent, e.details)) {
				return broken(e.Seq, fmt.Sprintf("event %d (%s) was changed after it was written", e.Seq, e.ID))
			}
			prev = e.Hash
			v.Events++
		}
		if len(rows) < verifyPage {
			break
		}
	}
	if last != headSeq || !bytes.Equal(prev, headHash) {
		return broken(last+1, fmt.Sprintf("the chain's head is event %d, but the log ends at event %d", headSeq, last))
	}
	v.Head = prev
	return v, nil
}
