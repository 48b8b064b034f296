-- Up Migration
-- Cost truth: prices per 1M tokens, per token class and service tier, effective-dated, with
-- `exact` or `snapshots` matching of the model id (API.md, pricing). The shipped catalogue
-- is data in the repository (shared/pricing/catalogueEntries.ts); this table holds only the
-- org's own entries, which override it.
CREATE TABLE llm_prices (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  provider text NOT NULL,
  model text NOT NULL,
  service_tier text NOT NULL DEFAULT 'standard' CHECK (service_tier IN ('standard', 'batch', 'flex', 'priority')),
  effective_from date NOT NULL DEFAULT DATE '1970-01-01',
  match text NOT NULL DEFAULT 'snapshots' CHECK (match IN ('exact', 'snapshots')),
  -- USD per 1M tokens, exact: up to 10 decimals (a per-1k price of numeric(20,10) × 1000 fits).
  input numeric(24,10) NOT NULL CHECK (input >= 0),
  output numeric(24,10) NOT NULL CHECK (output >= 0),
  cached_input numeric(24,10) CHECK (cached_input >= 0),
  cache_write_5m numeric(24,10) CHECK (cache_write_5m >= 0),
  cache_write_1h numeric(24,10) CHECK (cache_write_1h >= 0),
  input_audio numeric(24,10) CHECK (input_audio >= 0),
  output_audio numeric(24,10) CHECK (output_audio >= 0),
  input_image numeric(24,10) CHECK (input_image >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, provider, model, service_tier, effective_from));

-- Existing org prices: per 1k → per 1M (exact: × 1000), in force since always, pricing the
-- model's dated snapshots too, standard tier. Every existing price covered input and output only.
INSERT INTO llm_prices (org_id, provider, model, service_tier, effective_from, match, input, output, updated_at)
SELECT org_id, provider, model, 'standard', DATE '1970-01-01', 'snapshots', input_per_1k_usd * 1000, output_per_1k_usd * 1000, updated_at
  FROM llm_pricing;

DROP TABLE llm_pricing;

-- A run's cost is exact to the nano-dollar, like the rows it loaded (BigQuery NUMERIC's scale).
ALTER TABLE pipeline_runs ALTER COLUMN cost_usd TYPE numeric(38,9);

-- Down Migration
ALTER TABLE pipeline_runs ALTER COLUMN cost_usd TYPE numeric(20,6);

CREATE TABLE llm_pricing (
  org_id uuid NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  provider text NOT NULL, model text NOT NULL,
  input_per_1k_usd numeric(20,10) NOT NULL CHECK (input_per_1k_usd >= 0),
  output_per_1k_usd numeric(20,10) NOT NULL CHECK (output_per_1k_usd >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, provider, model));

-- Only what the old table can hold: standard, in-force-since-always entries, per 1k.
INSERT INTO llm_pricing (org_id, provider, model, input_per_1k_usd, output_per_1k_usd, updated_at)
SELECT org_id, provider, model, round(input / 1000, 10), round(output / 1000, 10), updated_at
  FROM llm_prices
 WHERE service_tier = 'standard' AND effective_from = DATE '1970-01-01';

DROP TABLE llm_prices;
