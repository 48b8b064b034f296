/**
 * `npm run bq:migrate-usage -- [--dry-run | --execute] [--dataset org_x]`
 *
 * Brings every org dataset to the per-class usage schema (new columns of
 * `llm_usage_daily`, the `llm_billed_cost_daily` table) and backfills the rows
 * loaded before it (see deploy/bigquery/migrateUsage.ts). `--dry-run` is the
 * default and changes nothing. Talks to `BIGQUERY_API_ENDPOINT` (the local
 * endpoint) or to real BigQuery (`GOOGLE_CLOUD_PROJECT` / `BIGQUERY_PROJECT_ID`,
 * application default credentials), and reads the demo runs from PostgreSQL
 * through `DATABASE_URL` or the Cloud SQL connector (`INSTANCE_CONNECTION_NAME`),
 * with the same configuration as the functions.
 *
 * Exit codes: 0 done, 1 a step failed or another run holds the lock, 2 bad arguments or configuration.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { ORG_DATASET_PREFIX, ORG_SLUG_PATTERN } from '../shared/analytics/index.js';
import { createBigQueryClient, parseBigQueryConfig } from '../shared/bigquery/index.js';
import { runtimeConfig } from '../shared/config/index.js';
import { createPool, poolOptionsFromConfig, type Db, type Queryable } from '../shared/db/index.js';
import { setLogSink } from '../shared/log/index.js';
import { MigrationLockedError } from './bigquery/migrateLock.js';
import { isUpToDate, legacyTotal, migrateUsage, type LegacyRows, type MigrateUsageMode, type UsageDatasetReport } from './bigquery/migrateUsage.js';
import { formatBytes } from './bqMigrate.js';
import { isMain } from './isMain.js';

/** Parsed command line. */
export interface BqMigrateUsageArgs {
  mode: MigrateUsageMode;
  dataset?: string;
}

/** The `application_name` the command connects to PostgreSQL with. */
export const MIGRATE_USAGE_APPLICATION_NAME = 'bq-migrate-usage';

const USAGE = 'usage: bq:migrate-usage [--dry-run | --execute] [--dataset org_<slug>]';

