/**
 * The allow-list of GoogleSQL functions and how each maps onto DuckDB.
 *
 * A function that is not a key of {@link FUNCTIONS} is rejected with
 * `Unsupported by the local BigQuery endpoint: function NAME`; this is the
 * guard against DuckDB functions that share a name but not a meaning (e.g.
 * DuckDB's `log(x)` is base 10, BigQuery's `LOG(x)` is natural; DuckDB's
 * `concat` skips NULLs, BigQuery's returns NULL), and against DuckDB-only
 * functions such as `read_csv` reaching the engine.
 */
import { ENGINE_ERROR_MARKER, invalidQuery, unsupported } from '../errors.js';
import { checkedFloatFunction, checkedIntDivide, checkedModulo, nonNegative } from './checks.js';
import type { CallExpr, DatePart, Expr, OrderItem } from './ast.js';
import { datePartOf, duckString, literalString, weekdayIndex } from './helpers.js';

/** What the registry needs from the expression emitter. */
export interface FnTranslator {
  expr(e: Expr): string;
  orderItems(items: OrderItem[]): string;
}

/** One allow-listed function. */
export interface FnSpec {
  /** Minimum / maximum argument counts (checked before `impl`). */
  min: number;
  max: number;
  /** Translation from the argument expressions. */
  impl?: (args: Expr[], tr: FnTranslator, name: string) => string;
  /** Translation of the whole call (aggregates with DISTINCT, IGNORE NULLS, ORDER BY, LIMIT inside). */
  aggregate?: (call: CallExpr, tr: FnTranslator) => string;
}

const INF = Number.MAX_SAFE_INTEGER;

/** Same-named DuckDB function with the same semantics. */
function rename(duck: string, min: number, max: number): FnSpec {
  return { min, max, impl: (args, tr) => `${duck}(${args.map((a) => tr.expr(a)).join(', ')})` };
}

/** Aggregate / window function: arguments (incl. DISTINCT, ORDER BY) passed through. */
function passthrough(duck: string): FnSpec {
  return {
    min: 0,
    max: INF,
    aggregate: (c, tr) => {
      let inside = c.star ? '*' : c.args.map((a) => tr.expr(a)).join(', ');
      if (c.distinct) inside = `DISTINCT ${inside}`;
      if (c.nulls) inside += ` ${c.nulls} NULLS`;
      if (c.orderBy) inside += ` ORDER BY ${tr.orderItems(c.orderBy)}`;
      if (c.limit) inside += ` LIMIT ${tr.expr(c.limit)}`;
      return `${duck}(${inside})`;
    },
  };
}

/**
 * A function with a fixed translation. `partArgs` are argument positions that
 * hold a date part (DAY, WEEK(MONDAY) …): they are read raw, never translated
 * as expressions.
 */
function fixed(
  min: number,
  max: number,
  impl: (a: string[], raw: Expr[], tr: FnTranslator, name: string) => string,
  partArgs: number[] = [],
): FnSpec {
  return { min, max, impl: (args, tr, name) => impl(args.map((x, i) => (partArgs.includes(i) ? '' : tr.expr(x))), args, tr, name) };
}

/** `INTERVAL` argument check for *_ADD / *_SUB. */
function intervalArg(raw: Expr | undefined, fn: string): void {
  if (raw?.k !== 'interval') throw invalidQuery(`${fn} expects an INTERVAL as its second argument`);
}

const DATE_PARTS_DATE = new Set(['DAY', 'WEEK', 'ISOWEEK', 'MONTH', 'QUARTER', 'YEAR']);
const TIME_PARTS = new Set(['MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR']);

function partOf(raw: Expr | undefined, fn: string, allowed: Set<string>): DatePart {
  const part = datePartOf(raw, fn);
  if (!allowed.has(part.name)) throw unsupported(`${fn} with date part ${part.name}`);
  return part;
}

/** Truncation shared by DATE_TRUNC / DATETIME_TRUNC / TIMESTAMP_TRUNC. */
function truncExpr(value: string, part: DatePart): string {
  if (part.name === 'WEEK') {
    // BigQuery weeks start on Sunday (or the given weekday); DuckDB's 'week' is ISO (Monday).
    const k = weekdayIndex(part.weekday ?? 'SUNDAY');
    return `(date_trunc('day', ${value}) - to_days(CAST((dayofweek(${value}) - ${k} + 7) % 7 AS INTEGER)))`;
  }
  if (part.name === 'ISOWEEK') return `date_trunc('week', ${value})`;
  return `date_trunc('${part.name.toLowerCase()}', ${value})`;
}

