package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/connhub/connhub/internal/store"
)

const orgCols = `id, name, secret_hash, secret, created_at, updated_at, version`

func (q *queries) scanOrg(r scanner) (store.Organization, error) {
	var o store.Organization
	var secret []byte
	var created, updated sql.NullInt64
	if err := r.Scan(&o.ID, &o.Name, &o.SecretHash, &secret, &created, &updated, &o.Version); err != nil {
		return o, err
	}
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	var err error
	o.Secret, err = q.open("organizations", o.ID, "secret", secret)
	return o, err
}

func (q *queries) CreateOrganization(ctx context.Context, o store.Organization) (store.Organization, error) {
	if o.ID == "" {
		o.ID = store.NewID("org")
	}
	o.CreatedAt, o.UpdatedAt, o.Version = now(), now(), 1
	secret, err := q.seal("organizations", o.ID, "secret", o.Secret)
	if err != nil {
		return store.Organization{}, err
	}
	// The organization and the head of its audit chain, together.
	err = q.inTx(ctx, func(q *queries) error {
		if _, err := q.exec(ctx, `INSERT INTO organizations (`+orgCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.Name, nullBytes(o.SecretHash), secret, ms(o.CreatedAt), ms(o.UpdatedAt), o.Version); err != nil {
			return err
		}
		_, err := q.exec(ctx, `INSERT INTO audit_heads (org_id, seq, hash, genesis) VALUES (?, 0, NULL, 1)`, o.ID)
		return err
	})
	if err != nil {
		return store.Organization{}, fmt.Errorf("store: create organization: %w", err)
	}
	return o, nil
}

func (q *queries) getOrg(ctx context.Context, where string, args ...any) (store.Organization, error) {
	o, err := q.scanOrg(q.lookup(ctx, `SELECT `+orgCols+` FROM organizations WHERE `+where, args...))
	if err != nil {
		return store.Organization{}, fmt.Errorf("store: organization: %w", q.mapErr(err))
	}
	return o, nil
}

func (q *queries) GetOrganization(ctx context.Context, id string) (store.Organization, error) {
	return q.getOrg(ctx, `id = ?`, id)
}

func (q *queries) OrganizationBySecretHash(ctx context.Context, hash []byte) (store.Organization, error) {
	return q.getOrg(ctx, `secret_hash = ?`, hash)
}

func (q *queries) ListOrganizations(ctx context.Context, p store.Page) ([]store.Organization, string, error) {
	return listAfter(ctx, q, "organizations", q.scanOrg, func(o store.Organization) string { return o.ID }, p,
		`SELECT `+orgCols+` FROM organizations WHERE id > ? ORDER BY id LIMIT ?`)
}

func (q *queries) UpdateOrganization(ctx context.Context, id string, fn func(*store.Organization) error) (store.Organization, error) {
	return updateRow(ctx, q, "organization",
		func(q *queries) (store.Organization, error) { return q.getOrg(ctx, `id = ?`+q.d.ForUpdate, id) },
		fn,
		func(old store.Organization, o *store.Organization) {
			o.ID, o.CreatedAt, o.UpdatedAt = old.ID, old.CreatedAt, now()
		},
		func(o *store.Organization) *int64 { return &o.Version },
		func(q *queries, o *store.Organization, v int64) error {
			secret, err := q.seal("organizations", o.ID, "secret", o.Secret)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE organizations SET name = ?, secret_hash = ?, secret = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?`,
				o.Name, nullBytes(o.SecretHash), secret, ms(o.UpdatedAt), o.Version, o.ID, v))
		})
}

func (q *queries) DeleteOrganization(ctx context.Context, id string) error {
	if err := one(q.exec(ctx, `DELETE FROM organizations WHERE id = ?`, id)); err != nil {
		return fmt.Errorf("store: delete organization: %w", err)
	}
	return nil
}

const userCols = `id, org_id, email, name, role, instance_id, operator, secret_hash, secret, created_at, updated_at, version`

func (q *queries) scanUser(r scanner) (store.User, error) {
	var u store.User
	var secret []byte
	var instance sql.NullString
	var created, updated sql.NullInt64
	if err := r.Scan(&u.ID, &u.OrgID, &u.Email, &u.Name, &u.Role, &instance, &u.Operator, &u.SecretHash, &secret, &created, &updated, &u.Version); err != nil {
		return u, err
	}
	u.InstanceID = instance.String
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	var err error
	u.Secret, err = q.open("users", u.ID, "secret", secret)
	return u, err
}

func (q *queries) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	if u.ID == "" {
		u.ID = store.NewID("usr")
	}
	if u.Role == "" {
		u.Role = store.RoleMember
	}
	u.CreatedAt, u.UpdatedAt, u.Version = now(), now(), 1
	secret, err := q.seal("users", u.ID, "secret", u.Secret)
	if err != nil {
		return store.User{}, err
	}
	_, err = q.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Email, u.Name, u.Role, nullString(u.InstanceID), u.Operator, nullBytes(u.SecretHash), secret, ms(u.CreatedAt), ms(u.UpdatedAt), u.Version)
	if err != nil {
		return store.User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

func (q *queries) getUser(ctx context.Context, where string, args ...any) (store.User, error) {
	u, err := q.scanUser(q.lookup(ctx, `SELECT `+userCols+` FROM users WHERE `+where, args...))
	if err != nil {
		return store.User{}, fmt.Errorf("store: user: %w", q.mapErr(err))
	}
	return u, nil
}

func (q *queries) GetUser(ctx context.Context, orgID, id string) (store.User, error) {
	return q.getUser(ctx, `org_id = ? AND id = ?`, orgID, id)
}

func (q *queries) UserBySecretHash(ctx context.Context, orgID string, hash []byte) (store.User, error) {
	return q.getUser(ctx, `org_id = ? AND secret_hash = ?`, orgID, hash)
}

func (q *queries) ListUsers(ctx context.Context, orgID string, p store.Page) ([]store.User, string, error) {
	return listAfter(ctx, q, "users", q.scanUser, func(u store.User) string { return u.ID }, p,
		`SELECT `+userCols+` FROM users WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID)
}

func (q *queries) UpdateUser(ctx context.Context, orgID, id string, fn func(*store.User) error) (store.User, error) {
	return updateRow(ctx, q, "user",
		func(q *queries) (store.User, error) {
			return q.getUser(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.User, u *store.User) {
			// A service identity stays bound to its instance.
			u.ID, u.OrgID, u.InstanceID, u.CreatedAt, u.UpdatedAt = old.ID, old.OrgID, old.InstanceID, old.CreatedAt, now()
		},
		func(u *store.User) *int64 { return &u.Version },
		func(q *queries, u *store.User, v int64) error {
			secret, err := q.seal("users", u.ID, "secret", u.Secret)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE users SET email = ?, name = ?, role = ?, operator = ?, secret_hash = ?, secret = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				u.Email, u.Name, u.Role, u.Operator, nullBytes(u.SecretHash), secret, ms(u.UpdatedAt), u.Version, u.OrgID, u.ID, v))
		})
}

