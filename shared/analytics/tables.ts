/**
 * The BigQuery datasets and tables of CloudAct, defined once. Onboarding, the demo seed,
 * the audit log, the costs function and the tests all read these definitions; nothing
 * else spells a table's schema.
 *
 * This file has no runtime imports on purpose: functions bundle it, and it must stay a
 * plain description (see `ensure.ts` for the code that applies it).
 */

/** BigQuery column types we use, by their GoogleSQL names. */
export type FieldType = 'STRING' | 'INT64' | 'NUMERIC' | 'DATE' | 'TIMESTAMP';

/** One top-level column. */
export interface FieldDefinition {
  readonly name: string;
  readonly type: FieldType;
  /** A column added to an existing table later must be NULLABLE (BigQuery cannot add REQUIRED columns). */
  readonly mode: 'REQUIRED' | 'NULLABLE';
  readonly description: string;
}

/** A day-partitioned, clustered table. */
export interface TableDefinition {
  readonly tableId: string;
  readonly description: string;
  readonly fields: readonly FieldDefinition[];
  /** The DATE or TIMESTAMP column the table is partitioned on, by day. */
  readonly partitionField: string;
  /** Up to four columns, most selective filter first (`org_slug` first where a table holds several orgs). */
  readonly clustering: readonly string[];
  /** Queries must filter on the partition column (BigQuery refuses full scans). @default false */
  readonly requirePartitionFilter?: boolean;
}

/** A dataset and the tables it must hold. */
export interface DatasetDefinition {
  readonly datasetId: string;
  readonly description: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly tables: readonly TableDefinition[];
}

/** Label on every dataset and table we create, so operators can tell ours apart. */
export const MANAGED_BY_LABEL = { managed_by: 'cloudact' } as const;

/** The dataset shared by all orgs: audit logs and pipeline run history. */
export const CENTRAL_DATASET = 'cloudact_meta';

/** Per-org datasets are `org_<slug>`. */
export const ORG_DATASET_PREFIX = 'org_';

/** The org slug rule of the API (`^[a-z][a-z0-9_]{2,39}$`); it also makes the dataset id safe to embed in SQL. */
export const ORG_SLUG_PATTERN = /^[a-z][a-z0-9_]{2,39}$/;

/**
 * The dataset id of an org. Throws on anything that is not a valid slug: the id ends up
 * inside SQL text (identifiers cannot be query parameters), so this check is what keeps
 * it safe, and it must never be skipped.
 */
export function orgDatasetId(orgSlug: string): string {
  if (!ORG_SLUG_PATTERN.test(orgSlug)) throw new Error(`Not a valid org slug: ${JSON.stringify(orgSlug)}`);
  return `${ORG_DATASET_PREFIX}${orgSlug}`;
}

/**
 * Daily LLM usage and its cost at the grain the provider reports it: one row per (day,
 * provider, model as reported, service tier, project, API key) of one pipeline's load,
 * every token class apart.
 *
 * The columns after `loaded_at` came with per-class pricing: NULLABLE, as columns added to
 * an existing table must be; `npm run bq:migrate-usage` fills them in on rows loaded before
 * (see deploy/bigquery/migrateUsage.ts).
 */
