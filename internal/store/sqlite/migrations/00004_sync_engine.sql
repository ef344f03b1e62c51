-- The sync engine (SQLite; the PostgreSQL twin differs in types, and orders
-- record keys bytewise, which SQLite's BINARY collation already does).
--   * sync_runs: the run's options (which streams, full or incremental), the
--     progress of each stream, and the lease of the replica working it, so
--     that a run is worked by one replica and resumed when that one dies.
--   * sync_schedules: one schedule per instance: run a sync every interval.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sync_runs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN lease_until INTEGER;
CREATE INDEX sync_runs_status ON sync_runs (status, id);

CREATE TABLE sync_schedules (
	org_id           TEXT NOT NULL,
	instance_id      TEXT NOT NULL PRIMARY KEY,
	interval_seconds INTEGER NOT NULL,
	streams          TEXT NOT NULL,
	options          TEXT NOT NULL,
	enabled          INTEGER NOT NULL,
	next_run_at      INTEGER NOT NULL,
	last_run_id      TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	version          INTEGER NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at) WHERE enabled = 1;

-- +goose Down
DROP TABLE sync_schedules;
DROP INDEX sync_runs_status;
ALTER TABLE sync_runs DROP COLUMN lease_until;
ALTER TABLE sync_runs DROP COLUMN lease_owner;
ALTER TABLE sync_runs DROP COLUMN progress;
ALTER TABLE sync_runs DROP COLUMN options;
