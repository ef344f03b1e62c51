-- The outcome of an instance's last install attempt that failed, kept apart
-- from its status: a failed re-authentication leaves an active instance
-- active, and the person who tried must still learn why it failed.

-- +goose Up
ALTER TABLE instances ADD COLUMN last_auth_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE instances DROP COLUMN last_auth_error;
