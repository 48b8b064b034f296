/**
 * The bytes a statement processes, as BigQuery's dry run and job statistics
 * report them: for each table read, the logical bytes (`tableBytes.ts`) of
 * the columns the statement reads (`sql/columnsRead.ts`) in the partitions
 * its constant filters on the partitioning column select
 * (`sql/partitionPruning.ts`). A table read several times counts once, with
 * the union of the columns and of the partitions.
 *
 * DML, by BigQuery's DML pricing (https://cloud.google.com/bigquery/pricing#dml_pricing_for_partitioned_tables):
 * INSERT bills the columns its query reads (its target is not read); UPDATE,
 * DELETE and MERGE bill, on top of that, every column of the target in the
 * partitions they scan.
 *
 * No cluster pruning is claimed: block pruning of a clustered table happens
 * while the query runs, and BigQuery's dry-run figure for a clustered table
 * is its upper bound (https://cloud.google.com/bigquery/docs/clustered-tables),
 * so the local figure ignores clustering. (That reading of the docs was not
 * checked against real BigQuery here.)
 *
 * Ingestion-time and integer-range partitioned tables are never pruned here
 * (every partition counts): an upper bound.
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { Catalog, TableMeta } from './catalog.js';
import { aliasOf, columnsRead, partitionPredicate } from './sql/index.js';
import type { ColumnsRead, Partitioning, TableRead, Translation } from './sql/index.js';
import { tableLogicalBytes } from './tableBytes.js';
import type { RowFilter } from './tableBytes.js';
import { canonicalType } from './types.js';

/** The time-unit column partitioning of a table, or undefined (not partitioned, ingestion-time, range). */
export function partitioningOf(meta: TableMeta): Partitioning | undefined {
  const tp = meta.timePartitioning;
  if (!tp?.field) return undefined;
  const field = meta.schema.fields.find((f) => f.name.toLowerCase() === tp.field?.toLowerCase());
  if (!field) return undefined;
  const columnType = canonicalType(field.type);
  const unit = tp.type.toUpperCase();
  if (columnType !== 'DATE' && columnType !== 'TIMESTAMP' && columnType !== 'DATETIME') return undefined;
  if (unit !== 'DAY' && unit !== 'HOUR' && unit !== 'MONTH' && unit !== 'YEAR') return undefined;
  return { column: field.name, columnType, unit };
}

/** One table's share: the union over its reads. */
interface TableScan {
  meta: TableMeta;
  columns: ColumnsRead;
  /** The reads' partition conditions (OR-ed); undefined when some read is not pruned. */
  predicates: string[] | undefined;
  /** The statement's parameters the conditions use, in their `$1…` order. */
  params: number[];
  modified: boolean;
}

/**
 * Bytes `t` processes; `values`/`types` are its bound parameters (constants
 * in partition filters may be parameters).
 */
export async function statementBytes(conn: DuckDBConnection, catalog: Catalog, t: Translation, values: readonly DuckDBValue[], types: readonly DuckDBType[]): Promise<number> {
  const metaOf = (r: TableRead): TableMeta | undefined => catalog.findTable(r.ref.datasetId, r.ref.tableId);
  const columns = columnsRead(t.tree, t.reads, (r) => metaOf(r)?.schema.fields.map((f) => f.name.toLowerCase()) ?? []);
  const scans = new Map<string, TableScan>();
  for (const read of t.reads) {
    const meta = metaOf(read);
    if (!meta) continue;
    const key = `${meta.datasetId}.${meta.tableId}`;
    const cols = columns.get(read) ?? 'all';
    const partitioning = partitioningOf(meta);
    const known = scans.get(key);
    const params = known?.params ?? [];
    const predicate = partitioning ? partitionPredicate(read.where, aliasOf(read.item), partitioning, params) : undefined;
    if (!known) {
      scans.set(key, { meta, columns: cols, predicates: predicate ? [predicate] : undefined, params, modified: read.modified === true });
      continue;
    }
    known.columns = known.columns === 'all' || cols === 'all' ? 'all' : new Set([...known.columns, ...cols]);
    known.predicates = known.predicates && predicate ? [...known.predicates, predicate] : undefined;
    known.modified ||= read.modified === true;
  }
  let total = 0;
  for (const scan of scans.values()) {
    const fields = scan.columns === 'all' ? scan.meta.schema.fields : scan.meta.schema.fields.filter((f) => (scan.columns as Set<string>).has(f.name.toLowerCase()));
    const filter: RowFilter | undefined = scan.predicates && {
      sql: scan.predicates.map((p) => `(${p})`).join(' OR '),
      values: scan.params.map((n) => values[n - 1] as DuckDBValue),
      types: scan.params.map((n) => types[n - 1] as DuckDBType),
    };
    total += await bytesOf(conn, scan.meta, fields, filter);
    if (scan.modified) total += await bytesOf(conn, scan.meta, scan.meta.schema.fields, filter);
  }
  return total;
}

/**
 * Bytes of `fields` over the rows `filter` keeps. A filter DuckDB cannot
 * evaluate on its own (a parameter bound in another form, a type it will not
 * compare) prunes nothing: the estimate falls back to every partition, an
 * upper bound.
 */
async function bytesOf(conn: DuckDBConnection, meta: TableMeta, fields: readonly TableMeta['schema']['fields'][number][], filter: RowFilter | undefined): Promise<number> {
  if (!filter) return tableLogicalBytes(conn, meta, fields);
  try {
    return await tableLogicalBytes(conn, meta, fields, filter);
  } catch {
    return tableLogicalBytes(conn, meta, fields);
  }
}
