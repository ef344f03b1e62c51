-- Replicas' heartbeats: each running `connhub serve` says every few seconds
-- which encryption keys it holds and which one it seals with, so that
-- `connhub keys promote` and `connhub keys retire` can refuse what a live
-- replica could not follow. The PostgreSQL twin differs only in seen_at's
-- type (BIGINT there).

-- +goose Up
CREATE TABLE replicas (
	id          TEXT PRIMARY KEY,
	key_ids     TEXT NOT NULL, -- JSON array of key IDs, in key-file order
	primary_key TEXT NOT NULL,
	seen_at     INTEGER NOT NULL -- milliseconds since the epoch, UTC
);
CREATE INDEX replicas_seen_at ON replicas (seen_at);

-- +goose Down
DROP TABLE replicas;
