/**
 * `bq:migrate-usage`: brings every org dataset to the per-class usage schema and backfills
 * the rows loaded before it ("legacy" rows), so that a pipeline re-run can find and
 * replace them.
 *
 * Per org dataset (`org_<slug>`):
 *
 * 1. `ensureDatasetDefinition(orgDataset(slug))`: the NULLABLE columns `llm_usage_daily`
 *    gained are added in place (tables.patch) and `llm_billed_cost_daily` is created. A
 *    table whose partitioning differs cannot be patched: that is `bq:migrate`'s job, and
 *    the run stops and says so.
 * 2. One `UPDATE` of `llm_usage_daily`, only `WHERE source IS NULL` (the legacy rows):
 *    `source` inferred (below), `service_tier` 'standard', the whole of `input_tokens` as
 *    uncached input and of `output_tokens` as text output (a legacy row lumped every class
 *    together and was priced at one input rate, so that is what it holds), the other
 *    classes 0, `unpriced_tokens` = all tokens of a row priced at 0, `price_entry` NULL.
 *    `cost_usd` is left as it was: the row keeps its old cost until its pipeline is re-run
 *    for that date, which replaces it with rows priced per class.
 *
 * A legacy row's `source` is `demo_usage_daily` when it was loaded by the local stack's
 * seed (`pipeline_run_id` 'demo-seed'), by a `demo_usage_daily` run (its id is in
 * PostgreSQL's `pipeline_runs`), or names a provider no real pipeline pulls (google,
 * mistral: only the old demo produced those); otherwise `<provider>_usage_daily`.
 *
 * Idempotent: the columns exist and no row has a NULL `source` after a run, so a second
 * run finds nothing to do (and runs no UPDATE). A run interrupted between the two steps
 * is finished by the next one. `--execute` holds the `bq:migrate` lock (`migrateLock.ts`):
 * both commands rewrite the same tables, so neither may overlap the other or itself. A dry
 * run only reads: table metadata, a COUNT of the legacy rows and dry-run jobs.
 *
 * Every statement carries a filter on `usage_date`, the tables' partition column: real
 * BigQuery refuses any query of a `require_partition_filter` table without one.
 */
import { DEMO_PIPELINE_ID } from '../../shared/demo/index.js';
import type { BigQuery, DatasetResource, Query, TableField, TableMetadata } from '@google-cloud/bigquery';
import { CENTRAL_DATASET, ensureDatasetDefinition, LLM_USAGE_DAILY, ORG_DATASET_PREFIX, ORG_SLUG_PATTERN, orgDataset, tableDrift } from '../../shared/analytics/index.js';
import type { Queryable } from '../../shared/db/index.js';
import { MigrationLock } from './migrateLock.js';
import { tableSql } from './migrateLayout.js';
import { metadataOf } from './migrateTableOps.js';

/** What a run does. */
export type MigrateUsageMode = 'dry-run' | 'execute';

/** The pipeline of the offline demo data; its rows are labelled with it. */
export const DEMO_SOURCE = DEMO_PIPELINE_ID;

/** `pipeline_run_id` of the rows the local stack's demo seed (`dev/seedDemo.ts`) writes. */
export const DEMO_SEED_RUN_ID = 'demo-seed';

/**
 * The providers a real `<provider>_usage_daily` pipeline loaded before the change; any
 * other provider's legacy rows came from the demo. A fact about the past, deliberately not
 * the current provider list: a provider added later never wrote a legacy row.
 */
export const REAL_USAGE_PROVIDERS: readonly string[] = ['openai', 'anthropic'];

/**
 * Every partition: the filter a `require_partition_filter` table needs on a statement
 * meant to see all of its rows.
 */
export const ALL_PARTITIONS = "usage_date >= DATE '1900-01-01'";

/** Options of {@link migrateUsage}. */
export interface MigrateUsageOptions {
  mode: MigrateUsageMode;
  /** Only this org dataset. */
  dataset?: string | undefined;
  /** Progress lines (one per step of `--execute`). @default discards them */
  log?: (line: string) => void;
  /** Lock lifetime without refresh (tests). */
  lockTtlMs?: number;
}

