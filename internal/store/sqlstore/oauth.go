package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connhub/connhub/internal/store"
)

const stateCols = `id, org_id, instance_id, code_verifier, redirect_url, created_at, expires_at, used_at`

func (q *queries) scanState(r scanner) (store.OAuthState, error) {
	var s store.OAuthState
	var instance sql.NullString
	var verifier []byte
	var created, expires, used sql.NullInt64
	if err := r.Scan(&s.ID, &s.OrgID, &instance, &verifier, &s.RedirectURL, &created, &expires, &used); err != nil {
		return s, err
	}
	s.InstanceID = instance.String
	s.CreatedAt, s.ExpiresAt, s.UsedAt = fromMS(created), fromMS(expires), fromMS(used)
	var err error
	s.CodeVerifier, err = q.open("oauth_states", s.ID, "code_verifier", verifier)
	return s, err
}

func (q *queries) CreateOAuthState(ctx context.Context, s store.OAuthState) (store.OAuthState, error) {
	if s.ID == "" {
		s.ID = store.NewSecretID("st")
	}
	s.CreatedAt = now()
	verifier, err := q.seal("oauth_states", s.ID, "code_verifier", s.CodeVerifier)
	if err != nil {
		return store.OAuthState{}, err
	}
	var instance any
	if s.InstanceID != "" {
		instance = s.InstanceID
	}
	_, err = q.exec(ctx, `INSERT INTO oauth_states (`+stateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.OrgID, instance, verifier, s.RedirectURL, ms(s.CreatedAt), ms(s.ExpiresAt), ms(s.UsedAt))
	if err != nil {
		return store.OAuthState{}, fmt.Errorf("store: create OAuth state: %w", err)
	}
	return s, nil
}

func (q *queries) ConsumeOAuthState(ctx context.Context, id string, at time.Time) (store.OAuthState, error) {
	var out store.OAuthState
	err := q.inTx(ctx, func(q *queries) error {
		s, err := q.scanState(q.queryRow(ctx, `SELECT `+stateCols+` FROM oauth_states WHERE id = ?`+q.d.ForUpdate, id))
		if err != nil {
			return q.mapErr(err)
		}
		if !s.UsedAt.IsZero() {
			return store.ErrConflict
		}
		s.UsedAt = at.UTC().Truncate(time.Millisecond)
		if err := one(q.exec(ctx, `UPDATE oauth_states SET used_at = ? WHERE id = ? AND used_at IS NULL`, ms(s.UsedAt), id)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return store.ErrConflict
			}
			return err
		}
		out = s
		return nil
	})
	if err != nil {
		return store.OAuthState{}, fmt.Errorf("store: consume OAuth state: %w", err)
	}
	return out, nil
}

func (q *queries) DeleteExpiredOAuthStates(ctx context.Context, t time.Time) (int, error) {
	r, err := q.exec(ctx, `DELETE FROM oauth_states WHERE expires_at < ?`, ms(t))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired OAuth states: %w", err)
	}
	n, err := r.RowsAffected()
	return int(n), err
}

func (q *queries) ExpiredInstalls(ctx context.Context, t time.Time, limit int) ([]store.InstanceRef, error) {
	rows, err := collect(func(r scanner) (store.InstanceRef, error) {
		var ref store.InstanceRef
		err := r.Scan(&ref.OrgID, &ref.ID)
		return ref, err
	})(q.query(ctx,
		// The status is written out, not bound: only then do the planners use
		// the partial index instances_pending.
		`SELECT org_id, id FROM instances i WHERE status = '`+store.StatusPending+`' AND created_at < ?
		AND NOT EXISTS (SELECT 1 FROM oauth_states s WHERE s.instance_id = i.id AND s.expires_at > ?)
		ORDER BY created_at, id LIMIT ?`, ms(t), ms(t), limit))
	if err != nil {
		return nil, fmt.Errorf("store: expired installs: %w", err)
	}
	return rows, nil
}

const credentialCols = `id, org_id, name, kind, instance_id, user_id, description, value, hint, created_at, updated_at, version`

func (q *queries) scanCredential(r scanner) (store.Credential, error) {
	var c store.Credential
	var instance, user sql.NullString
	var value []byte
	var created, updated sql.NullInt64
	if err := r.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &instance, &user, &c.Description, &value, &c.Hint, &created, &updated, &c.Version); err != nil {
		return c, err
	}
	c.InstanceID, c.UserID = instance.String, user.String
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	var err error
	c.Value, err = q.open("credentials", c.ID, "value", value)
	return c, err
}

func (q *queries) credentialArgs(c *store.Credential) ([]any, error) {
	value, err := q.seal("credentials", c.ID, "value", c.Value)
	if err != nil {
		return nil, err
	}
	return []any{c.Name, c.Kind, nullString(c.InstanceID), nullString(c.UserID), c.Description, value, c.Hint}, nil
}

func (q *queries) CreateCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	if c.ID == "" {
		c.ID = store.NewID("crd")
	}
	c.CreatedAt, c.UpdatedAt, c.Version = now(), now(), 1
	args, err := q.credentialArgs(&c)
	if err != nil {
		return store.Credential{}, err
	}
	args = append([]any{c.ID, c.OrgID}, append(args, ms(c.CreatedAt), ms(c.UpdatedAt), c.Version)...)
	if _, err := q.exec(ctx, `INSERT INTO credentials (`+credentialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return store.Credential{}, fmt.Errorf("store: create credential: %w", err)
	}
	return c, nil
}

func (q *queries) getCredential(ctx context.Context, where string, args ...any) (store.Credential, error) {
	c, err := q.scanCredential(q.queryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE `+where, args...))
	if err != nil {
		return store.Credential{}, fmt.Errorf("store: credential: %w", q.mapErr(err))
	}
	return c, nil
}

func (q *queries) GetCredential(ctx context.Context, orgID, id string) (store.Credential, error) {
	return q.getCredential(ctx, `org_id = ? AND id = ?`, orgID, id)
}

func (q *queries) ListCredentials(ctx context.Context, orgID string, p store.Page) ([]store.Credential, string, error) {
	return listAfter(ctx, q, "credentials", q.scanCredential, func(c store.Credential) string { return c.ID }, p,
		`SELECT `+credentialCols+` FROM credentials WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID)
}

func (q *queries) UpdateCredential(ctx context.Context, orgID, id string, fn func(*store.Credential) error) (store.Credential, error) {
	return updateRow(ctx, q, "credential",
		func(q *queries) (store.Credential, error) {
			return q.getCredential(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.Credential, c *store.Credential) {
			c.ID, c.OrgID, c.CreatedAt, c.UpdatedAt = old.ID, old.OrgID, old.CreatedAt, now()
		},
		func(c *store.Credential) *int64 { return &c.Version },
		func(q *queries, c *store.Credential, v int64) error {
			args, err := q.credentialArgs(c)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE credentials SET name = ?, kind = ?, instance_id = ?, user_id = ?, description = ?, value = ?, hint = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				append(args, ms(c.UpdatedAt), c.Version, c.OrgID, c.ID, v)...))
		})
}

func (q *queries) DeleteCredential(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "credential", "credentials", orgID, id)
}
