/**
 * `bq:migrate`: brings existing BigQuery tables (the central dataset and
 * every org dataset) to the layout of their definitions — day partitioning,
 * clustering, `require_partition_filter` — which BigQuery cannot change in
 * place for partitioning, so the table is rebuilt:
 *
 * 1. backup: copy job `T` → `T__bqmigrate_backup` (kept afterwards);
 * 2. rebuild: `CREATE OR REPLACE TABLE T__bqmigrate_new (…) PARTITION BY … CLUSTER BY … OPTIONS(…) AS SELECT … FROM backup`
 *    (schema, descriptions and labels of `T` kept);
 * 3. verify: rows of the rebuild = rows of the backup = rows of `T`;
 * 4. swap: `DROP TABLE T`, `ALTER TABLE T__bqmigrate_new RENAME TO T`.
 *
 * Every step is idempotent and the state is read back from BigQuery, so a run
 * interrupted anywhere is resumed by running `--execute` again (an existing
 * backup is reused when it still has the rows of `T`; a rebuild whose `T` is
 * already dropped is renamed into place) or undone with `--rollback`, which
 * restores each table from its backup (drop `T`, copy the backup back,
 * verify, then drop the backup). A table that already matches is skipped.
 * `--execute` and `--rollback` hold the lock in `migrateLock.ts`; a dry run
 * only reads.
 */
import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';
import { MigrationLock } from './migrateLock.js';
import {
  BACKUP_SUFFIX,
  CENTRAL_DATASET,
  currentLayout,
  definedLayout,
  definitionsOf,
  layoutChanges,
  ORG_DATASET_PREFIX,
  readSql,
  REBUILD_SUFFIX,
  rebuildSql,
  tableSql,
} from './migrateLayout.js';

/** What a run does. */
export type MigrateMode = 'dry-run' | 'execute' | 'rollback';

/** Options of {@link migrateTables}. */
export interface MigrateTablesOptions {
  mode: MigrateMode;
  /** Only this dataset. */
  dataset?: string | undefined;
  /** Only tables with this id. */
  table?: string | undefined;
  /** Progress lines (one per step). @default discards them */
  log?: (line: string) => void;
  /** Lock lifetime without refresh (tests). */
  lockTtlMs?: number;
}

/** What happened to one table. */
export interface TableReport {
  datasetId: string;
  tableId: string;
  /**
   * `up-to-date` (matches), `rebuild` (dry run: would be rebuilt), `rebuilt`, `resumed` (an interrupted swap
   * finished), `missing` (no such table; onboarding/ensure creates it), `restored`, `no-backup` (rollback: nothing to restore).
   */
  action: 'up-to-date' | 'rebuild' | 'rebuilt' | 'resumed' | 'missing' | 'restored' | 'no-backup';
  changes: string[];
  rows?: number;
  /** Dry run: bytes the rebuild would read (dry-run job estimate). */
  bytes?: number;
}

function errorCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number((err).code) : undefined;
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

async function metadataOf(bq: BigQuery, datasetId: string, tableId: string): Promise<TableMetadata | undefined> {
  try {
    const [meta] = (await bq.dataset(datasetId).table(tableId).getMetadata()) as unknown as [TableMetadata];
    return meta;
  } catch (err) {
    if (errorCode(err) === 404) return undefined;
    throw err;
  }
}

/**
 * Rows of a table. A `COUNT(*)` query sees rows still in the streaming buffer
 * (tables.get's numRows does not); a table that requires a partition filter
 * refuses an unfiltered query, so its numRows is used instead.
 */
async function rowCount(bq: BigQuery, datasetId: string, tableId: string, meta: TableMetadata): Promise<number> {
  if (currentLayout(meta).requirePartitionFilter) return Number(meta.numRows ?? 0);
  const [rows] = await bq.query({ query: `SELECT COUNT(*) AS n FROM ${tableSql(datasetId, tableId)}` });
  return Number((rows as { n: number }[])[0]?.n ?? 0);
}

async function dropTable(bq: BigQuery, datasetId: string, tableId: string): Promise<void> {
  await bq.query({ query: `DROP TABLE IF EXISTS ${tableSql(datasetId, tableId)}` });
}

/**
 * Runs the migration (see the module comment) and returns one report per
 * table. Throws on the first failure of `--execute`/`--rollback` (the run can
 * then be resumed or rolled back), and `MigrationLockedError` when another
 * run holds the lock.
 */
export async function migrateTables(bq: BigQuery, options: MigrateTablesOptions): Promise<TableReport[]> {
  const log = options.log ?? (() => undefined);
  const datasets = await datasetsToScan(bq, options.dataset);
  const lock = options.mode === 'dry-run' ? undefined : await MigrationLock.acquire(bq, CENTRAL_DATASET, options.lockTtlMs);
  const reports: TableReport[] = [];
  try {
    for (const datasetId of datasets) {
      for (const def of definitionsOf(datasetId) ?? []) {
        if (options.table !== undefined && def.tableId !== options.table) continue;
        const report =
          options.mode === 'rollback' ? await rollbackTable(bq, datasetId, def.tableId, log) : await migrateTable(bq, datasetId, def, options.mode === 'execute', log);
        reports.push(report);
        await lock?.refresh();
      }
    }
  } finally {
    await lock?.release();
  }
  return reports;
}

type Def = NonNullable<ReturnType<typeof definitionsOf>>[number];

