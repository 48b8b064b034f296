/**
 * `npm run bench:spend` (issue 19): all spend at a year's scale.
 *
 * One org's `llm_usage_daily` holds 366 days × 50 model rows, every row with all 8 token
 * classes non-zero, priced by `priceUsage` with the shipped catalogue and loaded through the
 * pipeline-worker's own `replaceDay` (one transaction per day and provider, as a run loads
 * it) into an in-memory local BigQuery endpoint.
 *
 * 1. FOCUS export: `GET /v1/costs/export` of a costs function process (bundled as
 *    `npm run build` bundles it), streamed as CSV and as JSONL over 30, 100 (the shortest
 *    range that fills one export page) and 366 days, one fresh process per export so each
 *    peak is that export's own, then the year as CSV with the V8 heap capped (256 and 128
 *    MiB) to tell live data from garbage not yet collected. FOCUS rows and bytes
 *    are counted off the wire; the process's VmRSS is sampled every 50 ms and its VmHWM read
 *    at the end. Baselines in the same run: the same usage rows read page by page with the
 *    BigQuery client in this process (rows/s), and the process's RSS at idle before the export.
 * 2. Budget evaluation: `evaluateOrg` in this process for the same org with 500
 *    subscriptions and 1, 10 and 100 budgets (amounts far above the spend: nothing is raised,
 *    nothing published), 20 timed evaluations each, with `loadDailySpend` (the one
 *    BigQuery statement and the subscriptions an evaluation loads) timed beside each as the
 *    baseline.
 *
 * Uses `DATABASE_URL` when set, otherwise an embedded PostgreSQL. Prints numbers and the
 * counts that show what was measured; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import pg from 'pg';
import { functionEnv } from '../deploy/manifest.js';
import { localBigQueryOptions, startBigQueryEndpoint } from '../dev/bigquery/index.js';
import { startFunctionProcess } from '../dev/functionProcess.js';
import { exportUsageSql } from '../functions/costs/exportSql.js';
import { orgDataset, ensureDatasetDefinition } from '../shared/analytics/index.js';
import { generateApiKey } from '../shared/auth/index.js';
import { addDays, utcDay } from '../shared/spend/index.js';
import { closeClients } from '../shared/clients/index.js';
import { catalogueEntries, priceUsage } from '../shared/pricing/index.js';
import { TOKEN_CLASSES, type TokenCounts, type UsageRow } from '../shared/usage/index.js';
import { bundleFunction } from '../test/fixtures/runtime/functionsFramework.js';
import { peakRssMiB, quantile, rssMiB, table } from './lib/measure.js';
import { benchDatabase } from './quota.js';

const PROJECT = 'local-project';
const YEAR_DAYS = 366;
const MONTH_DAYS = 30;
/** The shortest range whose usage fills a whole export page (100 × 50 = `PAGE_SIZE` rows). */
const ONE_PAGE_DAYS = 100;
/** Heap caps for diagnostic year exports: how much of the peak is live data rather than garbage V8 had not yet collected. */
const CAPPED_HEAP_MIB = [256, 128] as const;
const MODEL_ROWS_PER_DAY = 50;
const PAGE_SIZE = 5000;
const RSS_SAMPLE_MS = 50;
const SUBSCRIPTIONS = 500;
const BUDGET_COUNTS = [1, 10, 100] as const;
const EVALUATIONS = 20;
const WARM_UP_EVALUATIONS = 2;
/** Far above a year of this org's spend: no threshold is crossed, no forecast exceeded, nothing published. */
const BUDGET_AMOUNT_USD = '1000000000000';

interface Tenant {
  orgId: string;
  orgSlug: string;
  apiKey: string;
}

/** A (provider, model, tier) the catalogue prices: one usage row per day each. */
interface ModelRow {
  provider: string;
  model: string;
  service_tier: string;
}

/**
 * 50 distinct model rows the shipped catalogue prices: every standard-tier entry (28
 * models), every explicit priority entry (3), and the batch tier (priced by the catalogue's
 * tier multiplier) of the first standard models until there are 50.
 */
