/**
 * `require_partition_filter`, enforced: a query that reads such a table without
 * a filter on its partitioning column usable for partition elimination fails
 * as BigQuery fails it (400 `invalidQuery`, "Cannot query over table 'ds.t'
 * without a filter over column(s) 'c' that can be used for partition
 * elimination"). Which filters count is decided while the statement is
 * translated (`sql/partitionFilters.ts`, carried in `TableRef.readFilters`);
 * here they are held against the table's metadata. Writes only (INSERT's
 * target, insertAll), copies, DDL and tabledata.list are not queries over the
 * table and need no filter, as in BigQuery.
 */
import type { TableMeta } from './catalog.js';
import { invalidQuery } from './errors.js';
import type { TableRef } from './sql/index.js';

/** The partitioning column a table's queries must filter on, or undefined when it requires no filter. */
export function requiredPartitionFilter(meta: TableMeta): string | undefined {
  if (meta.requirePartitionFilter !== true && meta.timePartitioning?.requirePartitionFilter !== true) return undefined;
  if (meta.timePartitioning) return meta.timePartitioning.field ?? '_PARTITIONTIME';
  const range = meta.rangePartitioning as { field?: string } | undefined;
  return range?.field;
}

/**
 * Throws BigQuery's error for the first table in `tables` that the statement
 * reads without a usable filter on its partitioning column.
 *
 * @param find the table's metadata (undefined for a missing table: reported elsewhere as 404)
 */
export function checkPartitionFilters(tables: readonly TableRef[], find: (datasetId: string, tableId: string) => TableMeta | undefined): void {
  for (const t of tables) {
    if (t.readFilters === undefined) continue;
    const meta = find(t.datasetId, t.tableId);
    const column = meta ? requiredPartitionFilter(meta) : undefined;
    if (column === undefined) continue;
    // An ingestion-time table is filtered on either of its pseudo-columns.
    const accepted = column === '_PARTITIONTIME' ? ['_partitiontime', '_partitiondate'] : [column.toLowerCase()];
    if (t.readFilters.some((c) => accepted.includes(c))) continue;
    throw invalidQuery(`Cannot query over table '${t.datasetId}.${t.tableId}' without a filter over column(s) '${column}' that can be used for partition elimination`);
  }
}
