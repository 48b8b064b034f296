/**
 * What `bq:migrate` compares and writes: a table's storage layout (day
 * partitioning, clustering, `require_partition_filter`) against its
 * definition, and the GoogleSQL that reads and rebuilds it.
 *
 * Every statement built here reads a table through {@link allRowsFilter}: a
 * table with `require_partition_filter` refuses any query without a filter on
 * its partitioning column (on real BigQuery and on the local endpoint alike),
 * so a read meant to see every row carries one that selects every partition.
 *
 * The definitions are imported here and nowhere else in the migration, so
 * moving them (e.g. to shared/analytics) is a one-line change.
 */
import type { TableMetadata } from '@google-cloud/bigquery';
import { CENTRAL_DATASET, centralDataset, ORG_DATASET_PREFIX, ORG_SLUG_PATTERN, orgDataset, type TableDefinition } from '../../shared/analytics/index.js';

export { CENTRAL_DATASET, ORG_DATASET_PREFIX };
export type { TableDefinition };

/** Suffix of the backup an `--execute` keeps (a copy of the table as it was). */
export const BACKUP_SUFFIX = '__bqmigrate_backup';
/** Suffix of the table a rebuild writes before it is swapped in. */
export const REBUILD_SUFFIX = '__bqmigrate_new';

/** The layout a table has or should have. */
export interface Layout {
  /** Day-partitioning column, or undefined for an unpartitioned table (or another partitioning, see `partitionText`). */
  partitionField: string | undefined;
  /** How the partitioning reads in a report (`none`, `DAY(usage_date)`, `HOUR(ts)` …). */
  partitionText: string;
  clustering: string[];
  requirePartitionFilter: boolean;
}

/** The table definitions a dataset must hold, or undefined when the dataset is not one of ours. */
export function definitionsOf(datasetId: string): readonly TableDefinition[] | undefined {
  if (datasetId === CENTRAL_DATASET) return centralDataset().tables;
  if (datasetId.startsWith(ORG_DATASET_PREFIX)) {
    const slug = datasetId.slice(ORG_DATASET_PREFIX.length);
    if (ORG_SLUG_PATTERN.test(slug)) return orgDataset(slug).tables;
  }
  return undefined;
}

/** The layout a definition asks for. */
export function definedLayout(def: TableDefinition): Layout {
  return specLayout(definedSpec(def));
}

/** The layout of an existing table, from tables.get. */
export function currentLayout(meta: TableMetadata): Layout {
  const tp = meta.timePartitioning;
  const type = tp?.type?.toUpperCase();
  return {
    partitionField: tp && type === 'DAY' && tp.field ? tp.field : undefined,
    partitionText: tp ? `${type ?? 'DAY'}(${tp.field ?? '_PARTITIONTIME'})` : 'none',
    clustering: meta.clustering?.fields ?? [],
    requirePartitionFilter: meta.requirePartitionFilter === true || tp?.requirePartitionFilter === true,
  };
}

/** The differences between two layouts, as report lines (empty when they match). */
export function layoutChanges(current: Layout, wanted: Layout): string[] {
  const changes: string[] = [];
  if (current.partitionField?.toLowerCase() !== wanted.partitionField?.toLowerCase() || current.partitionText.toLowerCase() !== wanted.partitionText.toLowerCase()) {
    changes.push(`partitioning ${current.partitionText} -> ${wanted.partitionText}`);
  }
  const cur = current.clustering.map((f) => f.toLowerCase()).join(', ');
  const want = wanted.clustering.map((f) => f.toLowerCase()).join(', ');
  if (cur !== want) changes.push(`clustering ${cur || 'none'} -> ${want || 'none'}`);
  if (current.requirePartitionFilter !== wanted.requirePartitionFilter) {
    changes.push(`require_partition_filter ${String(current.requirePartitionFilter)} -> ${String(wanted.requirePartitionFilter)}`);
  }
  return changes;
}

