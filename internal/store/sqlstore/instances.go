package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

const appCols = `id, org_id, name, client_id, client_secret, signing_secret, bot_scopes, user_scopes, redirect_url, slack_app_id, created_at, updated_at, version`

func (q *queries) scanApp(r scanner) (store.App, error) {
	var a store.App
	var secret, signing []byte
	var bot, user string
	var created, updated sql.NullInt64
	if err := r.Scan(&a.ID, &a.OrgID, &a.Name, &a.ClientID, &secret, &signing, &bot, &user, &a.RedirectURL, &a.SlackAppID, &created, &updated, &a.Version); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	var err error
	if a.ClientSecret, err = q.open("apps", a.ID, "client_secret", secret); err != nil {
		return a, err
	}
	if a.SigningSecret, err = q.open("apps", a.ID, "signing_secret", signing); err != nil {
		return a, err
	}
	if err := fromJSON(bot, &a.BotScopes); err != nil {
		return a, err
	}
	return a, fromJSON(user, &a.UserScopes)
}

// appArgs are the values of an app's mutable columns, secrets sealed.
func (q *queries) appArgs(a *store.App) ([]any, error) {
	secret, err := q.seal("apps", a.ID, "client_secret", a.ClientSecret)
	if err != nil {
		return nil, err
	}
	signing, err := q.seal("apps", a.ID, "signing_secret", a.SigningSecret)
	if err != nil {
		return nil, err
	}
	return []any{a.Name, a.ClientID, secret, signing, list(a.BotScopes), list(a.UserScopes), a.RedirectURL, a.SlackAppID}, nil
}

func (q *queries) CreateApp(ctx context.Context, a store.App) (store.App, error) {
	if a.ID == "" {
		a.ID = store.NewID("app")
	}
	a.CreatedAt, a.UpdatedAt, a.Version = now(), now(), 1
	args, err := q.appArgs(&a)
	if err != nil {
		return store.App{}, err
	}
	args = append([]any{a.ID, a.OrgID}, append(args, ms(a.CreatedAt), ms(a.UpdatedAt), a.Version)...)
	if _, err := q.exec(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return store.App{}, fmt.Errorf("store: create app: %w", err)
	}
	return a, nil
}

func (q *queries) getApp(ctx context.Context, where string, args ...any) (store.App, error) {
	a, err := q.scanApp(q.queryRow(ctx, `SELECT `+appCols+` FROM apps WHERE `+where, args...))
	if err != nil {
		return store.App{}, fmt.Errorf("store: app: %w", q.mapErr(err))
	}
	return a, nil
}

func (q *queries) GetApp(ctx context.Context, orgID, id string) (store.App, error) {
	return q.getApp(ctx, `org_id = ? AND id = ?`, orgID, id)
}

func (q *queries) AppByClientID(ctx context.Context, orgID, clientID string) (store.App, error) {
	return q.getApp(ctx, `org_id = ? AND client_id = ?`, orgID, clientID)
}

func (q *queries) ListApps(ctx context.Context, orgID string, p store.Page) ([]store.App, string, error) {
	return listAfter(ctx, q, "apps", q.scanApp, func(a store.App) string { return a.ID }, p,
		`SELECT `+appCols+` FROM apps WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?`, orgID)
}

func (q *queries) UpdateApp(ctx context.Context, orgID, id string, fn func(*store.App) error) (store.App, error) {
	return updateRow(ctx, q, "app",
		func(q *queries) (store.App, error) {
			return q.getApp(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.App, a *store.App) {
			a.ID, a.OrgID, a.CreatedAt, a.UpdatedAt = old.ID, old.OrgID, old.CreatedAt, now()
		},
		func(a *store.App) *int64 { return &a.Version },
		func(q *queries, a *store.App, v int64) error {
			args, err := q.appArgs(a)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE apps SET name = ?, client_id = ?, client_secret = ?, signing_secret = ?, bot_scopes = ?, user_scopes = ?, redirect_url = ?, slack_app_id = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				append(args, ms(a.UpdatedAt), a.Version, a.OrgID, a.ID, v)...))
		})
}

