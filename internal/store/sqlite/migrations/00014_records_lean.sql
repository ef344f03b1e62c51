-- The records' index on (instance_id, stream, seen_run_id) is dropped: the
-- one query that reads seen_run_id (marking what a full walk did not see)
-- asks for "<>", which scans the stream's range of the primary key anyway,
-- and keeping the index cost every upsert a third B-tree write, moved on
-- every sync as seen_run_id changes (issue 16: 18% of the hub's CPU in a
-- full sync of 50,000 people).

-- +goose Up
DROP INDEX records_seen;

-- +goose Down
CREATE INDEX records_seen ON records (instance_id, stream, seen_run_id);