/** `dataset.table` quoted for GoogleSQL (ids are checked against ID rules before they get here). */
export function tableSql(datasetId: string, tableId: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(datasetId) || !/^[A-Za-z0-9_]+$/.test(tableId)) throw new Error(`Unsafe table name ${datasetId}.${tableId}`);
  return `\`${datasetId}.${tableId}\``;
}

function ident(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Unsafe column name ${name}`);
  return `\`${name}\``;
}

function stringLiteral(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

const TYPE_NAMES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };

/** How a rebuilt table is stored: what `CREATE TABLE … PARTITION BY … CLUSTER BY … OPTIONS` says. */
export interface StorageSpec {
  /** Time-unit column partitioning, or undefined for none. */
  partition?: { field: string; type: 'DAY' | 'HOUR' | 'MONTH' | 'YEAR'; expirationMs?: string | undefined } | undefined;
  clustering: string[];
  requirePartitionFilter: boolean;
}

/** The storage a definition asks for. */
export function definedSpec(def: TableDefinition): StorageSpec {
  return { partition: { field: def.partitionField, type: 'DAY' }, clustering: [...def.clustering], requirePartitionFilter: def.requirePartitionFilter === true };
}

/**
 * The storage of an existing table, as a CTAS can recreate it; a string saying
 * why not when it cannot (ingestion-time or integer-range partitioning: a
 * query cannot set `_PARTITIONTIME`, and range partitioning is not modelled).
 */
export function specOf(meta: TableMetadata): StorageSpec | string {
  if (meta.rangePartitioning) return 'integer-range partitioning';
  const tp = meta.timePartitioning;
  if (tp && !tp.field) return `ingestion-time partitioning ${currentLayout(meta).partitionText}`;
  const type = (tp?.type ?? 'DAY').toUpperCase();
  if (tp && type !== 'DAY' && type !== 'HOUR' && type !== 'MONTH' && type !== 'YEAR') return `partitioning ${type}`;
  return {
    partition: tp?.field ? { field: tp.field, type: type as 'DAY', expirationMs: tp.expirationMs ?? undefined } : undefined,
    clustering: meta.clustering?.fields ?? [],
    requirePartitionFilter: currentLayout(meta).requirePartitionFilter,
  };
}

/** The layout a {@link StorageSpec} gives (to compare with {@link currentLayout}). */
export function specLayout(spec: StorageSpec): Layout {
  return {
    partitionField: spec.partition?.type === 'DAY' ? spec.partition.field : undefined,
    partitionText: spec.partition ? `${spec.partition.type}(${spec.partition.field})` : 'none',
    clustering: [...spec.clustering],
    requirePartitionFilter: spec.requirePartitionFilter,
  };
}

function fieldType(meta: TableMetadata, name: string): string | undefined {
  const type = meta.schema?.fields?.find((f) => f.name?.toLowerCase() === name.toLowerCase())?.type?.toUpperCase();
  return type === undefined ? undefined : (TYPE_NAMES[type] ?? type);
}

const MIN_VALUE: Record<string, string> = {
  DATE: "DATE '0001-01-01'",
  TIMESTAMP: "TIMESTAMP '0001-01-01 00:00:00+00'",
  DATETIME: "DATETIME '0001-01-01 00:00:00'",
};

/**
 * ` WHERE …` selecting every row of a table that requires a partition filter
 * (every partition from the type's first day, and the NULL partition of a
 * NULLABLE column); empty for a table that does not, so nothing else changes.
 */
