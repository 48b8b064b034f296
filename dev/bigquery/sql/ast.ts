/**
 * The syntax tree of the GoogleSQL subset the endpoint accepts.
 *
 * Built by the parser (`parser.ts`, `parseExpression.ts`), annotated by the
 * resolver (`resolve.ts`: tables, CTEs, parameters, statement kind) and
 * turned into DuckDB SQL by the emitters (`emitQuery.ts`,
 * `emitExpression.ts`). Every node keeps the token it starts at, for error
 * positions.
 */
import type { SqlTypeNode } from '../types.js';
import type { Token } from './tokenizer.js';

/** A name as written: `text` is the unescaped name; `quoted` when it was in backticks. */
export interface Name {
  text: string;
  quoted: boolean;
}

/** A date/time part argument such as `DAY`, `WEEK(MONDAY)`, `ISOWEEK`. */
export interface DatePart {
  name: string;
  weekday?: string;
}

/** The operators of a binary expression (comparison, arithmetic, logical, bitwise). */
export type BinaryOp = '+' | '-' | '*' | '/' | '||' | '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | 'AND' | 'OR' | '&' | '|' | '<<' | '>>';

/** An expression. */
export type Expr =
  | { k: 'string'; value: string; tok: Token }
  | { k: 'bytes'; bytes: Uint8Array; tok: Token }
  | { k: 'number'; text: string; isFloat: boolean; tok: Token }
  | { k: 'keyword'; word: 'NULL' | 'TRUE' | 'FALSE'; tok: Token }
  /** `DATE '2024-01-01'`, `NUMERIC '1.5'`, `JSON '{}'`. */
  | { k: 'typed'; type: string; value: string; tok: Token }
  /** `@name`; `index` (1-based) is set by the resolver. */
  | { k: 'param'; name: string; index?: number; tok: Token }
  /** `?`; `index` (1-based) is set by the resolver. */
  | { k: 'posparam'; index?: number; tok: Token }
  /** A column, alias or struct path: `a`, `t.a`, `` `t.a` ``, `s.f.g`. */
  | { k: 'path'; parts: Name[]; tok: Token }
  | { k: 'unary'; op: '-' | '+' | '~'; arg: Expr; tok: Token }
  | { k: 'not'; arg: Expr; tok: Token }
  | { k: 'binary'; op: BinaryOp; left: Expr; right: Expr; tok: Token }
  | { k: 'is'; arg: Expr; not: boolean; value: 'NULL' | 'TRUE' | 'FALSE'; tok: Token }
  | { k: 'between'; arg: Expr; not: boolean; low: Expr; high: Expr; tok: Token }
  | { k: 'like'; arg: Expr; not: boolean; pattern: Expr; tok: Token }
  /** `x IN (a, b)`, `x IN (subquery)`, `x IN UNNEST(arr)`. */
  | { k: 'in'; arg: Expr; not: boolean; list?: Expr[]; query?: Query; unnest?: Expr; tok: Token }
  | { k: 'case'; operand?: Expr; whens: { when: Expr; then: Expr }[]; else?: Expr; tok: Token }
  | CallExpr
  | { k: 'cast'; safe: boolean; arg: Expr; type: SqlTypeNode; tok: Token }
  | { k: 'extract'; part: DatePart; arg: Expr; tok: Token }
  /** `INTERVAL value unit`. */
  | { k: 'interval'; value: Expr; unit: string; tok: Token }
  /** `[a, b]`, `ARRAY[a]`, `ARRAY<T>[a]`. */
  | { k: 'array'; type?: SqlTypeNode; items: Expr[]; tok: Token }
  /** `STRUCT(a AS x, b)`, `STRUCT<x T>(a)`. */
  | { k: 'struct'; type?: SqlTypeNode; fields: { value: Expr; name?: string }[]; tok: Token }
  /** `arr[OFFSET(i)]` and its kin; a plain `arr[i]` is OFFSET. */
  | { k: 'subscript'; arg: Expr; kind: 'OFFSET' | 'ORDINAL' | 'SAFE_OFFSET' | 'SAFE_ORDINAL'; index: Expr; tok: Token }
  /** `.field` after something that is not a path (a call, a subscript, a parenthesised expression). */
  | { k: 'field'; arg: Expr; name: Name; tok: Token }
  | { k: 'atTimeZone'; arg: Expr; zone: Expr; tok: Token }
  | { k: 'paren'; expr: Expr; tok: Token }
  | { k: 'subquery'; query: Query; tok: Token }
  | { k: 'exists'; query: Query; tok: Token };

/** A function call, with what aggregates and window functions add. */
export interface CallExpr {
  k: 'call';
  /** Upper-case name. */
  name: string;
  args: Expr[];
  /** `COUNT(*)`. */
  star?: boolean;
  distinct?: boolean;
  /** `IGNORE NULLS` / `RESPECT NULLS` inside the parentheses. */
  nulls?: 'IGNORE' | 'RESPECT';
  orderBy?: OrderItem[];
  limit?: Expr;
  over?: WindowSpec;
  /** Written without parentheses (`CURRENT_DATE`). */
  bare?: boolean;
  tok: Token;
}

