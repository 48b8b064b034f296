-- Up Migration
-- Budgets and their alerts (API.md, "budgets and alerts").

CREATE TABLE budgets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  -- Exact USD; the API takes at most 6 decimals.
  amount_usd numeric(20,6) NOT NULL CHECK (amount_usd > 0),
  period text NOT NULL CHECK (period IN ('month', 'quarter', 'year')),
  scope jsonb NOT NULL DEFAULT '{}'::jsonb,
  thresholds_pct integer[] NOT NULL CHECK (cardinality(thresholds_pct) BETWEEN 1 AND 10),
  forecast boolean NOT NULL DEFAULT true,
  webhook_url text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX budgets_org_id_idx ON budgets (org_id, id);

-- One row per alert ever raised. The unique key is what makes raising exactly once: every
-- evaluation inserts what it finds crossed, and only the insert that creates the row
-- delivers it — concurrent and redelivered evaluations meet at this constraint, not at a read.
CREATE TABLE budget_alerts (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  budget_id uuid NOT NULL REFERENCES budgets(id) ON DELETE CASCADE,
  period_start date NOT NULL,
  kind text NOT NULL CHECK (kind IN ('threshold', 'forecast')),
  threshold_pct integer NOT NULL,
  -- The exact body every delivery attempt sends (text, not jsonb: jsonb reorders keys, and a
  -- receiver de-duplicating or logging by body should see the same bytes each time).
  payload text NOT NULL,
  webhook_url text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failing', 'dead_lettered')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  -- Outbox mark: when the delivery message was last handed to Pub/Sub (null: not yet).
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (budget_id, period_start, threshold_pct, kind));
CREATE INDEX budget_alerts_org_created_idx ON budget_alerts (org_id, created_at DESC, id DESC);
CREATE INDEX budget_alerts_unpublished_idx ON budget_alerts (org_id, published_at) WHERE status = 'pending' AND attempts = 0;

-- Every delivery attempt, for `GET /v1/alerts`.
CREATE TABLE budget_alert_attempts (
  alert_id uuid NOT NULL REFERENCES budget_alerts(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now(),
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (alert_id, attempt));

-- The org's webhook signing secret, sealed like integration credentials (AES-256-GCM with a
-- per-record data key wrapped by the key-encryption key).
CREATE TABLE webhook_secrets (
  org_id uuid PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
  ciphertext bytea NOT NULL, iv bytea NOT NULL, auth_tag bytea NOT NULL,
  wrapped_dek bytea NOT NULL, kek_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());

-- Down Migration
DROP TABLE webhook_secrets;
DROP TABLE budget_alert_attempts;
DROP TABLE budget_alerts;
DROP TABLE budgets;
