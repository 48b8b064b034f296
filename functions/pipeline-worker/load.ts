import { ensureTable, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, orgDataset, orgDatasetId } from '../../shared/analytics/index.js';
import { dateParam, getBigQuery, runQuery } from '../../shared/bigquery/index.js';
import { BoundedCache } from '../../shared/cache/index.js';
import { formatUsd, parseUsd } from '../../shared/money/index.js';
import type { PricedUsageRow } from '../../shared/pricing/index.js';
import { INPUT_CLASSES, OUTPUT_CLASSES, sumClasses, type BilledRow } from '../../shared/usage/index.js';

/** Rows per INSERT statement: keeps each array parameter well inside BigQuery's request limits. */
const ROWS_PER_STATEMENT = 2_000;

export interface ReplaceDay {
  orgSlug: string;
  date: string;
  runId: string;
  /** The pipeline loading the day (`openai_usage_daily`, `demo_usage_daily`, …): only its own rows are replaced. */
  source: string;
  rows: readonly PricedUsageRow[];
  /** The provider's billed lines of the day; null: no figure this time, the rows loaded before stay. */
  billed: readonly BilledRow[] | null;
}

/** The usage row's struct as it goes into the statement: NUMERIC as text, CAST in SQL. */
const USAGE_STRUCT = {
  provider: 'STRING',
  model: 'STRING',
  service_tier: 'STRING',
  project_id: 'STRING',
  api_key_id: 'STRING',
  requests: 'INT64',
  input_tokens: 'INT64',
  output_tokens: 'INT64',
  tokens_input_uncached: 'INT64',
  tokens_input_cached: 'INT64',
  tokens_cache_write_5m: 'INT64',
  tokens_cache_write_1h: 'INT64',
  tokens_output: 'INT64',
  tokens_input_audio: 'INT64',
  tokens_output_audio: 'INT64',
  tokens_input_image: 'INT64',
  unpriced_tokens: 'INT64',
  price_entry: 'STRING',
  cost_usd: 'STRING',
} as const;

const BILLED_STRUCT = { provider: 'STRING', project_id: 'STRING', model: 'STRING', service_tier: 'STRING', description: 'STRING', billed_cost_usd: 'STRING' } as const;

function usageStruct(r: PricedUsageRow): Record<keyof typeof USAGE_STRUCT, unknown> {
  return {
    provider: r.provider,
    model: r.model,
    service_tier: r.service_tier,
    project_id: r.project_id,
    api_key_id: r.api_key_id,
    requests: r.requests,
    input_tokens: sumClasses(r.tokens, INPUT_CLASSES),
    output_tokens: sumClasses(r.tokens, OUTPUT_CLASSES),
    tokens_input_uncached: r.tokens.input_uncached,
    tokens_input_cached: r.tokens.input_cached,
    tokens_cache_write_5m: r.tokens.cache_write_5m,
    tokens_cache_write_1h: r.tokens.cache_write_1h,
    tokens_output: r.tokens.output,
    tokens_input_audio: r.tokens.input_audio,
    tokens_output_audio: r.tokens.output_audio,
    tokens_input_image: r.tokens.input_image,
    unpriced_tokens: r.unpriced_tokens,
    price_entry: r.price_entry,
    cost_usd: r.cost_usd,
  };
}

const USAGE_COLUMNS = Object.keys(USAGE_STRUCT).filter((c) => c !== 'cost_usd');

/**
 * Replaces one pipeline's rows of one day — usage in `llm_usage_daily` and, when the fetch
 * brought a billed figure, the provider's bill in `llm_billed_cost_daily` — as one BigQuery
 * multi-statement transaction: DELETE (that day, that `source`) then INSERT … FROM
 * UNNEST(@rows), committed together. Another pipeline's rows are never touched: the demo
 * never deletes real data, and a real provider's run never deletes the demo's.
 *
 * After any number of re-runs and redeliveries exactly one copy of the day's rows exists; a
 * crash mid-load leaves the old rows or the new ones, never a mix (an uncommitted
 * transaction is rolled back). DML, never streaming inserts: rows in the streaming buffer
 * cannot be deleted for up to ~30 minutes, so a re-run shortly after would fail or double.
 */
