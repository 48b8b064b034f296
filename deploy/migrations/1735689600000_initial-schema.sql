-- Up Migration
-- The whole first schema. gen_random_uuid() is built into PostgreSQL 13+ (no pgcrypto).

CREATE TABLE plan_limits (
  plan text PRIMARY KEY,
  daily_pipeline_runs integer NOT NULL CHECK (daily_pipeline_runs >= 0),
  concurrent_pipelines integer NOT NULL CHECK (concurrent_pipelines >= 0));
INSERT INTO plan_limits VALUES ('free',10,1),('pro',100,3),('enterprise',1000,10);

CREATE TABLE orgs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_slug text NOT NULL UNIQUE CHECK (org_slug ~ '^[a-z][a-z0-9_]{2,39}$'),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  plan text NOT NULL REFERENCES plan_limits(plan),
  admin_email text NOT NULL,
  status text NOT NULL DEFAULT 'onboarding' CHECK (status IN ('onboarding','active','suspended')),
  bigquery_ready_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now());

CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  key_hash bytea NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz);
CREATE INDEX api_keys_org_created_idx ON api_keys (org_id, created_at, id);

CREATE TABLE usage_quotas (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  usage_date date NOT NULL,
  pipelines_run integer NOT NULL DEFAULT 0 CHECK (pipelines_run >= 0),
  PRIMARY KEY (org_id, usage_date));

CREATE TABLE pipeline_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  pipeline_id text NOT NULL, run_date date NOT NULL,
  status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
  rows_loaded bigint NOT NULL DEFAULT 0, error text,
  created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, finished_at timestamptz, deadline_at timestamptz);
CREATE INDEX pipeline_runs_org_created_idx ON pipeline_runs (org_id, created_at DESC, id);
CREATE INDEX pipeline_runs_running_idx ON pipeline_runs (org_id) WHERE status = 'running';

CREATE TABLE llm_pricing (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  provider text NOT NULL, model text NOT NULL,
  input_per_1k_usd numeric(20,10) NOT NULL CHECK (input_per_1k_usd >= 0),
  output_per_1k_usd numeric(20,10) NOT NULL CHECK (output_per_1k_usd >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, provider, model));

CREATE TABLE subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  vendor text NOT NULL, plan_name text NOT NULL,
  seats integer NOT NULL CHECK (seats >= 1),
  unit_price_usd numeric(20,4) NOT NULL CHECK (unit_price_usd >= 0),
  billing_cycle text NOT NULL CHECK (billing_cycle IN ('monthly','annual')),
  start_date date NOT NULL, end_date date,
  status text NOT NULL CHECK (status IN ('active','cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date IS NULL OR end_date >= start_date));
CREATE INDEX subscriptions_org_id_idx ON subscriptions (org_id, id);
CREATE INDEX subscriptions_org_status_idx ON subscriptions (org_id, status, id);

CREATE TABLE integrations (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  provider text NOT NULL,
  status text NOT NULL CHECK (status IN ('stored','valid','invalid')),
  fingerprint text NOT NULL,
  ciphertext bytea NOT NULL, iv bytea NOT NULL, auth_tag bytea NOT NULL,
  wrapped_dek bytea NOT NULL, kek_id text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(), last_validated_at timestamptz,
  PRIMARY KEY (org_id, provider));

CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  org_id uuid REFERENCES orgs(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Down Migration
-- Children before parents, so no CASCADE is needed and nothing unexpected is dropped.
DROP TABLE idempotency_keys;
DROP TABLE integrations;
DROP TABLE subscriptions;
DROP TABLE llm_pricing;
DROP TABLE pipeline_runs;
DROP TABLE usage_quotas;
DROP TABLE api_keys;
DROP TABLE orgs;
DROP TABLE plan_limits;
