/**
 * Which columns of each table a statement reads — what BigQuery bills
 * ("you are charged for the columns you select … not for columns you don't
 * reference", https://cloud.google.com/bigquery/docs/best-practices-costs).
 *
 * A column of a table read under the name `a` counts when the statement
 * names it as `a.col` (or `a.col.field`), or as a bare `col` anywhere in the
 * statement (a bare name that two tables of the statement share counts for
 * both: an upper bound, never less than BigQuery); the bare alias `a` (the
 * whole row), `*` in the query block that reads the table and `a.*` count
 * every column (`* EXCEPT (…)` leaves those out). `JOIN … USING (col)` and
 * MERGE's `INSERT ROW` read their columns too.
 */
import type { Expr, FromItem, Query, QueryBody, Select, Statement, TableItem } from './ast.js';
import type { TableRead } from './resolve.js';
import { aliasOf } from './resolve.js';
import { walkExpr } from './walk.js';

/** Columns (lower-cased) of one read, or `all`. */
export type ColumnsRead = Set<string> | 'all';

/** Everything in a statement that can name a column. */
interface Mentions {
  /** Every path (`col`, `a.col`, `a`) as lower-cased parts. */
  paths: string[][];
  /** Star items with the table items of their query block's FROM. */
  stars: { items: TableItem[]; qualifier?: string; except: Set<string> }[];
  /** `USING (col)` names. */
  using: string[];
  /** Table items whose every column is read (MERGE's `INSERT ROW` source). */
  whole: TableItem[];
}

/** The columns each read of `stmt` uses; `schemaOf` gives a read's top-level column names (lower-cased). */
export function columnsRead(stmt: Statement, reads: readonly TableRead[], schemaOf: (read: TableRead) => readonly string[]): Map<TableRead, ColumnsRead> {
  const m: Mentions = { paths: [], stars: [], using: [], whole: [] };
  collectStatement(stmt, m);
  const out = new Map<TableRead, ColumnsRead>();
  for (const read of reads) {
    const alias = aliasOf(read.item);
    const schema = schemaOf(read);
    const all = m.whole.includes(read.item) || m.paths.some((p) => p.length === 1 && p[0] === alias);
    const starred = m.stars.filter((s) => s.items.includes(read.item) && (s.qualifier === undefined || s.qualifier === alias));
    if (all || starred.some((s) => s.except.size === 0)) {
      out.set(read, 'all');
      continue;
    }
    const cols = new Set<string>();
    for (const s of starred) for (const c of schema) if (!s.except.has(c)) cols.add(c);
    for (const p of m.paths) {
      const head = p[0] as string;
      if (p.length >= 2 && head === alias && schema.includes(p[1] as string)) cols.add(p[1] as string);
      if (schema.includes(head)) cols.add(head);
    }
    for (const u of m.using) if (schema.includes(u)) cols.add(u);
    out.set(read, cols);
  }
  return out;
}

function collectStatement(stmt: Statement, m: Mentions): void {
  const e = (x: Expr): void => collectExpr(x, m);
  switch (stmt.k) {
    case 'queryStatement':
      collectQuery(stmt.query, m);
      return;
    case 'insert':
      if (stmt.source.k === 'query') collectQuery(stmt.source.query, m);
      else stmt.source.rows.flat().forEach(e);
      return;
    case 'update':
      stmt.set.forEach((a) => e(a.value));
      if (stmt.from) collectFrom(stmt.from, m);
      e(stmt.where);
      return;
    case 'delete':
      e(stmt.where);
      return;
    case 'merge':
      if (stmt.source.k === 'subqueryItem') collectQuery(stmt.source.query, m);
      e(stmt.on);
      for (const c of stmt.clauses) {
        if (c.cond) e(c.cond);
        if (c.k === 'notMatchedByTarget') {
          if (c.values === 'ROW') {
            if (stmt.source.k === 'table') m.whole.push(stmt.source);
          } else c.values.forEach(e);
        } else if (c.action.k === 'update') c.action.set.forEach((a) => e(a.value));
      }
  }
}

function collectQuery(q: Query, m: Mentions): void {
  for (const cte of q.with?.ctes ?? []) collectQuery(cte.query, m);
  collectBody(q.body, m);
  for (const o of q.orderBy ?? []) collectExpr(o.expr, m);
}

function collectBody(b: QueryBody, m: Mentions): void {
  if (b.k === 'setOp') {
    collectBody(b.left, m);
    collectBody(b.right, m);
  } else if (b.k === 'parenQuery') collectQuery(b.query, m);
  else collectSelect(b, m);
}

function collectSelect(s: Select, m: Mentions): void {
  const e = (x: Expr): void => collectExpr(x, m);
  for (const item of s.items) {
    if (item.k === 'expr') e(item.expr);
    else {
      m.stars.push({
        items: s.from ? tableItems(s.from) : [],
        qualifier: item.qualifier ? item.qualifier.map((n) => n.text.toLowerCase()).join('.') : undefined,
        except: new Set((item.except ?? []).map((n) => n.text.toLowerCase())),
      });
      item.replace?.forEach((r) => e(r.expr));
    }
  }
  if (s.from) collectFrom(s.from, m);
  [s.where, s.having, s.qualify, ...(s.groupBy?.items ?? [])].forEach((x) => x && e(x));
  for (const w of s.windows ?? []) {
    w.spec.partitionBy?.forEach(e);
    w.spec.orderBy?.forEach((o) => e(o.expr));
  }
}

/** The table items directly in a FROM clause (not inside its subqueries). */
function tableItems(f: FromItem): TableItem[] {
  if (f.k === 'table') return [f];
  if (f.k === 'join') return [...tableItems(f.left), ...tableItems(f.right)];
  return [];
}

function collectFrom(f: FromItem, m: Mentions): void {
  switch (f.k) {
    case 'join':
      collectFrom(f.left, m);
      collectFrom(f.right, m);
      if (f.on) collectExpr(f.on, m);
      for (const u of f.using ?? []) m.using.push(u.text.toLowerCase());
      return;
    case 'subqueryItem':
      collectQuery(f.query, m);
      return;
    case 'unnestItem':
      collectExpr(f.arg, m);
      return;
    case 'table':
      // `FROM t, t.arr`: the array column is read.
      if (f.implicitUnnest) m.paths.push(f.path.map((p) => p.text.toLowerCase()));
  }
}

function collectExpr(e: Expr, m: Mentions): void {
  walkExpr(e, (node) => {
    if (node.k === 'path') m.paths.push(node.parts.map((p) => p.text.toLowerCase()));
    else if (node.k === 'subquery' || node.k === 'exists') collectQuery(node.query, m);
    else if (node.k === 'in' && node.query) collectQuery(node.query, m);
    return true;
  });
}