export async function replaceDay({ orgSlug, date, runId, source, rows, billed }: ReplaceDay): Promise<void> {
  await ensureOrgTables(orgSlug);
  const dataset = orgDatasetId(orgSlug);
  const usage = `\`${dataset}.${LLM_USAGE_DAILY.tableId}\``;
  const bill = `\`${dataset}.${LLM_BILLED_COST_DAILY.tableId}\``;
  const params: Record<string, unknown> = { date: await dateParam(date), org: orgSlug, run_id: runId, source };
  const types: Record<string, unknown> = { date: 'DATE', org: 'STRING', run_id: 'STRING', source: 'STRING' };
  const statements = ['BEGIN TRANSACTION;', `DELETE FROM ${usage} WHERE usage_date = @date AND source = @source;`];
  for (let start = 0, n = 0; start < rows.length; start += ROWS_PER_STATEMENT, n += 1) {
    const name = `rows_${n}`;
    params[name] = rows.slice(start, start + ROWS_PER_STATEMENT).map(usageStruct);
    types[name] = [USAGE_STRUCT];
    statements.push(
      `INSERT INTO ${usage} (usage_date, org_slug, source, ${USAGE_COLUMNS.join(', ')}, cost_usd, pipeline_run_id, loaded_at)
       SELECT @date, @org, @source, ${USAGE_COLUMNS.map((c) => `r.${c}`).join(', ')}, CAST(r.cost_usd AS NUMERIC), @run_id, CURRENT_TIMESTAMP()
         FROM UNNEST(@${name}) AS r;`,
    );
  }
  if (billed !== null) {
    statements.push(`DELETE FROM ${bill} WHERE usage_date = @date AND source = @source;`);
    if (billed.length > 0) {
      params.billed = billed.map((b) => ({
        provider: b.provider,
        project_id: b.project_id,
        model: b.model,
        service_tier: b.service_tier,
        description: b.description,
        // Through the codec: a provider's amount text becomes NUMERIC's 9 decimals exactly.
        billed_cost_usd: formatUsd(parseUsd(b.amount_usd)),
      }));
      types.billed = [BILLED_STRUCT];
      statements.push(
        `INSERT INTO ${bill} (usage_date, org_slug, source, provider, project_id, model, service_tier, description, billed_cost_usd, pipeline_run_id, loaded_at)
         SELECT @date, @org, @source, b.provider, b.project_id, b.model, b.service_tier, b.description, CAST(b.billed_cost_usd AS NUMERIC), @run_id, CURRENT_TIMESTAMP()
           FROM UNNEST(@billed) AS b;`,
      );
    }
  }
  statements.push('COMMIT TRANSACTION;');
  await runQuery({ sql: statements.join('\n'), params, types, tier: 'batch', labels: { pipeline_run: runId } });
}

/**
 * Orgs whose tables this instance has brought to their definitions, bounded. An org
 * onboarded before per-class pricing has a `llm_usage_daily` without the new columns and no
 * billed table: `ensureTable` adds the columns (NULLABLE, in place) and creates the table,
 * idempotently, once per org and instance. The dataset itself was made by onboarding (and
 * is not ours to move): only its tables are ensured.
 */
const ensured = new BoundedCache<true>({ name: 'pipeline-worker.ensured_tables', maxEntries: 10_000, ttlMs: 3_600_000 });

async function ensureOrgTables(orgSlug: string): Promise<void> {
  if (ensured.get(orgSlug) !== undefined) return;
  const bq = await getBigQuery();
  const def = orgDataset(orgSlug);
  for (const table of def.tables) await ensureTable(bq, def.datasetId, table, def.labels);
  ensured.set(orgSlug, true);
}