export function allRowsFilter(meta: TableMetadata): string {
  if (!currentLayout(meta).requirePartitionFilter) return '';
  const q = ident;
  const range = meta.rangePartitioning;
  if (range?.field) return ` WHERE (${q(range.field)} IS NULL OR ${q(range.field)} <= 0 OR ${q(range.field)} > 0)`;
  const field = meta.timePartitioning?.field;
  // An ingestion-time table: rows still in the streaming buffer have a NULL _PARTITIONTIME.
  if (!field) return ` WHERE (_PARTITIONTIME IS NULL OR _PARTITIONTIME >= ${MIN_VALUE.TIMESTAMP as string})`;
  const min = MIN_VALUE[fieldType(meta, field) ?? ''];
  if (min === undefined) throw new Error(`Partitioning column ${field} has type ${fieldType(meta, field) ?? 'unknown'}; expected DATE, TIMESTAMP or DATETIME`);
  const required = meta.schema?.fields?.find((f) => f.name?.toLowerCase() === field.toLowerCase())?.mode === 'REQUIRED';
  return required ? ` WHERE ${q(field)} >= ${min}` : ` WHERE (${q(field)} IS NULL OR ${q(field)} >= ${min})`;
}

/** The scalar column names of a table, in order. */
export function columnsOf(meta: TableMetadata): string[] {
  return (meta.schema?.fields ?? []).map((f) => f.name ?? '');
}

/** `PARTITION BY` expression for a spec's partitioning over a column of `type`. */
function partitionExpression(spec: NonNullable<StorageSpec['partition']>, type: string | undefined): string {
  const col = ident(spec.field);
  if (type === 'DATE') return spec.type === 'DAY' ? col : `DATE_TRUNC(${col}, ${spec.type})`;
  if (type === 'TIMESTAMP') return spec.type === 'DAY' ? `DATE(${col})` : `TIMESTAMP_TRUNC(${col}, ${spec.type})`;
  if (type === 'DATETIME') return spec.type === 'DAY' ? `DATE(${col})` : `DATETIME_TRUNC(${col}, ${spec.type})`;
  throw new Error(`Partitioning column ${spec.field} has type ${type ?? 'unknown'}; expected DATE, TIMESTAMP or DATETIME`);
}

/** What {@link rebuildSql} builds. */
export interface RebuildSpec {
  datasetId: string;
  /** The table read (every row of it). */
  from: { tableId: string; meta: TableMetadata };
  /** The table written (`CREATE OR REPLACE`). */
  to: string;
  /** Columns (order, types, REQUIRED, descriptions) of the table built. */
  schema: TableMetadata;
  storage: StorageSpec;
  description?: string | undefined;
  labels?: Record<string, string> | undefined;
}

/**
 * The CTAS that writes every row of `from` into `to` with the given storage,
 * columns, description and labels. Only scalar columns are supported (all of
 * ours are). The options are stated, never inherited: a CTAS takes none from
 * the table it reads (so `require_partition_filter` is what `storage` says).
 */
export function rebuildSql(spec: RebuildSpec): string {
  const fields = spec.schema.schema?.fields ?? [];
  const columns = fields.map((f) => {
    const type = (f.type ?? 'STRING').toUpperCase();
    if (type === 'RECORD' || type === 'STRUCT' || f.mode === 'REPEATED') throw new Error(`Column ${f.name ?? '?'} is ${type}${f.mode === 'REPEATED' ? ' REPEATED' : ''}; bq:migrate rebuilds scalar columns only`);
    const description = f.description ? ` OPTIONS(description=${stringLiteral(f.description)})` : '';
    return `  ${ident(f.name ?? '')} ${TYPE_NAMES[type] ?? type}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}${description}`;
  });
  const { partition, clustering, requirePartitionFilter } = spec.storage;
  const options: string[] = [];
  if (partition) options.push(`require_partition_filter=${requirePartitionFilter ? 'TRUE' : 'FALSE'}`);
  if (partition?.expirationMs !== undefined) options.push(`partition_expiration_days=${Number(partition.expirationMs) / 86_400_000}`);
  if (spec.description) options.push(`description=${stringLiteral(spec.description)}`);
  const labels = Object.entries(spec.labels ?? {});
  if (labels.length > 0) options.push(`labels=[${labels.map(([k, v]) => `(${stringLiteral(k)}, ${stringLiteral(v)})`).join(', ')}]`);
  return [
    `CREATE OR REPLACE TABLE ${tableSql(spec.datasetId, spec.to)} (`,
    columns.join(',\n'),
    ')',
    ...(partition ? [`PARTITION BY ${partitionExpression(partition, fieldType(spec.schema, partition.field))}`] : []),
    ...(clustering.length > 0 ? [`CLUSTER BY ${clustering.map(ident).join(', ')}`] : []),
    ...(options.length > 0 ? [`OPTIONS(${options.join(', ')})`] : []),
    `AS SELECT ${fields.map((f) => ident(f.name ?? '')).join(', ')} FROM ${tableSql(spec.datasetId, spec.from.tableId)}${allRowsFilter(spec.from.meta)}`,
  ].join('\n');
}

