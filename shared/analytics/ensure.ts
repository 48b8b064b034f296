import type { BigQuery, DatasetResource, TableField, TableMetadata } from '@google-cloud/bigquery';
import { raceSignal } from '../../shared/deadline/index.js';
import { SchemaDriftError } from './errors.js';
import type { DatasetDefinition, FieldDefinition, TableDefinition } from './tables.js';

/** What an ensure call did. */
export type EnsureOutcome = 'created' | 'unchanged' | 'updated';

/** One step of applying a dataset definition; passed to {@link EnsureOptions.beforeStep}. */
export interface ProvisionStep {
  kind: 'dataset' | 'table';
  datasetId: string;
  /** Set for `table` steps. */
  tableId?: string;
}

export interface EnsureOptions {
  /** Location of a dataset to create (and to verify on an existing one), e.g. `EU`. */
  location: string;
  /** Stops waiting when it aborts (the caller's budget); the abort reason is thrown. */
  signal?: AbortSignal;
  /**
   * Runs before each step, in order. A fault-injection seam for tests (throw to fail that
   * step) and a progress hook for scripts; production passes nothing.
   */
  beforeStep?: (step: ProvisionStep) => Promise<void> | void;
}

/** What applying one dataset definition did, per resource. */
export interface EnsureReport {
  datasetId: string;
  dataset: EnsureOutcome;
  tables: Record<string, EnsureOutcome>;
}

interface ApiErrorShape {
  code?: number;
  errors?: { reason?: string }[];
}

function isAlreadyExists(error: unknown): boolean {
  const e = error as ApiErrorShape | undefined;
  return e?.code === 409 || e?.errors?.[0]?.reason === 'duplicate';
}

/** Waits for `work`, or throws the signal's reason as soon as it aborts. */
async function within<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return signal === undefined ? work : raceSignal(work, signal);
}

/** Legacy and GoogleSQL names of the same type (the API answers with the legacy ones). */
const TYPE_ALIASES: Record<string, string> = {
  INTEGER: 'INT64',
  FLOAT: 'FLOAT64',
  BOOLEAN: 'BOOL',
  RECORD: 'STRUCT',
  BIGDECIMAL: 'BIGNUMERIC',
  DECIMAL: 'NUMERIC',
};

function canonicalType(type: string | undefined): string {
  const upper = (type ?? 'STRING').toUpperCase();
  return TYPE_ALIASES[upper] ?? upper;
}

function fieldResource(field: FieldDefinition): TableField {
  return { name: field.name, type: field.type, mode: field.mode, description: field.description };
}

/** The `tables.insert` body of a definition. */
export function tableResource(def: TableDefinition, labels: Readonly<Record<string, string>>): TableMetadata {
  return {
    description: def.description,
    schema: { fields: def.fields.map(fieldResource) },
    timePartitioning: { type: 'DAY', field: def.partitionField },
    clustering: { fields: [...def.clustering] },
    ...(def.requirePartitionFilter === true ? { requirePartitionFilter: true } : {}),
    labels: { ...labels },
  };
}

/** Labels to write so that `current` carries every expected one, or undefined when it already does. */
function labelPatch(current: Record<string, string> | undefined, expected: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const missing = Object.entries(expected).some(([k, v]) => current?.[k] !== v);
  return missing ? { ...(current ?? {}), ...expected } : undefined;
}

/**
 * Compares an existing table with its definition. Returns the patch that brings it in
 * line (labels, clustering, new NULLABLE columns, REQUIRED columns the definition relaxed)
 * and the differences no patch can fix. Extra columns and columns an operator relaxed to
 * NULLABLE are left alone: they break nothing we write or read.
 */
