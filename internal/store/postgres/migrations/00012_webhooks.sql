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
	secret        BYTEA,          -- sealed
	status        TEXT NOT NULL,  -- active, paused
	status_reason TEXT NOT NULL,
	failing_since BIGINT,          -- the first failure of the current streak, milliseconds
	sender_owner  TEXT NOT NULL,  -- the replica sending its deliveries now
	sender_until  BIGINT,          -- until when, unless renewed
	created_by    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	version       BIGINT NOT NULL
);
CREATE INDEX webhooks_org ON webhooks (org_id, id);

CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY,
	org_id          TEXT NOT NULL,
	webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        TEXT NOT NULL,  -- slack_events.id (evt_…): the webhook-id, the same on every attempt
	event_type      TEXT NOT NULL,
	received_at     BIGINT NOT NULL, -- the event's, for the order of delivery
	status          TEXT NOT NULL,  -- pending, delivered
	attempts        BIGINT NOT NULL,
	last_status     BIGINT NOT NULL, -- the subscriber's HTTP status; 0: none
	last_error      TEXT NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	delivered_at    BIGINT,
	created_at      BIGINT NOT NULL,
	UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, status, received_at, event_id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
