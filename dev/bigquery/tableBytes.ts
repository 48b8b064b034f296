/**
 * Logical bytes of table columns, for dry runs, job statistics and copy jobs.
 *
 * BigQuery bills by the logical bytes of the columns read, with fixed sizes
 * per type (INT64/FLOAT64/DATE/DATETIME/TIMESTAMP/TIME 8 bytes, NUMERIC 16,
 * BIGNUMERIC 32, BOOL 1, STRING/BYTES/JSON 2 + their UTF-8 or byte length,
 * NULL 0; https://cloud.google.com/bigquery/pricing#data). RECORD, REPEATED
 * and GEOGRAPHY values are sized here by their text form. Which columns and
 * which partitions a query reads is decided on its syntax tree
 * (`statementBytes.ts`).
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { TableMeta } from './catalog.js';
import { canonicalType, quoteIdent } from './types.js';
import type { BqField } from './types.js';

const FIXED_SIZES: Record<string, number> = {
  INTEGER: 8,
  FLOAT: 8,
  DATE: 8,
  DATETIME: 8,
  TIMESTAMP: 8,
  TIME: 8,
  NUMERIC: 16,
  BIGNUMERIC: 32,
  BOOLEAN: 1,
  INTERVAL: 16,
};

/** SQL for the logical size of one value of `field` (0 when NULL). */
function sizeExpr(field: BqField): string {
  const col = quoteIdent(field.name);
  const type = canonicalType(field.type);
  if (field.mode !== 'REPEATED') {
    const fixed = FIXED_SIZES[type];
    if (fixed !== undefined) return `CASE WHEN ${col} IS NULL THEN 0 ELSE ${fixed} END`;
    if (type === 'STRING' || type === 'JSON') return `coalesce(2 + strlen(CAST(${col} AS VARCHAR)), 0)`;
    if (type === 'BYTES') return `coalesce(2 + octet_length(${col}), 0)`;
  }
  return `coalesce(2 + strlen(CAST(${col} AS VARCHAR)), 0)`;
}

/** Rows to count: a DuckDB condition over the table's rows and the parameter values it takes. */
export interface RowFilter {
  sql: string;
  values: DuckDBValue[];
  types: DuckDBType[];
}

/**
 * Logical bytes of `fields` (default: every column) of a table, over the rows
 * `filter` keeps (default: all), by BigQuery's per-type sizes.
 */
export async function tableLogicalBytes(conn: DuckDBConnection, meta: TableMeta, fields: readonly BqField[] = meta.schema.fields, filter?: RowFilter): Promise<number> {
  if (fields.length === 0) return 0;
  const where = filter ? ` WHERE ${filter.sql}` : '';
  const sql = `SELECT CAST(coalesce(sum(${fields.map(sizeExpr).join(' + ')}), 0) AS BIGINT) FROM ${quoteIdent(meta.datasetId)}.${quoteIdent(meta.tableId)}${where}`;
  const reader = filter ? await conn.runAndReadAll(sql, filter.values, filter.types) : await conn.runAndReadAll(sql);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}
