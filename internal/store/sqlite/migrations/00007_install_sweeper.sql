-- The sweeper of expired installs (both dialects alike):
--   * pending instances, the only ones an expired link can leave stranded;
--   * OAuth states by instance, to tell whether any link of an instance is
--     still live (and for the cascade when an instance is deleted).

-- +goose Up
CREATE INDEX instances_pending ON instances (created_at, id) WHERE status = 'pending';
CREATE INDEX oauth_states_instance ON oauth_states (instance_id, expires_at);

-- +goose Down
DROP INDEX oauth_states_instance;
DROP INDEX instances_pending;
