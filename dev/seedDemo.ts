/**
 * Deterministic demo LLM usage for the local stack: 90 days of a few providers and models
 * in `org_<slug>.llm_usage_daily`.
 *
 *   npm run seed:demo          (reads .local/stack.json: the BigQuery URL and the demo org)
 *
 * The local stack calls {@link seedDemoUsage} on first start. Running it again stores
 * nothing twice: rows already in the table are skipped (that survives endpoint restarts,
 * which BigQuery-style insertId de-duplication does not), and every row carries the
 * insertId `insertIdFor(org, date, provider, model)`, so a retried or concurrent insert is
 * de-duplicated too.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { isMain } from '../deploy/isMain.js';
import { ensureDatasetDefinition, LLM_USAGE_DAILY, orgDataset, orgDatasetId, type LlmUsageDailyRow } from '../shared/analytics/index.js';
import { bigQueryConfig, getBigQuery, insertIdFor, parseBigQueryConfig } from '../shared/bigquery/index.js';
import { DEMO_PIPELINE_ID, demoUsageForDay } from '../shared/demo/index.js';
import { catalogueEntries, priceUsage } from '../shared/pricing/index.js';
import { INPUT_CLASSES, OUTPUT_CLASSES, sumClasses } from '../shared/usage/index.js';
import { localBigQueryOptions } from './bigquery/index.js';

/** The `pipeline_run_id` of seeded rows, so they can be told from real loads. */
export const DEMO_RUN_ID = 'demo-seed';

const MS_PER_DAY = 86_400_000;
const INSERT_BATCH = 500;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Yesterday (UTC): pipelines load complete days, so that is the newest demo day. */
export function yesterdayUtc(now: Date = new Date()): string {
  return isoDate(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - MS_PER_DAY);
}

export interface DemoUsageOptions {
  orgSlug: string;
  /** @default 90 */
  days?: number;
  /** The newest day, `YYYY-MM-DD`. @default yesterday (UTC) */
  endDate?: string;
}

/**
 * The demo rows, computed without any I/O: {@link demoUsageForDay} (shared with the
 * `demo_usage_daily` pipeline) for each day of the range, priced at the demo list prices
 * in micro-dollars. A row is the same whatever range it is generated in, and two orgs get
 * different numbers.
 */
