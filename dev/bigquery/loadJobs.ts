/**
 * Load jobs (`configuration.load` with uploaded data: the client's
 * `table.load(file)` / `createLoadJob(file)` and `bq load`), after
 * "Loading CSV data" (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-csv),
 * "Loading JSON data" (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-json)
 * and the REST reference of `JobConfigurationLoad` / `JobStatistics3`:
 *
 * - `sourceFormat` `CSV` (default) or `NEWLINE_DELIMITED_JSON`; CSV options
 *   `skipLeadingRows`, `fieldDelimiter`, `quote`, `allowQuotedNewlines`,
 *   `allowJaggedRows`, `nullMarker` (default: an empty field is NULL; with a
 *   custom marker an empty field is an empty STRING and a bad value of any
 *   other type), `encoding` (`UTF-8` default, `ISO-8859-1`); CSV cannot
 *   carry RECORD or REPEATED fields; `ignoreUnknownValues` drops extra CSV
 *   columns and unknown JSON keys;
 * - the schema: `schema`, else `autodetect` (loadSchema.ts), else the
 *   existing table's; appending keeps the table's schema and refuses a
 *   different `schema`; `WRITE_TRUNCATE` replaces the rows and the schema;
 * - `createDisposition` `CREATE_IF_NEEDED` (default; the new table takes
 *   `timePartitioning`, `rangePartitioning` and `clustering` from the job) or
 *   `CREATE_NEVER`; `writeDisposition` `WRITE_APPEND` (default for loads),
 *   `WRITE_TRUNCATE`, `WRITE_EMPTY` (409 `duplicate` for a table with rows);
 * - a row that does not parse is a bad record; more than `maxBadRecords`
 *   (default 0) fails the job with `errorResult.reason = "invalid"` and one
 *   more `errors[]` entry per bad record, and writes nothing; up to that many
 *   bad records are skipped and counted in `statistics.load.badRecords`;
 * - loads are writes, not reads: a `require_partition_filter` table accepts
 *   them, and each row lands in the partition of its partitioning column.
 *
 * The whole write (DDL, rows, metadata) is one DuckDB transaction under the
 * destination's write lock, so a failed load leaves the table as it was.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { createTableSql, now, validatePartitioning } from './catalog.js';
import type { Catalog, TableMeta } from './catalog.js';
import { csvDialect, csvRecords, isCsvRecordError } from './csvRecords.js';
import type { CsvRecord } from './csvRecords.js';
import type { Engine } from './engine.js';
import { BigQueryJobFailure, duplicate, invalid, notFound } from './errors.js';
import type { ErrorProto } from './errors.js';
import { insertRows } from './insertRows.js';
import { detectCsvSchema, detectJsonSchema } from './loadSchema.js';
import { tableLogicalBytes } from './tableBytes.js';
import { canonicalType, normalizeSchema, quoteIdent } from './types.js';
import type { BqField, BqSchema } from './types.js';
import { rowToValues, ValueError } from './values.js';

/** Bad records listed in `status.errors` after the first (BigQuery lists a handful, not all). */
const MAX_LISTED_BAD_RECORDS = 5;

/** A table reference as the REST API sends it. */
interface RestTableRef {
  projectId?: string;
  datasetId?: string;
  tableId?: string;
}

/** `JobConfigurationLoad` (the fields the endpoint reads). */
export interface LoadConfig {
  destinationTable?: RestTableRef;
  sourceUris?: string[];
  sourceFormat?: string;
  schema?: BqSchema;
  autodetect?: boolean;
  createDisposition?: string;
  writeDisposition?: string;
  skipLeadingRows?: number | string;
  fieldDelimiter?: string;
  quote?: string;
  allowQuotedNewlines?: boolean;
  allowJaggedRows?: boolean;
  nullMarker?: string;
  encoding?: string;
  maxBadRecords?: number | string;
  ignoreUnknownValues?: boolean;
  timePartitioning?: unknown;
  rangePartitioning?: unknown;
  clustering?: unknown;
  schemaUpdateOptions?: string[];
  [k: string]: unknown;
}

/** `statistics.load` of a finished load job (`JobStatistics3`). */
export interface LoadOutcome {
  inputFiles: number;
  inputFileBytes: number;
  outputRows: number;
  outputBytes: number;
  badRecords: number;
}

