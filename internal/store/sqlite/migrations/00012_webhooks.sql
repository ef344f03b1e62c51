-- Webhooks out (internal/webhooks): an organization's subscriptions to the
-- Slack events connhub received, each delivered at least once, in order of
-- receipt, by one sender at a time (a lease on the subscription's row), and
-- the delivery of each event to each subscription.

-- +goose Up
CREATE TABLE webhooks (
	id            TEXT PRIMARY KEY,
	org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	instance_id   TEXT NOT NULL,  -- '': the events of every instance of the organization
	url           TEXT NOT NULL,
	events        TEXT NOT NULL,  -- JSON list of event types, or ["*"]
	format        TEXT NOT NULL,  -- slack, standard
	secret        BLOB,          -- sealed
	status        TEXT NOT NULL,  -- active, paused
	status_reason TEXT NOT NULL,
	failing_since INTEGER,          -- the first failure of the current streak, milliseconds
	sender_owner  TEXT NOT NULL,  -- the replica sending its deliveries now
	sender_until  INTEGER,          -- until when, unless renewed
	created_by    TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	version       INTEGER NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, id);

CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY,
	org_id          TEXT NOT NULL,
	webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL,  -- slack_events.id (evt_…): the webhook-id, the same on every attempt
	event_type      TEXT NOT NULL,
	received_at     INTEGER NOT NULL, -- the event's, for the order of delivery
	status          TEXT NOT NULL,  -- pending, delivered
	attempts        INTEGER NOT NULL,
	last_status     INTEGER NOT NULL, -- the subscriber's HTTP status; 0: none
	last_error      TEXT NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	delivered_at    INTEGER,
	created_at      INTEGER NOT NULL,
	UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, status, received_at, event_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