/** Parses the arguments; throws with the usage line on anything unknown. */
export function parseBqMigrateUsageArgs(argv: readonly string[]): BqMigrateUsageArgs {
  const modes: MigrateUsageMode[] = [];
  const out: BqMigrateUsageArgs = { mode: 'dry-run' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dry-run') modes.push('dry-run');
    else if (a === '--execute') modes.push('execute');
    else if (a === '--dataset') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a name\n${USAGE}`);
      if (!v.startsWith(ORG_DATASET_PREFIX) || !ORG_SLUG_PATTERN.test(v.slice(ORG_DATASET_PREFIX.length))) throw new Error(`${a} ${v} is not an org dataset\n${USAGE}`);
      out.dataset = v;
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (new Set(modes).size > 1) throw new Error(`choose one of --dry-run, --execute\n${USAGE}`);
  if (modes[0]) out.mode = modes[0];
  return out;
}

/**
 * Bytes as an operator reads them, with the exact figure beside. The same shape as
 * bq:migrate's (deploy/bqMigrate.ts keeps its copy private).
 */

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `3 demo, 1 provider (openai_usage_daily 1)` */
function formatSplit(legacy: LegacyRows): string {
  const providers = Object.entries(legacy.provider).sort(([a], [b]) => a.localeCompare(b));
  const providerTotal = providers.reduce((s, [, n]) => s + n, 0);
  return `${legacy.demo} demo, ${providerTotal} provider${providers.length > 0 ? ` (${providers.map(([s, n]) => `${s} ${n}`).join(', ')})` : ''}`;
}

/** One report line per dataset. */
export function formatUsageReport(r: UsageDatasetReport, mode: MigrateUsageMode): string {
  if (isUpToDate(r)) return `${r.datasetId}: up to date (nothing to do)`;
  const dry = mode === 'dry-run';
  const parts: string[] = [];
  if (r.problems.length > 0) parts.push(`cannot be patched in place — ${r.problems.join('; ')} (run bq:migrate --execute first)`);
  if (r.tablesCreated.length > 0) parts.push(`${dry ? 'would create' : 'created'} ${r.tablesCreated.join(', ')}`);
  for (const [table, columns] of Object.entries(r.columnsAdded)) {
    parts.push(`${dry ? 'would add' : 'added'} ${plural(columns.length, 'column')} to ${table} (${columns.join(', ')})`);
  }
  if (r.otherChanges.length > 0) parts.push(`${dry ? 'would also set' : 'also set'} ${r.otherChanges.join(', ')}`);
  const legacy = legacyTotal(r.legacy);
  if (dry && legacy > 0) {
    let bytes: string;
    if (r.estimate?.bytes === undefined) bytes = 'the endpoint gave no byte estimate for the backfill';
    else if (r.estimate.basis === 'update') bytes = `the backfill UPDATE would process ${formatBytes(r.estimate.bytes)} (dry run of the UPDATE)`;
    else bytes = `the backfill UPDATE would process about ${formatBytes(r.estimate.bytes)} (columns it reads + the partitions it rewrites, by dry runs; the UPDATE itself can be dry-run once its columns exist)`;
    parts.push(`${plural(legacy, 'legacy row')} to backfill (${formatSplit(r.legacy)}); ${bytes}`);
  } else if (!dry && r.backfilled !== undefined) {
    parts.push(`backfilled ${plural(r.backfilled, 'legacy row')} (${formatSplit(r.legacy)})`);
  }
  return `${r.datasetId}: ${parts.join('; ')}`;
}

/** What the command needs from outside; tests inject both clients. */
export interface BqMigrateUsageDeps {
  bigquery?: BigQuery;
  db?: Queryable;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/** Runs the CLI; returns the exit code. Output goes to `out`, errors to `err`. */
export async function runBqMigrateUsage(argv: readonly string[], deps: BqMigrateUsageDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let args: BqMigrateUsageArgs;
  let bq: BigQuery;
  let opened: Db | undefined;
  try {
    args = parseBqMigrateUsageArgs(argv);
    if (deps.bigquery) bq = deps.bigquery;
    else {
      const config = parseBigQueryConfig();
      bq = await createBigQueryClient(config);
      out(`bq:migrate-usage --${args.mode} on ${config.apiEndpoint ? `the local endpoint ${config.apiEndpoint}` : 'BigQuery'}, project ${config.projectId}`);
    }
    if (deps.db === undefined) {
      const config = runtimeConfig();
      if (config.DATABASE_URL === undefined && config.INSTANCE_CONNECTION_NAME === undefined) {
        throw new Error('Invalid configuration: environment variable DATABASE_URL (or INSTANCE_CONNECTION_NAME) must be set: the demo runs are read from pipeline_runs');
      }
    }
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 2;
  }
  try {
    // The same connection options as the functions, under our own name, with one connection.
    const db = deps.db ?? (opened = await createPool({ ...poolOptionsFromConfig(runtimeConfig()), applicationName: MIGRATE_USAGE_APPLICATION_NAME, max: 1 }));
    const reports = await migrateUsage(bq, db, { mode: args.mode, dataset: args.dataset, log: (l) => out(`  ${l}`) });
    for (const r of reports) out(formatUsageReport(r, args.mode));
    const pending = reports.filter((r) => !isUpToDate(r));
    const rows = reports.reduce((s, r) => s + legacyTotal(r.legacy), 0);
    if (args.mode === 'dry-run') {
      const blocked = reports.filter((r) => r.problems.length > 0).length;
      out(
        `Dry run: ${plural(pending.length, 'dataset')} to migrate (${plural(rows, 'legacy row')} to backfill), ${reports.length - pending.length} up to date` +
          `${blocked > 0 ? `, ${blocked} needing bq:migrate first` : ''}. Nothing was changed; run with --execute to apply.`,
      );
    } else {
      const backfilled = reports.reduce((s, r) => s + (r.backfilled ?? 0), 0);
      out(`Done: ${plural(pending.length, 'dataset')} migrated (${plural(backfilled, 'legacy row')} backfilled), ${reports.length - pending.length} up to date.`);
    }
    return 0;
  } catch (e) {
    if (e instanceof MigrationLockedError) {
      err(`bq:migrate-usage: ${e.message}`);
      return 1;
    }
    err(`bq:migrate-usage failed: ${e instanceof Error ? e.message : String(e)}`);
    if (args.mode === 'execute') err('Each step is idempotent: re-run with --execute to finish.');
    return 1;
  } finally {
    await opened?.close();
  }
}

if (isMain(import.meta.url)) {
  // stdout carries the report; the pool's own log lines go to stderr.
  setLogSink((line) => process.stderr.write(`${line}\n`));
  process.exitCode = await runBqMigrateUsage(process.argv.slice(2));
}