/** `statistics.load` as BigQuery sends it (int64 counts as strings). */
export function loadStatistics(o: LoadOutcome): Record<string, string> {
  return {
    inputFiles: String(o.inputFiles),
    inputFileBytes: String(o.inputFileBytes),
    outputRows: String(o.outputRows),
    outputBytes: String(o.outputBytes),
    badRecords: String(o.badRecords),
  };
}

/** The project the job runs in and the one in its URL (both accepted in table references). */
export interface LoadContext {
  projectId: string;
  requestProjectId?: string;
}

/** One row of the source, before conversion: CSV fields or a JSON object, and where it starts. */
type SourceRow = { kind: 'csv'; record: CsvRecord } | { kind: 'json'; value: Record<string, unknown>; offset: number } | { kind: 'bad'; message: string; offset: number };

function sqlName(meta: { datasetId: string; tableId: string }): string {
  return `${quoteIdent(meta.datasetId)}.${quoteIdent(meta.tableId)}`;
}

function schemaKey(fields: BqField[]): string {
  return JSON.stringify(fields.map((f) => [f.name.toLowerCase(), canonicalType(f.type), f.mode ?? 'NULLABLE', JSON.stringify(f.fields ?? null)]));
}

function nonNegativeInt(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw invalid(`Invalid value for ${name}: ${JSON.stringify(v)}`, name);
  return n;
}

