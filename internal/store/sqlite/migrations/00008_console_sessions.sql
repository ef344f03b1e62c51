-- Console sessions in the database, so that every replica can carry a
-- browser's session on and a restart signs no one out. A session is known
-- by the SHA-256 of its ID: the ID itself, a bearer secret, is only ever in
-- the browser's cookie. The PostgreSQL twin differs where a comment says so.

-- +goose Up
-- A session signed in with an API token refers to the token of its own user
-- in its own organization: the key it refers to is (id, user_id, org_id).
-- SQLite cannot add a constraint to a table, so a unique index is the
-- parent key (PostgreSQL: a UNIQUE constraint).
CREATE UNIQUE INDEX api_credentials_id_user_org ON api_credentials (id, user_id, org_id);

CREATE TABLE console_sessions (
	id_hash          BLOB PRIMARY KEY, -- SHA-256 of the session ID (BYTEA on PostgreSQL)
	org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	user_id          TEXT NOT NULL,
	-- The API token that signed in; NULL when the Open Connectors secrets
	-- did, whose hashes are kept instead, to end the session when they
	-- change. A revoked token stays (revocation is a mark): the console
	-- loads the token on every request and ends the session then.
	credential_id    TEXT,
	user_secret_hash BLOB,
	org_secret_hash  BLOB,
	created_at       INTEGER NOT NULL, -- milliseconds since the epoch, UTC (BIGINT on PostgreSQL)
	expires_at       INTEGER NOT NULL,
	-- The one-shot message for the next page; NULL when none waits.
	flash_ok         INTEGER, -- 0 or 1 (BOOLEAN on PostgreSQL)
	flash            TEXT,
	FOREIGN KEY (user_id, org_id) REFERENCES users (id, org_id) ON DELETE CASCADE,
	-- A NULL credential_id is not checked (MATCH SIMPLE, on both dialects).
	FOREIGN KEY (credential_id, user_id, org_id) REFERENCES api_credentials (id, user_id, org_id) ON DELETE CASCADE
);
-- For the cascades from organizations and users, the token's, and the sweep.
CREATE INDEX console_sessions_user ON console_sessions (org_id, user_id);
CREATE INDEX console_sessions_credential ON console_sessions (credential_id);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
DROP INDEX api_credentials_id_user_org;
