-- Slack's Events API, received (internal/events): every app's events come to
-- one Request URL, are verified with the app's signing secret, and are kept
-- here, deduplicated by Slack's event_id, before they are acknowledged. An
-- app learns which Slack app it is (Slack's api_app_id, A…) from its first
-- install or its first verified event. The body is Slack's envelope as it
-- came, less its deprecated verification token.

-- +goose Up
ALTER TABLE apps ADD COLUMN slack_app_id TEXT NOT NULL DEFAULT '';
CREATE INDEX apps_slack_app_id ON apps (slack_app_id);

CREATE TABLE slack_events (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	app_id        TEXT NOT NULL,  -- the app (apps.id) whose signing secret verified it
	event_id      TEXT NOT NULL,  -- Slack's, Ev…: the same on every retry of a delivery
	type          TEXT NOT NULL,  -- the inner event's type: user_change, message, …
	team_id       TEXT NOT NULL,
	enterprise_id TEXT NOT NULL,
	event_time    BIGINT NOT NULL, -- Slack's event_time, milliseconds since the epoch
	received_at   BIGINT NOT NULL,
	deliveries    BIGINT NOT NULL, -- how many times Slack delivered it (retries are duplicates)
	body          TEXT NOT NULL,
	status        TEXT NOT NULL,  -- received, processed, unrouted (no instance of ours), failed
	error         TEXT NOT NULL,
	processed_at  BIGINT,
	UNIQUE (app_id, event_id)
);
CREATE INDEX slack_events_org_received ON slack_events (org_id, received_at, id);
-- The events not processed yet: the sweep's, and what a webhook's sender
-- waits on before it overtakes one.
CREATE INDEX slack_events_unprocessed ON slack_events (org_id, received_at, id) WHERE status = 'received';
CREATE INDEX slack_events_unprocessed_id ON slack_events (id) WHERE status = 'received';

-- The instances an event belongs to (an org-wide install gets its
-- workspaces' events; a workspace may have several instances of one app).
CREATE TABLE slack_event_instances (
	event_id    TEXT NOT NULL REFERENCES slack_events (id) ON DELETE CASCADE,
	org_id      TEXT NOT NULL,
	instance_id TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (event_id, instance_id)
);
CREATE INDEX slack_event_instances_instance ON slack_event_instances (org_id, instance_id, received_at, event_id);

-- +goose Down
DROP TABLE slack_event_instances;
DROP TABLE slack_events;
DROP INDEX apps_slack_app_id;
ALTER TABLE apps DROP COLUMN slack_app_id;