/** Runs a load job over `data`; resolves with its statistics or rejects with a BigQuery error. */
export async function runLoadJob(engine: Engine, catalog: Catalog, ctx: LoadContext, cfg: LoadConfig | undefined, data: Buffer): Promise<LoadOutcome> {
  const load = cfg ?? {};
  const dest = load.destinationTable;
  if (!dest?.datasetId || !dest.tableId) throw invalid('destinationTable is required', 'destinationTable');
  const projectId = dest.projectId ?? ctx.requestProjectId ?? ctx.projectId;
  if (projectId !== ctx.projectId && projectId !== ctx.requestProjectId) throw notFound(`Dataset ${projectId}:${dest.datasetId}`);
  const datasetId = dest.datasetId;
  const tableId = dest.tableId;
  const fqn = `${projectId}:${datasetId}.${tableId}`;
  if (load.sourceUris && load.sourceUris.length > 0) throw invalid('Unsupported by the local BigQuery endpoint: load jobs from sourceUris (upload the data with the job instead)', 'sourceUris');
  if (load.schemaUpdateOptions && load.schemaUpdateOptions.length > 0) throw invalid('Unsupported by the local BigQuery endpoint: schemaUpdateOptions', 'schemaUpdateOptions');
  const format = String(load.sourceFormat ?? 'CSV').toUpperCase();
  if (format !== 'CSV' && format !== 'NEWLINE_DELIMITED_JSON') throw invalid(`Unsupported by the local BigQuery endpoint: sourceFormat ${format}`, 'sourceFormat');
  const create = String(load.createDisposition ?? 'CREATE_IF_NEEDED').toUpperCase();
  const write = String(load.writeDisposition ?? 'WRITE_APPEND').toUpperCase();
  if (!['CREATE_IF_NEEDED', 'CREATE_NEVER'].includes(create)) throw invalid(`Invalid createDisposition: ${create}`, 'createDisposition');
  if (!['WRITE_EMPTY', 'WRITE_TRUNCATE', 'WRITE_APPEND'].includes(write)) throw invalid(`Invalid writeDisposition: ${write}`, 'writeDisposition');
  if (!catalog.hasDataset(datasetId)) throw notFound(`Dataset ${projectId}:${datasetId}`);
  const maxBad = nonNegativeInt(load.maxBadRecords, 'maxBadRecords') ?? 0;
  const skipLeadingRows = nonNegativeInt(load.skipLeadingRows, 'skipLeadingRows');

  const text = decode(data, load.encoding);
  const rows = format === 'CSV' ? csvSource(text, load) : jsonSource(text);
  const provided = load.schema?.fields && load.schema.fields.length > 0 ? normalizeSchema(load.schema).fields : undefined;
  const detected = load.autodetect === true ? detect(rows, format, skipLeadingRows) : undefined;
  const leading = format === 'CSV' ? (detected?.leadingRows ?? skipLeadingRows ?? 0) : 0;

  return engine.withLocks([`${datasetId}.${tableId}`], () =>
    engine.with(async (conn) => {
      const existing = catalog.findTable(datasetId, tableId);
      if (!existing && create === 'CREATE_NEVER') throw notFound(`Table ${fqn}`);
      const replacing = !existing || write === 'WRITE_TRUNCATE';
      if (existing && !replacing && provided && schemaKey(provided) !== schemaKey(existing.schema.fields)) {
        throw invalid(`Provided Schema does not match Table ${fqn}. Field names, types and modes must be the same when appending.`, 'schema');
      }
      const fields = replacing ? (provided ?? detected?.fields ?? existing?.schema.fields) : existing.schema.fields;
      if (!fields || fields.length === 0) throw invalid('No schema specified on job or table.', 'schema');
      if (format === 'CSV') {
        const nested = fields.find((f) => f.mode === 'REPEATED' || canonicalType(f.type) === 'RECORD');
        if (nested) throw invalid(`Cannot load CSV data with a nested or repeated schema. Field: ${nested.name}`, 'schema');
      }
      const meta = targetMeta(catalog, existing, replacing, { datasetId, tableId, fields }, load, fqn);

      const converted: DuckDBValue[][] = [];
      const badRecords: ErrorProto[] = [];
      rows.slice(leading).forEach((row) => {
        try {
          converted.push(convertRow(row, fields, load));
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          badRecords.push({ reason: 'invalid', message: `Error while reading data, error message: ${err.message}`, location: err.location });
        }
      });
      if (badRecords.length > maxBad) {
        const what = format === 'CSV' ? 'CSV' : 'JSON';
        throw new BigQueryJobFailure(
          'invalid',
          `Error while reading data, error message: ${what} processing encountered too many errors, giving up. Rows: ${converted.length + badRecords.length}; errors: ${badRecords.length}; max bad: ${maxBad}; error percent: 0`,
          badRecords.slice(0, MAX_LISTED_BAD_RECORDS),
        );
      }
      if (existing && write === 'WRITE_EMPTY') {
        const r = await conn.runAndReadAll(`SELECT count(*) FROM ${sqlName(existing)}`);
        if (Number(r.getRows()[0]?.[0] ?? 0) > 0) throw duplicate(`Table ${fqn}`);
      }
      const bytesBefore = existing && !replacing ? await tableLogicalBytes(conn, existing) : 0;
      await conn.run('BEGIN TRANSACTION');
      try {
        if (replacing) {
          if (existing) await conn.run(`DROP TABLE ${sqlName(existing)}`);
          await conn.run(createTableSql(datasetId, tableId, meta.schema));
        }
        await insertRows(conn, datasetId, tableId, fields, converted);
        await catalog.writeTableMeta(conn, datasetId, tableId, meta);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      catalog.setTableMeta(datasetId, tableId, meta);
      const outputBytes = (await tableLogicalBytes(conn, meta)) - bytesBefore;
      return { inputFiles: 1, inputFileBytes: data.length, outputRows: converted.length, outputBytes, badRecords: badRecords.length };
    }),
  );
}

/** The source bytes as text: UTF-8 (a byte-order mark dropped) or ISO-8859-1. */
function decode(data: Buffer, encoding: string | undefined): string {
  const enc = String(encoding ?? 'UTF-8').toUpperCase();
  if (enc === 'ISO-8859-1' || enc === 'LATIN1') return data.toString('latin1');
  if (enc !== 'UTF-8' && enc !== 'UTF8') throw invalid(`Unsupported by the local BigQuery endpoint: encoding ${enc}`, 'encoding');
  const text = data.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function csvSource(text: string, load: LoadConfig): SourceRow[] {
  let dialect;
  try {
    dialect = csvDialect(load);
  } catch (err) {
    throw invalid((err as Error).message, 'fieldDelimiter');
  }
  const rows: SourceRow[] = [];
  for (const r of csvRecords(text, dialect)) {
    rows.push(isCsvRecordError(r) ? { kind: 'bad', message: `Error detected while parsing row starting at position: ${r.offset}. Error: ${r.error}`, offset: r.offset } : { kind: 'csv', record: r });
  }
  return rows;
}

function jsonSource(text: string): SourceRow[] {
  const rows: SourceRow[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('a row must be a JSON object');
      rows.push({ kind: 'json', value: value as Record<string, unknown>, offset: start });
    } catch (err) {
      rows.push({ kind: 'bad', message: `JSON parsing error in row starting at position ${start}: ${(err as Error).message}`, offset: start });
    }
  }
  return rows;
}

function detect(rows: SourceRow[], format: string, skipLeadingRows: number | undefined): { fields: BqField[]; leadingRows: number } {
  if (format === 'CSV') {
    const records = rows.map((r) => (r.kind === 'csv' ? r.record : { fields: [], quoted: [], offset: r.kind === 'bad' ? r.offset : 0 }));
    return detectCsvSchema(records, skipLeadingRows);
  }
  return { fields: detectJsonSchema(rows.flatMap((r) => (r.kind === 'json' ? [r.value] : []))), leadingRows: 0 };
}

/** The destination's metadata after the load (a new table takes the job's partitioning and clustering). */
function targetMeta(catalog: Catalog, existing: TableMeta | undefined, replacing: boolean, t: { datasetId: string; tableId: string; fields: BqField[] }, load: LoadConfig, fqn: string): TableMeta {
  const at = now();
  if (existing) {
    const tp = load.timePartitioning as { type?: string; field?: string } | undefined;
    const cur = existing.timePartitioning;
    if (tp && (String(tp.type ?? 'DAY').toUpperCase() !== cur?.type || (tp.field ?? '').toLowerCase() !== (cur.field ?? '').toLowerCase())) {
      throw invalid(`Incompatible table partitioning specification for ${fqn}: the job's timePartitioning differs from the table's.`, 'timePartitioning');
    }
    const meta: TableMeta = { ...existing, lastModifiedTime: at };
    if (replacing) meta.schema = { fields: t.fields };
    validatePartitioning(meta);
    return meta;
  }
  const meta: TableMeta = { datasetId: t.datasetId, tableId: t.tableId, schema: { fields: t.fields }, creationTime: at, lastModifiedTime: at };
  const layout: Record<string, unknown> = {};
  for (const k of ['timePartitioning', 'rangePartitioning', 'clustering'] as const) if (load[k] !== undefined) layout[k] = load[k];
  catalog.applyTableFields(meta, layout, false);
  validatePartitioning(meta);
  return meta;
}

/** One source row as DuckDB values in `fields` order; a {@link ValueError} makes it a bad record. */
function convertRow(row: SourceRow, fields: BqField[], load: LoadConfig): DuckDBValue[] {
  if (row.kind === 'bad') throw new ValueError(row.message, '');
  if (row.kind === 'json') {
    try {
      return rowToValues(fields, row.value, { ignoreUnknownValues: load.ignoreUnknownValues === true });
    } catch (err) {
      if (err instanceof ValueError) throw new ValueError(`JSON table encountered an error in row starting at position ${row.offset}: ${err.message}`, err.location);
      throw err;
    }
  }
  const { record } = row;
  if (record.fields.length > fields.length && load.ignoreUnknownValues !== true) {
    throw new ValueError(`Too many values in row starting at position: ${record.offset}. Found ${record.fields.length} column(s) while expected ${fields.length}.`, '');
  }
  if (record.fields.length < fields.length && load.allowJaggedRows !== true) {
    throw new ValueError(`CSV table references column position ${fields.length - 1}, but line contains only ${record.fields.length} columns.`, '');
  }
  const nullMarker = load.nullMarker ?? '';
  const obj: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    const textValue = record.fields[i];
    obj[f.name] = textValue === undefined ? null : csvValue(f, textValue, record.quoted[i] === true, nullMarker);
  });
  try {
    return rowToValues(fields, obj, { ignoreUnknownValues: true });
  } catch (err) {
    if (!(err instanceof ValueError)) throw err;
    const i = fields.findIndex((f) => f.name === err.location);
    const f = fields[i];
    const bad = record.fields[i] ?? '';
    throw new ValueError(`Could not parse '${bad}' as ${f ? bqTypeName(f.type) : 'a value'} for field ${err.location} (position ${i}) starting at location ${record.offset} with message '${err.message}'`, err.location);
  }
}

/** A CSV field's text as the value rowToValues reads, or null. */
function csvValue(f: BqField, text: string, quoted: boolean, nullMarker: string): string | null {
  const type = canonicalType(f.type);
  if (!quoted && text === nullMarker) return null;
  // With the default marker an empty field is NULL; with a custom one an empty STRING/BYTES stays empty.
  if (text === '' && type !== 'STRING' && type !== 'BYTES') return nullMarker === '' ? null : text;
  if (type === 'BOOLEAN') {
    // BigQuery's CSV reader takes these spellings of BOOL (any case).
    const t = text.trim().toLowerCase();
    if (['t', 'yes', 'y', 'true', '1'].includes(t)) return 'true';
    if (['f', 'no', 'n', 'false', '0'].includes(t)) return 'false';
  }
  return text;
}

function bqTypeName(type: string): string {
  const t = canonicalType(type);
  return ({ INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' } as Record<string, string>)[t] ?? t;
}
