/**
 * `npm run bq:migrate -- [--dry-run | --execute | --rollback [--run ID]] [--dataset D] [--table T]`
 *
 * Brings the BigQuery tables of the central dataset and of every org dataset
 * to their definitions' layout (see deploy/bigquery/migrate.ts). `--dry-run`
 * is the default and changes nothing. `--rollback` undoes one run (the latest,
 * or `--run ID`) and never loses a row written after it. Talks to `BIGQUERY_API_ENDPOINT` (the
 * local endpoint) or to real BigQuery (`GOOGLE_CLOUD_PROJECT` /
 * `BIGQUERY_PROJECT_ID`, application default credentials) through the same
 * client configuration as the functions.
 *
 * Exit codes: 0 done, 1 a step failed, a rollback refused a table or another run holds the lock, 2 bad arguments or configuration.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { createBigQueryClient, parseBigQueryConfig } from '../shared/bigquery/index.js';
import { describeRowDiff } from './bigquery/compareTables.js';
import { migrateTables, type MigrateMode, type TableReport } from './bigquery/migrate.js';
import { MigrationLockedError } from './bigquery/migrateLock.js';
import { RUN_ID_PATTERN } from './bigquery/migrateRun.js';
import { isMain } from './isMain.js';

/** Parsed command line. */
export interface BqMigrateArgs {
  mode: MigrateMode;
  dataset?: string;
  table?: string;
  /** `--rollback`: the run to undo (default: the latest). */
  run?: string;
}

const USAGE = 'usage: bq:migrate [--dry-run | --execute | --rollback [--run ID]] [--dataset D] [--table T]';

/** Parses the arguments; throws with the usage line on anything unknown. */
export function parseBqMigrateArgs(argv: readonly string[]): BqMigrateArgs {
  const modes: MigrateMode[] = [];
  const out: BqMigrateArgs = { mode: 'dry-run' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dry-run') modes.push('dry-run');
    else if (a === '--execute') modes.push('execute');
    else if (a === '--rollback') modes.push('rollback');
    else if (a === '--dataset' || a === '--table') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--') || !/^[A-Za-z0-9_]+$/.test(v)) throw new Error(`${a} needs a name\n${USAGE}`);
      if (a === '--dataset') out.dataset = v;
      else out.table = v;
    } else if (a === '--run') {
      const v = argv[++i];
      if (v === undefined || !RUN_ID_PATTERN.test(v)) throw new Error(`--run needs a run id (as printed by --execute)\n${USAGE}`);
      out.run = v;
    } else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (new Set(modes).size > 1) throw new Error(`choose one of --dry-run, --execute, --rollback\n${USAGE}`);
  if (modes[0]) out.mode = modes[0];
  if (out.run !== undefined && out.mode !== 'rollback') throw new Error(`--run goes with --rollback\n${USAGE}`);
  return out;
}

/** Bytes as a person reads them, with the exact count. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u] as string} (${n} bytes)`;
}

/** One report line per table. */
export function formatReport(r: TableReport): string {
  const name = `${r.datasetId}.${r.tableId}`;
  switch (r.action) {
    case 'up-to-date':
      return `${name}: up to date (skipped)`;
    case 'missing':
      return `${name}: missing (created by onboarding / ensure, nothing to migrate)`;
    case 'no-backup':
      return `${name}: no backup, nothing to restore`;
    case 'other-run':
      return `${name}: its backup belongs to run ${r.runId ?? '?'}, not the one rolled back; left alone`;
    case 'restored':
      return `${name}: restored from backup (${r.rows ?? 0} rows; nothing was written after the migration)`;
    case 'carried-over':
      return `${name}: original layout restored around the table's ${r.rows ?? 0} current rows, carrying over what changed after the migration: ${r.diff ? describeRowDiff(r.diff, { a: 'the table', b: 'the backup' }) : '?'}; backup removed`;
    case 'refused':
      return `${name}: REFUSED — ${r.reason ?? ''}`;
    case 'resumed':
      return `${name}: finished an interrupted swap (${r.rows ?? 0} rows)`;
    case 'rebuilt':
      return `${name}: rebuilt — ${r.changes.join('; ')} (${r.rows ?? 0} rows, backup kept)`;
    case 'rebuild':
      return `${name}: would rebuild — ${r.changes.join('; ')}${r.rows !== undefined ? `; ${r.rows} rows` : ''}${r.bytes !== undefined ? `; the rebuild would process ${formatBytes(r.bytes)}` : ''}`;
  }
}

/** Runs the CLI; returns the exit code. Output goes to `out`, errors to `err`. */
export async function runBqMigrate(
  argv: readonly string[],
  deps: { bigquery?: BigQuery; out?: (line: string) => void; err?: (line: string) => void } = {},
): Promise<number> {
  const out = deps.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = deps.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let args: BqMigrateArgs;
  let bq: BigQuery;
  try {
    args = parseBqMigrateArgs(argv);
    if (deps.bigquery) bq = deps.bigquery;
    else {
      const config = parseBigQueryConfig();
      bq = await createBigQueryClient(config);
      out(`bq:migrate --${args.mode} on ${config.apiEndpoint ? `the local endpoint ${config.apiEndpoint}` : 'BigQuery'}, project ${config.projectId}`);
    }
  } catch (e) {
    err(e instanceof Error ? e.message : String(e));
    return 2;
  }
  try {
    const { runId, reports } = await migrateTables(bq, { mode: args.mode, dataset: args.dataset, table: args.table, run: args.run, log: (l) => out(`  ${l}`) });
    for (const r of reports) out(formatReport(r));
    const count = (a: TableReport['action']): number => reports.filter((r) => r.action === a).length;
    if (args.mode === 'dry-run') {
      const bytes = reports.reduce((s, r) => s + (r.bytes ?? 0), 0);
      out(`Dry run: ${count('rebuild')} table(s) to rebuild (${formatBytes(bytes)} to process), ${count('up-to-date')} up to date, ${count('missing')} missing. Nothing was changed; run with --execute to apply.`);
      return 0;
    }
    if (args.mode === 'execute') {
      out(`Done, run ${runId ?? '?'}: ${count('rebuilt') + count('resumed')} rebuilt, ${count('up-to-date')} up to date, ${count('missing')} missing. Backups: <table>__bqmigrate_backup (undo with --rollback, or --rollback --run ${runId ?? '?'}).`);
      return 0;
    }
    if (runId === undefined) {
      out('Nothing to roll back: no backups.');
      return 0;
    }
    const others = [...new Set(reports.filter((r) => r.action === 'other-run').map((r) => r.runId))];
    out(
      `Rolled back run ${runId}: ${count('restored')} restored from backup, ${count('carried-over')} restored with rows written after the migration carried over, ${count('refused')} refused.` +
        (others.length > 0 ? ` Backups of other runs left alone: ${others.join(', ')}.` : ''),
    );
    if (count('refused') > 0) {
      err('bq:migrate: the rollback refused some tables (see REFUSED above): their rows written after the migration would be lost; table and backup are kept.');
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof MigrationLockedError) {
      err(`bq:migrate: ${e.message}`);
      return 1;
    }
    err(`bq:migrate failed: ${e instanceof Error ? e.message : String(e)}`);
    if (args.mode === 'execute') err('Re-run with --execute to resume, or --rollback to undo this run (the tables it already migrated).');
    return 1;
  }
}

if (isMain(import.meta.url)) {
  process.exitCode = await runBqMigrate(process.argv.slice(2));
}