function benchModelRows(): ModelRow[] {
  const entries = catalogueEntries();
  const standard = entries.filter((e) => e.service_tier === 'standard').map((e) => ({ provider: e.provider, model: e.model, service_tier: 'standard' }));
  const priority = entries.filter((e) => e.service_tier === 'priority').map((e) => ({ provider: e.provider, model: e.model, service_tier: 'priority' }));
  const batch = standard.map((e) => ({ ...e, service_tier: 'batch' }));
  const rows = [...standard, ...priority, ...batch].slice(0, MODEL_ROWS_PER_DAY);
  if (rows.length < MODEL_ROWS_PER_DAY) throw new Error(`the catalogue yields only ${rows.length} model rows`);
  return rows;
}

/** Deterministic token counts, every class non-zero, varying by day and model. */
function tokensFor(dayIndex: number, modelIndex: number): TokenCounts {
  const base = 1_000 + ((dayIndex * 31 + modelIndex * 17) % 997) * 100;
  const counts = {} as TokenCounts;
  TOKEN_CLASSES.forEach((c, i) => {
    counts[c] = base * (i + 1) + i;
  });
  return counts;
}

function usageOfDay(models: readonly ModelRow[], day: string, dayIndex: number): UsageRow[] {
  return models.map((m, i) => ({
    usage_date: day,
    provider: m.provider,
    model: m.model,
    service_tier: m.service_tier,
    project_id: 'proj_bench',
    api_key_id: null,
    requests: 100 + ((dayIndex + i) % 50),
    tokens: tokensFor(dayIndex, i),
  }));
}

/**
 * Prices each day with the catalogue and loads it with the worker's `replaceDay`, one call
 * per day and provider (a provider's pipeline run loads its own rows of one day).
 */
async function seedUsage(orgSlug: string, firstDay: string): Promise<{ rows: number; unpricedRows: number; loads: number; ms: number }> {
  const { replaceDay } = await import('../functions/pipeline-worker/load.js');
  const models = benchModelRows();
  let rows = 0;
  let unpricedRows = 0;
  let loads = 0;
  const started = performance.now();
  for (let d = 0; d < YEAR_DAYS; d += 1) {
    const day = addDays(firstDay, d);
    const priced = priceUsage(usageOfDay(models, day, d), catalogueEntries());
    if (priced.rows.some((r) => r.price_entry === null)) throw new Error(`a bench model row is not priced by the catalogue on ${day}`);
    unpricedRows += priced.unpricedRows;
    for (const provider of new Set(priced.rows.map((r) => r.provider))) {
      const own = priced.rows.filter((r) => r.provider === provider);
      await replaceDay({ orgSlug, date: day, runId: `bench-seed-${d}`, source: `${provider}_usage_daily`, rows: own, billed: null });
      rows += own.length;
      loads += 1;
    }
  }
  return { rows, unpricedRows, loads, ms: performance.now() - started };
}

async function createTenant(admin: pg.Pool, bigquery: BigQuery): Promise<Tenant> {
  const orgSlug = `bench_spend_${randomBytes(4).toString('hex')}`;
  const key = generateApiKey();
  const org = await admin.query<{ id: string }>(
    `INSERT INTO orgs (org_slug, name, plan, admin_email, status) VALUES ($1, $1, 'enterprise', 'bench@example.com', 'active') RETURNING id`,
    [orgSlug],
  );
  const orgId = (org.rows[0] as { id: string }).id;
  await admin.query('INSERT INTO api_keys (org_id, key_hash, prefix) VALUES ($1, $2, $3)', [orgId, key.hash, key.prefix]);
  // Onboarding makes the dataset; the worker's first load ensures the tables in it.
  await ensureDatasetDefinition(bigquery, orgDataset(orgSlug), { location: 'US' });
  return { orgId, orgSlug, apiKey: key.key };
}

