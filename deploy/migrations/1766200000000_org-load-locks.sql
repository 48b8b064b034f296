-- Up Migration
-- One lease per org on its BigQuery usage tables. BigQuery aborts one of two concurrent
-- multi-statement transactions that modify the same table ("Transaction is aborted due to
-- concurrent update against table …"; the conflict is per table, not per partition), and
-- every load of an org replaces rows of the same `llm_usage_daily` in one. So the worker
-- holds this lease around each load: taken by one statement (INSERT … ON CONFLICT DO UPDATE
-- … WHERE expires_at <= now()), released by deleting the row, and lapsing by itself at
-- `expires_at` (the budget of the load it guards) when its holder died. No connection is
-- held while the lease is: a waiter polls.
CREATE TABLE org_load_locks (
  org_id uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  holder uuid NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL);

-- Down Migration
DROP TABLE org_load_locks;