func (q *queries) AppsForEvents(ctx context.Context, slackAppID string) ([]store.App, error) {
	where, args := `1 = 1`, []any{}
	if slackAppID != "" {
		where, args = `slack_app_id = ? OR slack_app_id = ''`, []any{slackAppID}
	}
	rows, err := q.query(ctx, `SELECT `+appCols+` FROM apps WHERE `+where+` ORDER BY slack_app_id DESC, id LIMIT ?`, append(args, store.MaxEventApps)...)
	if err != nil {
		return nil, fmt.Errorf("store: apps for events: %w", q.mapErr(err))
	}
	defer rows.Close()
	var apps []store.App
	for rows.Next() {
		a, err := q.scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("store: apps for events: %w", err)
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

func (q *queries) DeleteApp(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "app", "apps", orgID, id)
}

const instanceCols = `id, org_id, connector, app_id, name, tags, status, status_reason, edition,
	team_id, team_name, enterprise_id, org_wide, bot_user_id, authed_user_id, bot_scopes, user_scopes,
	bot_token, bot_refresh_token, bot_token_expires_at, user_token, user_refresh_token, user_token_expires_at,
	token_version, instance_token_hash, instance_token, instance_token_hint, auth_method, settings, teams, refresh_lease_owner, refresh_lease_until,
	last_ping_at, last_ping_ok, last_auth_error, allow_user_token, created_at, updated_at, version`

// instanceMutable are the columns an update writes, in instanceArgs order.
const instanceMutable = `connector = ?, app_id = ?, name = ?, tags = ?, status = ?, status_reason = ?, edition = ?,
	team_id = ?, team_name = ?, enterprise_id = ?, org_wide = ?, bot_user_id = ?, authed_user_id = ?, bot_scopes = ?, user_scopes = ?,
	bot_token = ?, bot_refresh_token = ?, bot_token_expires_at = ?, user_token = ?, user_refresh_token = ?, user_token_expires_at = ?,
	token_version = ?, instance_token_hash = ?, instance_token = ?, instance_token_hint = ?, auth_method = ?, settings = ?, teams = ?,
	refresh_lease_owner = ?, refresh_lease_until = ?, last_ping_at = ?, last_ping_ok = ?, last_auth_error = ?, allow_user_token = ?`

var instanceSecrets = []string{"bot_token", "bot_refresh_token", "user_token", "user_refresh_token", "instance_token"}

func (q *queries) scanInstance(r scanner) (store.Instance, error) {
	var in store.Instance
	var appID sql.NullString
	var tags, bot, user, settings, teams string
	var sealed [5][]byte
	var botExp, userExp, lease, ping, created, updated sql.NullInt64
	err := r.Scan(&in.ID, &in.OrgID, &in.Connector, &appID, &in.Name, &tags, &in.Status, &in.StatusReason, &in.Edition,
		&in.TeamID, &in.TeamName, &in.EnterpriseID, &in.OrgWide, &in.BotUserID, &in.AuthedUserID, &bot, &user,
		&sealed[0], &sealed[1], &botExp, &sealed[2], &sealed[3], &userExp,
		&in.TokenVersion, &in.InstanceTokenHash, &sealed[4], &in.InstanceTokenHint, &in.AuthMethod, &settings, &teams, &in.RefreshLeaseOwner, &lease,
		&ping, &in.LastPingOK, &in.LastAuthError, &in.AllowUserToken, &created, &updated, &in.Version)
	if err != nil {
		return in, err
	}
	in.AppID = appID.String
	in.BotTokenExpiresAt, in.UserTokenExpiresAt, in.RefreshLeaseUntil = fromMS(botExp), fromMS(userExp), fromMS(lease)
	in.LastPingAt, in.CreatedAt, in.UpdatedAt = fromMS(ping), fromMS(created), fromMS(updated)
	if err := fromJSON(settings, &in.Settings); err != nil {
		return in, err
	}
	dst := []*string{(*string)(&in.BotToken), (*string)(&in.BotRefreshToken), (*string)(&in.UserToken), (*string)(&in.UserRefreshToken), (*string)(&in.InstanceToken)}
	for i, col := range instanceSecrets {
		v, err := q.open("instances", in.ID, col, sealed[i])
		if err != nil {
			return in, err
		}
		*dst[i] = v.Reveal()
	}
	for _, f := range []struct {
		raw string
		dst *[]string
	}{{tags, &in.Tags}, {bot, &in.BotScopes}, {user, &in.UserScopes}, {teams, &in.Teams}} {
		if err := fromJSON(f.raw, f.dst); err != nil {
			return in, err
		}
	}
	return in, nil
}

// instanceArgs are the values of an instance's mutable columns, secrets sealed.
func (q *queries) instanceArgs(in *store.Instance) ([]any, error) {
	var sealed [5]any
	for i, v := range []secrets.Secret{in.BotToken, in.BotRefreshToken, in.UserToken, in.UserRefreshToken, in.InstanceToken} {
		s, err := q.seal("instances", in.ID, instanceSecrets[i], v)
		if err != nil {
			return nil, err
		}
		sealed[i] = s
	}
	settings := "{}"
	if len(in.Settings) > 0 {
		var err error
		if settings, err = toJSON(in.Settings); err != nil {
			return nil, err
		}
	}
	authMethod := in.AuthMethod
	if authMethod == "" {
		authMethod = store.AuthOAuth
	}
	var appID any
	if in.AppID != "" {
		appID = in.AppID
	}
	return []any{in.Connector, appID, in.Name, list(in.Tags), in.Status, in.StatusReason, in.Edition,
		in.TeamID, in.TeamName, in.EnterpriseID, in.OrgWide, in.BotUserID, in.AuthedUserID, list(in.BotScopes), list(in.UserScopes),
		sealed[0], sealed[1], ms(in.BotTokenExpiresAt), sealed[2], sealed[3], ms(in.UserTokenExpiresAt),
		in.TokenVersion, nullBytes(in.InstanceTokenHash), sealed[4], in.InstanceTokenHint, authMethod, settings, list(in.Teams),
		in.RefreshLeaseOwner, ms(in.RefreshLeaseUntil), ms(in.LastPingAt), in.LastPingOK, in.LastAuthError, in.AllowUserToken}, nil
}

func (q *queries) CreateInstance(ctx context.Context, in store.Instance) (store.Instance, error) {
	if in.ID == "" {
		in.ID = store.NewID("ins")
	}
	if in.Status == "" {
		in.Status = store.StatusPending
	}
	if in.AuthMethod == "" {
		in.AuthMethod = store.AuthOAuth
	}
	in.CreatedAt, in.UpdatedAt, in.Version = now(), now(), 1
	args, err := q.instanceArgs(&in)
	if err != nil {
		return store.Instance{}, err
	}
	args = append([]any{in.ID, in.OrgID}, append(args, ms(in.CreatedAt), ms(in.UpdatedAt), in.Version)...)
	marks := "?" + repeat(", ?", len(args)-1)
	if _, err := q.exec(ctx, `INSERT INTO instances (`+instanceCols+`) VALUES (`+marks+`)`, args...); err != nil {
		return store.Instance{}, fmt.Errorf("store: create instance: %w", err)
	}
	return in, nil
}

func (q *queries) getInstance(ctx context.Context, where string, args ...any) (store.Instance, error) {
	in, err := q.scanInstance(q.lookup(ctx, `SELECT `+instanceCols+` FROM instances WHERE `+where, args...))
	if err != nil {
		return store.Instance{}, fmt.Errorf("store: instance: %w", q.mapErr(err))
	}
	return in, nil
}

func (q *queries) GetInstance(ctx context.Context, orgID, id string) (store.Instance, error) {
	return q.getInstance(ctx, `org_id = ? AND id = ?`, orgID, id)
}

func (q *queries) InstanceByTokenHash(ctx context.Context, hash []byte) (store.Instance, error) {
	return q.getInstance(ctx, `instance_token_hash = ?`, hash)
}

func (q *queries) ListInstances(ctx context.Context, orgID string, f store.InstanceFilter, p store.Page) ([]store.Instance, string, error) {
	where, args := `org_id = ?`, []any{orgID}
	if f.Connector != "" {
		where, args = where+` AND connector = ?`, append(args, f.Connector)
	}
	if f.Status != "" {
		where, args = where+` AND status = ?`, append(args, f.Status)
	}
	if f.Tag != "" {
		// Tags are a JSON list of strings; match the quoted element. The JSON
		// encoder escapes quotes and backslashes, so a tag cannot fake another.
		tag, err := toJSON(f.Tag)
		if err != nil {
			return nil, "", err
		}
		where, args = where+` AND tags LIKE ? ESCAPE '\'`, append(args, "%"+likeEscape(tag)+"%")
	}
	return listAfter(ctx, q, "instances", q.scanInstance, func(in store.Instance) string { return in.ID }, p,
		`SELECT `+instanceCols+` FROM instances WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`, args...)
}

func (q *queries) UpdateInstance(ctx context.Context, orgID, id string, fn func(*store.Instance) error) (store.Instance, error) {
	return updateRow(ctx, q, "instance",
		func(q *queries) (store.Instance, error) {
			return q.getInstance(ctx, `org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id)
		},
		fn,
		func(old store.Instance, in *store.Instance) {
			in.ID, in.OrgID, in.CreatedAt, in.UpdatedAt = old.ID, old.OrgID, old.CreatedAt, now()
			// TokenVersion is the store's to keep: it moves when the tokens do.
			in.TokenVersion = old.TokenVersion
			if in.BotToken != old.BotToken || in.UserToken != old.UserToken || in.BotRefreshToken != old.BotRefreshToken || in.UserRefreshToken != old.UserRefreshToken {
				in.TokenVersion++
			}
		},
		func(in *store.Instance) *int64 { return &in.Version },
		func(q *queries, in *store.Instance, v int64) error {
			args, err := q.instanceArgs(in)
			if err != nil {
				return err
			}
			return one(q.exec(ctx, `UPDATE instances SET `+instanceMutable+`, updated_at = ?, version = ? WHERE org_id = ? AND id = ? AND version = ?`,
				append(args, ms(in.UpdatedAt), in.Version, in.OrgID, in.ID, v)...))
		})
}

func (q *queries) ExpiringInstances(ctx context.Context, before time.Time, limit int) ([]store.InstanceRef, error) {
	// Only tokens with a refresh token can be renewed ahead of time.
	rows, err := collect(func(r scanner) (store.InstanceRef, error) {
		var ref store.InstanceRef
		err := r.Scan(&ref.OrgID, &ref.ID)
		return ref, err
	})(q.query(ctx, `SELECT org_id, id FROM instances WHERE status = ? AND (
			(bot_token_expires_at < ? AND bot_refresh_token IS NOT NULL) OR (user_token_expires_at < ? AND user_refresh_token IS NOT NULL))
		ORDER BY CASE WHEN bot_token_expires_at IS NULL THEN user_token_expires_at
			WHEN user_token_expires_at IS NULL OR bot_token_expires_at < user_token_expires_at THEN bot_token_expires_at
			ELSE user_token_expires_at END LIMIT ?`,
		store.StatusActive, ms(before), ms(before), limit))
	if err != nil {
		return nil, fmt.Errorf("store: expiring instances: %w", err)
	}
	return rows, nil
}

func (q *queries) DeleteInstance(ctx context.Context, orgID, id string) error {
	return q.deleteRow(ctx, "instance", "instances", orgID, id)
}