async function migrateTable(bq: BigQuery, datasetId: string, def: Def, execute: boolean, log: (line: string) => void): Promise<TableReport> {
  const tableId = def.tableId;
  const backupId = `${tableId}${BACKUP_SUFFIX}`;
  const rebuildId = `${tableId}${REBUILD_SUFFIX}`;
  const name = `${datasetId}.${tableId}`;
  const meta = await metadataOf(bq, datasetId, tableId);
  const backup = await metadataOf(bq, datasetId, backupId);
  const rebuilt = await metadataOf(bq, datasetId, rebuildId);

  if (!meta) {
    if (rebuilt && backup) {
      // Interrupted between DROP and RENAME: finish the swap.
      if (!execute) return { datasetId, tableId, action: 'rebuild', changes: ['interrupted swap: the rebuilt table is waiting to be renamed into place'] };
      const rows = await rowCount(bq, datasetId, rebuildId, rebuilt);
      const expected = await rowCount(bq, datasetId, backupId, backup);
      if (rows !== expected) throw new Error(`${name}: the rebuilt table has ${rows} rows, the backup ${expected}; run --rollback`);
      await bq.query({ query: `ALTER TABLE ${tableSql(datasetId, rebuildId)} RENAME TO ${tableId}` });
      log(`${name}: finished an interrupted swap (${rows} rows)`);
      return { datasetId, tableId, action: 'resumed', changes: [], rows };
    }
    if (backup) throw new Error(`${name} is missing but its backup ${backupId} exists; run --rollback to restore it`);
    return { datasetId, tableId, action: 'missing', changes: [] };
  }

  const changes = layoutChanges(currentLayout(meta), definedLayout(def));
  if (changes.length === 0) {
    if (execute && rebuilt) await dropTable(bq, datasetId, rebuildId);
    return { datasetId, tableId, action: 'up-to-date', changes };
  }
  const rows = await rowCount(bq, datasetId, tableId, meta);
  if (!execute) {
    const [job] = await bq.createQueryJob({ query: readSql(meta, datasetId, tableId), dryRun: true });
    const stats = (job.metadata as { statistics?: { totalBytesProcessed?: string } }).statistics;
    return { datasetId, tableId, action: 'rebuild', changes, rows, bytes: Number(stats?.totalBytesProcessed ?? 0) };
  }

  // 1. backup (reused when an interrupted run already made it and it still has T's rows)
  if (backup) {
    const backupRows = await rowCount(bq, datasetId, backupId, backup);
    if (backupRows !== rows) {
      throw new Error(`${name}: a backup ${backupId} from an earlier run exists with ${backupRows} rows but the table has ${rows}; run --rollback, or delete the stale backup`);
    }
    log(`${name}: reusing backup ${backupId} (${rows} rows)`);
  } else {
    await bq.dataset(datasetId).table(tableId).copy(bq.dataset(datasetId).table(backupId));
    log(`${name}: backed up to ${backupId} (${rows} rows)`);
  }
  // 2. rebuild from the backup, so rows written meanwhile cannot slip in half-way
  await bq.query({ query: rebuildSql(meta, def, datasetId, backupId, rebuildId) });
  // 3. verify
  const rebuiltMeta = await metadataOf(bq, datasetId, rebuildId);
  if (!rebuiltMeta) throw new Error(`${name}: the rebuild ${rebuildId} is missing after CREATE TABLE`);
  const rebuiltRows = await rowCount(bq, datasetId, rebuildId, rebuiltMeta);
  const nowRows = await rowCount(bq, datasetId, tableId, meta);
  if (rebuiltRows !== rows || nowRows !== rows) {
    throw new Error(`${name}: row counts differ (table ${nowRows}, backup ${rows}, rebuild ${rebuiltRows}); rows were written during the migration — re-run --execute in a quiet window`);
  }
  log(`${name}: rebuilt as ${rebuildId} (${rebuiltRows} rows) — ${changes.join('; ')}`);
  // 4. swap
  await dropTable(bq, datasetId, tableId);
  await bq.query({ query: `ALTER TABLE ${tableSql(datasetId, rebuildId)} RENAME TO ${tableId}` });
  log(`${name}: swapped in; backup kept as ${backupId}`);
  return { datasetId, tableId, action: 'rebuilt', changes, rows };
}

async function rollbackTable(bq: BigQuery, datasetId: string, tableId: string, log: (line: string) => void): Promise<TableReport> {
  const backupId = `${tableId}${BACKUP_SUFFIX}`;
  const name = `${datasetId}.${tableId}`;
  const backup = await metadataOf(bq, datasetId, backupId);
  if (!backup) return { datasetId, tableId, action: 'no-backup', changes: [] };
  const rows = await rowCount(bq, datasetId, backupId, backup);
  await dropTable(bq, datasetId, `${tableId}${REBUILD_SUFFIX}`);
  await dropTable(bq, datasetId, tableId);
  // A copy keeps the backup's (original) partitioning and clustering.
  await bq.dataset(datasetId).table(backupId).copy(bq.dataset(datasetId).table(tableId));
  const restored = await metadataOf(bq, datasetId, tableId);
  const restoredRows = restored ? await rowCount(bq, datasetId, tableId, restored) : -1;
  if (restoredRows !== rows) throw new Error(`${name}: restored ${restoredRows} rows but the backup has ${rows}; the backup ${backupId} is kept`);
  await dropTable(bq, datasetId, backupId);
  log(`${name}: restored from ${backupId} (${rows} rows); backup removed`);
  return { datasetId, tableId, action: 'restored', changes: [], rows };
}
