/**
 * One table's `--execute` (or dry run) of `bq:migrate`:
 *
 * 1. backup: copy job `T` → `T__bqmigrate_backup`, labelled with the run id
 *    and `T`'s description and labels (kept afterwards, for `--rollback`);
 * 2. rebuild: `CREATE OR REPLACE TABLE T__bqmigrate_new (…) PARTITION BY …
 *    CLUSTER BY … OPTIONS(…) AS SELECT … FROM backup WHERE <every partition>`
 *    (schema, descriptions and labels of `T` kept; the options are stated:
 *    a CTAS inherits none from the table it reads);
 * 3. verify: the rebuild holds exactly the backup's rows, and so does `T` —
 *    compared row for row (`compareTables.ts`), not by count, so a write
 *    meanwhile is caught even when it keeps the count (one row deleted,
 *    another inserted); then the table is left as it was, the backup and the
 *    rebuild are removed, and the run stops;
 * 4. swap: `DROP TABLE T`, `ALTER TABLE T__bqmigrate_new RENAME TO T`.
 *
 * An existing backup is reused when it still holds `T`'s rows; a rebuild
 * whose `T` is already dropped (a crash between the two statements of the
 * swap) is renamed into place once it is checked against the backup.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { compareTables, describeRowDiff, sameRows } from './compareTables.js';
import type { TableReport } from './migrate.js';
import { BACKUP_SUFFIX, currentLayout, definedLayout, definedSpec, layoutChanges, readSql, REBUILD_SUFFIX, rebuildSql } from './migrateLayout.js';
import type { TableDefinition } from './migrateLayout.js';
import { labelBackup, relabelBackup, runOf, withoutRunLabel } from './migrateRun.js';
import { copyTable, countRows, dropTable, metadataOf, renameTable } from './migrateTableOps.js';

/** A step of one table's `--execute`, reported to `afterStep`. */
export interface MigrateStep {
  step: 'backup' | 'rebuild';
  datasetId: string;
  tableId: string;
}

/** Options of {@link migrateTable}. */
export interface MigrateTableOptions {
  /** False: a dry run (reads only). */
  execute: boolean;
  runId: string;
  log: (line: string) => void;
  afterStep?: ((step: MigrateStep) => Promise<void>) | undefined;
}

