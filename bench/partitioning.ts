/**
 * `npm run bench:partitioning`: bytes processed by the costs query, the audit-trail query
 * and the run-history query over a year of data, in the layout tables had before
 * partitioning (seed 001's: no partitioning, no clustering) and after `bq:migrate --execute`
 * on the same rows, as a ratio. Prints numbers and asserts nothing.
 *
 * Everything runs against an in-memory local BigQuery endpoint started here:
 *
 * 1. the old layout: `cloudact_meta.org_audit_logs`, `cloudact_meta.org_meta_pipeline_runs`,
 *    `org_<slug>.llm_usage_daily` and `org_<slug>.llm_billed_cost_daily` with the defined
 *    columns but neither partitioning nor clustering;
 * 2. a year of data, loaded with load jobs (newline-delimited JSON through `table.load`):
 *    the demo generator's usage for one org (the rows `npm run seed:demo` loads, 365 days),
 *    a billed line per provider and day, and synthetic audit and run-history rows for
 *    {@link ORGS} orgs;
 * 3. each query as a dry run and as a real run, before and after `bq:migrate --execute`.
 *
 * The costs query is the costs function's own (`costsSql`, 30 days, by provider). No
 * function reads the audit log or the run history yet (the run list is served from
 * PostgreSQL), so their queries here are the reads an operator runs: one org's last 30 days,
 * newest first. Bytes are what the endpoint reports: its estimator is probed and named in
 * the output (partition- and column-aware since the endpoint parses to a syntax tree), so the
 * ratio is only as meaningful as the estimator printed beside it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import type { Query } from '@google-cloud/bigquery';
import { costsSql } from '../functions/costs/costsSql.js';
import { runBqMigrate } from '../deploy/bqMigrate.js';
import { localBigQueryOptions, startBigQueryEndpoint } from '../dev/bigquery/index.js';
import { demoUsageRows } from '../dev/seedDemo.js';
import { centralDataset, LLM_BILLED_COST_DAILY, LLM_USAGE_DAILY, ORG_AUDIT_LOGS, ORG_META_PIPELINE_RUNS, orgDataset, type DatasetDefinition, type TableDefinition } from '../shared/analytics/index.js';
import { mulberry32 } from '../shared/demo/index.js';
import { table } from './lib/measure.js';

process.env.METADATA_SERVER_DETECTION = 'none';

/** The org whose costs are queried (its demo usage is the year of data). */
const ORG = 'acme';
/** Orgs in the central tables, so the audit and run-history queries select one org of several. */
const ORGS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'];
const DAYS = 365;
const END_DATE = '2026-11-30';
/** The window every query reads: the last 30 days of the year. */
const WINDOW_DAYS = 30;
/** Mutating API calls per org and day in the synthetic audit log. */
const AUDIT_CALLS_PER_ORG_DAY = 40;
const PIPELINES = ['demo_usage_daily', 'openai_usage_daily', 'anthropic_usage_daily'];
const MS_PER_DAY = 86_400_000;

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const endMs = Date.parse(`${END_DATE}T00:00:00Z`);
const firstDayMs = endMs - (DAYS - 1) * MS_PER_DAY;
const windowFrom = isoDate(endMs - (WINDOW_DAYS - 1) * MS_PER_DAY);

/** Creates `def`'s dataset with its tables in the layout before partitioning: same columns, no partitioning or clustering. */
async function oldLayout(bq: BigQuery, def: DatasetDefinition): Promise<void> {
  await bq.createDataset(def.datasetId, { description: def.description, labels: { ...def.labels } });
  for (const t of def.tables) {
    await bq.dataset(def.datasetId).createTable(t.tableId, {
      description: t.description,
      labels: { managed_by: 'cloudact' },
      schema: { fields: t.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode, description: f.description })) },
    });
  }
}

/** Loads `rows` into `datasetId.t` with one load job (newline-delimited JSON, the table's schema). */
async function loadRows(bq: BigQuery, dir: string, datasetId: string, t: TableDefinition, rows: readonly object[]): Promise<{ rows: number; ms: number }> {
  const file = join(dir, `${datasetId}.${t.tableId}.json`);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const started = performance.now();
  const [job] = await bq.dataset(datasetId).table(t.tableId).load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON' });
  const out = Number((job as { statistics: { load: { outputRows: string } } }).statistics.load.outputRows);
  return { rows: out, ms: performance.now() - started };
}

