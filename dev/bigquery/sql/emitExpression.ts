/**
 * DuckDB SQL for each expression node kind (one emitter per kind in
 * {@link EMITTERS}). Where DuckDB would give another answer than BigQuery the
 * emitter writes the expression that gives BigQuery's: division and
 * subscripts that fail, integer literals typed INT64 in arithmetic, casts that
 * round like BigQuery. Function calls go through the allow-list
 * (`functions.ts`). Queries inside expressions are emitted by the query
 * emitter this one is given.
 */
import { invalidQuery, unsupported } from '../errors.js';
import { quoteIdent, sqlTypeToDuckDdl } from '../types.js';
import type { CallExpr, Expr, OrderItem, Query, WindowSpec } from './ast.js';
import { checkedDivide, checkedStringToInt64, checkedSubscript } from './checks.js';
import { at } from './cursor.js';
import { FUNCTIONS } from './functions.js';
import { duckString } from './helpers.js';

const TYPED_LITERALS: Record<string, string> = {
  DATE: 'DATE',
  DATETIME: 'TIMESTAMP',
  TIMESTAMP: 'TIMESTAMPTZ',
  TIME: 'TIME',
  NUMERIC: 'DECIMAL(38,9)',
  DECIMAL: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,18)',
  BIGDECIMAL: 'DECIMAL(38,18)',
  JSON: 'JSON',
};

const ARITHMETIC = new Set(['+', '-', '*', '/']);
const COMPARISON = new Set(['=', '!=', '<>', '<', '<=', '>', '>=']);
const LEVEL: Record<string, number> = { OR: 1, AND: 2, '+': 9, '-': 9, '*': 10, '/': 10 };

/** What the expression emitter needs from the query emitter. */
export interface QueryEmitter {
  query(q: Query): string;
}

type Emitters = { [K in Expr['k']]: (e: Extract<Expr, { k: K }>, em: ExpressionEmitter) => string };

/** Emits expressions; {@link expr} is the entry. */
export class ExpressionEmitter {
  /**
   * @param paramIndex the `$n` to write for the statement's parameter `n`
   * (an estimate query that takes only some of them renumbers)
   */
  constructor(
    private readonly queries: QueryEmitter,
    readonly paramIndex: (n: number) => number = (n) => n,
  ) {}

  expr(e: Expr): string {
    return (EMITTERS[e.k] as (e: Expr, em: ExpressionEmitter) => string)(e, this);
  }

  query(q: Query): string {
    return this.queries.query(q);
  }

  orderItems(items: OrderItem[]): string {
    return items.map((o) => `${this.expr(o.expr)}${o.desc ? ' DESC' : o.asc ? ' ASC' : ''}${o.nulls ? ` NULLS ${o.nulls}` : ''}`).join(', ');
  }

  windowSpec(spec: WindowSpec): string {
    const parts: string[] = [];
    if (spec.name) parts.push(quoteIdent(spec.name.text));
    if (spec.partitionBy) parts.push(`PARTITION BY ${spec.partitionBy.map((p) => this.expr(p)).join(', ')}`);
    if (spec.orderBy) parts.push(`ORDER BY ${this.orderItems(spec.orderBy)}`);
    if (spec.frame) parts.push(`${spec.frame.unit ?? 'ROWS'} ${spec.frame.map((b) => ('words' in b ? b.words : this.expr(b.expr))).join(' ')}`);
    return parts.join(' ');
  }

  /** An operand of a binary operator: an INT64 literal in arithmetic, parentheses where DuckDB's precedence differs. */
  operand(child: Expr, op: string, side: 'left' | 'right'): string {
    if (ARITHMETIC.has(op) && isIntLiteral(child)) return `CAST(${this.expr(child)} AS BIGINT)`;
    const sql = this.expr(child);
    return needsParens(child, op, side) ? `(${sql})` : sql;
  }
}

/**
 * An integer literal next to an arithmetic operator is typed INT64: DuckDB
 * types small literals INTEGER and would fail `2147483647 + 1` with an INT32
 * overflow that BigQuery does not have. Elsewhere the literal stays bare so
 * `GROUP BY 1` / `ORDER BY 1` keep meaning a column ordinal.
 */
function isIntLiteral(e: Expr): boolean {
  return (e.k === 'number' && !e.isFloat) || (e.k === 'unary' && e.op === '-' && e.arg.k === 'number' && !e.arg.isFloat);
}

/** Compound operands get parentheses unless DuckDB binds them the same way without. */
function needsParens(child: Expr, op: string, side: 'left' | 'right'): boolean {
  if (child.k === 'binary') {
    if (child.op === op && (side === 'left' || op === 'AND' || op === 'OR')) return false;
    if (op === 'OR' && child.op === 'AND') return false;
    if ((op === 'AND' || op === 'OR') && COMPARISON.has(child.op)) return false;
    if (COMPARISON.has(op) && ARITHMETIC.has(child.op)) return false;
    const cl = LEVEL[child.op];
    const pl = LEVEL[op];
    return !(ARITHMETIC.has(op) && ARITHMETIC.has(child.op) && cl !== undefined && pl !== undefined && (cl > pl || (cl === pl && side === 'left')));
  }
  if (child.k === 'not' || child.k === 'is' || child.k === 'between' || child.k === 'like' || child.k === 'in') return !(op === 'AND' || op === 'OR');
  return false;
}