export const LLM_USAGE_DAILY: TableDefinition = {
  tableId: 'llm_usage_daily',
  description: 'Daily LLM usage and cost of one org, per provider, model, service tier, project and token class.',
  fields: [
    { name: 'usage_date', type: 'DATE', mode: 'REQUIRED', description: 'The UTC day the usage happened.' },
    { name: 'org_slug', type: 'STRING', mode: 'REQUIRED', description: 'The org (the dataset holds one org; kept for exports and unions).' },
    { name: 'provider', type: 'STRING', mode: 'REQUIRED', description: 'LLM provider, e.g. openai.' },
    { name: 'model', type: 'STRING', mode: 'REQUIRED', description: 'Model id as the provider reports it (often a dated snapshot).' },
    { name: 'requests', type: 'INT64', mode: 'REQUIRED', description: 'API requests that day (0 where the provider reports none).' },
    { name: 'input_tokens', type: 'INT64', mode: 'REQUIRED', description: 'All input tokens: the sum of the input classes.' },
    { name: 'output_tokens', type: 'INT64', mode: 'REQUIRED', description: 'All output tokens: tokens_output + tokens_output_audio.' },
    { name: 'cost_usd', type: 'NUMERIC', mode: 'REQUIRED', description: 'Our price of the row, in USD: each class at its own rate, exact to the nano-dollar.' },
    { name: 'pipeline_run_id', type: 'STRING', mode: 'NULLABLE', description: 'The pipeline run that loaded the row.' },
    { name: 'loaded_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the row was loaded.' },
    { name: 'source', type: 'STRING', mode: 'NULLABLE', description: 'The pipeline that loaded the row (openai_usage_daily, demo_usage_daily, …); a run replaces only its own.' },
    { name: 'service_tier', type: 'STRING', mode: 'NULLABLE', description: 'standard, batch, flex or priority (or the provider\'s own name for another tier).' },
    { name: 'project_id', type: 'STRING', mode: 'NULLABLE', description: 'OpenAI project or Anthropic workspace; null for none or the default workspace.' },
    { name: 'api_key_id', type: 'STRING', mode: 'NULLABLE', description: 'The provider\'s API key id, where it reports one.' },
    { name: 'tokens_input_uncached', type: 'INT64', mode: 'NULLABLE', description: 'Uncached text input tokens.' },
    { name: 'tokens_input_cached', type: 'INT64', mode: 'NULLABLE', description: 'Input tokens read from a prompt cache.' },
    { name: 'tokens_cache_write_5m', type: 'INT64', mode: 'NULLABLE', description: 'Input tokens written to a 5-minute cache.' },
    { name: 'tokens_cache_write_1h', type: 'INT64', mode: 'NULLABLE', description: 'Input tokens written to a 1-hour cache.' },
    { name: 'tokens_output', type: 'INT64', mode: 'NULLABLE', description: 'Text (and image) output tokens.' },
    { name: 'tokens_input_audio', type: 'INT64', mode: 'NULLABLE', description: 'Uncached audio input tokens.' },
    { name: 'tokens_output_audio', type: 'INT64', mode: 'NULLABLE', description: 'Audio output tokens.' },
    { name: 'tokens_input_image', type: 'INT64', mode: 'NULLABLE', description: 'Uncached image input tokens.' },
    { name: 'unpriced_tokens', type: 'INT64', mode: 'NULLABLE', description: 'Tokens no price covered (cost 0, counted).' },
    { name: 'price_entry', type: 'STRING', mode: 'NULLABLE', description: 'The price entry that priced the row (source:provider/model/match/tier/effective_from); null when none did.' },
  ],
  partitionField: 'usage_date',
  // One org per table: queries filter on dates (partitions) then group by provider/model.
  clustering: ['provider', 'model'],
  // Every reader (costs, the pipeline worker's replace) filters on usage_date; a full scan is a bug.
  requirePartitionFilter: true,
};

/** The token columns of {@link LLM_USAGE_DAILY}, by class: `tokens_<class>`. */
export const TOKEN_COLUMN_PREFIX = 'tokens_';

/**
 * What the provider itself billed, per day and cost line (OpenAI organization Costs API,
 * Anthropic cost report): shown beside our estimate, never mixed into it.
 */
export const LLM_BILLED_COST_DAILY: TableDefinition = {
  tableId: 'llm_billed_cost_daily',
  description: "The provider's own billed cost of one org, per day and cost line.",
  fields: [
    { name: 'usage_date', type: 'DATE', mode: 'REQUIRED', description: 'The UTC day billed.' },
    { name: 'org_slug', type: 'STRING', mode: 'REQUIRED', description: 'The org.' },
    { name: 'provider', type: 'STRING', mode: 'REQUIRED', description: 'The provider that billed it.' },
    { name: 'source', type: 'STRING', mode: 'REQUIRED', description: 'The pipeline that loaded the row; a run replaces only its own.' },
    { name: 'project_id', type: 'STRING', mode: 'NULLABLE', description: 'OpenAI project or Anthropic workspace, where the line names one.' },
    { name: 'model', type: 'STRING', mode: 'NULLABLE', description: 'The model, where the line names one.' },
    { name: 'service_tier', type: 'STRING', mode: 'NULLABLE', description: 'The service tier, where the line names one.' },
    { name: 'description', type: 'STRING', mode: 'NULLABLE', description: "The provider's description of the line (OpenAI line_item, Anthropic description)." },
    { name: 'billed_cost_usd', type: 'NUMERIC', mode: 'REQUIRED', description: 'The amount billed, in USD, exactly as the provider reported it.' },
    { name: 'pipeline_run_id', type: 'STRING', mode: 'NULLABLE', description: 'The pipeline run that loaded the row.' },
    { name: 'loaded_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the row was loaded.' },
  ],
  partitionField: 'usage_date',
  clustering: ['provider', 'source'],
  requirePartitionFilter: true,
};