function billedRows(): object[] {
  const rows: object[] = [];
  const random = mulberry32(7);
  for (let d = 0; d < DAYS; d++) {
    const day = isoDate(firstDayMs + d * MS_PER_DAY);
    for (const provider of ['openai', 'anthropic']) {
      rows.push({
        usage_date: day,
        org_slug: ORG,
        provider,
        source: `${provider}_cost_daily`,
        description: `${provider} usage`,
        billed_cost_usd: (50 + random() * 100).toFixed(6),
        loaded_at: new Date(firstDayMs + (d + 1) * MS_PER_DAY + 3 * 3_600_000).toISOString(),
      });
    }
  }
  return rows;
}

function auditRows(): object[] {
  const rows: object[] = [];
  const random = mulberry32(11);
  const actions = ['POST /v1/pipelines/:pipeline_id/runs', 'PUT /v1/pricing/:provider/:model', 'POST /v1/subscriptions', 'DELETE /v1/orgs/me/api-keys/:id', 'POST /v1/integrations/:provider'];
  const functions = ['pipelines', 'pricing', 'subscriptions', 'orgs', 'integrations'];
  for (let d = 0; d < DAYS; d++) {
    for (const org of ORGS) {
      for (let i = 0; i < AUDIT_CALLS_PER_ORG_DAY; i++) {
        const a = Math.floor(random() * actions.length);
        const failed = random() < 0.05;
        rows.push({
          timestamp: new Date(firstDayMs + d * MS_PER_DAY + Math.floor(random() * MS_PER_DAY)).toISOString(),
          org_slug: org,
          actor: `key_${org}_${Math.floor(random() * 4)}`,
          action: actions[a],
          resource: JSON.stringify({ id: `r${Math.floor(random() * 1000)}` }),
          outcome: failed ? 'failure' : 'success',
          status: failed ? 409 : 200,
          error_code: failed ? 'CONFLICT' : null,
          request_id: `req-${d}-${org}-${i}`,
          function: functions[a],
        });
      }
    }
  }
  return rows;
}

function runHistoryRows(): object[] {
  const rows: object[] = [];
  const random = mulberry32(13);
  for (let d = 0; d < DAYS; d++) {
    for (const org of ORGS) {
      for (const pipeline of PIPELINES) {
        const created = firstDayMs + (d + 1) * MS_PER_DAY + 2 * 3_600_000;
        const failed = random() < 0.03;
        rows.push({
          created_at: new Date(created).toISOString(),
          org_slug: org,
          run_id: `run-${org}-${pipeline}-${d}`,
          pipeline_id: pipeline,
          run_date: isoDate(firstDayMs + d * MS_PER_DAY),
          status: failed ? 'failed' : 'succeeded',
          rows_loaded: failed ? 0 : 100 + Math.floor(random() * 60),
          error: failed ? 'provider answered 503' : null,
          started_at: new Date(created + 1000).toISOString(),
          finished_at: new Date(created + 20_000).toISOString(),
          attempt: 1,
          cost_usd: failed ? '0' : (random() * 40).toFixed(9),
          unpriced_rows: 0,
        });
      }
    }
  }
  return rows;
}

/** The three queries, with the parameters the bench runs them with. */
function benchQueries(): { name: string; query: Query }[] {
  const from = BigQuery.date(windowFrom);
  const to = BigQuery.date(END_DATE);
  return [
    { name: `costs (costsSql, ${ORG}, by provider, ${WINDOW_DAYS} days)`, query: { query: costsSql(ORG, 'provider'), params: { from, to } } },
    {
      name: `audit trail (${ORG}, last ${WINDOW_DAYS} days)`,
      query: {
        query: `SELECT timestamp, actor, action, outcome, status, error_code
                  FROM \`${centralDataset().datasetId}.${ORG_AUDIT_LOGS.tableId}\`
                 WHERE timestamp >= @from AND timestamp < @to AND org_slug = @org
                 ORDER BY timestamp DESC`,
        params: { from: BigQuery.timestamp(`${windowFrom}T00:00:00Z`), to: BigQuery.timestamp(new Date(endMs + MS_PER_DAY)), org: ORG },
      },
    },
    {
      name: `run history (${ORG}, last ${WINDOW_DAYS} days)`,
      query: {
        query: `SELECT run_id, pipeline_id, run_date, status, rows_loaded, cost_usd, finished_at
                  FROM \`${centralDataset().datasetId}.${ORG_META_PIPELINE_RUNS.tableId}\`
                 WHERE created_at >= @from AND org_slug = @org
                 ORDER BY created_at DESC`,
        params: { from: BigQuery.timestamp(`${windowFrom}T00:00:00Z`), org: ORG },
      },
    },
  ];
}

