/**
 * Value conversions at the two edges of the endpoint:
 *
 * - inbound: BigQuery JSON values (query parameters, insertAll rows) →
 *   typed DuckDB values, so nothing is ever spliced into SQL text;
 * - outbound: DuckDB values → BigQuery's `{f:[{v}]}` wire format, where every
 *   scalar is a string (see {@link encodeRow}).
 */
import {
  DECIMAL,
  LIST,
  STRUCT,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimeValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  blobValue,
  dateValue,
  decimalValue,
  listValue,
  structValue,
  timeValue,
  timestampTZValue,
  timestampValue,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { canonicalType, fieldDuckType, NUMERIC_SCALE } from './types.js';
import type { BqField } from './types.js';

/** Thrown for a value that does not fit its declared type; `location` names the field. */
export class ValueError extends Error {
  constructor(
    message: string,
    readonly location: string,
  ) {
    super(message);
  }
}

const MICROS_PER_DAY = 86_400_000_000n;

// ------------------------------------------------------------------ parsing

/** `YYYY-[M]M-[D]D` → days since 1970-01-01. */
export function parseDateDays(s: string, where: string): number {
  const m = /^\s*(\d{1,4})-(\d{1,2})-(\d{1,2})\s*$/.exec(s);
  if (!m) throw new ValueError(`Invalid date: '${s}'`, where);
  return civilDays(Number(m[1]), Number(m[2]), Number(m[3]), s, where);
}

function civilDays(y: number, mo: number, d: number, original: string, where: string): number {
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  // Date.UTC maps years 0-99 to 1900+; setUTCFullYear fixes that.
  check.setUTCFullYear(y);
  if (y < 1 || y > 9999 || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) {
    throw new ValueError(`Invalid date: '${original}'`, where);
  }
  return Math.round(check.getTime() / 86_400_000);
}

/** Fraction digits (up to 9) → microseconds (truncating beyond 6 like BigQuery). */
function fractionMicros(frac: string | undefined): bigint {
  if (!frac) return 0n;
  return BigInt(frac.slice(0, 6).padEnd(6, '0'));
}

/** `[H]H:[M]M:[S]S[.F]` → microseconds since midnight. */
export function parseTimeMicros(s: string, where: string): bigint {
  const m = /^\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?\s*$/.exec(s);
  if (!m) throw new ValueError(`Invalid time string "${s}"`, where);
  const h = Number(m[1]);
  const mi = Number(m[2]);
  const sec = Number(m[3] ?? 0);
  if (h > 23 || mi > 59 || sec > 59) throw new ValueError(`Invalid time string "${s}"`, where);
  return BigInt((h * 3600 + mi * 60 + sec) * 1_000_000) + fractionMicros(m[4]);
}

/** `YYYY-MM-DD[( |T)HH:MM[:SS[.F]]]` → microseconds since epoch (no zone). */
export function parseDatetimeMicros(s: string, where: string): bigint {
  const m = /^\s*(\d{1,4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d{1,9})?)?))?\s*$/.exec(s);
  if (!m) throw new ValueError(`Invalid datetime string "${s}"`, where);
  const days = BigInt(parseDateDays(m[1] as string, where));
  const time = m[2] ? parseTimeMicros(m[2], where) : 0n;
  return days * MICROS_PER_DAY + time;
}

/**
 * A TIMESTAMP in any form the client or a user sends: ISO-8601 with `Z`,
 * `+HH[:MM]` or ` UTC`, a bare date/datetime (taken as UTC), or a number of
 * seconds since the epoch (insertAll accepts that).
 */
