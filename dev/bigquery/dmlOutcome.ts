/**
 * What a DML statement reports: `numDmlAffectedRows` and BigQuery's
 * `dmlStats` (`insertedRowCount`, `updatedRowCount`, `deletedRowCount`). A
 * MERGE is emitted with `RETURNING merge_action`, so its rows say which
 * action touched each target row.
 */
import type { DuckDBResultReader } from '@duckdb/node-api';

/** Affected rows and their split by action. */
export interface DmlOutcome {
  numDmlAffectedRows: number;
  dmlStats: Record<string, string>;
}

/** The outcome of a DML statement of `statementType` from its DuckDB result. */
export function dmlOutcome(statementType: string, reader: DuckDBResultReader): DmlOutcome {
  if (statementType === 'MERGE') {
    const counts = { INSERT: 0, UPDATE: 0, DELETE: 0 } as Record<string, number>;
    const rows = reader.getRows();
    for (const [action] of rows) counts[String(action)] = (counts[String(action)] ?? 0) + 1;
    return {
      numDmlAffectedRows: rows.length,
      dmlStats: { insertedRowCount: String(counts.INSERT), updatedRowCount: String(counts.UPDATE), deletedRowCount: String(counts.DELETE) },
    };
  }
  const n = reader.rowsChanged;
  return { numDmlAffectedRows: n, dmlStats: dmlStatsOf(statementType, n) };
}

/** `dmlStats` of an INSERT, UPDATE or DELETE that affected `n` rows. */
export function dmlStatsOf(statementType: string, n: number): Record<string, string> {
  if (statementType === 'INSERT') return { insertedRowCount: String(n) };
  if (statementType === 'UPDATE') return { updatedRowCount: String(n) };
  return { deletedRowCount: String(n) };
}
