-- One unfinished sync run per instance, held by the database rather than by
-- a check before the insert (two replicas asked at the same moment both
-- passed the check):
--   * an instance that already has several unfinished runs (queued, running
--     or interrupted) keeps its newest; the others are marked failed, saying
--     why, so that the index can be made and the migration cannot fail on
--     them. A replica still working one of those loses its lease (the owner
--     is cleared) and stops at its next page;
--   * sync_runs_unfinished: at most one unfinished run per instance. A
--     second insert, or a resume while another run is unfinished, is a
--     unique violation (store.ErrAlreadyExists).
-- The two dialects differ only in how they say "now" in milliseconds.

-- +goose Up
UPDATE sync_runs
SET status = 'failed',
	error = 'another run of the instance was started at the same time; this one was stopped when the one-unfinished-run rule came in (migration 9): start or resume a sync',
	lease_owner = '', lease_until = NULL,
	-- SQLite: unixepoch('subsec') is seconds with a fraction.
	finished_at = CAST(unixepoch('subsec') * 1000 AS INTEGER),
	updated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER),
	version = version + 1
WHERE status IN ('queued', 'running', 'interrupted')
	AND EXISTS (SELECT 1 FROM sync_runs AS newer
		WHERE newer.org_id = sync_runs.org_id AND newer.instance_id = sync_runs.instance_id
			AND newer.status IN ('queued', 'running', 'interrupted') AND newer.id > sync_runs.id);

CREATE UNIQUE INDEX sync_runs_unfinished ON sync_runs (org_id, instance_id) WHERE status IN ('queued', 'running', 'interrupted');

-- +goose Down
DROP INDEX sync_runs_unfinished;
