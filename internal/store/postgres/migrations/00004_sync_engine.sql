-- The sync engine (PostgreSQL; the SQLite twin differs only in types).
--   * sync_runs: the run's options (which streams, full or incremental), the
--     progress of each stream, and the lease of the replica working it, so
--     that a run is worked by one replica and resumed when that one dies.
--   * sync_schedules: one schedule per instance: run a sync every interval.
--   * records.record_key orders bytewise (COLLATE "C"), as SQLite's BINARY
--     does, whatever the database's locale: the sync walks several streams
--     in key order side by side, and keyset pages must agree on the order.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN lease_until BIGINT;
CREATE INDEX sync_runs_status ON sync_runs (status, id);

CREATE TABLE sync_schedules (
	org_id           TEXT NOT NULL,
	instance_id      TEXT NOT NULL PRIMARY KEY,
	interval_seconds BIGINT NOT NULL,
	streams          TEXT NOT NULL,
	options          TEXT NOT NULL,
	enabled          BOOLEAN NOT NULL,
	next_run_at      BIGINT NOT NULL,
	last_run_id      TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	version          BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at) WHERE enabled;

ALTER TABLE records ALTER COLUMN record_key TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE records ALTER COLUMN record_key TYPE TEXT COLLATE "default";
DROP TABLE sync_schedules;
DROP INDEX sync_runs_status;
ALTER TABLE sync_runs DROP COLUMN lease_until;
ALTER TABLE sync_runs DROP COLUMN lease_owner;
ALTER TABLE sync_runs DROP COLUMN progress;
ALTER TABLE sync_runs DROP COLUMN options;