/** DATE_DIFF / DATETIME_DIFF count part *boundaries* crossed (like DuckDB date_diff, except weeks). */
function boundaryDiff(a: string, b: string, part: DatePart): string {
  if (part.name === 'WEEK' || part.name === 'ISOWEEK') {
    // DuckDB's date_diff('week') counts whole weeks; BigQuery counts week starts crossed.
    return `CAST(date_diff('day', ${truncExpr(b, part)}, ${truncExpr(a, part)}) / 7 AS BIGINT)`;
  }
  return `date_diff('${part.name.toLowerCase()}', ${b}, ${a})`;
}

/**
 * Converts a BigQuery format string (FORMAT_DATE, PARSE_TIMESTAMP, …) to a
 * DuckDB strftime/strptime one. Elements whose meaning differs and that have
 * no exact DuckDB equivalent are rejected rather than approximated.
 */
export function convertDateFormat(fmt: string, fn: string): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    const e = fmt[i + 1];
    if (e === undefined) throw invalidQuery(`${fn}: format string ends with "%"`);
    i++;
    switch (e) {
      case 'Y': case 'm': case 'd': case 'H': case 'M': case 'S': case 'y': case 'B': case 'b':
      case 'A': case 'a': case 'j': case 'p': case 'I': case 'U': case 'W': case 'u': case 'w':
      case 'V': case 'G': case '%':
        out += `%${e}`;
        break;
      case 'h':
        out += '%b';
        break;
      case 'F':
        out += '%Y-%m-%d';
        break;
      case 'T':
        out += '%H:%M:%S';
        break;
      case 'D':
        out += '%m/%d/%y';
        break;
      case 'R':
        out += '%H:%M';
        break;
      case 'Z':
        out += '%Z';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'E': {
        const m = /^E([36])S/.exec(fmt.slice(i));
        if (!m) throw unsupported(`format element %${fmt.slice(i, i + 3)} in ${fn}`);
        out += m[1] === '6' ? '%S.%f' : '%S.%g';
        i += 2;
        break;
      }
      default:
        throw unsupported(`format element %${e} in ${fn}`);
    }
  }
  return out;
}

function formatArg(raw: Expr | undefined, fn: string): string {
  const lit = literalString(raw);
  if (lit === undefined) throw unsupported(`${fn} with a non-literal format string`);
  return duckString(convertDateFormat(lit, fn));
}

