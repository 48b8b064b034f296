/**
 * One table's `--rollback` of `bq:migrate`: back to the layout it had before
 * the run, never losing a row written after the migration.
 *
 * The live table is compared with the backup row for row (`compareTables.ts`):
 *
 * - Same rows: nothing was written since the migration, so the backup is the
 *   table as it was. `T` is dropped, the backup copied back (a copy keeps
 *   every storage option exactly), its description and labels put back, the
 *   copy checked against the backup, and the backup removed.
 * - Different rows (audit and run-history rows appended, a pipeline's day
 *   replaced, `bq:migrate-usage`'s backfill updating rows in place): the
 *   original layout is rebuilt around the table's *current* rows — a CTAS
 *   from `T` with the backup's partitioning, clustering and options, checked
 *   row for row against `T`, then swapped in — so every change made after the
 *   migration is carried over, and the report says which rows: those the
 *   backup does not have (kept) and those of the backup no longer in the table
 *   (deleted or replaced after the migration, and not brought back). Copying
 *   the backup and INSERTing the newer rows would bring back rows a pipeline
 *   re-run had replaced (a day counted twice) and undo in-place updates.
 * - Different rows and a backup layout a query cannot rebuild (ingestion-time
 *   or integer-range partitioning): refused, naming the rows at stake; table
 *   and backup are left as they are.
 *
 * A table missing beside its rebuild (a crash between the two statements of a
 * swap, of the migration or of an earlier rollback) first gets the rebuild
 * renamed into place: it holds the latest verified rows.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { compareTables, describeRowDiff, sameRows } from './compareTables.js';
import type { TableReport } from './migrate.js';
import { BACKUP_SUFFIX, currentLayout, layoutChanges, REBUILD_SUFFIX, rebuildSql, specLayout, specOf } from './migrateLayout.js';
import { restoreAttributes, withoutRunLabel } from './migrateRun.js';
import { copyTable, dropTable, metadataOf, renameTable } from './migrateTableOps.js';

const NAMES = { a: 'the table', b: 'the backup' };

/** Rolls one table back to its backup's layout (see the module comment). */
export async function rollbackTable(bq: BigQuery, datasetId: string, tableId: string, log: (line: string) => void): Promise<TableReport> {
  const backupId = `${tableId}${BACKUP_SUFFIX}`;
  const rebuildId = `${tableId}${REBUILD_SUFFIX}`;
  const name = `${datasetId}.${tableId}`;
  const backup = await metadataOf(bq, datasetId, backupId);
  if (!backup) return { datasetId, tableId, action: 'no-backup', changes: [] };
  let meta = await metadataOf(bq, datasetId, tableId);
  const rebuilt = await metadataOf(bq, datasetId, rebuildId);

  if (!meta && rebuilt) {
    await renameTable(bq, datasetId, rebuildId, tableId);
    log(`${name}: renamed the rebuild of an interrupted swap into place`);
    meta = await metadataOf(bq, datasetId, tableId);
  } else if (rebuilt) {
    await dropTable(bq, datasetId, rebuildId);
  }

  if (!meta) return restoreFromBackup(bq, datasetId, tableId, backup, log, 'the table was missing');

  const diff = await compareTables(bq, datasetId, { tableId, meta }, { tableId: backupId, meta: backup });
  if (sameRows(diff)) {
    await dropTable(bq, datasetId, tableId);
    return restoreFromBackup(bq, datasetId, tableId, backup, log, 'none written since the migration');
  }

  const atStake = describeRowDiff(diff, NAMES);
  const spec = specOf(backup);
  if (typeof spec === 'string') {
    const reason =
      `${atStake} — restoring the backup would lose them, and its layout (${spec}) cannot be rebuilt around the table's ${diff.aRows} rows by a query. ` +
      `Nothing was changed: the table and ${backupId} are kept`;
    log(`${name}: refused: ${reason}`);
    return { datasetId, tableId, action: 'refused', changes: [], rows: diff.aRows, diff, reason };
  }

  if (layoutChanges(currentLayout(meta), specLayout(spec)).length > 0) {
    await bq.query({
      query: rebuildSql({ datasetId, from: { tableId, meta }, to: rebuildId, schema: meta, storage: spec, description: meta.description, labels: withoutRunLabel(meta.labels) }),
    });
    const restored = await metadataOf(bq, datasetId, rebuildId);
    if (!restored) throw new Error(`${name}: ${rebuildId} is missing after CREATE TABLE`);
    // The last check before the swap: a row written to T since the CTAS would be lost by the DROP.
    const check = await compareTables(bq, datasetId, { tableId: rebuildId, meta: restored }, { tableId, meta });
    if (!sameRows(check)) {
      await dropTable(bq, datasetId, rebuildId);
      throw new Error(`${name}: rows were written during the rollback (${describeRowDiff(check, { a: 'the rebuild', b: 'the table' })}); nothing was changed — re-run --rollback in a quiet window`);
    }
    await dropTable(bq, datasetId, tableId);
    await renameTable(bq, datasetId, rebuildId, tableId);
  }
  await dropTable(bq, datasetId, backupId);
  log(`${name}: original layout restored around the table's ${diff.aRows} current rows (${atStake}); backup removed`);
  return { datasetId, tableId, action: 'carried-over', changes: [], rows: diff.aRows, diff };
}

/** Copies the backup back as `T` (which must not exist), checks it, and removes the backup. */
async function restoreFromBackup(bq: BigQuery, datasetId: string, tableId: string, backup: NonNullable<Awaited<ReturnType<typeof metadataOf>>>, log: (line: string) => void, why: string): Promise<TableReport> {
  const backupId = `${tableId}${BACKUP_SUFFIX}`;
  const name = `${datasetId}.${tableId}`;
  // A copy keeps the backup's (original) partitioning and clustering.
  await copyTable(bq, datasetId, backupId, tableId);
  await restoreAttributes(bq, datasetId, tableId, backup);
  const restored = await metadataOf(bq, datasetId, tableId);
  const check = restored ? await compareTables(bq, datasetId, { tableId, meta: restored }, { tableId: backupId, meta: backup }) : undefined;
  if (!check || !sameRows(check)) {
    throw new Error(`${name}: the restored table does not hold the backup's rows (${check ? describeRowDiff(check, NAMES) : 'it is missing'}); the backup ${backupId} is kept`);
  }
  await dropTable(bq, datasetId, backupId);
  log(`${name}: restored from ${backupId} (${check.bRows} rows, ${why}); backup removed`);
  return { datasetId, tableId, action: 'restored', changes: [], rows: check.bRows };
}
