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
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { isMain } from '../deploy/isMain.js';
import { ensureDatasetDefinition, LLM_USAGE_DAILY, orgDataset, orgDatasetId, type LlmUsageDailyRow } from '../shared/analytics/index.js';
import { bigQueryConfig, getBigQuery, insertIdFor, parseBigQueryConfig } from '../shared/bigquery/index.js';
import { localBigQueryOptions } from './bigquery/index.js';
import { mulberry32 } from './random.js';

/** A demo model: prices in micro-USD per 1,000 tokens, typical daily volume. */
interface DemoModel {
  provider: string;
  model: string;
  inputMicrosPer1k: number;
  outputMicrosPer1k: number;
  requestsPerDay: number;
  inputTokensPerRequest: number;
  outputTokensPerRequest: number;
}

/** Prices roughly as published in 2024; only their order of magnitude matters for a demo. */
export const DEMO_MODELS: readonly DemoModel[] = [
  { provider: 'anthropic', model: 'claude-3-5-sonnet', inputMicrosPer1k: 3000, outputMicrosPer1k: 15000, requestsPerDay: 800, inputTokensPerRequest: 1500, outputTokensPerRequest: 500 },
  { provider: 'anthropic', model: 'claude-3-haiku', inputMicrosPer1k: 250, outputMicrosPer1k: 1250, requestsPerDay: 2500, inputTokensPerRequest: 600, outputTokensPerRequest: 200 },
  { provider: 'google', model: 'gemini-1.5-flash', inputMicrosPer1k: 75, outputMicrosPer1k: 300, requestsPerDay: 3000, inputTokensPerRequest: 800, outputTokensPerRequest: 200 },
  { provider: 'google', model: 'gemini-1.5-pro', inputMicrosPer1k: 1250, outputMicrosPer1k: 5000, requestsPerDay: 400, inputTokensPerRequest: 2000, outputTokensPerRequest: 400 },
  { provider: 'mistral', model: 'mistral-large', inputMicrosPer1k: 2000, outputMicrosPer1k: 6000, requestsPerDay: 300, inputTokensPerRequest: 1000, outputTokensPerRequest: 300 },
  { provider: 'openai', model: 'gpt-4o', inputMicrosPer1k: 2500, outputMicrosPer1k: 10000, requestsPerDay: 1200, inputTokensPerRequest: 900, outputTokensPerRequest: 350 },
  { provider: 'openai', model: 'gpt-4o-mini', inputMicrosPer1k: 150, outputMicrosPer1k: 600, requestsPerDay: 5000, inputTokensPerRequest: 700, outputTokensPerRequest: 250 },
];

/** The `pipeline_run_id` of seeded rows, so they can be told from real loads. */
export const DEMO_RUN_ID = 'demo-seed';

const MS_PER_DAY = 86_400_000;
const INSERT_BATCH = 500;

/** A 32-bit seed from text. */
function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

/** micro-USD (an integer) → NUMERIC decimal text with 6 decimals, exactly. */
function microsToDecimal(micros: number): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

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
 * The demo rows, computed without any I/O. Each row's numbers come from a PRNG seeded by
 * (org, date, provider, model) alone, so a row is the same whatever range it is generated
 * in, and two orgs get different numbers (each org also has its own volume scale). About
 * one model-day in ten has no usage; weekends are quieter.
 */
export function demoUsageRows({ orgSlug, days = 90, endDate = yesterdayUtc() }: DemoUsageOptions): LlmUsageDailyRow[] {
  orgDatasetId(orgSlug); // validates the slug
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw new Error('days must be an integer from 1 to 3660');
  const end = Date.parse(`${endDate}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(endDate) || Number.isNaN(end) || isoDate(end) !== endDate) throw new Error(`endDate must be a date as YYYY-MM-DD, got ${endDate}`);
  const orgScale = 0.5 + mulberry32(seedOf(`scale|${orgSlug}`))() * 2;
  const rows: LlmUsageDailyRow[] = [];
  for (let offset = days - 1; offset >= 0; offset -= 1) {
    const dayMs = end - offset * MS_PER_DAY;
    const date = isoDate(dayMs);
    const weekday = new Date(dayMs).getUTCDay();
    const dayFactor = weekday === 0 || weekday === 6 ? 0.4 : 1;
    for (const m of DEMO_MODELS) {
      const random = mulberry32(seedOf(`${orgSlug}|${date}|${m.provider}|${m.model}`));
      if (random() < 0.1) continue;
      const requests = Math.max(1, Math.round(m.requestsPerDay * orgScale * dayFactor * (0.5 + random())));
      const inputTokens = Math.round(requests * m.inputTokensPerRequest * (0.7 + 0.6 * random()));
      const outputTokens = Math.round(requests * m.outputTokensPerRequest * (0.7 + 0.6 * random()));
      const costMicros = Math.round((inputTokens * m.inputMicrosPer1k + outputTokens * m.outputMicrosPer1k) / 1000);
      rows.push({
        usage_date: date,
        org_slug: orgSlug,
        provider: m.provider,
        model: m.model,
        requests,
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        cost_usd: microsToDecimal(costMicros),
        pipeline_run_id: DEMO_RUN_ID,
        // As a nightly pipeline would have loaded it: 02:00 UTC the next day.
        loaded_at: new Date(dayMs + MS_PER_DAY + 2 * 3_600_000).toISOString(),
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
    query: `SELECT CAST(usage_date AS STRING) AS usage_date, provider, model
              FROM \`${datasetId}.${LLM_USAGE_DAILY.tableId}\`
             WHERE usage_date BETWEEN @first AND @last`,
    params: { first: BigQuery.date(first), last: BigQuery.date(last) },
    jobTimeoutMs: 60_000,
  });
  const keyOf = (r: { usage_date: string; provider: string; model: string }): string => `${r.usage_date}|${r.provider}|${r.model}`;
  const existing = new Set((present as { usage_date: string; provider: string; model: string }[]).map(keyOf));
  const missing = rows.filter((r) => !existing.has(keyOf(r)));

  const table = bq.dataset(datasetId).table(LLM_USAGE_DAILY.tableId);
  for (let i = 0; i < missing.length; i += INSERT_BATCH) {
    const batch = missing.slice(i, i + INSERT_BATCH).map((row) => ({
      insertId: insertIdFor(row.org_slug, row.usage_date, row.provider, row.model),
      json: row,
    }));
    await table.insert(batch, { raw: true });
  }
  return { rows: rows.length, inserted: missing.length };
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
