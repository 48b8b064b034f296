/**
 * `bq:migrate`: brings existing BigQuery tables (the central dataset and
 * every org dataset) to the layout of their definitions — day partitioning,
 * clustering, `require_partition_filter` — which BigQuery cannot change in
 * place for partitioning, so the table is rebuilt (`migrateTable.ts`):
 * backup, rebuild from the backup, verify that the rebuild and the live table
 * still hold exactly the backup's rows, swap.
 *
 * Every `--execute` is a run with an id (`migrateRun.ts`); its backups carry
 * the id, and `--rollback` undoes one run — the latest, or `--run ID` — and
 * touches no other run's tables (`rollbackTable.ts`). A rollback never loses a
 * row written after the migration: it restores the original layout around the
 * table's current rows, or refuses and names them.
 *
 * Every step is idempotent and the state is read back from BigQuery, so a run
 * interrupted anywhere is resumed by running `--execute` again or undone with
 * `--rollback`. `--execute` and `--rollback` hold the lock in
 * `migrateLock.ts`; a dry run only reads. Every query carries a partition
 * filter where the table requires one (`migrateLayout.ts`).
 */
import type { BigQuery } from '@google-cloud/bigquery';
import type { RowDiff } from './compareTables.js';
import { MigrationLock } from './migrateLock.js';
import { BACKUP_SUFFIX, CENTRAL_DATASET, definitionsOf, ORG_DATASET_PREFIX } from './migrateLayout.js';
import type { TableDefinition } from './migrateLayout.js';
import { latestRun, newRunId, runOf, UNLABELLED_RUN } from './migrateRun.js';
import { migrateTable, type MigrateStep } from './migrateTable.js';
import { metadataOf } from './migrateTableOps.js';
import { rollbackTable } from './rollbackTable.js';

export type { MigrateStep } from './migrateTable.js';

/** What a run does. */
export type MigrateMode = 'dry-run' | 'execute' | 'rollback';

/** Options of {@link migrateTables}. */
export interface MigrateTablesOptions {
  mode: MigrateMode;
  /** Only this dataset. */
  dataset?: string | undefined;
  /** Only tables with this id. */
  table?: string | undefined;
  /** `rollback`: the run to undo. @default the latest run that left backups */
  run?: string | undefined;
  /** Progress lines (one per step). @default discards them */
  log?: (line: string) => void;
  /** Lock lifetime without refresh (tests). */
  lockTtlMs?: number;
  /** Called after each step of a table's `--execute` (tests: a write between backup and swap). */
  afterStep?: (step: MigrateStep) => Promise<void>;
}

/** What happened to one table. */
export interface TableReport {
  datasetId: string;
  tableId: string;
  /**
   * `up-to-date` (matches), `rebuild` (dry run: would be rebuilt), `rebuilt`, `resumed` (an interrupted swap
   * finished), `missing` (no such table; onboarding/ensure creates it); rollback: `restored` (the backup copied
   * back: nothing was written after the migration), `carried-over` (the original layout rebuilt around the
   * table's current rows, which differ from the backup's), `refused` (rows at stake, nothing changed),
   * `other-run` (the backup belongs to another run: left alone), `no-backup` (nothing to restore).
   */
  action: 'up-to-date' | 'rebuild' | 'rebuilt' | 'resumed' | 'missing' | 'restored' | 'carried-over' | 'refused' | 'other-run' | 'no-backup';
  changes: string[];
  rows?: number;
  /** Dry run: bytes the rebuild would read (dry-run job estimate). */
  bytes?: number;
  /** The run the table's backup belongs to (rollback). */
  runId?: string;
  /** Rollback: the live table (`a`) against the backup (`b`). */
  diff?: RowDiff;
  /** `refused`: why, naming the rows at stake. */
  reason?: string;
}

/** The outcome of a run. */
export interface MigrateResult {
  /** The run: a new id for `--execute` and a dry run, the run undone for `--rollback` (undefined when there was none). */
  runId: string | undefined;
  reports: TableReport[];
}

