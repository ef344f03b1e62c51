package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connhub/connhub/internal/store"
)

const sessionCols = `id_hash, org_id, user_id, credential_id, user_secret_hash, org_secret_hash, created_at, expires_at`

// errNotAHash refuses an IDHash that is not a SHA-256: most likely the
// session ID itself, which must never be stored.
var errNotAHash = errors.New("the session's IDHash is not a SHA-256 hash")

func (q *queries) CreateConsoleSession(ctx context.Context, s store.ConsoleSession) (store.ConsoleSession, error) {
	if len(s.IDHash) != sha256.Size {
		return store.ConsoleSession{}, fmt.Errorf("store: create console session: %w", errNotAHash)
	}
	if s.ExpiresAt.IsZero() {
		return store.ConsoleSession{}, errors.New("store: create console session: it has no expiry")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC().Truncate(time.Millisecond), s.ExpiresAt.UTC().Truncate(time.Millisecond)
	s.FlashWaiting = false
	_, err := q.exec(ctx, `INSERT INTO console_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.OrgID, s.UserID, nullString(s.CredentialID), nullBytes(s.UserSecretHash), nullBytes(s.OrgSecretHash), ms(s.CreatedAt), ms(s.ExpiresAt))
	if err != nil {
		return store.ConsoleSession{}, fmt.Errorf("store: create console session: %w", err)
	}
	return s, nil
}

// GetConsoleSession is one of the lookups every request makes: prepared
// once (lookup).
func (q *queries) GetConsoleSession(ctx context.Context, idHash []byte, at time.Time) (store.ConsoleSession, error) {
	if len(idHash) != sha256.Size {
		return store.ConsoleSession{}, fmt.Errorf("store: console session: %w", store.ErrNotFound)
	}
	var s store.ConsoleSession
	var cred sql.NullString
	var created, expires sql.NullInt64
	err := q.lookup(ctx, `SELECT `+sessionCols+`, flash IS NOT NULL FROM console_sessions WHERE id_hash = ? AND expires_at > ?`, idHash, at.UnixMilli()).
		Scan(&s.IDHash, &s.OrgID, &s.UserID, &cred, &s.UserSecretHash, &s.OrgSecretHash, &created, &expires, &s.FlashWaiting)
	if err != nil {
		return store.ConsoleSession{}, fmt.Errorf("store: console session: %w", q.mapErr(err))
	}
	s.CredentialID, s.CreatedAt, s.ExpiresAt = cred.String, fromMS(created), fromMS(expires)
	return s, nil
}

func (q *queries) SetConsoleFlash(ctx context.Context, idHash []byte, f store.ConsoleFlash) error {
	if err := one(q.exec(ctx, `UPDATE console_sessions SET flash_ok = ?, flash = ? WHERE id_hash = ?`, f.OK, f.Message, idHash)); err != nil {
		return fmt.Errorf("store: set console flash: %w", err)
	}
	return nil
}

// TakeConsoleFlash reads the message under the row's lock and clears it in
// the same transaction. Not UPDATE … RETURNING: on both dialects RETURNING
// gives the row as updated (PostgreSQL before 18 has no OLD), so it would
// return the NULL just written.
func (q *queries) TakeConsoleFlash(ctx context.Context, idHash []byte) (*store.ConsoleFlash, error) {
	var out *store.ConsoleFlash
	err := q.inTx(ctx, func(q *queries) error {
		var ok sql.NullBool
		var msg sql.NullString
		err := q.queryRow(ctx, `SELECT flash_ok, flash FROM console_sessions WHERE id_hash = ?`+q.d.ForUpdate, idHash).Scan(&ok, &msg)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !msg.Valid) {
			return nil
		} else if err != nil {
			return q.mapErr(err)
		}
		if _, err := q.exec(ctx, `UPDATE console_sessions SET flash_ok = NULL, flash = NULL WHERE id_hash = ?`, idHash); err != nil {
			return err
		}
		out = &store.ConsoleFlash{OK: ok.Bool, Message: msg.String}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: take console flash: %w", err)
	}
	return out, nil
}

func (q *queries) DeleteConsoleSession(ctx context.Context, idHash []byte) error {
	if _, err := q.exec(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete console session: %w", err)
	}
	return nil
}

// DeleteExpiredConsoleSessions deletes in one statement the oldest expired
// sessions, up to limit (DELETE … LIMIT is not standard SQL: the subquery
// bounds it on both dialects).
func (q *queries) DeleteExpiredConsoleSessions(ctx context.Context, at time.Time, limit int) (int, error) {
	res, err := q.exec(ctx, `DELETE FROM console_sessions WHERE id_hash IN
		(SELECT id_hash FROM console_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, at.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete expired console sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
