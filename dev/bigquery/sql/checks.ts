/**
 * DuckDB expressions that fail where BigQuery fails.
 *
 * DuckDB answers NULL for `x / 0`, `x // 0`, `x % 0` and for an array index
 * out of range (and reads a negative index from the end); BigQuery raises an
 * error for all of these unless the SAFE_ form is used. Each builder here
 * wraps the plain DuckDB expression in a CASE that calls DuckDB's `error()`
 * with BigQuery's message, prefixed with {@link ENGINE_ERROR_MARKER} so the
 * error mapper can hand exactly that message to the client.
 *
 * `error(NULL)` returns NULL in DuckDB, so a NULL operand inside the message
 * gives NULL, not an error, like BigQuery's NULL-in, NULL-out operators.
 */
import { ENGINE_ERROR_MARKER } from '../errors.js';
import { duckString } from './helpers.js';

/** `error()` with a BigQuery message given as a DuckDB VARCHAR expression. */
export function raise(messageSql: string): string {
  return `error(${duckString(ENGINE_ERROR_MARKER)} || ${messageSql})`;
}

function text(sql: string): string {
  return `CAST((${sql}) AS VARCHAR)`;
}

/** `l / r`: FLOAT64 (or NUMERIC) division that fails on a zero divisor ("division by zero: 1 / 0"). */
export function checkedDivide(l: string, r: string): string {
  return `(CASE WHEN (${r}) = 0 THEN ${raise(`'division by zero: ' || ${text(l)} || ' / ' || ${text(r)}`)} ELSE (${l}) / (${r}) END)`;
}

/** `DIV(l, r)`: integer division truncating toward zero; fails on zero like BigQuery's int64 divide. */
export function checkedIntDivide(l: string, r: string): string {
  return `(CASE WHEN (${r}) = 0 THEN ${raise(`'division by zero: ' || ${text(l)} || ' / ' || ${text(r)}`)} ELSE (${l}) // (${r}) END)`;
}

/** `MOD(l, r)`: remainder with the dividend's sign; fails on zero ("division by zero: MOD(1, 0)"). */
export function checkedModulo(l: string, r: string): string {
  return `(CASE WHEN (${r}) = 0 THEN ${raise(`'division by zero: MOD(' || ${text(l)} || ', ' || ${text(r)} || ')'`)} ELSE (${l}) % (${r}) END)`;
}

/** The four array subscript forms of GoogleSQL (plain `a[i]` is OFFSET). */
export type SubscriptKind = 'OFFSET' | 'ORDINAL' | 'SAFE_OFFSET' | 'SAFE_ORDINAL';

/**
 * `arr[OFFSET(i)]` and friends. OFFSET is zero-based, ORDINAL one-based; the
 * SAFE_ forms give NULL out of range, the others fail with
 * "Array index N is out of bounds (overflow|underflow)". A NULL array or
 * index gives NULL either way.
 */
export function checkedSubscript(arr: string, idx: string, kind: SubscriptKind): string {
  const base = kind === 'OFFSET' || kind === 'SAFE_OFFSET' ? 0 : 1;
  const oneBased = base === 0 ? `(${idx}) + 1` : `(${idx})`;
  if (kind.startsWith('SAFE_')) return `list_extract(${arr}, CASE WHEN (${idx}) >= ${base} THEN ${oneBased} END)`;
  const high = base === 0 ? `(${idx}) >= len(${arr})` : `(${idx}) > len(${arr})`;
  return (
    `(CASE WHEN (${idx}) < ${base} THEN ${raise(`'Array index ' || ${text(idx)} || ' is out of bounds (underflow)'`)} ` +
    `WHEN ${high} THEN ${raise(`'Array index ' || ${text(idx)} || ' is out of bounds (overflow)'`)} ` +
    `ELSE list_extract(${arr}, ${oneBased}) END)`
  );
}

/** `n` unchanged, or BigQuery's error when it is negative (LEFT, RIGHT, REPEAT, LPAD, RPAD, SUBSTR lengths). */
export function nonNegative(n: string, message: string): string {
  return `(CASE WHEN (${n}) < 0 THEN ${raise(duckString(message))} ELSE (${n}) END)`;
}

/**
 * STRING → INT64 cast: BigQuery accepts only an optionally signed run of
 * decimal digits (hex strings are refused here, a documented gap) and answers "Bad int64 value: 1.5" where DuckDB
 * would round. `safe` gives NULL instead of the error.
 */
export function checkedStringToInt64(s: string, safe: boolean): string {
  const ok = `regexp_full_match(${s}, '\\s*[+-]?[0-9]+\\s*')`;
  const bad = safe ? 'NULL' : raise(`'Bad int64 value: ' || ${s}`);
  return `(CASE WHEN ${ok} THEN TRY_CAST(${s} AS BIGINT) ELSE ${bad} END)`;
}

/**
 * POW / EXP: BigQuery fails ("Floating point error in function: POW(0, -1)")
 * where the result is infinite or NaN although the inputs were finite;
 * DuckDB returns Infinity / NaN.
 */
export function checkedFloatFunction(name: string, duckFn: string, args: string[]): string {
  const call = `${duckFn}(${args.join(', ')})`;
  const finite = args.map((a) => `isfinite(CAST(${a} AS DOUBLE))`).join(' AND ');
  const shown = args.map((a) => text(a)).join(` || ', ' || `);
  return `(CASE WHEN ${finite} AND NOT isfinite(${call}) THEN ${raise(`'Floating point error in function: ${name}(' || ${shown} || ')'`)} ELSE ${call} END)`;
}
