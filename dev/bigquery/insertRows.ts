/**
 * Writes converted rows into a DuckDB table in parameterised multi-row
 * `INSERT` statements: the one write path of insertAll and load jobs, so
 * values are never spliced into SQL text.
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { fieldDuckType, quoteIdent } from './types.js';
import type { BqField } from './types.js';

/** Rows per INSERT statement (keeps the parameter count reasonable). */
const INSERT_BATCH = 500;

/**
 * Inserts `rows` (values in `fields` order) into `datasetId.tableId` on `conn`,
 * inside whatever transaction the caller holds.
 */
export async function insertRows(conn: DuckDBConnection, datasetId: string, tableId: string, fields: BqField[], rows: readonly (readonly DuckDBValue[])[]): Promise<void> {
  if (rows.length === 0 || fields.length === 0) return;
  const types: DuckDBType[] = fields.map((f) => fieldDuckType(f));
  const cols = fields.map((f) => quoteIdent(f.name)).join(', ');
  for (let b = 0; b < rows.length; b += INSERT_BATCH) {
    const batch = rows.slice(b, b + INSERT_BATCH);
    const values: DuckDBValue[] = [];
    const allTypes: DuckDBType[] = [];
    const tuples = batch.map((row, r) => {
      values.push(...row);
      allTypes.push(...types);
      return `(${fields.map((_, c) => `$${r * fields.length + c + 1}`).join(', ')})`;
    });
    await conn.run(`INSERT INTO ${quoteIdent(datasetId)}.${quoteIdent(tableId)} (${cols}) VALUES ${tuples.join(', ')}`, values, allTypes);
  }
}