/** Legacy rows by the source they get: `demo_usage_daily` apart, the provider pipelines by name. */
export interface LegacyRows {
  demo: number;
  provider: Record<string, number>;
}

/** What the backfill UPDATE would process, by a dry-run job. */
export interface BytesEstimate {
  /** Bytes; undefined when the endpoint reported none. */
  bytes: number | undefined;
  /**
   * `update`: a dry run of the UPDATE itself. `scan`: the UPDATE cannot be dry-run before
   * its columns exist, so BigQuery's own formula for it is dry-run instead — the columns it
   * reads plus the whole of the partitions it rewrites (two SELECTs).
   */
  basis: 'update' | 'scan';
}

/** What happened (or, in a dry run, would happen) to one org dataset. */
export interface UsageDatasetReport {
  datasetId: string;
  /** Tables created (to create). */
  tablesCreated: string[];
  /** Columns added (to add), by table. */
  columnsAdded: Record<string, string[]>;
  /** Other in-place changes ensure makes (labels, clustering, require_partition_filter). */
  otherChanges: string[];
  /** Differences no in-place change can fix (dry run; `--execute` stops on them). */
  problems: string[];
  /** The legacy rows found. */
  legacy: LegacyRows;
  /** Rows the UPDATE changed (`--execute`). */
  backfilled?: number;
  /** Dry run, when there are legacy rows: what the UPDATE would process. */
  estimate?: BytesEstimate;
}

/** The total of {@link LegacyRows}. */
export function legacyTotal(legacy: LegacyRows): number {
  return legacy.demo + Object.values(legacy.provider).reduce((s, n) => s + n, 0);
}

/** Whether a report changes (would change) nothing. */
export function isUpToDate(r: UsageDatasetReport): boolean {
  return r.tablesCreated.length === 0 && Object.keys(r.columnsAdded).length === 0 && r.otherChanges.length === 0 && r.problems.length === 0 && legacyTotal(r.legacy) === 0;
}

function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number(err.code) : undefined;
}

/**
 * The source a legacy row gets, as a GoogleSQL expression over its columns
 * (`@demo_run_ids` holds 'demo-seed' and the org's demo run ids, `@real_providers`
 * {@link REAL_USAGE_PROVIDERS}). The COUNT of a dry run and the UPDATE share it, so what
 * the dry run reports is what the UPDATE writes. A NULL `pipeline_run_id` is in no list.
 */
const INFERRED_SOURCE = `IF(provider NOT IN UNNEST(@real_providers) OR IFNULL(pipeline_run_id IN UNNEST(@demo_run_ids), FALSE), '${DEMO_SOURCE}', CONCAT(provider, '_usage_daily'))`;

/** The columns the backfill writes; the UPDATE can be dry-run once they all exist. */
const BACKFILLED_COLUMNS = [
  'source',
  'service_tier',
  'tokens_input_uncached',
  'tokens_input_cached',
  'tokens_cache_write_5m',
  'tokens_cache_write_1h',
  'tokens_output',
  'tokens_input_audio',
  'tokens_output_audio',
  'tokens_input_image',
  'unpriced_tokens',
  'price_entry',
] as const;

/** The legacy columns the UPDATE reads (the `q'` of BigQuery's DML pricing, when the new ones do not exist yet). */
const READ_COLUMNS = ['usage_date', 'provider', 'pipeline_run_id', 'input_tokens', 'output_tokens', 'cost_usd'] as const;