/** Compound arguments of postfix-like forms (`x IS NULL`, `x BETWEEN …`) are parenthesised. */
function tight(e: Expr, em: ExpressionEmitter): string {
  const sql = em.expr(e);
  return e.k === 'binary' || e.k === 'not' || e.k === 'is' || e.k === 'between' || e.k === 'like' || e.k === 'in' ? `(${sql})` : sql;
}

/** A DuckDB BLOB literal built from `\xHH` escapes. */
function duckBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`;
  return `CAST('${s}' AS BLOB)`;
}

/** CAST / SAFE_CAST with GoogleSQL's semantics where DuckDB's differ. */
function cast(value: string, target: string, safe: boolean): string {
  const fn = safe ? 'TRY_CAST' : 'CAST';
  if (target === 'BIGINT') {
    // DuckDB rounds DOUBLE → BIGINT half-to-even; BigQuery rounds half away from zero (round() does).
    // typeof() is constant-folded, and TRY_CAST keeps the unused branch bindable for any input type.
    // A STRING must be an integer literal ("Bad int64 value: 1.5"); DuckDB would round it.
    return (
      `(CASE WHEN typeof(${value}) IN ('DOUBLE', 'FLOAT') THEN ${fn}(round(TRY_CAST(${value} AS DOUBLE)) AS BIGINT) ` +
      `WHEN typeof(${value}) = 'VARCHAR' THEN ${checkedStringToInt64(`TRY_CAST(${value} AS VARCHAR)`, safe)} ` +
      `ELSE ${fn}(${value} AS BIGINT) END)`
    );
  }
  // STRING <-> BYTES is UTF-8 encoding in BigQuery; DuckDB's casts read/write `\xHH` escapes instead.
  if (target === 'BLOB') return `(CASE WHEN typeof(${value}) = 'VARCHAR' THEN encode(TRY_CAST(${value} AS VARCHAR)) ELSE ${fn}(${value} AS BLOB) END)`;
  if (target === 'VARCHAR') {
    const decode = safe ? `CASE WHEN TRY_CAST(${value} AS BLOB) IS NULL THEN NULL ELSE TRY(decode(TRY_CAST(${value} AS BLOB))) END` : `decode(TRY_CAST(${value} AS BLOB))`;
    return `(CASE WHEN typeof(${value}) = 'BLOB' THEN ${decode} ELSE ${fn}(${value} AS VARCHAR) END)`;
  }
  return `${fn}(${value} AS ${target})`;
}

/** EXTRACT(part FROM expr), mapping BigQuery part semantics onto DuckDB's. */
function extract(e: Extract<Expr, { k: 'extract' }>, em: ExpressionEmitter): string {
  const v = em.expr(e.arg);
  const part = e.part;
  switch (part.name) {
    case 'YEAR':
    case 'MONTH':
    case 'DAY':
    case 'HOUR':
    case 'MINUTE':
    case 'QUARTER':
    case 'SECOND':
      return `EXTRACT(${part.name.toLowerCase()} FROM ${v})`;
    case 'MILLISECOND':
      return `(EXTRACT(millisecond FROM ${v}) % 1000)`;
    case 'MICROSECOND':
      return `(EXTRACT(microsecond FROM ${v}) % 1000000)`;
    case 'DAYOFWEEK':
      return `(EXTRACT(dow FROM ${v}) + 1)`;
    case 'DAYOFYEAR':
      return `EXTRACT(doy FROM ${v})`;
    case 'WEEK':
      if (part.weekday === undefined || part.weekday === 'SUNDAY') return `CAST(strftime(${v}, '%U') AS BIGINT)`;
      if (part.weekday === 'MONDAY') return `CAST(strftime(${v}, '%W') AS BIGINT)`;
      throw unsupported(`EXTRACT(WEEK(${part.weekday}) ...)`);
    case 'ISOWEEK':
      return `EXTRACT(week FROM ${v})`;
    case 'ISOYEAR':
      return `EXTRACT(isoyear FROM ${v})`;
    case 'DATE':
      return `CAST(${v} AS DATE)`;
    case 'TIME':
      return `CAST(${v} AS TIME)`;
    case 'DATETIME':
      return `CAST(${v} AS TIMESTAMP)`;
    default:
      throw unsupported(`EXTRACT part ${part.name}`);
  }
}

/** A call to an allow-listed function, with its OVER clause. */
function call(e: CallExpr, em: ExpressionEmitter): string {
  const spec = FUNCTIONS[e.name];
  if (!spec) throw unsupported(`function ${e.name}`);
  let sql: string;
  if (spec.aggregate) sql = spec.aggregate(e, em);
  else {
    if (e.args.length < spec.min || e.args.length > spec.max || e.star) {
      throw invalidQuery(`No matching signature for function ${e.name} with ${e.args.length} argument(s)${at(e.tok)}`);
    }
    if (e.distinct || e.orderBy || e.limit || e.nulls) throw invalidQuery(`Syntax error: ${e.name} is not an aggregate function${at(e.tok)}`);
    sql = (spec.impl as NonNullable<typeof spec.impl>)(e.args, em, e.name);
  }
  if (!e.over) return sql;
  if (e.over.name && !e.over.partitionBy && !e.over.orderBy && !e.over.frame) return `${sql} OVER ${quoteIdent(e.over.name.text)}`;
  return `${sql} OVER (${em.windowSpec(e.over)})`;
}

const EMITTERS: Emitters = {
  string: (e) => duckString(e.value),
  bytes: (e) => duckBytes(e.bytes),
  number: (e) => (e.isFloat ? `CAST(${e.text} AS DOUBLE)` : e.text),
  keyword: (e) => e.word,
  typed: (e) => `CAST(${duckString(e.value)} AS ${TYPED_LITERALS[e.type] as string})`,
  param: (e, em) => `$${em.paramIndex(e.index as number)}`,
  posparam: (e, em) => `$${em.paramIndex(e.index as number)}`,
  path: (e) => e.parts.map((p) => quoteIdent(p.text)).join('.'),
  unary: (e, em) => {
    const arg = e.arg.k === 'number' || e.arg.k === 'path' || e.arg.k === 'param' || e.arg.k === 'posparam' || e.arg.k === 'paren' || e.arg.k === 'call' ? em.expr(e.arg) : `(${em.expr(e.arg)})`;
    return e.op === '+' ? arg : `${e.op}${arg}`;
  },
  not: (e, em) => `NOT ${tight(e.arg, em)}`,
  binary: (e, em) => {
    const l = em.operand(e.left, e.op, 'left');
    const r = em.operand(e.right, e.op, 'right');
    // DuckDB answers NULL for `x / 0`; BigQuery fails.
    if (e.op === '/') return checkedDivide(l, r);
    return `${l} ${e.op} ${r}`;
  },
  is: (e, em) => `${tight(e.arg, em)} IS ${e.not ? 'NOT ' : ''}${e.value}`,
  between: (e, em) => `${tight(e.arg, em)} ${e.not ? 'NOT ' : ''}BETWEEN ${tight(e.low, em)} AND ${tight(e.high, em)}`,
  like: (e, em) => `${tight(e.arg, em)} ${e.not ? 'NOT ' : ''}LIKE ${tight(e.pattern, em)}`,
  in: (e, em) => {
    const head = `${tight(e.arg, em)} ${e.not ? 'NOT ' : ''}IN`;
    if (e.query) return `${head} (${em.query(e.query)})`;
    if (e.unnest) return `${head} (SELECT UNNEST(${em.expr(e.unnest)}))`;
    return `${head} (${(e.list ?? []).map((x) => em.expr(x)).join(', ')})`;
  },
  case: (e, em) => {
    let sql = 'CASE';
    if (e.operand) sql += ` ${em.expr(e.operand)}`;
    for (const w of e.whens) sql += ` WHEN ${em.expr(w.when)} THEN ${em.expr(w.then)}`;
    if (e.else) sql += ` ELSE ${em.expr(e.else)}`;
    return `${sql} END`;
  },
  call,
  cast: (e, em) => cast(em.expr(e.arg), sqlTypeToDuckDdl(e.type), e.safe),
  extract,
  interval: (e, em) => {
    const value = e.value.k === 'string' ? duckString(e.value.value) : `(${em.expr(e.value)})`;
    return e.unit === 'QUARTER' ? `(INTERVAL ${value} MONTH * 3)` : `INTERVAL ${value} ${e.unit}`;
  },
  array: (e, em) => {
    const list = `[${e.items.map((x) => em.expr(x)).join(', ')}]`;
    return e.type ? `CAST(${list} AS ${sqlTypeToDuckDdl(e.type)})` : list;
  },
  struct: (e, em) => {
    const fields = e.fields.map((f, k) => {
      const typed = e.type?.fields?.[k];
      const name = typed?.name ?? f.name ?? `_field_${k + 1}`;
      const value = em.expr(f.value);
      return `${quoteIdent(name)} := ${typed ? `CAST(${value} AS ${sqlTypeToDuckDdl(typed.type)})` : value}`;
    });
    return `struct_pack(${fields.join(', ')})`;
  },
  subscript: (e, em) => checkedSubscript(em.expr(e.arg), em.expr(e.index), e.kind),
  field: (e, em) => `(${em.expr(e.arg)}).${quoteIdent(e.name.text)}`,
  atTimeZone: (e, em) => `${tight(e.arg, em)} AT TIME ZONE ${tight(e.zone, em)}`,
  paren: (e, em) => `(${em.expr(e.expr)})`,
  subquery: (e, em) => `(${em.query(e.query)})`,
  exists: (e, em) => `EXISTS (${em.query(e.query)})`,
};