/** The baseline read: the export's own usage statement, page by page, with the client alone. */
async function readUsagePages(bigquery: BigQuery, orgSlug: string, from: string, to: string): Promise<{ rows: number; pages: number; ms: number }> {
  const started = performance.now();
  const [job] = await bigquery.createQueryJob({ query: exportUsageSql(orgSlug), params: { from: BigQuery.date(from), to: BigQuery.date(to) } });
  let rows = 0;
  let pages = 0;
  let pageToken: string | undefined;
  do {
    const [page, next] = await job.getQueryResults({ maxResults: PAGE_SIZE, autoPaginate: false, ...(pageToken === undefined ? {} : { pageToken }) });
    rows += page.length;
    pages += 1;
    pageToken = next?.pageToken ?? undefined;
  } while (pageToken !== undefined);
  return { rows, pages, ms: performance.now() - started };
}

interface ExportRun {
  format: 'csv' | 'jsonl';
  days: number;
  /** Extra Node.js flags of the process ('' for none). */
  flags: string;
  /** The HTTP status, or why the transfer failed. */
  status: string;
  focusRows: number;
  bytes: number;
  ms: number;
  idleRss: number;
  sampledPeakRss: number;
  hwm: number;
  samples: number;
}

/**
 * One export through a fresh costs process: warmed by one 1-day `GET /v1/costs` (pools,
 * clients, the key's lookup), idle RSS read, then the export streamed and counted while
 * VmRSS is sampled; VmHWM read before the process stops.
 */
