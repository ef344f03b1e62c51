-- Provisioning from a directory file (internal/provision): a plan of SCIM
-- changes computed against Slack's state, its one run (applying it, on the
-- queue, by whichever replica holds the run's lease), and the outcome of
-- each change, written as it is known so that a run resumed after a crash
-- repeats nothing that was done.

-- +goose Up
CREATE TABLE provisioning_plans (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL,
	instance_id TEXT NOT NULL,
	options     TEXT NOT NULL,  -- JSON: the match key, deactivate missing, group mode, the brake
	counts      TEXT NOT NULL,  -- JSON: changes by kind
	body        TEXT NOT NULL,  -- JSON: the plan, each change as the SCIM request that makes it
	run_id      TEXT NOT NULL,  -- '' until applied: a plan is applied once
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX provisioning_plans_instance ON provisioning_plans (org_id, instance_id, id);

CREATE TABLE provisioning_runs (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL,
	instance_id TEXT NOT NULL,
	plan_id     TEXT NOT NULL REFERENCES provisioning_plans (id) ON DELETE CASCADE,
	status      TEXT NOT NULL,  -- queued, running, succeeded, failed, stopped
	reason      TEXT NOT NULL,  -- why it failed or stopped
	total       BIGINT NOT NULL,
	done        BIGINT NOT NULL,
	failed      BIGINT NOT NULL,
	skipped     BIGINT NOT NULL,
	owner       TEXT NOT NULL,  -- the replica working it now
	lease_until BIGINT,           -- until when, unless renewed
	created_by  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	started_at  BIGINT,
	finished_at BIGINT,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL,
	FOREIGN KEY (instance_id, org_id) REFERENCES instances (id, org_id) ON DELETE CASCADE
);
CREATE INDEX provisioning_runs_instance ON provisioning_runs (org_id, instance_id, id);
CREATE INDEX provisioning_runs_unfinished ON provisioning_runs (lease_until) WHERE status IN ('queued', 'running');

CREATE TABLE provisioning_outcomes (
	run_id      TEXT NOT NULL REFERENCES provisioning_runs (id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL, -- the change's index in the plan
	status      TEXT NOT NULL,    -- started (being sent: after a crash, unknown), done, failed, skipped
	slack_id    TEXT NOT NULL,    -- the user or group the change made or changed
	http_status INTEGER NOT NULL, -- Slack's answer to the last send; 0: none
	error       TEXT NOT NULL,    -- Slack's error description, for a failure
	note        TEXT NOT NULL,    -- why it was skipped, or how a done one was found done
	attempts    INTEGER NOT NULL,
	at          BIGINT NOT NULL,
	PRIMARY KEY (run_id, idx)
);

-- +goose Down
DROP TABLE provisioning_outcomes;
DROP TABLE provisioning_runs;
DROP TABLE provisioning_plans;