/** Brings one table to its definition's layout (see the module comment). */
export async function migrateTable(bq: BigQuery, datasetId: string, def: TableDefinition, { execute, runId, log, afterStep }: MigrateTableOptions): Promise<TableReport> {
  const tableId = def.tableId;
  const backupId = `${tableId}${BACKUP_SUFFIX}`;
  const rebuildId = `${tableId}${REBUILD_SUFFIX}`;
  const name = `${datasetId}.${tableId}`;
  const meta = await metadataOf(bq, datasetId, tableId);
  let backup = await metadataOf(bq, datasetId, backupId);
  const rebuilt = await metadataOf(bq, datasetId, rebuildId);

  if (!meta) {
    if (rebuilt && backup) {
      // Interrupted between DROP and RENAME: finish the swap, once the rebuild is known to hold the backup's rows.
      if (!execute) return { datasetId, tableId, action: 'rebuild', changes: ['interrupted swap: the rebuilt table is waiting to be renamed into place'] };
      const check = await compareTables(bq, datasetId, { tableId: rebuildId, meta: rebuilt }, { tableId: backupId, meta: backup });
      if (!sameRows(check)) throw new Error(`${name}: the rebuilt table ${rebuildId} does not hold the backup's rows (${describeRowDiff(check, { a: 'the rebuild', b: 'the backup' })}); run --rollback`);
      await renameTable(bq, datasetId, rebuildId, tableId);
      await relabelBackup(bq, datasetId, backupId, runId);
      log(`${name}: finished an interrupted swap (${check.aRows} rows)`);
      return { datasetId, tableId, action: 'resumed', changes: [], rows: check.aRows };
    }
    if (backup) throw new Error(`${name} is missing but its backup ${backupId} exists; run --rollback to restore it`);
    return { datasetId, tableId, action: 'missing', changes: [] };
  }

  const changes = layoutChanges(currentLayout(meta), definedLayout(def));
  if (changes.length === 0) {
    if (execute && rebuilt) await dropTable(bq, datasetId, rebuildId);
    return { datasetId, tableId, action: 'up-to-date', changes };
  }
  if (!execute) {
    const rows = await countRows(bq, datasetId, tableId, meta);
    const [job] = await bq.createQueryJob({ query: readSql(meta, datasetId, tableId), dryRun: true });
    const stats = (job.metadata as { statistics?: { totalBytesProcessed?: string } }).statistics;
    return { datasetId, tableId, action: 'rebuild', changes, rows, bytes: Number(stats?.totalBytesProcessed ?? 0) };
  }

  // 1. backup (reused when an interrupted run already made it and it still holds T's rows)
  if (backup) {
    const check = await compareTables(bq, datasetId, { tableId, meta }, { tableId: backupId, meta: backup });
    if (!sameRows(check)) {
      throw new Error(
        `${name}: a backup ${backupId} of run ${runOf(backup)} exists and the table no longer matches it (${describeRowDiff(check, { a: 'the table', b: 'the backup' })}); ` +
          `run --rollback --run ${runOf(backup)}, or delete the stale backup`,
      );
    }
    await relabelBackup(bq, datasetId, backupId, runId);
    log(`${name}: reusing backup ${backupId} (${check.aRows} rows)`);
  } else {
    await copyTable(bq, datasetId, tableId, backupId);
    await labelBackup(bq, datasetId, backupId, runId, meta);
    log(`${name}: backed up to ${backupId}`);
  }
  backup = await metadataOf(bq, datasetId, backupId);
  if (!backup) throw new Error(`${name}: the backup ${backupId} is missing after the copy`);
  await afterStep?.({ step: 'backup', datasetId, tableId });

  // 2. rebuild from the backup, so rows written meanwhile cannot slip in half-way
  await bq.query({
    query: rebuildSql({
      datasetId,
      from: { tableId: backupId, meta: backup },
      to: rebuildId,
      schema: meta,
      storage: definedSpec(def),
      description: meta.description,
      labels: withoutRunLabel(meta.labels),
    }),
  });
  const rebuiltMeta = await metadataOf(bq, datasetId, rebuildId);
  if (!rebuiltMeta) throw new Error(`${name}: the rebuild ${rebuildId} is missing after CREATE TABLE`);
  await afterStep?.({ step: 'rebuild', datasetId, tableId });

  // 3. verify: the rebuild holds the backup's rows, and the table still does (the last check before the swap)
  const rebuild = await compareTables(bq, datasetId, { tableId: rebuildId, meta: rebuiltMeta }, { tableId: backupId, meta: backup });
  if (!sameRows(rebuild)) throw new Error(`${name}: the rebuild does not hold the backup's rows (${describeRowDiff(rebuild, { a: 'the rebuild', b: 'the backup' })}); nothing was swapped`);
  const live = await compareTables(bq, datasetId, { tableId, meta }, { tableId: backupId, meta: backup });
  if (!sameRows(live)) {
    // The table is untouched and holds every row; a backup and a rebuild of an older state are of no use.
    await dropTable(bq, datasetId, rebuildId);
    await dropTable(bq, datasetId, backupId);
    throw new Error(
      `${name}: rows were written during the migration: ${describeRowDiff(live, { a: 'the table', b: 'the backup' })}. ` +
        'The table was left as it was (backup and rebuild removed); re-run --execute in a quiet window',
    );
  }
  log(`${name}: rebuilt as ${rebuildId} (${rebuild.aRows} rows, the backup's rows exactly) — ${changes.join('; ')}`);

  // 4. swap
  await dropTable(bq, datasetId, tableId);
  await renameTable(bq, datasetId, rebuildId, tableId);
  log(`${name}: swapped in; backup kept as ${backupId} (run ${runId})`);
  return { datasetId, tableId, action: 'rebuilt', changes, rows: rebuild.aRows };
}