func (q *queries) DeleteUser(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "user", "users", orgID, id)
}

const credCols = `id, org_id, user_id, name, token_hash, hint, scopes, created_at, last_used_at, expires_at, revoked_at, version`

func scanAPICredential(r scanner) (store.APICredential, error) {
	var c store.APICredential
	var created, used, expires, revoked sql.NullInt64
	var scopes string
	if err := r.Scan(&c.ID, &c.OrgID, &c.UserID, &c.Name, &c.TokenHash, &c.Hint, &scopes, &created, &used, &expires, &revoked, &c.Version); err != nil {
		return c, err
	}
	c.CreatedAt, c.LastUsedAt, c.ExpiresAt, c.RevokedAt = fromMS(created), fromMS(used), fromMS(expires), fromMS(revoked)
	return c, fromJSON(scopes, &c.Scopes)
}

func (q *queries) CreateAPICredential(ctx context.Context, c store.APICredential) (store.APICredential, error) {
	if c.ID == "" {
		c.ID = store.NewID("key")
	}
	c.CreatedAt, c.Version = now(), 1
	_, err := q.exec(ctx, `INSERT INTO api_credentials (`+credCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.OrgID, c.UserID, c.Name, c.TokenHash, c.Hint, list(c.Scopes), ms(c.CreatedAt), ms(c.LastUsedAt), ms(c.ExpiresAt), ms(c.RevokedAt), c.Version)
	if err != nil {
		return store.APICredential{}, fmt.Errorf("store: create API credential: %w", err)
	}
	return c, nil
}

func (q *queries) getAPICredential(ctx context.Context, where string, args ...any) (store.APICredential, error) {
	c, err := scanAPICredential(q.lookup(ctx, `SELECT `+credCols+` FROM api_credentials WHERE `+where, args...))
	if err != nil {
		return store.APICredential{}, fmt.Errorf("store: API credential: %w", q.mapErr(err))
	}
	return c, nil
}

func (q *queries) GetAPICredential(ctx context.Context, orgID, id string) (store.APICredential, error) {
	return q.getAPICredential(ctx, `org_id = ? AND id = ?`, orgID, id)
}

func (q *queries) APICredentialByTokenHash(ctx context.Context, hash []byte) (store.APICredential, error) {
	return q.getAPICredential(ctx, `token_hash = ?`, hash)
}

func (q *queries) ListAPICredentials(ctx context.Context, orgID string, p store.Page) ([]store.APICredential, string, error) {
	return listAfter(ctx, q, "API credentials", scanAPICredential, func(c store.APICredential) string { return c.ID }, p,
		`SELECT `+credCols+` FROM api_credentials WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID)
}

func (q *queries) UpdateAPICredential(ctx context.Context, orgID, id string, fn func(*store.APICredential) error) (store.APICredential, error) {
	return updateRow(ctx, q, "API credential",
		func(q *queries) (store.APICredential, error) {
			return q.getAPICredential(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.APICredential, c *store.APICredential) {
			// What a token may do is fixed when it is made.
			c.ID, c.OrgID, c.UserID, c.TokenHash, c.Scopes, c.CreatedAt = old.ID, old.OrgID, old.UserID, old.TokenHash, old.Scopes, old.CreatedAt
		},
		func(c *store.APICredential) *int64 { return &c.Version },
		func(q *queries, c *store.APICredential, v int64) error {
			return one(q.exec(ctx, `UPDATE api_credentials SET name = ?, hint = ?, last_used_at = ?, expires_at = ?, revoked_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				c.Name, c.Hint, ms(c.LastUsedAt), ms(c.ExpiresAt), ms(c.RevokedAt), c.Version, c.OrgID, c.ID, v))
		})
}

func (q *queries) DeleteAPICredential(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "API credential", "api_credentials", orgID, id)
}