/** Validates a FORMAT() string: printf-style specifiers DuckDB's printf understands identically. */
function printfFormat(raw: Expr | undefined): string {
  const lit = literalString(raw);
  if (lit === undefined) throw unsupported('FORMAT with a non-literal format string');
  const re = /%([-+ #0]*)(\d+|\*)?(\.\d+)?([a-zA-Z%])?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(lit)) !== null) {
    const conv = m[4];
    if (!conv || !'disfFeEgGxXo%'.includes(conv)) throw unsupported(`FORMAT specifier %${conv ?? ''}`);
    if (m[2] === '*') throw unsupported('FORMAT specifier with * width');
  }
  return duckString(lit);
}

/** Number of capturing groups in a literal regular expression. */
function captureGroups(re: string): number {
  let n = 0;
  for (let i = 0; i < re.length; i++) {
    if (re[i] === '\\') {
      i++;
      continue;
    }
    if (re[i] === '(' && re[i + 1] !== '?') n++;
  }
  return n;
}

/** NULL if any argument is NULL, like BigQuery's GREATEST/LEAST (DuckDB ignores NULLs). */
function nullIfAnyNull(fn: string, args: string[]): string {
  return `(CASE WHEN ${args.map((a) => `(${a}) IS NULL`).join(' OR ')} THEN NULL ELSE ${fn}(${args.join(', ')}) END)`;
}

/** JSON_VALUE: the scalar as an unquoted STRING, NULL for objects/arrays (DuckDB json_value keeps JSON quoting). */
function jsonScalar(j: string, path: string): string {
  return `(CASE WHEN json_value(${j}, ${path}) IS NULL THEN NULL ELSE json_extract_string(${j}, ${path}) END)`;
}

function tzLiteral(raw: Expr | undefined, a: string | undefined, fn: string): string {
  if (raw === undefined || a === undefined) throw invalidQuery(`${fn}: missing time zone`);
  return a;
}

/**
 * GENERATE_DATE_ARRAY: BigQuery computes element k as `start + k * step`
 * (Jan 31 + 2 months = Mar 31); DuckDB's generate_series adds the step
 * repeatedly (Jan 31 → Feb 29 → Mar 29), so elements are built by index.
 */
function generateDateArray(s: string, e: string, rawStep: Expr | undefined, tr: FnTranslator, fn: string): string {
  let step = '1';
  let unit = 'DAY';
  if (rawStep) {
    const unitWord = rawStep.k === 'interval' ? rawStep.unit : undefined;
    if (rawStep.k !== 'interval' || !unitWord || !DATE_PARTS_DATE.has(unitWord) || unitWord === 'ISOWEEK') throw invalidQuery(`${fn} expects an INTERVAL step in DAY, WEEK, MONTH, QUARTER or YEAR`);
    step = `(${tr.expr(rawStep.value)})`;
    unit = unitWord;
  }
  if (unit === 'QUARTER') {
    step = `(${step} * 3)`;
    unit = 'MONTH';
  }
  const start = `CAST(${s} AS DATE)`;
  const end = `CAST(${e} AS DATE)`;
  return (
    `(SELECT coalesce(list(__d ORDER BY __k), CAST([] AS DATE[])) FROM ` +
    `(SELECT __k, CAST(${start} + INTERVAL (__k * ${step}) ${unit} AS DATE) AS __d FROM range(0, abs(date_diff('day', ${start}, ${end})) + 1) AS __r(__k)) ` +
    `WHERE CASE WHEN ${step} > 0 THEN __d <= ${end} ELSE __d >= ${end} END)`
  );
}

/**
 * SUBSTR/SUBSTRING: a position of 0, or one before the start of the string,
 * means 1 in BigQuery (DuckDB counts the characters before the start against
 * the length); a negative length is an error.
 */
function substr(s: string, p: string, n: string | undefined): string {
  const pos = `(CASE WHEN (${p}) = 0 OR (${p}) < -length(${s}) THEN 1 ELSE (${p}) END)`;
  if (n === undefined) return `substring(${s}, ${pos})`;
  return `substring(${s}, ${pos}, ${nonNegative(n, 'Third argument in SUBSTR() cannot be negative')})`;
}

/** LPAD/RPAD pattern: a space by default; an empty pattern is an error in BigQuery. */
function padPattern(p: string | undefined, fn: string): string {
  if (p === undefined) return "' '";
  return `(CASE WHEN length(${p}) = 0 THEN error(${duckString(`${ENGINE_ERROR_MARKER}Third argument in ${fn}() cannot be an empty string`)}) ELSE ${p} END)`;
}

/** The allow-list, keyed by upper-case GoogleSQL name. */
export const FUNCTIONS: Record<string, FnSpec> = {
  // --- math
  ABS: rename('abs', 1, 1),
  SIGN: rename('sign', 1, 1),
  SQRT: rename('sqrt', 1, 1),
  EXP: fixed(1, 1, ([x]) => checkedFloatFunction('EXP', 'exp', [x as string])),
  LN: rename('ln', 1, 1),
  LOG10: rename('log10', 1, 1),
  FLOOR: rename('floor', 1, 1),
  CEIL: rename('ceil', 1, 1),
  CEILING: rename('ceil', 1, 1),
  // DuckDB takes the digits as INTEGER; an INT64 expression there would not bind.
  ROUND: fixed(1, 2, ([x, d]) => (d === undefined ? `round(${x})` : `round(${x}, CAST(${d} AS INTEGER))`)),
  TRUNC: fixed(1, 2, ([x, d]) => (d === undefined ? `trunc(${x})` : `trunc(${x}, CAST(${d} AS INTEGER))`)),
  POW: fixed(2, 2, ([x, y]) => checkedFloatFunction('POW', 'pow', [x as string, y as string])),
  POWER: fixed(2, 2, ([x, y]) => checkedFloatFunction('POWER', 'pow', [x as string, y as string])),
  IS_NAN: rename('isnan', 1, 1),
  IS_INF: rename('isinf', 1, 1),
  RAND: fixed(0, 0, () => 'random()'),
  MOD: fixed(2, 2, ([a, b]) => checkedModulo(a as string, b as string)),
  DIV: fixed(2, 2, ([a, b]) => checkedIntDivide(a as string, b as string)),
  LOG: fixed(1, 2, ([x, base]) => (base === undefined ? `ln(${x})` : `(ln(${x}) / ln(${base}))`)),
  GREATEST: fixed(1, INF, (a) => nullIfAnyNull('greatest', a)),
  LEAST: fixed(1, INF, (a) => nullIfAnyNull('least', a)),
  SAFE_DIVIDE: fixed(2, 2, ([a, b]) => `(CASE WHEN (${b}) = 0 THEN NULL ELSE (${a}) / (${b}) END)`),

  // --- conditional
  IF: fixed(3, 3, ([c, a, b]) => `(CASE WHEN ${c} THEN ${a} ELSE ${b} END)`),
  IFNULL: fixed(2, 2, ([a, b]) => `coalesce(${a}, ${b})`),
  COALESCE: rename('coalesce', 1, INF),
  NULLIF: rename('nullif', 2, 2),

  // --- strings
  CONCAT: fixed(1, INF, (a) => `(${a.join(' || ')})`),
  LOWER: rename('lower', 1, 1),
  UPPER: rename('upper', 1, 1),
  // LENGTH counts characters (code points) of a STRING and bytes of BYTES;
  // typeof() is constant-folded and TRY_CAST keeps the unused branch bindable.
  LENGTH: fixed(1, 1, ([x]) =>
    `(CASE WHEN (${x}) IS NULL THEN NULL WHEN typeof(${x}) = 'BLOB' THEN octet_length(TRY_CAST(${x} AS BLOB)) WHEN typeof(${x}) = 'VARCHAR' THEN length(TRY_CAST(${x} AS VARCHAR)) ` +
    `ELSE error(${duckString(`${ENGINE_ERROR_MARKER}No matching signature for function LENGTH: the argument must be STRING or BYTES`)}) END)`,
  ),
  CHAR_LENGTH: rename('length', 1, 1),
  CHARACTER_LENGTH: rename('length', 1, 1),
  SUBSTR: fixed(2, 3, ([s, p, n]) => substr(s as string, p as string, n)),
  SUBSTRING: fixed(2, 3, ([s, p, n]) => substr(s as string, p as string, n)),
  STARTS_WITH: rename('starts_with', 2, 2),
  ENDS_WITH: rename('ends_with', 2, 2),
  REPLACE: rename('replace', 3, 3),
  TRIM: rename('trim', 1, 2),
  LTRIM: rename('ltrim', 1, 2),
  RTRIM: rename('rtrim', 1, 2),
  LPAD: fixed(2, 3, ([s, n, p]) => `lpad(${s}, CAST(${nonNegative(n as string, 'Second argument in LPAD() cannot be negative')} AS INTEGER), ${padPattern(p, 'LPAD')})`),
  RPAD: fixed(2, 3, ([s, n, p]) => `rpad(${s}, CAST(${nonNegative(n as string, 'Second argument in RPAD() cannot be negative')} AS INTEGER), ${padPattern(p, 'RPAD')})`),
  REPEAT: fixed(2, 2, ([s, n]) => `repeat(${s}, ${nonNegative(n as string, 'Second argument in REPEAT() cannot be negative')})`),
  STRPOS: rename('strpos', 2, 2),
  LEFT: fixed(2, 2, ([s, n]) => `left(${s}, ${nonNegative(n as string, 'Second argument in LEFT() cannot be negative')})`),
  RIGHT: fixed(2, 2, ([s, n]) => `right(${s}, ${nonNegative(n as string, 'Second argument in RIGHT() cannot be negative')})`),
  SPLIT: fixed(1, 2, ([s, d]) => `string_split(${s}, ${d ?? "','"})`),
  REGEXP_CONTAINS: rename('regexp_matches', 2, 2),
  REGEXP_REPLACE: fixed(3, 3, ([s, re, rep]) => `regexp_replace(${s}, ${re}, ${rep}, 'g')`),
  REGEXP_EXTRACT: fixed(2, 2, ([s, re], raw) => {
    const lit = literalString(raw[1]);
    if (lit === undefined) throw unsupported('REGEXP_EXTRACT with a non-literal pattern');
    const groups = captureGroups(lit);
    if (groups > 1) throw invalidQuery('Regular expressions passed into extraction functions must not have more than 1 capturing group');
    return `(CASE WHEN regexp_matches(${s}, ${re}) THEN regexp_extract(${s}, ${re}, ${groups}) END)`;
  }),
  FORMAT: fixed(1, INF, (a, raw) => `printf(${[printfFormat(raw[0]), ...a.slice(1)].join(', ')})`),
  TO_BASE64: rename('to_base64', 1, 1),
  FROM_BASE64: rename('from_base64', 1, 1),

  // --- date & time
  CURRENT_DATE: fixed(0, 0, () => 'current_date'),
  CURRENT_TIMESTAMP: fixed(0, 0, () => 'current_timestamp'),
  CURRENT_DATETIME: fixed(0, 0, () => 'CAST(current_timestamp AS TIMESTAMP)'),
  CURRENT_TIME: fixed(0, 0, () => 'CAST(CAST(current_timestamp AS TIMESTAMP) AS TIME)'),
  DATE: fixed(1, 3, (a, raw, _tr, fn) => {
    if (a.length === 3) return `make_date(${a.join(', ')})`;
    if (a.length === 2) return `CAST(timezone(${tzLiteral(raw[1], a[1], fn)}, ${a[0]}) AS DATE)`;
    return `CAST(${a[0]} AS DATE)`;
  }),
  DATETIME: fixed(1, 6, (a, raw, _tr, fn) => {
    if (a.length === 6) return `make_timestamp(${a.join(', ')})`;
    if (a.length === 2) {
      // DATETIME(date, time) or DATETIME(timestamp, zone)
      if (literalString(raw[1]) !== undefined) return `timezone(${tzLiteral(raw[1], a[1], fn)}, ${a[0]})`;
      return `(CAST(${a[0]} AS DATE) + CAST(${a[1]} AS TIME))`;
    }
    if (a.length === 1) return `CAST(${a[0]} AS TIMESTAMP)`;
    throw invalidQuery(`No matching signature for function ${fn}`);
  }),
  TIMESTAMP: fixed(1, 2, (a, raw, _tr, fn) =>
    a.length === 2 ? `timezone(${tzLiteral(raw[1], a[1], fn)}, CAST(${a[0]} AS TIMESTAMP))` : `CAST(${a[0]} AS TIMESTAMPTZ)`,
  ),
  TIME: fixed(1, 3, (a) => (a.length === 3 ? `make_time(${a.join(', ')})` : `CAST(${a[0]} AS TIME)`)),
  DATE_ADD: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `CAST((${d}) + ${i} AS DATE)`;
  }),
  DATE_SUB: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `CAST((${d}) - ${i} AS DATE)`;
  }),
  DATETIME_ADD: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `CAST((${d}) + ${i} AS TIMESTAMP)`;
  }),
  DATETIME_SUB: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `CAST((${d}) - ${i} AS TIMESTAMP)`;
  }),
  TIMESTAMP_ADD: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `((${d}) + ${i})`;
  }),
  TIMESTAMP_SUB: fixed(2, 2, ([d, i], raw, _tr, fn) => {
    intervalArg(raw[1], fn);
    return `((${d}) - ${i})`;
  }),
  DATE_DIFF: fixed(3, 3, ([a, b], raw, _tr, fn) => boundaryDiff(`CAST(${a} AS DATE)`, `CAST(${b} AS DATE)`, partOf(raw[2], fn, DATE_PARTS_DATE)), [2]),
  DATETIME_DIFF: fixed(3, 3, ([a, b], raw, _tr, fn) =>
    boundaryDiff(`CAST(${a} AS TIMESTAMP)`, `CAST(${b} AS TIMESTAMP)`, partOf(raw[2], fn, new Set([...DATE_PARTS_DATE, ...TIME_PARTS]))),
    [2],
  ),
  TIMESTAMP_DIFF: fixed(3, 3, ([a, b], raw, _tr, fn) => {
    // Whole intervals elapsed (not boundaries); BigQuery allows MICROSECOND..DAY here.
    const part = partOf(raw[2], fn, new Set([...TIME_PARTS, 'DAY']));
    return `date_sub('${part.name.toLowerCase()}', ${b}, ${a})`;
  }, [2]),
  DATE_TRUNC: fixed(2, 2, ([d], raw, _tr, fn) => `CAST(${truncExpr(`CAST(${d} AS DATE)`, partOf(raw[1], fn, DATE_PARTS_DATE))} AS DATE)`, [1]),
  DATETIME_TRUNC: fixed(2, 2, ([d], raw, _tr, fn) =>
    `CAST(${truncExpr(`CAST(${d} AS TIMESTAMP)`, partOf(raw[1], fn, new Set([...DATE_PARTS_DATE, ...TIME_PARTS])))} AS TIMESTAMP)`,
    [1],
  ),
  TIMESTAMP_TRUNC: fixed(2, 3, ([t, , tz], raw, _tr, fn) => {
    if (tz !== undefined && literalString(raw[2])?.toUpperCase() !== 'UTC') throw unsupported(`${fn} with a time zone other than UTC`);
    return truncExpr(`CAST(${t} AS TIMESTAMPTZ)`, partOf(raw[1], fn, new Set([...DATE_PARTS_DATE, ...TIME_PARTS])));
  }, [1]),
  FORMAT_DATE: fixed(2, 2, ([, d], raw, _tr, fn) => `strftime(CAST(${d} AS DATE), ${formatArg(raw[0], fn)})`),
  FORMAT_DATETIME: fixed(2, 2, ([, d], raw, _tr, fn) => `strftime(CAST(${d} AS TIMESTAMP), ${formatArg(raw[0], fn)})`),
  FORMAT_TIMESTAMP: fixed(2, 3, ([, t, tz], raw, _tr, fn) =>
    tz === undefined ? `strftime(CAST(${t} AS TIMESTAMPTZ), ${formatArg(raw[0], fn)})` : `strftime(timezone(${tz}, ${t}), ${formatArg(raw[0], fn)})`,
  ),
  FORMAT_TIME: fixed(2, 2, ([, t], raw, _tr, fn) => `strftime(DATE '1970-01-01' + CAST(${t} AS TIME), ${formatArg(raw[0], fn)})`),
  PARSE_DATE: fixed(2, 2, ([, s], raw, _tr, fn) => `CAST(strptime(${s}, ${formatArg(raw[0], fn)}) AS DATE)`),
  PARSE_DATETIME: fixed(2, 2, ([, s], raw, _tr, fn) => `CAST(strptime(${s}, ${formatArg(raw[0], fn)}) AS TIMESTAMP)`),
  PARSE_TIMESTAMP: fixed(2, 3, ([, s, tz], raw, _tr, fn) =>
    tz === undefined
      ? `CAST(strptime(${s}, ${formatArg(raw[0], fn)}) AS TIMESTAMPTZ)`
      : `timezone(${tz}, CAST(strptime(${s}, ${formatArg(raw[0], fn)}) AS TIMESTAMP))`,
  ),
  TIMESTAMP_SECONDS: fixed(1, 1, ([n]) => `CAST(make_timestamp(CAST(${n} AS BIGINT) * 1000000) AS TIMESTAMPTZ)`),
  TIMESTAMP_MILLIS: fixed(1, 1, ([n]) => `CAST(make_timestamp(CAST(${n} AS BIGINT) * 1000) AS TIMESTAMPTZ)`),
  TIMESTAMP_MICROS: fixed(1, 1, ([n]) => `CAST(make_timestamp(CAST(${n} AS BIGINT)) AS TIMESTAMPTZ)`),
  UNIX_SECONDS: fixed(1, 1, ([t]) => `CAST(floor(epoch_us(${t}) / 1000000) AS BIGINT)`),
  UNIX_MILLIS: fixed(1, 1, ([t]) => `CAST(floor(epoch_us(${t}) / 1000) AS BIGINT)`),
  UNIX_MICROS: fixed(1, 1, ([t]) => `epoch_us(${t})`),
  UNIX_DATE: fixed(1, 1, ([d]) => `date_diff('day', DATE '1970-01-01', CAST(${d} AS DATE))`),
  DATE_FROM_UNIX_DATE: fixed(1, 1, ([n]) => `CAST(DATE '1970-01-01' + CAST(${n} AS INTEGER) AS DATE)`),
  LAST_DAY: fixed(1, 2, ([d], raw, _tr, fn) => {
    if (raw[1] && partOf(raw[1], fn, new Set(['MONTH'])).name !== 'MONTH') throw unsupported(`${fn} with a part other than MONTH`);
    return `last_day(CAST(${d} AS DATE))`;
  }, [1]),

  // --- aggregates (DISTINCT / ORDER BY inside the call pass through)
  COUNT: passthrough('count'),
  COUNTIF: passthrough('count_if'),
  SUM: passthrough('sum'),
  AVG: passthrough('avg'),
  MIN: passthrough('min'),
  MAX: passthrough('max'),
  ANY_VALUE: passthrough('any_value'),
  ARRAY_AGG: passthrough('array_agg'),
  STRING_AGG: passthrough('string_agg'),
  LOGICAL_AND: passthrough('bool_and'),
  LOGICAL_OR: passthrough('bool_or'),
  APPROX_COUNT_DISTINCT: passthrough('approx_count_distinct'),
  STDDEV: passthrough('stddev_samp'),
  STDDEV_SAMP: passthrough('stddev_samp'),
  STDDEV_POP: passthrough('stddev_pop'),
  VARIANCE: passthrough('var_samp'),
  VAR_SAMP: passthrough('var_samp'),
  VAR_POP: passthrough('var_pop'),
  BIT_AND: passthrough('bit_and'),
  BIT_OR: passthrough('bit_or'),
  BIT_XOR: passthrough('bit_xor'),
  CORR: passthrough('corr'),
  COVAR_POP: passthrough('covar_pop'),
  COVAR_SAMP: passthrough('covar_samp'),

  // --- window (OVER clause is translated separately)
  ROW_NUMBER: rename('row_number', 0, 0),
  RANK: rename('rank', 0, 0),
  DENSE_RANK: rename('dense_rank', 0, 0),
  PERCENT_RANK: rename('percent_rank', 0, 0),
  CUME_DIST: rename('cume_dist', 0, 0),
  NTILE: rename('ntile', 1, 1),
  LAG: rename('lag', 1, 3),
  LEAD: rename('lead', 1, 3),
  FIRST_VALUE: passthrough('first_value'),
  LAST_VALUE: passthrough('last_value'),
  NTH_VALUE: passthrough('nth_value'),

  // --- arrays
  ARRAY_LENGTH: rename('len', 1, 1),
  ARRAY_TO_STRING: fixed(2, 3, ([a, d, nullText]) => {
    if (nullText !== undefined) throw unsupported('ARRAY_TO_STRING with a NULL replacement argument');
    return `array_to_string(${a}, ${d})`;
  }),
  ARRAY_CONCAT: fixed(1, INF, (a) => a.slice(1).reduce((acc, x) => `list_concat(${acc}, ${x})`, a[0] as string)),
  ARRAY_REVERSE: rename('list_reverse', 1, 1),
  GENERATE_ARRAY: fixed(2, 3, ([a, b, step]) =>
    step === undefined
      ? `generate_series(${a}, ${b})`
      : `generate_series(${a}, ${b}, (CASE WHEN (${step}) = 0 THEN error(${duckString(`${ENGINE_ERROR_MARKER}Sequence step cannot be 0.`)}) ELSE (${step}) END))`,
  ),
  GENERATE_DATE_ARRAY: fixed(2, 3, ([s, e], raw, tr, fn) => generateDateArray(s as string, e as string, raw[2], tr, fn), [2]),
  // String literals coerce to TIMESTAMP in BigQuery; DuckDB has no VARCHAR signature.
  GENERATE_TIMESTAMP_ARRAY: fixed(3, 3, ([a, b, i]) => `generate_series(CAST(${a} AS TIMESTAMPTZ), CAST(${b} AS TIMESTAMPTZ), ${i})`),

  // --- JSON
  JSON_VALUE: fixed(1, 2, ([j, p]) => jsonScalar(j as string, p ?? "'$'")),
  JSON_EXTRACT_SCALAR: fixed(1, 2, ([j, p]) => jsonScalar(j as string, p ?? "'$'")),
  JSON_QUERY: fixed(1, 2, ([j, p]) => `json_extract(${j}, ${p ?? "'$'"})`),
  JSON_EXTRACT: fixed(1, 2, ([j, p]) => `json_extract(${j}, ${p ?? "'$'"})`),
  TO_JSON_STRING: fixed(1, 1, ([x]) => `CAST(to_json(${x}) AS VARCHAR)`),
  TO_JSON: fixed(1, 1, ([x]) => `to_json(${x})`),
  PARSE_JSON: fixed(1, 1, ([x]) => `CAST(${x} AS JSON)`),

  // --- misc
  GENERATE_UUID: fixed(0, 0, () => 'CAST(gen_random_uuid() AS VARCHAR)'),
};

/** Names of all supported functions (for docs and tests). */
export const SUPPORTED_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS).sort();
