/**
 * Which columns a table read is filtered on in a way BigQuery can use for
 * partition elimination — what `require_partition_filter` asks of every query
 * (SELECT, UPDATE, DELETE) that reads such a table.
 *
 * The rule modelled (BigQuery's "Query partitioned tables" page: a filter on
 * the partitioning column compared with constants, as close to the table as
 * possible; filters that need a subquery or another column to evaluate do not
 * prune): a column counts when a top-level conjunct of the WHERE clause of the
 * query block that reads the table (its own SELECT, or the UPDATE/DELETE) is
 * one of
 *
 * - `col = | < | <= | > | >= constant` (either side),
 * - `col BETWEEN constant AND constant`,
 * - `col IN (constant, …)` / `col IN UNNEST(constant)`,
 * - `col IS NULL`,
 * - a parenthesised disjunction whose every branch is one of the above on the
 *   same column (`(col IS NULL OR col >= DATE '0001-01-01')`),
 *
 * where `col` is unqualified or qualified by the table's alias (its name when
 * it has none), and a constant is built from literals, parameters, operators
 * and function calls over constants (`DATE_SUB(CURRENT_DATE(), INTERVAL 7 DAY)`),
 * never a column, a subquery or an outer reference. Stricter than BigQuery in
 * one respect, on purpose: a filter only in an outer query (which BigQuery may
 * push down into a subquery, CTE or view) or in a JOIN's ON does not count, so
 * what passes here passes there.
 */
import type { Expr, Name } from './ast.js';
import { childrenOf } from './walk.js';

const COMPARISONS = new Set(['=', '<', '<=', '>', '>=']);

/** Words that are arguments of a function without being columns: date parts and weekdays (`TIMESTAMP_TRUNC(x, DAY)`). */
const PART_WORDS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'DAYOFWEEK', 'DAYOFYEAR', 'WEEK', 'ISOWEEK',
  'MONTH', 'QUARTER', 'YEAR', 'ISOYEAR', 'DATE', 'TIME', 'DATETIME',
  'SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY',
]);

/**
 * The columns (lower-cased) that `where` filters for partition elimination,
 * counting unqualified names and names qualified by one of `names`
 * (lower-cased alias or table name).
 */
export function partitionFilterColumns(where: Expr | undefined, names: readonly string[]): string[] {
  if (!where) return [];
  const columns = new Set<string>();
  for (const conjunct of conjuncts(where)) {
    const col = filteredColumn(conjunct, names);
    if (col !== undefined) columns.add(col);
  }
  return [...columns];
}

export function unparen(e: Expr): Expr {
  return e.k === 'paren' ? unparen(e.expr) : e;
}

/** The top-level conjuncts (`(a AND b)` is two). */
export function conjuncts(e: Expr): Expr[] {
  const u = unparen(e);
  return u.k === 'binary' && u.op === 'AND' ? [...conjuncts(u.left), ...conjuncts(u.right)] : [u];
}

export function disjuncts(e: Expr): Expr[] {
  const u = unparen(e);
  return u.k === 'binary' && u.op === 'OR' ? [...disjuncts(u.left), ...disjuncts(u.right)] : [u];
}

/** The column a conjunct filters, or undefined. An OR counts when each branch filters the same column. */
export function filteredColumn(e: Expr, names: readonly string[]): string | undefined {
  const branches = disjuncts(e);
  const cols = branches.map((b) => predicateColumn(b, names));
  const first = cols[0];
  return first !== undefined && cols.every((c) => c === first) ? first : undefined;
}

/** `col op constant` (either side), `col BETWEEN c AND c`, `col IN (c, …)`, `col IN UNNEST(c)`, `col IS NULL`. */
export function predicateColumn(e: Expr, names: readonly string[]): string | undefined {
  switch (e.k) {
    case 'binary': {
      if (!COMPARISONS.has(e.op)) return undefined;
      const l = columnOf(e.left, names);
      if (l !== undefined && isConstant(e.right)) return l;
      const r = columnOf(e.right, names);
      return r !== undefined && isConstant(e.left) ? r : undefined;
    }
    case 'between':
      return !e.not && isConstant(e.low) && isConstant(e.high) ? columnOf(e.arg, names) : undefined;
    case 'in':
      if (e.not || e.query) return undefined;
      if (e.unnest) return isConstant(e.unnest) ? columnOf(e.arg, names) : undefined;
      return (e.list ?? []).every((x) => isConstant(x)) ? columnOf(e.arg, names) : undefined;
    case 'is':
      return !e.not && e.value === 'NULL' ? columnOf(e.arg, names) : undefined;
    default:
      return undefined;
  }
}

/** `col` or `alias.col` (lower-cased `col`), else undefined. */
export function columnOf(e: Expr, names: readonly string[]): string | undefined {
  const u = unparen(e);
  if (u.k !== 'path') return undefined;
  if (u.parts.length === 1) return (u.parts[0] as Name).text.toLowerCase();
  if (u.parts.length === 2 && names.includes((u.parts[0] as Name).text.toLowerCase())) return (u.parts[1] as Name).text.toLowerCase();
  return undefined;
}

/** Built from literals, parameters, operators and calls over them; never a column or a query. */
function isConstant(e: Expr, partArg = false): boolean {
  switch (e.k) {
    case 'path':
      return partArg && e.parts.length === 1 && !(e.parts[0] as Name).quoted && PART_WORDS.has((e.parts[0] as Name).text.toUpperCase());
    case 'subquery':
    case 'exists':
    case 'field':
      return false;
    case 'in':
      if (e.query) return false;
      break;
    case 'call':
      if (e.over) return false;
      return e.args.every((a) => isConstant(a, true));
    default:
      break;
  }
  return childrenOf(e).every((c) => isConstant(c));
}
