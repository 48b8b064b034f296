/**
 * Schema auto-detection for load jobs (`autodetect: true`), after
 * "Using schema auto-detection" (https://cloud.google.com/bigquery/docs/schema-detect):
 *
 * - the sample is the first {@link SAMPLE_ROWS} data rows; every detected
 *   field is NULLABLE; a column empty in every sampled row is STRING;
 * - a CSV value is BOOL (`true`/`false`, any case), INT64, FLOAT64, DATE
 *   (`YYYY-MM-DD`), TIMESTAMP (a date, a time and an optional zone: `Z`,
 *   `UTC`, `±HH[:MM]`) or else STRING; a column takes the one type all its
 *   values share, INT64 mixed with FLOAT64 is FLOAT64, any other mix is STRING;
 * - CSV header rows, as the `skipLeadingRows` reference of
 *   `JobConfigurationLoad` describes for autodetect: unset — the first row is
 *   a header when it holds only strings and the rows after it do not;
 *   `0` — no header; `N > 0` — rows 1…N-1 are skipped and row N is the header
 *   when it looks like one (it is skipped either way). Without a header the
 *   columns are named `<type>_field_<i>` (`string_field_0`, `int64_field_1`);
 *   header names are made into valid column names (other characters become `_`);
 * - newline-delimited JSON: fields in the order they first appear, JSON
 *   numbers INT64 or FLOAT64, booleans BOOL, strings detected like CSV text
 *   but only as DATE/TIMESTAMP/STRING, objects RECORD, arrays REPEATED.
 */
import type { CsvRecord } from './csvRecords.js';
import type { BqField } from './types.js';

/** Rows auto-detection looks at. */
export const SAMPLE_ROWS = 500;

type Detected = 'BOOLEAN' | 'INTEGER' | 'FLOAT' | 'DATE' | 'TIMESTAMP' | 'STRING';

const INT64_MAX = 9223372036854775807n;
const DATE_RE = /^\d{4}-\d{1,2}-\d{1,2}$/;
const TIMESTAMP_RE = /^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|UTC|[+-]\d{1,2}(:?\d{2})?)?$/i;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The type one CSV value suggests (`undefined` for an empty value, which suggests nothing). */
function csvValueType(text: string): Detected | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^(true|false)$/i.test(t)) return 'BOOLEAN';
  if (/^[+-]?\d+$/.test(t)) {
    const b = BigInt(t);
    return b <= INT64_MAX && b >= -INT64_MAX - 1n ? 'INTEGER' : 'FLOAT';
  }
  if (FLOAT_RE.test(t)) return 'FLOAT';
  return stringValueType(t);
}

/** DATE, TIMESTAMP or STRING: what a string value suggests (JSON strings are only ever these). */
function stringValueType(t: string): Detected {
  if (DATE_RE.test(t)) return 'DATE';
  if (TIMESTAMP_RE.test(t)) return 'TIMESTAMP';
  return 'STRING';
}

/** The type of a column whose values suggested `a` and `b`. */
function widen(a: Detected | undefined, b: Detected | undefined): Detected | undefined {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  if ((a === 'INTEGER' && b === 'FLOAT') || (a === 'FLOAT' && b === 'INTEGER')) return 'FLOAT';
  return 'STRING';
}

const GENERATED_NAME: Record<Detected, string> = {
  BOOLEAN: 'bool',
  INTEGER: 'int64',
  FLOAT: 'double',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  STRING: 'string',
};

/** A header cell as a column name BigQuery accepts. */
function columnName(text: string, index: number, used: Set<string>): string {
  let name = text.trim().replace(/[^A-Za-z0-9_]/g, '_');
  if (name === '') name = `_field_${index}`;
  if (/^\d/.test(name)) name = `_${name}`;
  let unique = name;
  for (let k = 1; used.has(unique.toLowerCase()); k++) unique = `${name}_${k}`;
  used.add(unique.toLowerCase());
  return unique;
}

/** What auto-detection found in a CSV load. */
export interface DetectedCsv {
  fields: BqField[];
  /** Records before the first data row (the skipped rows and a detected header). */
  leadingRows: number;
}

/**
 * Detects the schema of CSV `records` (all records of the file, in order).
 *
 * @param skipLeadingRows the configuration's `skipLeadingRows`, `undefined` when unset
 */
