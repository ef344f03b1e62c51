-- Instance lifecycle (SQLite; the PostgreSQL twin differs only in types).
--   * viewable credentials: the instance token, and the Open Connectors user and
--     organization secrets, are kept sealed beside their hashes so that an admin
--     can view them ("View Token") and hand them to integration tools; the hashes
--     stay the way requests are authenticated.
--   * instances: how they were made, settings, the workspaces of an org-wide
--     install, and the refresh lease that makes replicas refresh a token once.

-- +goose Up
ALTER TABLE organizations ADD COLUMN secret BLOB;
ALTER TABLE users ADD COLUMN secret BLOB;
ALTER TABLE instances ADD COLUMN instance_token BLOB;
ALTER TABLE instances ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'oauth2';
ALTER TABLE instances ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE instances ADD COLUMN teams TEXT NOT NULL DEFAULT '[]';
ALTER TABLE instances ADD COLUMN refresh_lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN refresh_lease_until INTEGER;
CREATE INDEX instances_bot_expiry ON instances (bot_token_expires_at) WHERE status = 'active';
CREATE INDEX instances_user_expiry ON instances (user_token_expires_at) WHERE status = 'active';

-- +goose Down
DROP INDEX instances_user_expiry;
DROP INDEX instances_bot_expiry;
ALTER TABLE instances DROP COLUMN refresh_lease_until;
ALTER TABLE instances DROP COLUMN refresh_lease_owner;
ALTER TABLE instances DROP COLUMN teams;
ALTER TABLE instances DROP COLUMN settings;
ALTER TABLE instances DROP COLUMN auth_method;
ALTER TABLE instances DROP COLUMN instance_token;
ALTER TABLE users DROP COLUMN secret;
ALTER TABLE organizations DROP COLUMN secret;