/** The backfill: one UPDATE of the legacy rows (see the module comment). */
export function backfillSql(datasetId: string): string {
  return `UPDATE ${tableSql(datasetId, LLM_USAGE_DAILY.tableId)}
SET source = ${INFERRED_SOURCE},
  service_tier = 'standard',
  tokens_input_uncached = input_tokens,
  tokens_input_cached = 0,
  tokens_cache_write_5m = 0,
  tokens_cache_write_1h = 0,
  tokens_output = output_tokens,
  tokens_input_audio = 0,
  tokens_output_audio = 0,
  tokens_input_image = 0,
  unpriced_tokens = IF(cost_usd = 0 AND input_tokens + output_tokens > 0, input_tokens + output_tokens, 0),
  price_entry = NULL
WHERE ${ALL_PARTITIONS} AND source IS NULL`;
}

/** Legacy rows by the source they would get; `hasSource` false means every row is legacy (the column does not exist yet). */
function countSql(datasetId: string, hasSource: boolean): string {
  return `SELECT ${INFERRED_SOURCE} AS inferred_source, COUNT(*) AS n
FROM ${tableSql(datasetId, LLM_USAGE_DAILY.tableId)}
WHERE ${ALL_PARTITIONS}${hasSource ? ' AND source IS NULL' : ''}
GROUP BY inferred_source`;
}

/**
 * The ids of the org's `demo_usage_daily` runs, from PostgreSQL, plus 'demo-seed': an
 * anthropic or openai row loaded by one of them is demo data. Only this org's runs, so the
 * parameter stays as small as the org's history.
 */