export function detectCsvSchema(records: readonly CsvRecord[], skipLeadingRows: number | undefined): DetectedCsv {
  // The row that may be a header: the first when unset, the N-th when N > 0, none when 0.
  const candidate = skipLeadingRows === undefined ? 0 : skipLeadingRows - 1;
  const header = candidate >= 0 ? records[candidate] : undefined;
  const width = Math.max(0, header?.fields.length ?? 0, ...records.slice(candidate + 1, candidate + 1 + SAMPLE_ROWS).map((r) => r.fields.length));
  const below = columnTypes(records.slice(candidate + 1, candidate + 1 + SAMPLE_ROWS), width);
  const isHeader =
    header !== undefined &&
    header.fields.every((v) => v.trim() === '' || csvValueType(v) === 'STRING') &&
    below.some((t) => t !== undefined && t !== 'STRING');
  // Without a header the candidate row is data when skipLeadingRows is unset, and skipped when it is N > 0.
  const leadingRows = skipLeadingRows ?? (isHeader ? 1 : 0);
  const types = leadingRows === candidate + 1 ? below : columnTypes(records.slice(leadingRows, leadingRows + SAMPLE_ROWS), width);
  const used = new Set<string>();
  const fields = types.map((t, i): BqField => {
    const type = t ?? 'STRING';
    return { name: columnName(isHeader ? (header.fields[i] ?? '') : `${GENERATED_NAME[type]}_field_${i}`, i, used), type, mode: 'NULLABLE' };
  });
  return { fields, leadingRows };
}

/** The type of each of `width` columns over `rows` (`undefined`: empty in every row). */
function columnTypes(rows: readonly CsvRecord[], width: number): (Detected | undefined)[] {
  const types: (Detected | undefined)[] = Array.from({ length: width }, () => undefined);
  for (const r of rows) r.fields.forEach((v, i) => (types[i] = widen(types[i], csvValueType(v))));
  return types;
}

/** The schema of one JSON value's field. */
function jsonField(name: string, v: unknown): BqField | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) {
    const inner = v.map((x) => jsonField(name, x)).filter((f): f is BqField => f !== undefined).reduce<BqField | undefined>(mergeField, undefined);
    return inner ? { ...inner, mode: 'REPEATED' } : undefined;
  }
  if (typeof v === 'object') return { name, type: 'RECORD', mode: 'NULLABLE', fields: jsonFields([v as Record<string, unknown>]) };
  if (typeof v === 'boolean') return { name, type: 'BOOLEAN', mode: 'NULLABLE' };
  if (typeof v === 'number') return { name, type: Number.isInteger(v) ? 'INTEGER' : 'FLOAT', mode: 'NULLABLE' };
  return { name, type: typeof v === 'string' ? stringValueType(v.trim()) : 'STRING', mode: 'NULLABLE' };
}

/** Two observations of one field as one field. */
function mergeField(a: BqField | undefined, b: BqField): BqField {
  // '' is a field seen only as NULL so far (see jsonFields).
  if (!a || a.type === '') return b;
  if (a.type === 'RECORD' && b.type === 'RECORD') {
    const merged = new Map<string, BqField>();
    for (const f of [...(a.fields ?? []), ...(b.fields ?? [])]) merged.set(f.name.toLowerCase(), mergeField(merged.get(f.name.toLowerCase()), f));
    return { ...a, fields: [...merged.values()] };
  }
  const type = a.type === b.type ? a.type : (widen(a.type as Detected, b.type as Detected) ?? 'STRING');
  return { ...a, type, mode: a.mode === 'REPEATED' || b.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE' };
}

/** Fields of a set of JSON objects, in the order they first appear; a field only ever NULL is STRING. */
function jsonFields(rows: readonly Record<string, unknown>[]): BqField[] {
  const byName = new Map<string, BqField>();
  for (const row of rows) {
    for (const [name, v] of Object.entries(row)) {
      const key = name.toLowerCase();
      const seen = jsonField(name, v);
      if (seen) byName.set(key, mergeField(byName.get(key), seen));
      else if (!byName.has(key)) byName.set(key, { name, type: '', mode: 'NULLABLE' });
    }
  }
  return [...byName.values()].map((f) => (f.type === '' ? { ...f, type: 'STRING' } : f));
}

/** Detects the schema of newline-delimited JSON rows from the first {@link SAMPLE_ROWS}. */
export function detectJsonSchema(rows: readonly Record<string, unknown>[]): BqField[] {
  return jsonFields(rows.slice(0, SAMPLE_ROWS));
}