/** `OVER (…)` or `OVER name`. */
export interface WindowSpec {
  name?: Name;
  partitionBy?: Expr[];
  orderBy?: OrderItem[];
  /** `ROWS|RANGE BETWEEN … AND …` kept as its words and expressions, in order. */
  frame?: FrameBound[] & { unit?: 'ROWS' | 'RANGE' };
}

/** One piece of a window frame: a keyword run (`UNBOUNDED PRECEDING`, `AND`, `CURRENT ROW`) or an offset expression. */
export type FrameBound = { words: string } | { expr: Expr };

export interface OrderItem {
  expr: Expr;
  desc?: boolean;
  /** Written direction, to keep `ASC` when it was there. */
  asc?: boolean;
  nulls?: 'FIRST' | 'LAST';
}

/** A table, subquery, UNNEST or join in FROM. */
export type FromItem =
  | TableItem
  | { k: 'subqueryItem'; query: Query; alias?: Name; tok: Token }
  | { k: 'unnestItem'; arg: Expr; alias?: Name; tok: Token }
  | { k: 'join'; type: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS' | 'COMMA'; written: string; left: FromItem; right: FromItem; on?: Expr; using?: Name[]; tok: Token };

/** The last part of a path (a path always has one). */
export function lastPart(path: Name[]): Name {
  const last = path[path.length - 1];
  if (!last) throw new Error('empty name path');
  return last;
}

/** A table path in FROM (or a DML target); resolved to a table or a CTE. */
export interface TableItem {
  k: 'table';
  path: Name[];
  alias?: Name;
  /** Alias written with `AS`. */
  aliasAs?: boolean;
  tok: Token;
  /** Set by the resolver. */
  resolved?: { cte: true; name: string } | { cte: false; projectId: string; datasetId: string; tableId: string };
  /** A path whose head is an earlier FROM alias: an implicit UNNEST of an array column (`FROM t, t.arr`). Set by the resolver. */
  implicitUnnest?: boolean;
}

/** One select-list item. */
export type SelectItem =
  | { k: 'expr'; expr: Expr; alias?: Name; aliasAs?: boolean }
  /** `*` or `t.*`, with BigQuery's `EXCEPT (…)` / `REPLACE (…)`. */
  | { k: 'star'; qualifier?: Name[]; except?: Name[]; replace?: { expr: Expr; alias: Name }[]; tok: Token };

export interface Select {
  k: 'select';
  distinct?: boolean;
  items: SelectItem[];
  from?: FromItem;
  where?: Expr;
  groupBy?: { rollup: boolean; items: Expr[] };
  having?: Expr;
  qualify?: Expr;
  windows?: { name: Name; spec: WindowSpec }[];
  tok: Token;
}

export interface Cte {
  name: Name;
  query: Query;
}

/** A query expression: WITH, a body (select, set operation or parenthesised query), ORDER BY, LIMIT. */
export interface Query {
  k: 'query';
  with?: { recursive: boolean; ctes: Cte[] };
  body: QueryBody;
  orderBy?: OrderItem[];
  limit?: Expr;
  offset?: Expr;
  tok: Token;
}

export type QueryBody =
  | Select
  | { k: 'setOp'; op: 'UNION' | 'INTERSECT' | 'EXCEPT'; all: boolean; left: QueryBody; right: QueryBody; tok: Token }
  | { k: 'parenQuery'; query: Query; tok: Token };

/** INSERT's rows: `VALUES (…), (…)` or a query. */
export type InsertSource = { k: 'values'; rows: Expr[][] } | { k: 'query'; query: Query };

/** One MERGE clause. */
export type MergeClause =
  | { k: 'matched'; cond?: Expr; action: { k: 'update'; set: Assignment[] } | { k: 'delete' } }
  | { k: 'notMatchedByTarget'; cond?: Expr; columns?: Name[]; values: Expr[] | 'ROW' }
  | { k: 'notMatchedBySource'; cond?: Expr; action: { k: 'update'; set: Assignment[] } | { k: 'delete' } };

export interface Assignment {
  column: Name[];
  value: Expr;
}

/** A statement the endpoint runs as a query job. */
export type Statement =
  | { k: 'queryStatement'; query: Query }
  | { k: 'insert'; target: TableItem; columns?: Name[]; source: InsertSource; tok: Token }
  | { k: 'update'; target: TableItem; set: Assignment[]; from?: FromItem; where: Expr; tok: Token }
  | { k: 'delete'; target: TableItem; where: Expr; tok: Token }
  | { k: 'merge'; target: TableItem; source: TableItem | { k: 'subqueryItem'; query: Query; alias?: Name; tok: Token }; on: Expr; clauses: MergeClause[]; tok: Token };