/** What one query processed: a dry run's and a real run's `statistics.totalBytesProcessed`, and the real run's row count. */
interface Processed {
  dry: number;
  real: number;
  rows: number;
}

async function measure(bq: BigQuery, query: Query): Promise<Processed> {
  const [dryJob] = await bq.createQueryJob({ ...query, dryRun: true });
  const dry = Number((dryJob.metadata as { statistics: { totalBytesProcessed?: string } }).statistics.totalBytesProcessed ?? 0);
  const [job] = await bq.createQueryJob(query);
  const [rows] = await job.getQueryResults();
  const [meta] = (await job.getMetadata()) as unknown as [{ statistics: { totalBytesProcessed?: string } }];
  return { dry, real: Number(meta.statistics.totalBytesProcessed ?? 0), rows: rows.length };
}

/**
 * Which estimator the endpoint's dry runs use, found by probing rather than assumed: the
 * same filtered query over a day-partitioned and an unpartitioned copy of two days
 * (partition pruning), and one column against every column (column pruning).
 */
async function probeEstimator(bq: BigQuery): Promise<string> {
  await bq.createDataset('bench_probe');
  const schema = { fields: [{ name: 'day', type: 'DATE' }, { name: 'a', type: 'INT64' }, { name: 'b', type: 'STRING' }] };
  await bq.dataset('bench_probe').createTable('parted', { schema, timePartitioning: { type: 'DAY', field: 'day' } });
  await bq.dataset('bench_probe').createTable('flat', { schema });
  for (const t of ['parted', 'flat']) {
    await bq.query(`INSERT INTO bench_probe.${t} (day, a, b) SELECT DATE_ADD(DATE '2024-01-01', INTERVAL MOD(x, 2) DAY), x, REPEAT('x', 20) FROM UNNEST(GENERATE_ARRAY(1, 100)) AS x`);
  }
  const dry = async (sql: string): Promise<number> => {
    const [job] = await bq.createQueryJob({ query: sql, dryRun: true });
    return Number((job.metadata as { statistics: { totalBytesProcessed?: string } }).statistics.totalBytesProcessed ?? 0);
  };
  const onePartition = await dry(`SELECT a, b FROM bench_probe.parted WHERE day = '2024-01-01'`);
  const flatSameFilter = await dry(`SELECT a, b FROM bench_probe.flat WHERE day = '2024-01-01'`);
  const oneColumn = await dry(`SELECT a FROM bench_probe.flat`);
  const allColumns = await dry(`SELECT * FROM bench_probe.flat`);
  await bq.dataset('bench_probe').delete({ force: true });
  const partitions = onePartition < flatSameFilter ? 'partition-aware' : 'NOT partition-aware';
  const columns = oneColumn < allColumns ? 'column-aware' : 'NOT column-aware';
  return `the local endpoint's dry-run estimate: ${partitions} (one of two day partitions: ${onePartition} B vs ${flatSameFilter} B unpartitioned), ${columns} (one column: ${oneColumn} B vs all: ${allColumns} B)`;
}

/** Rows of the load-speed comparison. */
const SPEED_ROWS = 5000;

/**
 * The same {@link SPEED_ROWS} usage rows into two scratch tables of the usage table's
 * schema: one load job against streaming inserts (insertAll, 500 rows a request, as the
 * seed script sends them), measured in the same run.
 */
async function loadVersusInsertAll(bq: BigQuery, dir: string, rows: readonly object[]): Promise<{ loadMs: number; insertAllMs: number }> {
  await bq.createDataset('bench_speed');
  const scratch = { ...LLM_USAGE_DAILY, tableId: 'by_load' };
  for (const tableId of ['by_load', 'by_insert_all']) {
    await bq.dataset('bench_speed').createTable(tableId, { schema: { fields: LLM_USAGE_DAILY.fields.map((f) => ({ name: f.name, type: f.type, mode: f.mode })) } });
  }
  const { ms: loadMs } = await loadRows(bq, dir, 'bench_speed', scratch, rows);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += 500) await bq.dataset('bench_speed').table('by_insert_all').insert(rows.slice(i, i + 500).map((json) => ({ json })), { raw: true });
  const insertAllMs = performance.now() - started;
  await bq.dataset('bench_speed').delete({ force: true });
  return { loadMs, insertAllMs };
}