/** The datasets a run covers: the central one and every `org_*`, or just `--dataset`. */
async function datasetsToScan(bq: BigQuery, only: string | undefined): Promise<string[]> {
  if (only !== undefined) {
    if (definitionsOf(only) === undefined) throw new Error(`${only} is not a CloudAct dataset (${CENTRAL_DATASET} or ${ORG_DATASET_PREFIX}<slug>)`);
    return [only];
  }
  const [datasets] = await bq.getDatasets({ autoPaginate: true });
  const ids = datasets.map((d) => d.id ?? '').filter((id) => definitionsOf(id) !== undefined);
  return ids.sort((a, b) => (a === CENTRAL_DATASET ? -1 : b === CENTRAL_DATASET ? 1 : a.localeCompare(b)));
}

/** The tables a run covers, dataset by dataset. */
function* tablesOf(datasets: readonly string[], table: string | undefined): Generator<{ datasetId: string; tableId: string; def: TableDefinition }> {
  for (const datasetId of datasets) {
    for (const def of definitionsOf(datasetId) ?? []) {
      if (table === undefined || def.tableId === table) yield { datasetId, tableId: def.tableId, def };
    }
  }
}

/**
 * Runs the migration (see the module comment). Throws on the first failure of
 * `--execute` (the run can then be resumed or rolled back), and
 * `MigrationLockedError` when another run holds the lock. A rollback that
 * refuses a table reports it (`refused`) and goes on with the others.
 */
export async function migrateTables(bq: BigQuery, options: MigrateTablesOptions): Promise<MigrateResult> {
  const log = options.log ?? (() => undefined);
  const datasets = await datasetsToScan(bq, options.dataset);
  const runId = options.mode === 'rollback' ? undefined : newRunId();
  const lock = options.mode === 'dry-run' ? undefined : await MigrationLock.acquire(bq, CENTRAL_DATASET, options.lockTtlMs, runId);
  try {
    if (options.mode === 'rollback') return await rollback(bq, datasets, options, log, lock);
    const reports: TableReport[] = [];
    for (const { datasetId, def } of tablesOf(datasets, options.table)) {
      reports.push(await migrateTable(bq, datasetId, def, { execute: options.mode === 'execute', runId: runId as string, log, afterStep: options.afterStep }));
      await lock?.refresh();
    }
    return { runId, reports };
  } finally {
    await lock?.release();
  }
}

/** Rolls back one run: the tables whose backups carry its id, and no others. */
async function rollback(bq: BigQuery, datasets: readonly string[], options: MigrateTablesOptions, log: (line: string) => void, lock: MigrationLock | undefined): Promise<MigrateResult> {
  const reports: TableReport[] = [];
  const backups: { datasetId: string; tableId: string; runId: string }[] = [];
  for (const { datasetId, tableId } of tablesOf(datasets, options.table)) {
    const backup = await metadataOf(bq, datasetId, `${tableId}${BACKUP_SUFFIX}`);
    if (backup) backups.push({ datasetId, tableId, runId: runOf(backup) });
    else reports.push({ datasetId, tableId, action: 'no-backup', changes: [] });
  }
  const runs = [...new Set(backups.map((b) => b.runId))];
  if (options.run !== undefined && !runs.includes(options.run)) {
    throw new Error(`no backup of run ${options.run} in the tables covered${runs.length > 0 ? ` (runs with backups: ${runs.join(', ')})` : ' (there are no backups)'}`);
  }
  const runId = options.run ?? latestRun(runs);
  if (runId !== undefined) log(`rolling back run ${runId}${runId === UNLABELLED_RUN ? ' (backups made before runs were labelled)' : ''}`);
  for (const b of backups) {
    if (b.runId !== runId) {
      reports.push({ datasetId: b.datasetId, tableId: b.tableId, action: 'other-run', changes: [], runId: b.runId });
      continue;
    }
    reports.push({ ...(await rollbackTable(bq, b.datasetId, b.tableId, log)), runId: b.runId });
    await lock?.refresh();
  }
  return { runId, reports };
}
