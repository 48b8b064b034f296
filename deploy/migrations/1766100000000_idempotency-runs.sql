-- Up Migration
-- An Idempotency-Key remembers the run its request queued, in the transaction that queued
-- it: a retry after a lost answer (the first request died before storing it) answers with
-- that run instead of starting a second one or spending quota twice.
ALTER TABLE idempotency_keys ADD COLUMN run_id uuid;

-- Down Migration
ALTER TABLE idempotency_keys DROP COLUMN run_id;