export function parseTimestampMicros(v: unknown, where: string): bigint {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValueError(`Invalid timestamp: ${v}`, where);
    return BigInt(Math.round(v * 1_000_000));
  }
  if (typeof v !== 'string') throw new ValueError(`Invalid timestamp: ${JSON.stringify(v)}`, where);
  if (/^\s*-?\d+(\.\d+)?([eE][+-]?\d+)?\s*$/.test(v)) return parseTimestampMicros(Number(v), where);
  const m = /^\s*(\d{1,4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d{1,9})?)?))?\s*(Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?\s*$/i.exec(v);
  if (!m) throw new ValueError(`Invalid timestamp: '${v}'`, where);
  let micros = BigInt(parseDateDays(m[1] as string, where)) * MICROS_PER_DAY + (m[2] ? parseTimeMicros(m[2], where) : 0n);
  const zone = m[3];
  if (zone && !/^(Z|UTC)$/i.test(zone)) {
    const zm = /^([+-])(\d{1,2})(?::?(\d{2}))?$/.exec(zone) as RegExpExecArray;
    const offsetMin = Number(zm[2]) * 60 + Number(zm[3] ?? 0);
    micros -= BigInt((zm[1] === '-' ? -1 : 1) * offsetMin * 60) * 1_000_000n;
  }
  return micros;
}

/** A decimal string/number → scaled bigint at `scale` (rounding half away from zero). */
export function parseDecimal(v: unknown, scale: number, where: string, typeName: string): bigint {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'x') : typeof v === 'string' ? v.trim() : 'x';
  const m = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new ValueError(`Invalid ${typeName} value: ${String(v)}`, where);
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let pointPos = (m[2] ?? '').length + Number(m[4] ?? 0);
  if (pointPos < 0) {
    digits = '0'.repeat(-pointPos) + digits;
    pointPos = 0;
  }
  digits = digits.padEnd(pointPos, '0');
  const intPart = digits.slice(0, pointPos) || '0';
  const frac = digits.slice(pointPos);
  let scaled = BigInt(intPart + frac.slice(0, scale).padEnd(scale, '0'));
  if ((frac[scale] ?? '0') >= '5') scaled += 1n;
  if (scaled.toString().length > 38) throw new ValueError(`Invalid ${typeName} value: ${String(v)} is out of range`, where);
  return m[1] === '-' ? -scaled : scaled;
}

/** Number of fractional digits in a decimal literal (ignoring exponent tricks beyond a simple shift). */
function fractionDigits(v: unknown): number {
  const s = String(v);
  const m = /^[+-]?\d*(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m) return 0;
  return Math.max(0, (m[1] ?? '').length - Number(m[2] ?? 0));
}

function parseInt64(v: unknown, where: string): bigint {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ValueError(`Cannot convert value to integer (bad value): ${v}`, where);
    return BigInt(v);
  }
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) {
    const b = BigInt(v.trim());
    if (b > 9223372036854775807n || b < -9223372036854775808n) throw new ValueError(`Value out of range for INT64: ${v}`, where);
    return b;
  }
  throw new ValueError(`Cannot convert value to integer (bad value): ${JSON.stringify(v)}`, where);
}

function parseFloat64(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(t)) return NaN;
    if (t !== '' && !Number.isNaN(Number(t))) return Number(t);
  }
  throw new ValueError(`Cannot convert value to floating point (bad value): ${JSON.stringify(v)}`, where);
}

function parseBool(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
  }
  if (v === 1 || v === 0) return v === 1;
  throw new ValueError(`Cannot convert value to boolean: ${JSON.stringify(v)}`, where);
}

function parseBytes(v: unknown, where: string): Uint8Array {
  // The Node client JSON-serialises Buffer parameters as {type:'Buffer',data:[...]}.
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Uint8Array.from((v as { data: number[] }).data);
  }
  if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v.replace(/\s/g, ''))) return Uint8Array.from(Buffer.from(v, 'base64'));
  throw new ValueError(`Could not decode base64 string to bytes: ${JSON.stringify(v)}`, where);
}

function parseJsonText(v: unknown, where: string): string {
  if (typeof v === 'string') {
    try {
      JSON.parse(v);
      return v;
    } catch {
      throw new ValueError(`Invalid JSON value: ${v}`, where);
    }
  }
  return JSON.stringify(v);
}

function asString(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  throw new ValueError(`Cannot convert value to string: ${JSON.stringify(v)}`, where);
}

// ------------------------------------------------------------------ inbound: insertAll rows

/** Options for {@link rowToValues}. */
export interface RowOptions {
  ignoreUnknownValues: boolean;
}