async function exportOnce(
  source: string,
  env: Record<string, string>,
  tenant: Tenant,
  { format, from, to, days, nodeArgs = [], extraEnv = {} }: { format: 'csv' | 'jsonl'; from: string; to: string; days: number; nodeArgs?: string[]; extraEnv?: Record<string, string> },
): Promise<ExportRun> {
  const proc = await startFunctionProcess({ source, target: 'costs', env: { ...env, ...extraEnv }, stdout: 'ignore', healthTimeoutMs: 90_000, nodeArgs });
  const pid = proc.child.pid;
  const headers = { authorization: `Bearer ${tenant.apiKey}` };
  try {
    const warm = await fetch(`${proc.url}/v1/costs?from=${to}&to=${to}`, { headers });
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`warm-up GET /v1/costs answered ${warm.status}`);
    await sleep(200);
    const idleRss = rssMiB(pid) ?? Number.NaN;
    let sampledPeakRss = idleRss;
    let samples = 0;
    const sampler = setInterval(() => {
      const rss = rssMiB(pid);
      if (rss === undefined) return;
      samples += 1;
      if (rss > sampledPeakRss) sampledPeakRss = rss;
    }, RSS_SAMPLE_MS);
    let status = 'no answer';
    let bytes = 0;
    let lines = 0;
    const started = performance.now();
    try {
      const res = await fetch(`${proc.url}/v1/costs/export?from=${from}&to=${to}&format=${format}`, { headers });
      status = String(res.status);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (const byte of chunk) if (byte === 0x0a) lines += 1;
      }
    } catch (error) {
      // A cut transfer (the process died or gave up mid-stream) is a result to show, not a crash of the bench.
      const exit = await Promise.race([proc.exited, sleep(2_000).then(() => undefined)]);
      const heap = proc.lines.some((line) => line.includes('heap limit')) ? ' (V8 heap limit reached)' : '';
      status = `${status}, cut (${(error as Error).message})${exit === undefined ? '' : `, process exited ${exit.signal ?? exit.code}${heap}`}`;
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - started;
    // CSV starts with a header line; JSONL is one FOCUS row a line.
    const focusRows = format === 'csv' ? Math.max(0, lines - 1) : lines;
    const hwm = peakRssMiB(pid) ?? Number.NaN;
    return { format, days, flags: [...Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`), ...nodeArgs].join(' '), status, focusRows, bytes, ms, idleRss, sampledPeakRss, hwm, samples };
  } finally {
    await proc.stop();
  }
}

/** 500 subscriptions over the usage year: 10 vendors, monthly and annual, every 10th cancelled. */
async function seedSubscriptions(admin: pg.Pool, orgId: string, firstDay: string): Promise<void> {
  await admin.query(
    `INSERT INTO subscriptions (org_id, vendor, plan_name, seats, unit_price_usd, billing_cycle, start_date, end_date, status)
     SELECT $1, ($2::text[])[1 + i % 10], 'Plan ' || (i % 5), 1 + i % 40, 5 + i % 50,
            CASE WHEN i % 3 = 0 THEN 'annual' ELSE 'monthly' END,
            $3::date + (i * 7) % 300,
            CASE WHEN i % 10 = 0 THEN $3::date + (i * 7) % 300 + 60 END,
            CASE WHEN i % 10 = 0 THEN 'cancelled' ELSE 'active' END
       FROM generate_series(0, $4::int - 1) AS i`,
    [orgId, ['Slack', 'GitHub', 'Notion', 'Figma', 'Linear', 'Zoom', 'Atlassian', 'Datadog', 'Vercel', 'Miro'], firstDay, SUBSCRIPTIONS],
  );
}

const PERIODS = ['year', 'quarter', 'month'] as const;
const SCOPES: readonly Record<string, string>[] = [
  {},
  { category: 'llm' },
  { category: 'saas' },
  { provider: 'openai' },
  { provider: 'anthropic' },
  { model: 'gpt-4o' },
  { model: 'claude-sonnet-4-5' },
  { vendor: 'Slack' },
  { category: 'llm', provider: 'openai' },
  { vendor: 'GitHub' },
];

/**
 * Replaces the org's budgets with `count` of them. The first is a year budget, so every
 * count loads the same spend window (1 January to today) and the numbers differ only by
 * the budgets evaluated over it.
 */
async function setBudgets(admin: pg.Pool, orgId: string, count: number): Promise<void> {
  await admin.query('DELETE FROM budgets WHERE org_id = $1', [orgId]);
  await admin.query(
    `INSERT INTO budgets (org_id, name, amount_usd, period, scope, thresholds_pct, forecast, webhook_url)
     SELECT $1, 'bench budget ' || i, $2::numeric, ($3::text[])[1 + i % 3], ($4::jsonb[])[1 + i % $5::int], ARRAY[50, 80, 100], true, 'https://hooks.example.com/budgets'
       FROM generate_series(0, $6::int - 1) AS i`,
    [orgId, BUDGET_AMOUNT_USD, PERIODS, SCOPES.map((s) => JSON.stringify(s)), SCOPES.length, count],
  );
}

interface EvaluationResult {
  budgets: number;
  evaluateMs: number[];
  loadMs: number[];
  lines: number;
  raised: number;
  published: number;
  window: { from: string; to: string };
}

/**
 * `EVALUATIONS` rounds; each round sets the org's budgets to each count in turn and times
 * one `evaluateOrg`, then one `loadDailySpend` of the same window. Counts and the baseline
 * alternate within every round, so the load other work puts on the machine falls on all alike.
 */
async function evaluateBudgets(admin: pg.Pool, tenant: Tenant): Promise<EvaluationResult[]> {
  const { evaluateOrg } = await import('../functions/budget-alerts/evaluate.js');
  const { parseAlertsConfig } = await import('../functions/budget-alerts/config.js');
  const { loadDailySpend } = await import('../shared/spend/index.js');
  const { spendWindow } = await import('../shared/budgets/index.js');
  const config = parseAlertsConfig({});
  const today = utcDay();
  const owner = { orgId: tenant.orgId, orgSlug: tenant.orgSlug };
  const results = BUDGET_COUNTS.map(
    (count): EvaluationResult => ({ budgets: count, evaluateMs: [], loadMs: [], lines: 0, raised: 0, published: 0, window: { from: '', to: '' } }),
  );
  for (let round = 0; round < WARM_UP_EVALUATIONS + EVALUATIONS; round += 1) {
    for (const result of results) {
      await setBudgets(admin, tenant.orgId, result.budgets);
      const periods = (await admin.query<{ period: (typeof PERIODS)[number] }>('SELECT period FROM budgets WHERE org_id = $1', [tenant.orgId])).rows.map((r) => r.period);
      result.window = spendWindow(periods, today);
      let started = performance.now();
      const evaluation = await evaluateOrg(tenant.orgSlug, config, today);
      const evaluateMs = performance.now() - started;
      started = performance.now();
      const lines = await loadDailySpend(owner, result.window.from, result.window.to);
      const loadMs = performance.now() - started;
      if (evaluation.budgets !== result.budgets) throw new Error(`evaluateOrg saw ${evaluation.budgets} budgets, ${result.budgets} were set`);
      if (round < WARM_UP_EVALUATIONS) continue;
      result.evaluateMs.push(evaluateMs);
      result.loadMs.push(loadMs);
      result.raised += evaluation.raised;
      result.published += evaluation.published;
      result.lines = lines.length;
    }
  }
  return results;
}

const loadNow = (): string => loadavg().map((n) => n.toFixed(2)).join(' ');
const mib = (n: number): string => n.toFixed(1);

/** Runs the benchmark against `databaseUrl` (migrated); see the module comment. */
export async function benchSpend({ databaseUrl }: { databaseUrl: string }): Promise<void> {
  console.log(`load average at start: ${loadNow()} (2 cores shared with other work)`);
  const endpoint = await startBigQueryEndpoint({ port: 0 });
  const admin = new pg.Pool({ connectionString: databaseUrl, max: 2, application_name: 'bench' });
  const bundles: string[] = [];
  try {
    // This process loads with the worker's replaceDay and evaluates as budget-alerts does.
    Object.assign(process.env, { FUNCTION_NAME: 'budget-alerts', DATABASE_URL: databaseUrl, BIGQUERY_API_ENDPOINT: endpoint.url, GOOGLE_CLOUD_PROJECT: PROJECT });
    const bigquery = new BigQuery(localBigQueryOptions(endpoint.url, PROJECT));
    const tenant = await createTenant(admin, bigquery);

    const lastDay = addDays(utcDay(), -1); // pipelines load whole past days
    const firstDay = addDays(lastDay, -(YEAR_DAYS - 1));
    const seed = await seedUsage(tenant.orgSlug, firstDay);
    console.log(
      `\nseeded ${seed.rows} usage rows (${YEAR_DAYS} days × ${MODEL_ROWS_PER_DAY} model rows, ${firstDay} … ${lastDay}) with ${seed.loads} replaceDay loads in ${(seed.ms / 1000).toFixed(1)} s; ` +
        `${seed.unpricedRows} rows carry classes their catalogue entry has no price for (counted as unpriced tokens, exported at cost 0)`,
    );

    const source = await bundleFunction('functions/costs/index.ts', 'bench-spend-costs');
    bundles.push(source);
    const env = { ...functionEnv('costs'), DATABASE_URL: databaseUrl, BIGQUERY_API_ENDPOINT: endpoint.url, GOOGLE_CLOUD_PROJECT: PROJECT };

    const spans = [MONTH_DAYS, ONE_PAGE_DAYS, YEAR_DAYS].map((days) => ({ days, from: addDays(lastDay, -(days - 1)), to: lastDay }));
    const baselines: { days: number; rows: number; pages: number; ms: number }[] = [];
    const exports: ExportRun[] = [];
    for (const format of ['csv', 'jsonl'] as const) {
      for (const span of spans) {
        baselines.push({ days: span.days, ...(await readUsagePages(bigquery, tenant.orgSlug, span.from, span.to)) });
        exports.push(await exportOnce(source, env, tenant, { format, ...span }));
      }
    }
    const year = spans.at(-1) as (typeof spans)[number];
    for (const cap of CAPPED_HEAP_MIB) exports.push(await exportOnce(source, env, tenant, { format: 'csv', ...year, nodeArgs: [`--max-old-space-size=${cap}`] }));
    // The page size before bench:spend's first run (5,000 usage rows = 40,000 FOCUS rows a page), for comparison.
    for (const format of ['csv', 'jsonl'] as const) exports.push(await exportOnce(source, env, tenant, { format, ...year, extraEnv: { COSTS_EXPORT_PAGE_SIZE: String(PAGE_SIZE) } }));

    console.log(`\nBaseline: the export's usage statement read page by page (${PAGE_SIZE} rows a page) with the BigQuery client in the bench process`);
    console.log(
      table(
        ['days', 'usage rows', 'pages', 's', 'usage rows/s'],
        baselines.map((b) => [String(b.days), String(b.rows), String(b.pages), b.ms / 1000, (b.rows * 1000) / b.ms]),
      ),
    );
    console.log(`\nGET /v1/costs/export through a costs function process (one fresh process per export; expected FOCUS rows = days × ${MODEL_ROWS_PER_DAY} × ${TOKEN_CLASSES.length})`);
    console.log(
      table(
        ['format', 'days', 'node flags', 'status', 'FOCUS rows', 'expected', 'MiB', 's', 'FOCUS rows/s', 'usage rows/s', 'idle RSS MiB', 'peak sampled RSS MiB', 'VmHWM MiB', 'VmHWM − idle MiB', 'samples'],
        exports.map((e) => [
          e.format,
          String(e.days),
          e.flags === '' ? '-' : e.flags,
          e.status,
          String(e.focusRows),
          String(e.days * MODEL_ROWS_PER_DAY * TOKEN_CLASSES.length),
          e.bytes / 1_048_576,
          e.ms / 1000,
          (e.focusRows * 1000) / e.ms,
          // Each usage row here is one export key of 8 FOCUS rows.
          (e.focusRows * 1000) / TOKEN_CLASSES.length / e.ms,
          mib(e.idleRss),
          mib(e.sampledPeakRss),
          mib(e.hwm),
          mib(e.hwm - e.idleRss),
          String(e.samples),
        ]),
      ),
    );
    console.log(
      `(idle: after start and one 1-day GET /v1/costs; RSS sampled from /proc/<pid>/status every ${RSS_SAMPLE_MS} ms, VmHWM read at the end of the export; ` +
        `${ONE_PAGE_DAYS} days is the shortest range that fills one ${PAGE_SIZE}-row page (COSTS_EXPORT_PAGE_SIZE); the rows before them cap the V8 heap at ${CAPPED_HEAP_MIB.join(' and ')} MiB to tell live data from uncollected garbage; VmHWM is NaN when the process was gone)`,
    );

    await seedSubscriptions(admin, tenant.orgId, firstDay);
    const evaluations = await evaluateBudgets(admin, tenant);
    console.log(
      `\nBudget evaluation: evaluateOrg in process, ${EVALUATIONS} runs per row after ${WARM_UP_EVALUATIONS} untimed, rows alternating within each round, each run followed by loadDailySpend alone (the baseline: ` +
        `its one BigQuery statement and the subscriptions); ${SUBSCRIPTIONS} subscriptions, ${YEAR_DAYS} days × ${MODEL_ROWS_PER_DAY} usage rows`,
    );
    console.log(
      table(
        ['budgets', 'window', 'spend lines', 'raised', 'published', 'evaluate p50 ms', 'evaluate p95 ms', 'loadDailySpend p50 ms', 'loadDailySpend p95 ms', 'load share of p50'],
        evaluations.map((r) => [
          String(r.budgets),
          `${r.window.from} … ${r.window.to}`,
          String(r.lines),
          String(r.raised),
          String(r.published),
          quantile(r.evaluateMs, 0.5),
          quantile(r.evaluateMs, 0.95),
          quantile(r.loadMs, 0.5),
          quantile(r.loadMs, 0.95),
          `${Math.round((quantile(r.loadMs, 0.5) / quantile(r.evaluateMs, 0.5)) * 100)}%`,
        ]),
      ),
    );
    console.log(`\nload average at end: ${loadNow()}`);
  } finally {
    await closeClients();
    await Promise.allSettled([endpoint.close(), admin.end()]);
    for (const folder of bundles) rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const db = await benchDatabase();
  try {
    await benchSpend({ databaseUrl: db.url });
  } finally {
    await db.stop();
  }
}