export async function demoRunIds(db: Queryable, orgSlug: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT r.id::text AS id FROM pipeline_runs r JOIN orgs o ON o.id = r.org_id WHERE r.pipeline_id = $1 AND o.org_slug = $2 ORDER BY 1`,
    [DEMO_SOURCE, orgSlug],
  );
  return [DEMO_SEED_RUN_ID, ...rows.map((r) => r.id)];
}

/** The org datasets a run covers: every `org_<slug>`, or just `--dataset` (which must exist). */
async function orgDatasetsToScan(bq: BigQuery, only: string | undefined): Promise<string[]> {
  if (only !== undefined) {
    if (slugOf(only) === undefined) throw new Error(`${only} is not an org dataset (${ORG_DATASET_PREFIX}<slug>)`);
    const [exists] = await bq.dataset(only).exists();
    if (!exists) throw new Error(`dataset ${only} does not exist`);
    return [only];
  }
  const [datasets] = await bq.getDatasets({ autoPaginate: true });
  return datasets
    .map((d) => d.id ?? '')
    .filter((id) => slugOf(id) !== undefined)
    .sort((a, b) => a.localeCompare(b));
}

function slugOf(datasetId: string): string | undefined {
  if (!datasetId.startsWith(ORG_DATASET_PREFIX)) return undefined;
  const slug = datasetId.slice(ORG_DATASET_PREFIX.length);
  return ORG_SLUG_PATTERN.test(slug) ? slug : undefined;
}


function hasColumn(meta: TableMetadata, name: string): boolean {
  return (meta.schema?.fields ?? []).some((f: TableField) => f.name?.toLowerCase() === name);
}

/** What ensure would do to the dataset, read from its current metadata (nothing is written). */
interface Plan {
  report: UsageDatasetReport;
  datasetLocation: string;
  /** `llm_usage_daily` as it is now, or undefined when it is missing. */
  usage: TableMetadata | undefined;
}

async function plan(bq: BigQuery, datasetId: string, slug: string): Promise<Plan> {
  const def = orgDataset(slug);
  const report: UsageDatasetReport = { datasetId, tablesCreated: [], columnsAdded: {}, otherChanges: [], problems: [], legacy: { demo: 0, provider: {} } };
  const [datasetMeta] = (await bq.dataset(datasetId).getMetadata()) as unknown as [DatasetResource];
  const missingLabels = Object.entries(def.labels).filter(([k, v]) => datasetMeta.labels?.[k] !== v);
  if (missingLabels.length > 0) report.otherChanges.push(`dataset labels + ${missingLabels.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  let usage: TableMetadata | undefined;
  for (const table of def.tables) {
    const meta = await metadataOf(bq, datasetId, table.tableId);
    if (table.tableId === LLM_USAGE_DAILY.tableId) usage = meta;
    if (meta === undefined) {
      report.tablesCreated.push(table.tableId);
      continue;
    }
    const { patch, problems } = tableDrift(meta, table, def.labels);
    report.problems.push(...problems.map((p) => `${table.tableId}: ${p}`));
    const added = (patch?.schema?.fields ?? []).map((f) => f.name ?? '').filter((name) => !hasColumn(meta, name.toLowerCase()));
    if (added.length > 0) report.columnsAdded[table.tableId] = added;
    if (patch?.clustering !== undefined) report.otherChanges.push(`${table.tableId}: clustering -> ${(patch.clustering.fields ?? []).join(', ')}`);
    if (patch?.requirePartitionFilter !== undefined) report.otherChanges.push(`${table.tableId}: require_partition_filter -> ${String(patch.requirePartitionFilter)}`);
    if (patch?.labels !== undefined) report.otherChanges.push(`${table.tableId}: labels`);
    const relaxed = (patch?.schema?.fields ?? []).filter((f) => f.mode === 'NULLABLE' && (meta.schema?.fields ?? []).some((c) => c.name === f.name && c.mode === 'REQUIRED'));
    if (relaxed.length > 0) report.otherChanges.push(`${table.tableId}: ${relaxed.map((f) => f.name ?? '').join(', ')} REQUIRED -> NULLABLE`);
  }
  // BigQuery always reports a dataset's location. The dataset exists, so ensure only
  // compares it: passing its own location keeps a dataset in another location than the
  // functions' configured one from failing a migration that cannot move it anyway.
  return { report, datasetLocation: datasetMeta.location ?? 'US', usage };
}

/** Query parameters of the COUNT and the UPDATE. */
function sourceParams(runIds: string[]): Pick<Query, 'params' | 'types'> {
  return {
    params: { demo_run_ids: runIds, real_providers: [...REAL_USAGE_PROVIDERS] },
    types: { demo_run_ids: ['STRING'], real_providers: ['STRING'] },
  };
}

const JOB_LABELS = { purpose: 'bq_migrate_usage' };

async function countLegacy(bq: BigQuery, datasetId: string, usage: TableMetadata, runIds: string[]): Promise<LegacyRows> {
  const [rows] = await bq.query({ query: countSql(datasetId, hasColumn(usage, 'source')), ...sourceParams(runIds), labels: JOB_LABELS });
  const legacy: LegacyRows = { demo: 0, provider: {} };
  for (const row of rows as { inferred_source: string; n: number }[]) {
    if (row.inferred_source === DEMO_SOURCE) legacy.demo += Number(row.n);
    else legacy.provider[row.inferred_source] = Number(row.n);
  }
  return legacy;
}

async function dryRunBytes(bq: BigQuery, query: Query): Promise<number | undefined> {
  const [job] = await bq.createQueryJob({ ...query, dryRun: true, labels: JOB_LABELS });
  const stats = (job.metadata as { statistics?: { totalBytesProcessed?: string } } | undefined)?.statistics;
  return stats?.totalBytesProcessed === undefined ? undefined : Number(stats.totalBytesProcessed);
}

/**
 * The bytes the UPDATE would process. Once its columns exist, a dry run of the UPDATE
 * itself. Before (the usual case), BigQuery's formula for an UPDATE of a partitioned
 * table, each term by a dry-run SELECT: the columns it reads in the partitions it scans,
 * plus every column of the partitions it rewrites (all of them: legacy rows can be in any).
 */
async function estimateBackfill(bq: BigQuery, datasetId: string, usage: TableMetadata, runIds: string[]): Promise<BytesEstimate> {
  if (BACKFILLED_COLUMNS.every((c) => hasColumn(usage, c))) {
    return { bytes: await dryRunBytes(bq, { query: backfillSql(datasetId), ...sourceParams(runIds) }), basis: 'update' };
  }
  const table = tableSql(datasetId, LLM_USAGE_DAILY.tableId);
  const read = await dryRunBytes(bq, { query: `SELECT ${READ_COLUMNS.join(', ')} FROM ${table} WHERE ${ALL_PARTITIONS}` });
  const rewritten = await dryRunBytes(bq, { query: `SELECT * FROM ${table} WHERE ${ALL_PARTITIONS}` });
  return { bytes: read === undefined || rewritten === undefined ? undefined : read + rewritten, basis: 'scan' };
}

async function backfill(bq: BigQuery, datasetId: string, runIds: string[]): Promise<number> {
  const [job] = await bq.createQueryJob({ query: backfillSql(datasetId), ...sourceParams(runIds), labels: JOB_LABELS });
  await job.getQueryResults();
  const [meta] = (await job.getMetadata()) as unknown as [{ statistics?: { query?: { numDmlAffectedRows?: string } } }];
  return Number(meta.statistics?.query?.numDmlAffectedRows ?? 0);
}

async function migrateDataset(bq: BigQuery, db: Queryable, datasetId: string, execute: boolean, log: (line: string) => void): Promise<UsageDatasetReport> {
  const slug = slugOf(datasetId) as string;
  const { report, datasetLocation, usage } = await plan(bq, datasetId, slug);
  const runIds = await demoRunIds(db, slug);
  if (usage !== undefined) report.legacy = await countLegacy(bq, datasetId, usage, runIds);
  const legacy = legacyTotal(report.legacy);

  if (!execute) {
    if (usage !== undefined && legacy > 0) report.estimate = await estimateBackfill(bq, datasetId, usage, runIds);
    return report;
  }
  if (report.problems.length > 0) {
    throw new Error(`${datasetId}: ${report.problems.join('; ')}. Run \`npm run bq:migrate -- --execute --dataset ${datasetId}\` first, then this again.`);
  }
  if (report.tablesCreated.length > 0 || Object.keys(report.columnsAdded).length > 0 || report.otherChanges.length > 0) {
    await ensureDatasetDefinition(bq, orgDataset(slug), { location: datasetLocation });
    log(`${datasetId}: schema applied (${report.tablesCreated.length} table(s) created, ${Object.values(report.columnsAdded).flat().length} column(s) added)`);
  }
  if (legacy > 0) {
    report.backfilled = await backfill(bq, datasetId, runIds);
    log(`${datasetId}: backfilled ${report.backfilled} legacy row(s)`);
  }
  return report;
}

/**
 * Runs the migration (see the module comment) and returns one report per org dataset.
 * Throws on the first failure of `--execute` (running it again resumes), and
 * `MigrationLockedError` when another `bq:migrate`/`bq:migrate-usage` run holds the lock.
 *
 * @param db reads the demo runs from PostgreSQL's `pipeline_runs`
 */
export async function migrateUsage(bq: BigQuery, db: Queryable, options: MigrateUsageOptions): Promise<UsageDatasetReport[]> {
  const log = options.log ?? (() => undefined);
  const execute = options.mode === 'execute';
  const datasets = await orgDatasetsToScan(bq, options.dataset);
  const lock = execute ? await acquireLock(bq, options.lockTtlMs) : undefined;
  const reports: UsageDatasetReport[] = [];
  try {
    for (const datasetId of datasets) {
      reports.push(await migrateDataset(bq, db, datasetId, execute, log));
      await lock?.refresh();
    }
  } finally {
    await lock?.release();
  }
  return reports;
}

async function acquireLock(bq: BigQuery, ttlMs: number | undefined): Promise<MigrationLock> {
  try {
    return await MigrationLock.acquire(bq, CENTRAL_DATASET, ttlMs);
  } catch (err) {
    if (errorCode(err) !== 404) throw err;
    throw new Error(`the central dataset ${CENTRAL_DATASET}, which holds the migration lock, does not exist; create it first (npx tsx deploy/bigquery/ensureCentral.ts)`, { cause: err });
  }
}
