/**
 * What `bq:migrate` compares and writes: a table's storage layout (day
 * partitioning, clustering, `require_partition_filter`) against its
 * definition, and the GoogleSQL that rebuilds it.
 *
 * The definitions are imported here and nowhere else in the migration, so
 * moving them (e.g. to shared/analytics) is a one-line change.
 */
import type { TableMetadata } from '@google-cloud/bigquery';
import { CENTRAL_DATASET, centralDataset, ORG_DATASET_PREFIX, ORG_SLUG_PATTERN, orgDataset, type TableDefinition } from '../../shared/analytics/index.js';

export { CENTRAL_DATASET, ORG_DATASET_PREFIX };

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
  return {
    partitionField: def.partitionField,
    partitionText: `DAY(${def.partitionField})`,
    clustering: [...def.clustering],
    requirePartitionFilter: def.requirePartitionFilter === true,
  };
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

/**
 * The CTAS that rebuilds `from` as `to` with the defined layout, keeping the
 * existing schema (column order, types, REQUIRED, descriptions), description
 * and labels. Only scalar columns are supported (all of ours are).
 */
export function rebuildSql(meta: TableMetadata, def: TableDefinition, datasetId: string, from: string, to: string): string {
  const fields = meta.schema?.fields ?? [];
  const columns = fields.map((f) => {
    const type = (f.type ?? 'STRING').toUpperCase();
    if (type === 'RECORD' || type === 'STRUCT' || f.mode === 'REPEATED') throw new Error(`Column ${f.name ?? '?'} is ${type}${f.mode === 'REPEATED' ? ' REPEATED' : ''}; bq:migrate rebuilds scalar columns only`);
    const description = f.description ? ` OPTIONS(description=${stringLiteral(f.description)})` : '';
    return `  ${ident(f.name ?? '')} ${TYPE_NAMES[type] ?? type}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}${description}`;
  });
  const partitionType = fields.find((f) => f.name?.toLowerCase() === def.partitionField.toLowerCase())?.type?.toUpperCase();
  const partitionBy = partitionType === 'DATE' ? ident(def.partitionField) : `DATE(${ident(def.partitionField)})`;
  const options = [`require_partition_filter=${def.requirePartitionFilter === true ? 'TRUE' : 'FALSE'}`];
  if (meta.description) options.push(`description=${stringLiteral(meta.description)}`);
  const labels = Object.entries(meta.labels ?? {});
  if (labels.length > 0) options.push(`labels=[${labels.map(([k, v]) => `(${stringLiteral(k)}, ${stringLiteral(v)})`).join(', ')}]`);
  return [
    `CREATE OR REPLACE TABLE ${tableSql(datasetId, to)} (`,
    columns.join(',\n'),
    ')',
    `PARTITION BY ${partitionBy}`,
    `CLUSTER BY ${def.clustering.map(ident).join(', ')}`,
    `OPTIONS(${options.join(', ')})`,
    `AS SELECT ${fields.map((f) => ident(f.name ?? '')).join(', ')} FROM ${tableSql(datasetId, from)}`,
  ].join('\n');
}

/** The query a rebuild reads (for its dry-run byte estimate). */
export function readSql(meta: TableMetadata, datasetId: string, tableId: string): string {
  return `SELECT ${(meta.schema?.fields ?? []).map((f) => ident(f.name ?? '')).join(', ')} FROM ${tableSql(datasetId, tableId)}`;
}