/** The query a rebuild reads (for its dry-run byte estimate). */
export function readSql(meta: TableMetadata, datasetId: string, tableId: string): string {
  return `SELECT ${columnsOf(meta).map(ident).join(', ')} FROM ${tableSql(datasetId, tableId)}${allRowsFilter(meta)}`;
}

/** `COUNT(*)` of every row (the streaming buffer included, which tables.get's numRows leaves out). */
export function countSql(meta: TableMetadata, datasetId: string, tableId: string): string {
  return `SELECT COUNT(*) AS n FROM ${tableSql(datasetId, tableId)}${allRowsFilter(meta)}`;
}

/** One side of {@link compareSql}. */
export interface CompareSide {
  tableId: string;
  meta: TableMetadata;
}

/**
 * Compares the rows of two tables of one dataset as multisets over `columns`:
 * each row becomes `TO_JSON_STRING(STRUCT(columns…))`, counted per distinct
 * value on each side, and the per-value differences are summed. One row:
 * `a_rows`, `b_rows`, `only_a` (rows of `a` that `b` does not have, counting
 * duplicates), `only_b`, and — when `timeColumn` is given — the earliest and
 * latest `timeColumn` among the rows only `a` has (`only_a_from`, `only_a_to`).
 *
 * Exact, where a fingerprint (COUNT plus a sum of row hashes) is probabilistic,
 * and built only from functions BigQuery and the local endpoint share (the
 * endpoint has no FARM_FINGERPRINT): deleting one row and inserting another
 * keeps the count but not the multiset.
 */
export function compareSql(datasetId: string, a: CompareSide, b: CompareSide, columns: readonly string[], timeColumn?: string): string {
  const row = `TO_JSON_STRING(STRUCT(${columns.map(ident).join(', ')}))`;
  const when = timeColumn === undefined ? 'CAST(NULL AS STRING)' : ident(timeColumn);
  return `WITH side_a AS (
  SELECT ${row} AS row_json, ${when} AS row_time FROM ${tableSql(datasetId, a.tableId)}${allRowsFilter(a.meta)}
),
side_b AS (
  SELECT ${row} AS row_json FROM ${tableSql(datasetId, b.tableId)}${allRowsFilter(b.meta)}
),
count_a AS (SELECT row_json, COUNT(*) AS n, MIN(row_time) AS first_time, MAX(row_time) AS last_time FROM side_a GROUP BY row_json),
count_b AS (SELECT row_json, COUNT(*) AS n FROM side_b GROUP BY row_json)
SELECT
  IFNULL(SUM(count_a.n), 0) AS a_rows,
  IFNULL(SUM(count_b.n), 0) AS b_rows,
  IFNULL(SUM(GREATEST(IFNULL(count_a.n, 0) - IFNULL(count_b.n, 0), 0)), 0) AS only_a,
  IFNULL(SUM(GREATEST(IFNULL(count_b.n, 0) - IFNULL(count_a.n, 0), 0)), 0) AS only_b,
  CAST(MIN(IF(IFNULL(count_a.n, 0) > IFNULL(count_b.n, 0), count_a.first_time, NULL)) AS STRING) AS only_a_from,
  CAST(MAX(IF(IFNULL(count_a.n, 0) > IFNULL(count_b.n, 0), count_a.last_time, NULL)) AS STRING) AS only_a_to
FROM count_a
FULL JOIN count_b ON count_a.row_json = count_b.row_json`;
}
