-- connhub schema, PostgreSQL dialect. The SQLite twin is
-- internal/store/sqlite/migrations/00001_init.sql. The differences:
--   INTEGER (SQLite)  -> BIGINT  for times (milliseconds since the epoch, UTC),
--                                 versions and counters
--   INTEGER 0/1       -> BOOLEAN for flags (org_wide, last_ping_ok)
--   BYTEA              -> BYTEA   for hashes and sealed secrets
--   TEXT (JSON)       -> JSONB   for records.data, so it can be indexed and queried
-- Lists and small maps stay JSON in TEXT on both.

-- +goose Up
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

CREATE TABLE organizations (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	secret_hash BYTEA UNIQUE,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL
);

CREATE TABLE users (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	email       TEXT NOT NULL,
	name        TEXT NOT NULL,
	role        TEXT NOT NULL,
	secret_hash BYTEA UNIQUE,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	UNIQUE (id, org_id)
);
CREATE UNIQUE INDEX users_org_email ON users (org_id, email);

CREATE TABLE api_credentials (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	name         TEXT NOT NULL,
	token_hash   BYTEA NOT NULL UNIQUE,
	hint         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT,
	expires_at   BIGINT,
	revoked_at   BIGINT,
	version      BIGINT NOT NULL,
	FOREIGN KEY (user_id, org_id) REFERENCES users (id, org_id) ON DELETE CASCADE
);
CREATE INDEX api_credentials_org ON api_credentials (org_id, id);

CREATE TABLE apps (
	id             TEXT PRIMARY KEY,
	org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	client_secret  BYTEA,
	signing_secret BYTEA,
	bot_scopes     TEXT NOT NULL,
	user_scopes    TEXT NOT NULL,
	redirect_url   TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	version        BIGINT NOT NULL,
	UNIQUE (id, org_id)
);
CREATE UNIQUE INDEX apps_org_client ON apps (org_id, client_id);

CREATE TABLE instances (
	id                    TEXT PRIMARY KEY,
	org_id                TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	connector             TEXT NOT NULL,
	app_id                TEXT,
	name                  TEXT NOT NULL,
	tags                  TEXT NOT NULL,
	status                TEXT NOT NULL,
	status_reason         TEXT NOT NULL,
	edition               TEXT NOT NULL,
	team_id               TEXT NOT NULL,
	team_name             TEXT NOT NULL,
	enterprise_id         TEXT NOT NULL,
	org_wide              BOOLEAN NOT NULL,
	bot_user_id           TEXT NOT NULL,
	authed_user_id        TEXT NOT NULL,
	bot_scopes            TEXT NOT NULL,
	user_scopes           TEXT NOT NULL,
	bot_token             BYTEA,
	bot_refresh_token     BYTEA,
	bot_token_expires_at  BIGINT,
	user_token            BYTEA,
	user_refresh_token    BYTEA,
	user_token_expires_at BIGINT,
	token_version         BIGINT NOT NULL,
	instance_token_hash   BYTEA UNIQUE,
	instance_token_hint   TEXT NOT NULL,
	last_ping_at          BIGINT,
	last_ping_ok          BOOLEAN NOT NULL,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	version               BIGINT NOT NULL,
	UNIQUE (id, org_id),
	FOREIGN KEY (app_id, org_id) REFERENCES apps (id, org_id) ON DELETE RESTRICT
);
CREATE INDEX instances_org ON instances (org_id, id);

CREATE TABLE oauth_states (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	instance_id   TEXT,
	code_verifier BYTEA,
	redirect_url  TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	used_at       BIGINT,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

CREATE TABLE credentials (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	instance_id TEXT,
	description TEXT NOT NULL,
	value       BYTEA,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX credentials_org_name ON credentials (org_id, name);

CREATE TABLE sync_runs (
	id           TEXT PRIMARY KEY,
	org_id       TEXT NOT NULL,
	instance_id  TEXT NOT NULL,
	status       TEXT NOT NULL,
	trigger_kind TEXT NOT NULL,
	streams      TEXT NOT NULL,
	stats        TEXT NOT NULL,
	error        TEXT NOT NULL,
	started_at   BIGINT,
	finished_at  BIGINT,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	version      BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_instance ON sync_runs (org_id, instance_id, id);

CREATE TABLE checkpoints (
	org_id      TEXT NOT NULL,
	instance_id TEXT NOT NULL,
	stream      TEXT NOT NULL,
	run_id      TEXT NOT NULL,
	cursor      TEXT NOT NULL,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	PRIMARY KEY (instance_id, stream),
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);

CREATE TABLE records (
	org_id            TEXT NOT NULL,
	instance_id       TEXT NOT NULL,
	stream            TEXT NOT NULL,
	record_key        TEXT NOT NULL,
	team_id           TEXT NOT NULL,
	data              JSONB NOT NULL,
	source_updated_at BIGINT,
	first_seen_at     BIGINT NOT NULL,
	last_seen_at      BIGINT NOT NULL,
	seen_run_id       TEXT NOT NULL,
	deleted_at        BIGINT,
	PRIMARY KEY (instance_id, stream, record_key),
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX records_seen ON records (instance_id, stream, seen_run_id);
CREATE INDEX records_team ON records (instance_id, stream, team_id, record_key);

CREATE TABLE audit_log (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	actor_id    TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	details     TEXT NOT NULL,
	at          BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE records;
DROP TABLE checkpoints;
DROP TABLE sync_runs;
DROP TABLE credentials;
DROP TABLE oauth_states;
DROP TABLE instances;
DROP TABLE apps;
DROP TABLE api_credentials;
DROP TABLE users;
DROP TABLE organizations;
DROP TABLE meta;
