-- The pacer's lanes, shared by every replica on the database, so that
-- together they stay under Slack's budget of a method in a workspace for an
-- app (internal/ratelimit, "Shared budgets"). A lane is the times of the
-- last slots handed out, at most the method's budget of them: a replica
-- leases the next few in one transaction, and a slot a budget later goes no
-- sooner than a window after it. The SQLite twin differs only in the
-- integers' type (INTEGER there); a SQLite hub paces in memory and leaves
-- the table empty.

-- +goose Up
CREATE TABLE pacer_lanes (
	key           TEXT PRIMARY KEY, -- app/workspace/method[#channel]
	ring          TEXT NOT NULL,    -- JSON array of the recent calls, each [slot, done] (done 0 until reported), milliseconds since the epoch
	blocked_until BIGINT NOT NULL,  -- no slot before this (a 429's Retry-After); milliseconds since the epoch
	expires_at    BIGINT NOT NULL   -- after this the lane constrains nothing and may be deleted
);
CREATE INDEX pacer_lanes_expires_at ON pacer_lanes (expires_at);

-- +goose Down
DROP TABLE pacer_lanes;