export function tableDrift(
  existing: TableMetadata,
  def: TableDefinition,
  labels: Readonly<Record<string, string>>,
): { patch: TableMetadata | undefined; problems: string[] } {
  const problems: string[] = [];
  const patch: TableMetadata = {};

  const tp = existing.timePartitioning;
  if (tp?.type?.toUpperCase() !== 'DAY' || tp.field?.toLowerCase() !== def.partitionField.toLowerCase()) {
    problems.push(
      `partitioning is ${tp === undefined ? 'none' : `${tp.type ?? '?'} on ${tp.field ?? '_PARTITIONTIME'}`}, expected DAY on ${def.partitionField} (partitioning cannot be changed in place)`,
    );
  }

  const existingFields: TableField[] = existing.schema?.fields ?? [];
  const byName = new Map(existingFields.map((f) => [(f.name ?? '').toLowerCase(), f]));
  const relaxed = new Set<string>();
  const added: TableField[] = [];
  for (const field of def.fields) {
    const current = byName.get(field.name.toLowerCase());
    if (current === undefined) {
      if (field.mode === 'REQUIRED') problems.push(`column ${field.name} is missing and is REQUIRED (BigQuery cannot add REQUIRED columns)`);
      else added.push(fieldResource(field));
      continue;
    }
    if (canonicalType(current.type) !== field.type) {
      problems.push(`column ${field.name} is ${canonicalType(current.type)}, expected ${field.type}`);
    }
    if ((current.mode ?? 'NULLABLE').toUpperCase() === 'REQUIRED' && field.mode === 'NULLABLE') relaxed.add(field.name.toLowerCase());
  }
  if (added.length > 0 || relaxed.size > 0) {
    patch.schema = {
      fields: [
        ...existingFields.map((f) => (relaxed.has((f.name ?? '').toLowerCase()) ? { ...f, mode: 'NULLABLE' } : f)),
        ...added,
      ],
    };
  }

  const clustering = (existing.clustering?.fields ?? []).map((f) => f.toLowerCase());
  if (clustering.join(',') !== def.clustering.map((f) => f.toLowerCase()).join(',')) {
    // BigQuery lets clustering change in place; it applies to data written afterwards.
    patch.clustering = { fields: [...def.clustering] };
  }

  // Changeable in place, like clustering. BigQuery reports it at the top level (older tables
  // may carry it inside timePartitioning).
  const requiresFilter = existing.requirePartitionFilter ?? existing.timePartitioning?.requirePartitionFilter ?? false;
  if (requiresFilter !== (def.requirePartitionFilter === true)) patch.requirePartitionFilter = def.requirePartitionFilter === true;

  const labelsToWrite = labelPatch(existing.labels, labels);
  if (labelsToWrite !== undefined) patch.labels = labelsToWrite;

  return { patch: Object.keys(patch).length === 0 ? undefined : patch, problems };
}

/**
 * Creates a dataset, or — when it exists (409, e.g. an earlier attempt or a concurrent one
 * made it) — verifies its location and adds missing labels. Create first, not get first:
 * two onboardings racing each other then both end well.
 */
export async function ensureDataset(
  bq: BigQuery,
  def: DatasetDefinition,
  { location, signal }: Pick<EnsureOptions, 'location' | 'signal'>,
): Promise<EnsureOutcome> {
  try {
    await within(bq.createDataset(def.datasetId, { location, description: def.description, labels: { ...def.labels } }), signal);
    return 'created';
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const dataset = bq.dataset(def.datasetId);
  // The client types metadata as `any`; it is the REST `Dataset` resource.
  const metadata = (await within(dataset.getMetadata(), signal))[0] as DatasetResource;
  if (metadata.location !== undefined && metadata.location.toLowerCase() !== location.toLowerCase()) {
    throw new SchemaDriftError(def.datasetId, [`location is ${metadata.location}, expected ${location} (a dataset cannot move)`]);
  }
  const labels = labelPatch(metadata.labels, def.labels);
  if (labels === undefined) return 'unchanged';
  await within(dataset.setMetadata({ labels }), signal);
  return 'updated';
}

/**
 * Creates a table from its definition, or — when it exists — verifies partitioning and
 * column types and patches what can be patched (labels, clustering, added columns).
 *
 * @throws SchemaDriftError when the table differs in a way no patch can fix
 */
export async function ensureTable(
  bq: BigQuery,
  datasetId: string,
  def: TableDefinition,
  labels: Readonly<Record<string, string>>,
  { signal }: Pick<EnsureOptions, 'signal'> = {},
): Promise<EnsureOutcome> {
  const dataset = bq.dataset(datasetId);
  try {
    await within(dataset.createTable(def.tableId, tableResource(def, labels)), signal);
    return 'created';
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const table = dataset.table(def.tableId);
  // The client types metadata as `any`; it is the REST `Table` resource.
  const metadata = (await within(table.getMetadata(), signal))[0] as TableMetadata;
  const { patch, problems } = tableDrift(metadata, def, labels);
  if (problems.length > 0) throw new SchemaDriftError(`${datasetId}.${def.tableId}`, problems);
  if (patch === undefined) return 'unchanged';
  await within(table.setMetadata(patch), signal);
  return 'updated';
}

/**
 * Applies a dataset definition: the dataset, then each table in order, each idempotent.
 * Tables carry the dataset's labels. Safe to run again after any failure.
 */
export async function ensureDatasetDefinition(bq: BigQuery, def: DatasetDefinition, options: EnsureOptions): Promise<EnsureReport> {
  const { beforeStep, signal } = options;
  await beforeStep?.({ kind: 'dataset', datasetId: def.datasetId });
  const report: EnsureReport = { datasetId: def.datasetId, dataset: await ensureDataset(bq, def, options), tables: {} };
  for (const table of def.tables) {
    await beforeStep?.({ kind: 'table', datasetId: def.datasetId, tableId: table.tableId });
    report.tables[table.tableId] = await ensureTable(bq, def.datasetId, table, def.labels, { signal });
  }
  return report;
}
