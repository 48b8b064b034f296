/**
 * Byte estimates for dry runs and copy-job statistics.
 *
 * BigQuery bills a query by the logical bytes of the columns it reads, with
 * fixed sizes per type (INT64/FLOAT64/DATE/DATETIME/TIMESTAMP/TIME 8 bytes,
 * NUMERIC 16, BIGNUMERIC 32, BOOL 1, STRING/BYTES/JSON 2 + their UTF-8 or
 * byte length, NULL 0). The local estimate applies those sizes to **every
 * column** of each referenced table (the whole stored logical size), not only
 * to the columns the query reads: an upper bound of what BigQuery would
 * report, which is what a cost check wants. RECORD, REPEATED and GEOGRAPHY
 * values are sized by their text form.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
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

/** Logical bytes of a table, by BigQuery's per-type sizes (see the module comment). */
export async function tableLogicalBytes(conn: DuckDBConnection, meta: TableMeta): Promise<number> {
  const fields = meta.schema.fields;
  if (fields.length === 0) return 0;
  const sql = `SELECT CAST(coalesce(sum(${fields.map(sizeExpr).join(' + ')}), 0) AS BIGINT) FROM ${quoteIdent(meta.datasetId)}.${quoteIdent(meta.tableId)}`;
  const reader = await conn.runAndReadAll(sql);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}