/**
 * Converts one insertAll `json` row into DuckDB values in schema order,
 * throwing {@link ValueError} for the first invalid field like BigQuery.
 */
export function rowToValues(fields: BqField[], row: unknown, opts: RowOptions): DuckDBValue[] {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new ValueError('Row must be a JSON object', '');
  const obj = row as Record<string, unknown>;
  if (!opts.ignoreUnknownValues) {
    const known = new Set(fields.map((f) => f.name.toLowerCase()));
    for (const key of Object.keys(obj)) {
      if (!known.has(key.toLowerCase())) throw new ValueError(`no such field: ${key}.`, key);
    }
  }
  return fields.map((f) => fieldValue(f, lookup(obj, f.name), f.name, opts));
}

function lookup(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function fieldValue(f: BqField, v: unknown, where: string, opts: RowOptions): DuckDBValue {
  if (f.mode === 'REPEATED') {
    if (v === undefined || v === null) return listValue([]);
    if (!Array.isArray(v)) throw new ValueError(`Array specified for non-repeated field: ${where}.`, where);
    return listValue(
      v.map((item, i) => {
        if (item === null || item === undefined) throw new ValueError(`Array element ${i} of ${where} is NULL`, where);
        return scalarValue(f, item, where, opts);
      }),
    );
  }
  if (v === undefined || v === null) {
    if (f.mode === 'REQUIRED') throw new ValueError(`Missing required field: ${where}.`, where);
    return null;
  }
  if (Array.isArray(v)) throw new ValueError(`Array specified for non-repeated field: ${where}.`, where);
  return scalarValue(f, v, where, opts);
}

function scalarValue(f: BqField, v: unknown, where: string, opts: RowOptions): DuckDBValue {
  switch (canonicalType(f.type)) {
    case 'RECORD': {
      if (typeof v !== 'object' || v === null) throw new ValueError(`Cannot convert value to a RECORD: ${JSON.stringify(v)}`, where);
      const obj = v as Record<string, unknown>;
      const sub = f.fields ?? [];
      if (!opts.ignoreUnknownValues) {
        const known = new Set(sub.map((s) => s.name.toLowerCase()));
        for (const key of Object.keys(obj)) if (!known.has(key.toLowerCase())) throw new ValueError(`no such field: ${key}.`, `${where}.${key}`);
      }
      const entries: Record<string, DuckDBValue> = {};
      for (const s of sub) entries[s.name] = fieldValue(s, lookup(obj, s.name), `${where}.${s.name}`, opts);
      return structValue(entries);
    }
    case 'STRING':
    case 'GEOGRAPHY':
      return asString(v, where);
    case 'INTEGER':
      return parseInt64(v, where);
    case 'FLOAT':
      return parseFloat64(v, where);
    case 'NUMERIC':
      return decimalValue(parseDecimal(v, NUMERIC_SCALE, where, 'NUMERIC'), 38, NUMERIC_SCALE);
    case 'BIGNUMERIC': {
      const t = fieldDuckType({ ...f, mode: 'NULLABLE' }) as ReturnType<typeof DECIMAL>;
      return decimalValue(parseDecimal(v, t.scale, where, 'BIGNUMERIC'), 38, t.scale);
    }
    case 'BOOLEAN':
      return parseBool(v, where);
    case 'BYTES':
      return blobValue(parseBytes(v, where));
    case 'DATE':
      return dateValue(parseDateDays(asString(v, where), where));
    case 'DATETIME':
      return timestampValue(parseDatetimeMicros(asString(v, where), where));
    case 'TIMESTAMP':
      return timestampTZValue(parseTimestampMicros(v, where));
    case 'TIME':
      return timeValue(parseTimeMicros(asString(v, where), where));
    case 'JSON':
      return parseJsonText(v, where);
    default:
      throw new ValueError(`Unsupported field type ${f.type}`, where);
  }
}

// ------------------------------------------------------------------ inbound: query parameters

/** BigQuery `QueryParameterType`. */
export interface ParamType {
  type: string;
  arrayType?: ParamType;
  structTypes?: { name?: string; type: ParamType }[];
}

/** BigQuery `QueryParameterValue`. */
export interface ParamValue {
  value?: unknown;
  arrayValues?: ParamValue[];
  structValues?: Record<string, ParamValue>;
}

/** A parameter ready for binding. */
export interface BoundParam {
  value: DuckDBValue;
  type: DuckDBType;
}

/**
 * Converts one query parameter into a typed DuckDB value. The BigQuery type
 * decides the DuckDB type so `SELECT @p` returns exactly the declared type.
 */
export function paramToDuck(type: ParamType, value: ParamValue | undefined, where: string): BoundParam {
  const t = String(type?.type ?? '').toUpperCase();
  if (t === 'ARRAY') {
    if (!type.arrayType) throw new ValueError(`Array parameter ${where} is missing arrayType`, where);
    const items = (value?.arrayValues ?? []).map((v, i) => paramToDuck(type.arrayType as ParamType, v, `${where}[${i}]`));
    const elemType = items[0]?.type ?? paramToDuck(type.arrayType, { value: null }, where).type;
    return { value: listValue(items.map((x) => x.value)), type: LIST(elemType) };
  }
  if (t === 'STRUCT') {
    const fields = type.structTypes ?? [];
    const entries: Record<string, DuckDBValue> = {};
    const types: Record<string, DuckDBType> = {};
    fields.forEach((f, i) => {
      const name = f.name ?? `_field_${i + 1}`;
      const p = paramToDuck(f.type, value?.structValues?.[name], `${where}.${name}`);
      entries[name] = p.value;
      types[name] = p.type;
    });
    return { value: value?.structValues === undefined ? null : structValue(entries), type: STRUCT(types) };
  }
  const raw = value?.value;
  const isNull = raw === null || raw === undefined;
  switch (t) {
    case 'STRING':
      return { value: isNull ? null : asString(raw, where), type: fieldDuckType({ name: where, type: 'STRING' }) };
    case 'INT64':
    case 'INTEGER':
      return { value: isNull ? null : parseInt64(raw, where), type: fieldDuckType({ name: where, type: 'INTEGER' }) };
    case 'FLOAT64':
    case 'FLOAT':
      return { value: isNull ? null : parseFloat64(raw, where), type: fieldDuckType({ name: where, type: 'FLOAT' }) };
    case 'NUMERIC':
    case 'DECIMAL':
      return {
        value: isNull ? null : decimalValue(parseDecimal(raw, NUMERIC_SCALE, where, 'NUMERIC'), 38, NUMERIC_SCALE),
        type: DECIMAL(38, NUMERIC_SCALE),
      };
    case 'BIGNUMERIC':
    case 'BIGDECIMAL': {
      // Keep every fractional digit the value has (DuckDB caps total digits at 38).
      const intDigits = isNull ? 1 : (typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : '0').replace(/^[+-]/, '').split(/[.eE]/)[0]?.replace(/^0+/, '').length ?? 1;
      const scale = Math.max(NUMERIC_SCALE + 1, Math.min(isNull ? 0 : fractionDigits(raw), 38 - Math.max(intDigits, 1)));
      const s = Math.min(scale, 38 - Math.max(intDigits, 1));
      return { value: isNull ? null : decimalValue(parseDecimal(raw, s, where, 'BIGNUMERIC'), 38, s), type: DECIMAL(38, s) };
    }
    case 'BOOL':
    case 'BOOLEAN':
      return { value: isNull ? null : parseBool(raw, where), type: fieldDuckType({ name: where, type: 'BOOLEAN' }) };
    case 'BYTES':
      return { value: isNull ? null : blobValue(parseBytes(raw, where)), type: fieldDuckType({ name: where, type: 'BYTES' }) };
    case 'DATE':
      return { value: isNull ? null : dateValue(parseDateDays(asString(raw, where), where)), type: fieldDuckType({ name: where, type: 'DATE' }) };
    case 'DATETIME':
      return { value: isNull ? null : timestampValue(parseDatetimeMicros(asString(raw, where), where)), type: fieldDuckType({ name: where, type: 'DATETIME' }) };
    case 'TIMESTAMP':
      return { value: isNull ? null : timestampTZValue(parseTimestampMicros(raw, where)), type: fieldDuckType({ name: where, type: 'TIMESTAMP' }) };
    case 'TIME':
      return { value: isNull ? null : timeValue(parseTimeMicros(asString(raw, where), where)), type: fieldDuckType({ name: where, type: 'TIME' }) };
    case 'JSON':
      return { value: isNull ? null : parseJsonText(raw, where), type: fieldDuckType({ name: where, type: 'JSON' }) };
    default:
      throw new ValueError(`Unsupported by the local BigQuery endpoint: query parameter type ${t || '(missing)'}`, where);
  }
}

// ------------------------------------------------------------------ outbound: wire format

/** How TIMESTAMP values are rendered (BigQuery `formatOptions`). */
export type TimestampFormat = 'float' | 'int64' | 'iso';

/** Options for {@link encodeRow}. */
export interface EncodeOptions {
  timestampFormat: TimestampFormat;
}

/** One result row as BigQuery's `{f:[{v}]}`. */
export function encodeRow(fields: BqField[], row: readonly DuckDBValue[], opts: EncodeOptions): { f: { v: unknown }[] } {
  return { f: fields.map((f, i) => ({ v: encodeCell(f, row[i] ?? null, opts) })) };
}

function encodeCell(f: BqField, v: DuckDBValue, opts: EncodeOptions): unknown {
  if (v === null || v === undefined) return f.mode === 'REPEATED' ? [] : null;
  if (f.mode === 'REPEATED') {
    const items = v instanceof DuckDBListValue ? v.items : (v as { items?: readonly DuckDBValue[] }).items ?? [];
    return items.map((item) => ({ v: item === null ? null : encodeScalar(f, item, opts) }));
  }
  return encodeScalar(f, v, opts);
}

function encodeScalar(f: BqField, v: DuckDBValue, opts: EncodeOptions): unknown {
  if (v === null) return null;
  switch (canonicalType(f.type)) {
    case 'RECORD': {
      const entries = v instanceof DuckDBStructValue ? v.entries : ((v as { entries?: Record<string, DuckDBValue> }).entries ?? {});
      return { f: (f.fields ?? []).map((sub) => ({ v: encodeCell(sub, entries[sub.name] ?? null, opts) })) };
    }
    case 'INTEGER':
      return typeof v === 'bigint' || typeof v === 'number' ? String(v) : String(v);
    case 'FLOAT':
      return formatFloat(typeof v === 'number' ? v : Number(v));
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return v instanceof DuckDBDecimalValue ? formatDecimal(v.value, v.scale) : String(v);
    case 'BOOLEAN':
      return v ? 'true' : 'false';
    case 'BYTES':
      return v instanceof DuckDBBlobValue ? Buffer.from(v.bytes).toString('base64') : Buffer.from(String(v)).toString('base64');
    case 'DATE':
      return v instanceof DuckDBDateValue ? formatDate(v.days) : String(v);
    case 'DATETIME':
      return formatDatetime(timestampMicrosOf(v), 'T');
    case 'TIMESTAMP': {
      const micros = timestampMicrosOf(v);
      if (opts.timestampFormat === 'int64') return micros.toString();
      if (opts.timestampFormat === 'iso') return `${formatDatetime(micros, 'T', true)}Z`;
      return formatEpochSeconds(micros);
    }
    case 'TIME':
      return v instanceof DuckDBTimeValue ? formatTime(v.micros) : String(v);
    case 'INTERVAL':
      return v instanceof DuckDBIntervalValue ? formatInterval(v) : String(v);
    default:
      return typeof v === 'string' ? v : String(v);
  }
}

function timestampMicrosOf(v: DuckDBValue): bigint {
  if (v instanceof DuckDBTimestampTZValue || v instanceof DuckDBTimestampValue) return v.micros;
  if (v instanceof DuckDBTimestampSecondsValue) return v.seconds * 1_000_000n;
  if (v instanceof DuckDBTimestampMillisecondsValue) return v.millis * 1000n;
  if (v instanceof DuckDBTimestampNanosecondsValue) return v.nanos / 1000n;
  if (v instanceof DuckDBDateValue) return BigInt(v.days) * MICROS_PER_DAY;
  throw new Error(`Not a timestamp value: ${String(v)}`);
}

/** FLOAT64 rendering; JSON has no NaN/Infinity so BigQuery sends them as strings too. */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

/** Scaled decimal → minimal decimal string (`1.500000000` → `1.5`). */
export function formatDecimal(value: bigint, scale: number): string {
  const neg = value < 0n;
  let digits = (neg ? -value : value).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    let frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    const int = digits.slice(0, digits.length - scale);
    digits = frac ? `${int}.${frac}` : int;
    frac = '';
  }
  return neg && digits !== '0' ? `-${digits}` : digits;
}