export function demoUsageRows({ orgSlug, days = 90, endDate = yesterdayUtc() }: DemoUsageOptions): LlmUsageDailyRow[] {
  orgDatasetId(orgSlug); // validates the slug
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw new Error('days must be an integer from 1 to 3660');
  const end = Date.parse(`${endDate}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(endDate) || Number.isNaN(end) || isoDate(end) !== endDate) throw new Error(`endDate must be a date as YYYY-MM-DD, got ${endDate}`);
  const rows: LlmUsageDailyRow[] = [];
  for (let offset = days - 1; offset >= 0; offset -= 1) {
    const dayMs = end - offset * MS_PER_DAY;
    // The same rows the demo_usage_daily pipeline loads for this org and day, priced at the
    // catalogue's list prices as the pipeline prices them (the demo org has no prices of its own).
    const priced = priceUsage(demoUsageForDay({ orgSlug, date: isoDate(dayMs) }), catalogueEntries());
    for (const usage of priced.rows) {
      rows.push({
        usage_date: usage.usage_date,
        org_slug: orgSlug,
        provider: usage.provider,
        model: usage.model,
        requests: usage.requests,
        input_tokens: sumClasses(usage.tokens, INPUT_CLASSES),
        output_tokens: sumClasses(usage.tokens, OUTPUT_CLASSES),
        cost_usd: usage.cost_usd,
        pipeline_run_id: DEMO_RUN_ID,
        // As a nightly pipeline would have loaded it: 02:00 UTC the next day.
        loaded_at: new Date(dayMs + MS_PER_DAY + 2 * 3_600_000).toISOString(),
        source: DEMO_PIPELINE_ID,
        service_tier: usage.service_tier,
        project_id: usage.project_id,
        api_key_id: usage.api_key_id,
        tokens_input_uncached: usage.tokens.input_uncached,
        tokens_input_cached: usage.tokens.input_cached,
        tokens_cache_write_5m: usage.tokens.cache_write_5m,
        tokens_cache_write_1h: usage.tokens.cache_write_1h,
        tokens_output: usage.tokens.output,
        tokens_input_audio: usage.tokens.input_audio,
        tokens_output_audio: usage.tokens.output_audio,
        tokens_input_image: usage.tokens.input_image,
        unpriced_tokens: usage.unpriced_tokens,
        price_entry: usage.price_entry,
      });
    }
  }
  return rows;
}

export interface SeedDemoOptions extends DemoUsageOptions {
  /** The local BigQuery endpoint. @default the instance's configured client (`BIGQUERY_API_ENDPOINT` / project) */
  bigqueryUrl?: string;
}

/**
 * Loads {@link demoUsageRows} into `org_<slug>.llm_usage_daily`, creating the org's
 * dataset and tables when missing.
 *
 * @returns `rows`: the demo rows of the range; `inserted`: how many this call stored
 */
export async function seedDemoUsage(opts: SeedDemoOptions): Promise<{ rows: number; inserted: number }> {
  const rows = demoUsageRows(opts);
  const bq = opts.bigqueryUrl === undefined ? await getBigQuery() : new BigQuery(localBigQueryOptions(opts.bigqueryUrl));
  const location = opts.bigqueryUrl === undefined ? bigQueryConfig().location : parseBigQueryConfig({ ...process.env, BIGQUERY_API_ENDPOINT: opts.bigqueryUrl }).location;
  const signal = AbortSignal.timeout(120_000);
  const datasetId = orgDatasetId(opts.orgSlug);
  await ensureDatasetDefinition(bq, orgDataset(opts.orgSlug), { location, signal });

  const first = rows[0]?.usage_date;
  const last = rows.at(-1)?.usage_date;
  if (first === undefined || last === undefined) return { rows: 0, inserted: 0 };
  const [present] = await bq.query({
    query: `SELECT CAST(usage_date AS STRING) AS usage_date, provider, model, service_tier, project_id, api_key_id
              FROM \`${datasetId}.${LLM_USAGE_DAILY.tableId}\`
             WHERE usage_date BETWEEN @first AND @last AND source = @source`,
    params: { first: BigQuery.date(first), last: BigQuery.date(last), source: DEMO_PIPELINE_ID },
    jobTimeoutMs: 60_000,
  });
  const existing = new Set((present as GrainRow[]).map(grainOf));
  const missing = rows.filter((r) => !existing.has(grainOf(r)));

  const table = bq.dataset(datasetId).table(LLM_USAGE_DAILY.tableId);
  for (let i = 0; i < missing.length; i += INSERT_BATCH) {
    const batch = missing.slice(i, i + INSERT_BATCH).map((row) => ({
      insertId: insertIdFor(row.org_slug, grainOf(row)),
      json: row,
    }));
    await table.insert(batch, { raw: true });
  }
  return { rows: rows.length, inserted: missing.length };
}

/** The grain of a usage row: what makes it one row of the demo's day. */
type GrainRow = Pick<LlmUsageDailyRow, 'usage_date' | 'provider' | 'model' | 'service_tier' | 'project_id' | 'api_key_id'>;

function grainOf(r: GrainRow): string {
  return [r.usage_date, r.provider, r.model, r.service_tier, r.project_id ?? '', r.api_key_id ?? ''].join('|');
}

interface StackFile {
  bigquery_url?: string;
  demo?: { org_slug?: string };
}

if (isMain(import.meta.url)) {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const file = path.resolve('.local', 'stack.json');
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
    const bigqueryUrl = stack.bigquery_url;
    const orgSlug = stack.demo?.org_slug;
    if (bigqueryUrl === undefined || orgSlug === undefined) throw new Error(`${file} lists no bigquery_url or demo.org_slug`);
    const result = await seedDemoUsage({ orgSlug, bigqueryUrl });
    console.log(JSON.stringify({ org_slug: orgSlug, ...result }));
  } catch (error) {
    console.error(`seed:demo failed (is the local stack running? start it with npm start): ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
