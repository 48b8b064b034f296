/**
 * Whether two tables hold the same rows, and if not, which rows are at stake:
 * `bq:migrate` checks a rebuild against its backup, the live table against
 * the backup just before the swap (a write meanwhile is caught even when it
 * keeps the row count: one row deleted, another inserted), and on rollback
 * the live table against the backup (rows written after the migration).
 */
import type { BigQuery, TableMetadata } from '@google-cloud/bigquery';
import { columnsOf, compareSql, currentLayout } from './migrateLayout.js';

/** How the rows of `a` differ from those of `b` (multisets over the compared columns). */
export interface RowDiff {
  aRows: number;
  bRows: number;
  /** Rows of `a` that `b` does not have (each extra duplicate counts). */
  onlyA: number;
  /** Rows of `b` that `a` does not have. */
  onlyB: number;
  /** Columns one table has and the other lacks (their values were not compared). */
  columnsOnlyA: string[];
  columnsOnlyB: string[];
  /** The time column that dates the rows only `a` has, with their earliest and latest value. */
  timeColumn?: string;
  onlyAFrom?: string;
  onlyATo?: string;
}

/** True when the two tables hold the same columns and the same rows. */
export function sameRows(d: RowDiff): boolean {
  return d.onlyA === 0 && d.onlyB === 0 && d.columnsOnlyA.length === 0 && d.columnsOnlyB.length === 0;
}

/**
 * The column that says when a row was written: `loaded_at`, else the
 * partitioning column when it is a TIMESTAMP (`timestamp`, `created_at`).
 */
function timeColumnOf(meta: TableMetadata): string | undefined {
  const fields = meta.schema?.fields ?? [];
  const isTimestamp = (name: string | undefined): boolean => fields.some((f) => f.name?.toLowerCase() === name?.toLowerCase() && f.type?.toUpperCase() === 'TIMESTAMP');
  if (isTimestamp('loaded_at')) return 'loaded_at';
  const part = currentLayout(meta).partitionField ?? meta.timePartitioning?.field;
  return part !== undefined && isTimestamp(part) ? part : undefined;
}

/** Compares the rows of `a` and `b` (tables of one dataset) over the columns both have. */
export async function compareTables(bq: BigQuery, datasetId: string, a: { tableId: string; meta: TableMetadata }, b: { tableId: string; meta: TableMetadata }): Promise<RowDiff> {
  const colsA = columnsOf(a.meta);
  const colsB = columnsOf(b.meta);
  const lowerB = new Set(colsB.map((c) => c.toLowerCase()));
  const lowerA = new Set(colsA.map((c) => c.toLowerCase()));
  const common = colsA.filter((c) => lowerB.has(c.toLowerCase()));
  const timeColumn = timeColumnOf(a.meta);
  const [rows] = await bq.query({ query: compareSql(datasetId, a, b, common, timeColumn !== undefined && lowerB.has(timeColumn.toLowerCase()) ? timeColumn : undefined) });
  const r = (rows as Record<string, unknown>[])[0] ?? {};
  const diff: RowDiff = {
    aRows: Number(r.a_rows ?? 0),
    bRows: Number(r.b_rows ?? 0),
    onlyA: Number(r.only_a ?? 0),
    onlyB: Number(r.only_b ?? 0),
    columnsOnlyA: colsA.filter((c) => !lowerB.has(c.toLowerCase())),
    columnsOnlyB: colsB.filter((c) => !lowerA.has(c.toLowerCase())),
  };
  if (timeColumn !== undefined && typeof r.only_a_from === 'string' && typeof r.only_a_to === 'string') {
    diff.timeColumn = timeColumn;
    diff.onlyAFrom = r.only_a_from;
    diff.onlyATo = r.only_a_to;
  }
  return diff;
}

function rows(n: number): string {
  return `${n} row${n === 1 ? '' : 's'}`;
}

/**
 * The difference in words, `a` and `b` named by the caller:
 * "3 rows the backup does not have (loaded_at 2024-04-02 … 2024-04-03), 1 row of the backup no longer in the table".
 */
export function describeRowDiff(d: RowDiff, names: { a: string; b: string }): string {
  const parts: string[] = [];
  if (d.onlyA > 0) {
    const when = d.timeColumn !== undefined ? ` (${d.timeColumn} ${d.onlyAFrom === d.onlyATo ? d.onlyAFrom : `${d.onlyAFrom} … ${d.onlyATo}`})` : '';
    parts.push(`${rows(d.onlyA)} ${names.b} does not have${when}`);
  }
  if (d.onlyB > 0) parts.push(`${rows(d.onlyB)} of ${names.b} no longer in ${names.a}`);
  if (d.columnsOnlyA.length > 0) parts.push(`column(s) ${d.columnsOnlyA.join(', ')} ${names.b} lacks`);
  if (d.columnsOnlyB.length > 0) parts.push(`column(s) ${d.columnsOnlyB.join(', ')} of ${names.b} missing from ${names.a}`);
  return parts.length > 0 ? parts.join(', ') : 'the same rows';
}