function pad(n: number | bigint, w: number): string {
  return n.toString().padStart(w, '0');
}

function floorDiv(a: bigint, b: bigint): [bigint, bigint] {
  let q = a / b;
  let r = a % b;
  if (r < 0n) {
    q -= 1n;
    r += b;
  }
  return [q, r];
}

/** Days since epoch → `YYYY-MM-DD`. */
export function formatDate(days: number): string {
  const d = new Date(days * 86_400_000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/** Micros since midnight → `HH:MM:SS[.ffffff]`. */
export function formatTime(micros: bigint): string {
  const [secs, frac] = floorDiv(micros, 1_000_000n);
  const s = Number(secs);
  const base = `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor((s % 3600) / 60), 2)}:${pad(s % 60, 2)}`;
  return frac === 0n ? base : `${base}.${pad(frac, 6)}`;
}

/** Micros since epoch → `YYYY-MM-DDTHH:MM:SS[.ffffff]`. */
export function formatDatetime(micros: bigint, sep: string, alwaysFraction = false): string {
  const [days, rest] = floorDiv(micros, MICROS_PER_DAY);
  const time = formatTime(rest);
  return `${formatDate(Number(days))}${sep}${alwaysFraction && !time.includes('.') ? `${time}.000000` : time}`;
}

/** Micros since epoch → seconds with fraction, e.g. `1700000000.123456`. */
export function formatEpochSeconds(micros: bigint): string {
  const [secs, frac] = floorDiv(micros, 1_000_000n);
  return frac === 0n ? `${secs}.0` : `${secs}.${pad(frac, 6).replace(/0+$/, '')}`;
}

/** BigQuery's canonical INTERVAL text: `Y-M D H:M:S[.F]`. */
function formatInterval(v: DuckDBIntervalValue): string {
  const y = Math.trunc(v.months / 12);
  const m = v.months % 12;
  const neg = v.micros < 0n;
  const abs = neg ? -v.micros : v.micros;
  const [secs, frac] = floorDiv(abs, 1_000_000n);
  const s = Number(secs);
  const time = `${neg ? '-' : ''}${Math.floor(s / 3600)}:${Math.floor((s % 3600) / 60)}:${s % 60}${frac ? `.${pad(frac, 6).replace(/0+$/, '')}` : ''}`;
  return `${y}-${Math.abs(m)} ${v.days} ${time}`;
}

// ------------------------------------------------------------------ result checks

function holdsNullElement(v: DuckDBValue): boolean {
  if (v instanceof DuckDBListValue) return v.items.some((item) => item === null || holdsNullElement(item));
  if (v instanceof DuckDBStructValue) return Object.values(v.entries).some((x) => x !== null && holdsNullElement(x));
  return false;
}

/**
 * The first result column holding an array with a NULL element, or undefined.
 * BigQuery refuses to write such a result ("Array cannot have a null element;
 * error in writing field f"), even though arrays inside the query may hold NULLs.
 */
export function nullArrayElementColumn(names: readonly string[], rows: readonly (readonly DuckDBValue[])[]): string | undefined {
  for (const row of rows) {
    const k = row.findIndex((v) => v !== null && holdsNullElement(v));
    if (k >= 0) return names[k];
  }
  return undefined;
}