/** One row per mutating API call, across all orgs. */
export const ORG_AUDIT_LOGS: TableDefinition = {
  tableId: 'org_audit_logs',
  description: 'Who changed what, through which function, and how it ended; one row per mutating call.',
  fields: [
    { name: 'timestamp', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the call was answered.' },
    { name: 'org_slug', type: 'STRING', mode: 'NULLABLE', description: 'The org acted on; null when the caller could not be authenticated.' },
    { name: 'actor', type: 'STRING', mode: 'REQUIRED', description: 'The API key id, "admin" for the admin token, or "anonymous".' },
    { name: 'action', type: 'STRING', mode: 'REQUIRED', description: 'METHOD and route pattern, e.g. "DELETE /v1/orgs/me/api-keys/:id".' },
    { name: 'resource', type: 'STRING', mode: 'NULLABLE', description: 'JSON object of the path parameters (and the org slug for onboarding).' },
    { name: 'outcome', type: 'STRING', mode: 'REQUIRED', description: '"success" (2xx) or "failure".' },
    { name: 'status', type: 'INT64', mode: 'REQUIRED', description: 'HTTP status of the answer.' },
    { name: 'error_code', type: 'STRING', mode: 'NULLABLE', description: 'Error code of a failed call (API.md), null on success.' },
    { name: 'request_id', type: 'STRING', mode: 'REQUIRED', description: 'X-Request-Id of the call.' },
    { name: 'function', type: 'STRING', mode: 'REQUIRED', description: 'The function that served the call.' },
  ],
  partitionField: 'timestamp',
  clustering: ['org_slug', 'function', 'action'],
};

/** Pipeline run history, one row per finished run, across all orgs. */
export const ORG_META_PIPELINE_RUNS: TableDefinition = {
  tableId: 'org_meta_pipeline_runs',
  description: 'Pipeline run history of every org (the live run state is in PostgreSQL).',
  fields: [
    { name: 'created_at', type: 'TIMESTAMP', mode: 'REQUIRED', description: 'When the run was requested.' },
    { name: 'org_slug', type: 'STRING', mode: 'REQUIRED', description: 'The org the run belongs to.' },
    { name: 'run_id', type: 'STRING', mode: 'REQUIRED', description: 'The run id (PostgreSQL pipeline_runs.id).' },
    { name: 'pipeline_id', type: 'STRING', mode: 'REQUIRED', description: 'e.g. openai_usage_daily.' },
    { name: 'run_date', type: 'DATE', mode: 'REQUIRED', description: 'The usage day the run loaded.' },
    { name: 'status', type: 'STRING', mode: 'REQUIRED', description: 'succeeded or failed.' },
    { name: 'rows_loaded', type: 'INT64', mode: 'NULLABLE', description: 'Rows written to llm_usage_daily.' },
    { name: 'error', type: 'STRING', mode: 'NULLABLE', description: 'Why a failed run failed (no secrets).' },
    { name: 'started_at', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'When the worker started the run.' },
    { name: 'finished_at', type: 'TIMESTAMP', mode: 'NULLABLE', description: 'When the run ended.' },
    // Added with the pipeline worker; NULLABLE, as columns added to an existing table must be.
    { name: 'attempt', type: 'INT64', mode: 'NULLABLE', description: 'The attempt that ended the run (one row per run and attempt).' },
    { name: 'cost_usd', type: 'NUMERIC', mode: 'NULLABLE', description: 'Cost of the rows loaded, in USD.' },
    { name: 'unpriced_rows', type: 'INT64', mode: 'NULLABLE', description: 'Rows loaded at cost 0 because their model has no price.' },
  ],
  partitionField: 'created_at',
  clustering: ['org_slug', 'pipeline_id', 'status'],
};

/** The central dataset and its tables. */
export function centralDataset(): DatasetDefinition {
  return {
    datasetId: CENTRAL_DATASET,
    description: 'CloudAct: audit logs and pipeline run history of all orgs.',
    labels: { ...MANAGED_BY_LABEL },
    tables: [ORG_AUDIT_LOGS, ORG_META_PIPELINE_RUNS],
  };
}

/** An org's dataset and its tables, labelled `{org: slug, managed_by: cloudact}`. */
export function orgDataset(orgSlug: string): DatasetDefinition {
  return {
    datasetId: orgDatasetId(orgSlug),
    description: `CloudAct usage and cost facts of org ${orgSlug}.`,
    labels: { org: orgSlug, ...MANAGED_BY_LABEL },
    tables: [LLM_USAGE_DAILY, LLM_BILLED_COST_DAILY],
  };
}

// Row shapes are type aliases, not interfaces, so they are assignable to
// `Record<string, unknown>` (what `insertRows` takes).

/** A row of `llm_usage_daily` as JSON values (NUMERIC as a decimal string). */
export type LlmUsageDailyRow = {
  usage_date: string;
  org_slug: string;
  provider: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  pipeline_run_id: string | null;
  loaded_at: string;
  source: string;
  service_tier: string;
  project_id: string | null;
  api_key_id: string | null;
  tokens_input_uncached: number;
  tokens_input_cached: number;
  tokens_cache_write_5m: number;
  tokens_cache_write_1h: number;
  tokens_output: number;
  tokens_input_audio: number;
  tokens_output_audio: number;
  tokens_input_image: number;
  unpriced_tokens: number;
  price_entry: string | null;
};

/** A row of `org_audit_logs` as it is streamed. */
export type AuditLogRow = {
  timestamp: string;
  org_slug: string | null;
  actor: string;
  action: string;
  resource: string | null;
  outcome: 'success' | 'failure';
  status: number;
  error_code: string | null;
  request_id: string;
  function: string;
};
