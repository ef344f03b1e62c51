-- Trust (SQLite; the PostgreSQL twin differs only in types):
--   * api_credentials.scopes: what a scoped API token may do (JSON list; []
--     means everything its user's role may).
--   * users.instance_id: a service identity bound to one instance (role
--     'service'), made for one named credential; deleted with the instance.
--     users.operator: may manage the hub's organizations.
--   * credentials.user_id and hint: the credential's own service identity,
--     and what is shown of its value.
--   * instances.allow_user_token: whether proxied calls may use the
--     installing user's token. On for instances whose only token is a user
--     token, off for the rest.
--   * audit_log: who (kind, credential, source IP), the outcome, and a hash
--     chain per organization (seq, prev_hash, hash); audit_heads holds each
--     chain's head, and is the row an append locks. Rows written before
--     this migration keep seq but no hash: the chain begins after them.

-- +goose Up
ALTER TABLE api_credentials ADD COLUMN scopes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN instance_id TEXT REFERENCES instances (id) ON DELETE CASCADE;
ALTER TABLE users ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;
-- The hub's first operator: the first admin of the first organization.
UPDATE users SET operator = 1 WHERE id = (SELECT u.id FROM users u WHERE u.role = 'admin'
	AND u.org_id = (SELECT MIN(id) FROM organizations) ORDER BY u.id LIMIT 1);
ALTER TABLE credentials ADD COLUMN user_id TEXT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE credentials ADD COLUMN hint TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN allow_user_token INTEGER NOT NULL DEFAULT 0;
UPDATE instances SET allow_user_token = 1 WHERE bot_token IS NULL AND user_token IS NOT NULL;

ALTER TABLE audit_log ADD COLUMN actor_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN credential_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN source_ip TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'success';
ALTER TABLE audit_log ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_log ADD COLUMN hash BLOB;
UPDATE audit_log SET seq = (SELECT COUNT(*) FROM audit_log a WHERE a.org_id = audit_log.org_id AND a.id <= audit_log.id);
CREATE UNIQUE INDEX audit_log_org_seq ON audit_log (org_id, seq);

CREATE TABLE audit_heads (
	org_id  TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	hash    BLOB,
	-- the first seq whose row is chained: rows before it predate the chain
	genesis INTEGER NOT NULL
);
INSERT INTO audit_heads (org_id, seq, hash, genesis)
	SELECT id, (SELECT COUNT(*) FROM audit_log WHERE audit_log.org_id = organizations.id), NULL,
		(SELECT COUNT(*) FROM audit_log WHERE audit_log.org_id = organizations.id) + 1
	FROM organizations;

-- +goose Down
DROP TABLE audit_heads;
DROP INDEX audit_log_org_seq;
ALTER TABLE audit_log DROP COLUMN hash;
ALTER TABLE audit_log DROP COLUMN prev_hash;
ALTER TABLE audit_log DROP COLUMN seq;
ALTER TABLE audit_log DROP COLUMN outcome;
ALTER TABLE audit_log DROP COLUMN source_ip;
ALTER TABLE audit_log DROP COLUMN credential_id;
ALTER TABLE audit_log DROP COLUMN actor_kind;
ALTER TABLE instances DROP COLUMN allow_user_token;
ALTER TABLE credentials DROP COLUMN hint;
ALTER TABLE credentials DROP COLUMN user_id;
ALTER TABLE users DROP COLUMN operator;
ALTER TABLE users DROP COLUMN instance_id;
ALTER TABLE api_credentials DROP COLUMN scopes;