const ratio = (before: number, after: number): string => (before === 0 ? 'n/a' : `${(after / before).toFixed(3)} (${(((before - after) / before) * 100).toFixed(1)} % less)`);

const endpoint = await startBigQueryEndpoint({ port: 0 });
const bq = new BigQuery(localBigQueryOptions(endpoint.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-partitioning-'));
try {
  console.log(`Partitioning bench: ${DAYS} days ending ${END_DATE}; queries read the last ${WINDOW_DAYS} days (${windowFrom} … ${END_DATE}).`);
  const estimator = await probeEstimator(bq);
  console.log(`Estimator: ${estimator}.`);

  const usage = demoUsageRows({ orgSlug: ORG, days: DAYS, endDate: END_DATE });
  const speed = await loadVersusInsertAll(bq, dir, usage.slice(0, SPEED_ROWS));
  console.log(`Load speed, ${SPEED_ROWS} usage rows: one load job ${Math.round(speed.loadMs)} ms vs insertAll (500 rows a request) ${Math.round(speed.insertAllMs)} ms in the same run (×${(speed.loadMs / speed.insertAllMs).toFixed(2)}).`);

  await oldLayout(bq, centralDataset());
  await oldLayout(bq, orgDataset(ORG));
  const loads = [
    { what: `${LLM_USAGE_DAILY.tableId} (demo generator, ${ORG})`, ...(await loadRows(bq, dir, `org_${ORG}`, LLM_USAGE_DAILY, usage)) },
    { what: `${LLM_BILLED_COST_DAILY.tableId} (${ORG})`, ...(await loadRows(bq, dir, `org_${ORG}`, LLM_BILLED_COST_DAILY, billedRows())) },
    { what: `${ORG_AUDIT_LOGS.tableId} (${ORGS.length} orgs)`, ...(await loadRows(bq, dir, centralDataset().datasetId, ORG_AUDIT_LOGS, auditRows())) },
    { what: `${ORG_META_PIPELINE_RUNS.tableId} (${ORGS.length} orgs)`, ...(await loadRows(bq, dir, centralDataset().datasetId, ORG_META_PIPELINE_RUNS, runHistoryRows())) },
  ];
  console.log('\nLoaded into the old layout (no partitioning, no clustering), one load job per table:');
  console.log(table(['table', 'rows', 'load ms'], loads.map((l) => [l.what, String(l.rows), String(Math.round(l.ms))])));

  const queries = benchQueries();
  const before: Processed[] = [];
  for (const q of queries) before.push(await measure(bq, q.query));

  const migrateOut: string[] = [];
  const code = await runBqMigrate(['--execute'], { bigquery: bq, out: (l) => migrateOut.push(l), err: (l) => migrateOut.push(`ERR ${l}`) });
  console.log(`\nbq:migrate --execute (exit ${code}):\n${migrateOut.map((l) => `  ${l}`).join('\n')}`);
  if (code !== 0) throw new Error('bq:migrate failed; no "after" numbers');

  const after: Processed[] = [];
  for (const q of queries) after.push(await measure(bq, q.query));

  console.log('\nBytes processed, before → after bq:migrate, same rows (dry run = statistics.totalBytesProcessed of a dryRun job):');
  console.log(
    table(
      ['query', 'rows', 'dry before', 'dry after', 'after/before', 'real run before', 'real run after'],
      queries.map((q, i) => {
        const b = before[i] as Processed;
        const a = after[i] as Processed;
        return [q.name, `${b.rows} → ${a.rows}`, String(b.dry), String(a.dry), ratio(b.dry, a.dry), String(b.real), String(a.real)];
      }),
    ),
  );
  console.log(`\nEstimator: ${estimator}.`);
  console.log(`For scale: each query's filter selects ${WINDOW_DAYS} of the ${DAYS} day partitions (${((WINDOW_DAYS / DAYS) * 100).toFixed(1)} % of each table); an estimator that prunes partitions would report at most about that share of the "before" bytes.`);
  console.log('Real runs: the bytes their jobs report (the local endpoint reports 0 for an executed query; only dry runs carry an estimate).');
} finally {
  await endpoint.close();
  rmSync(dir, { recursive: true, force: true });
}
