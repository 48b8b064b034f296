-- Up Migration
-- Pipeline runs as the pipelines function, the worker and maintenance use them.
--
-- A run is claimed by one worker at a time with a lease: a random token and an expiry at
-- the worker's own deadline. Past its expiry the worker is gone (the platform ends an
-- invocation at its timeout), so the run may be taken over. Only runs with a live lease
-- hold one of the org's concurrency slots.
ALTER TABLE pipeline_runs
  ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  ADD COLUMN cost_usd numeric(20,6) NOT NULL DEFAULT 0,
  ADD COLUMN unpriced_rows integer NOT NULL DEFAULT 0 CHECK (unpriced_rows >= 0),
  ADD COLUMN lease_token uuid,
  ADD COLUMN lease_expires_at timestamptz,
  -- The Pub/Sub message whose delivery holds the lease. A redelivery of that same message
  -- while the lease is live means its first delivery died without answering: it must
  -- come back after the lease expires, not be acked (a duplicate message is acked).
  ADD COLUMN lease_message_id text,
  -- Outbox bookkeeping: when the run was last handed to the topic (null: never). A queued
  -- run that is old and never started is re-published by maintenance.
  ADD COLUMN published_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT pipeline_runs_lease_check CHECK ((status = 'running') = (lease_token IS NOT NULL));
ALTER TABLE pipeline_runs DROP COLUMN deadline_at;

-- One active (queued or running) run per org, pipeline and date: the 409 of API.md, held
-- by the database under any interleaving of triggers.
CREATE UNIQUE INDEX pipeline_runs_active_idx ON pipeline_runs (org_id, pipeline_id, run_date) WHERE status IN ('queued', 'running');
-- Maintenance: expired leases, and queued runs that never started.
CREATE INDEX pipeline_runs_lease_idx ON pipeline_runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX pipeline_runs_queued_idx ON pipeline_runs (created_at) WHERE status = 'queued';
-- The run list: newest first, optionally by status or pipeline.
DROP INDEX pipeline_runs_org_created_idx;
CREATE INDEX pipeline_runs_org_created_idx ON pipeline_runs (org_id, created_at DESC, id DESC);

-- Idempotency keys are a tenant's: the same key from two orgs is two keys. The first
-- answer is kept (status and body) and replayed for 24 h; `status` null means the first
-- request is still running. The table was unused until now.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  scope text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, key));
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Down Migration
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  org_id uuid REFERENCES orgs(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
DROP INDEX pipeline_runs_org_created_idx;
CREATE INDEX pipeline_runs_org_created_idx ON pipeline_runs (org_id, created_at DESC, id);
DROP INDEX pipeline_runs_queued_idx;
DROP INDEX pipeline_runs_lease_idx;
DROP INDEX pipeline_runs_active_idx;
ALTER TABLE pipeline_runs
  DROP CONSTRAINT pipeline_runs_lease_check,
  ADD COLUMN deadline_at timestamptz,
  DROP COLUMN updated_at, DROP COLUMN published_at, DROP COLUMN lease_message_id, DROP COLUMN lease_expires_at, DROP COLUMN lease_token,
  DROP COLUMN unpriced_rows, DROP COLUMN cost_usd, DROP COLUMN attempts;
