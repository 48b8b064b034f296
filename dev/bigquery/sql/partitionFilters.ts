/**
 * Which columns a table read is filtered on in a way BigQuery can use for
 * partition elimination — what `require_partition_filter` asks of every query
 * (SELECT, UPDATE, DELETE) that reads such a table.
 *
 * The rule modelled (BigQuery's "Query partitioned tables" page: a filter on
 * the partitioning column compared with constants, as close to the table as
 * possible; filters that need a subquery or another column to evaluate do not
 * prune): a column counts when a top-level conjunct of the WHERE clause of the
 * query block that reads the table (the block at the same bracket level, up to
 * a set operator) is one of
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
import { isGroup, isOp, isWord, splitCommas, wordOf } from './tree.js';
import type { SqlNode } from './tree.js';

/** Words that end a WHERE clause at its bracket level. */
const WHERE_ENDERS = ['GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT'];

const COMPARISONS = ['=', '<', '<=', '>', '>='];

/** Words that are values, never columns. */
const VALUE_WORDS = new Set(['NULL', 'TRUE', 'FALSE', 'CURRENT_DATE', 'CURRENT_TIMESTAMP', 'CURRENT_DATETIME', 'CURRENT_TIME']);

/** Keywords that join constants into a constant expression. */
const OPERATOR_WORDS = new Set(['AND', 'OR', 'NOT', 'IS', 'IN', 'BETWEEN', 'LIKE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'INTERVAL', 'AS', 'FROM']);

/** `DATE '…'`, `TIMESTAMP '…'`, … */
const TYPED_LITERALS = new Set(['DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'NUMERIC', 'DECIMAL', 'BIGNUMERIC', 'BIGDECIMAL', 'JSON']);

/** Date parts: an INTERVAL's unit, a `*_TRUNC`/`*_DIFF` argument, `EXTRACT(part FROM …)`. */
const DATE_PARTS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'DAYOFWEEK', 'DAYOFYEAR', 'WEEK', 'ISOWEEK',
  'MONTH', 'QUARTER', 'YEAR', 'ISOYEAR', 'DATE', 'TIME', 'DATETIME',
]);

/** A set operator at `nodes[k]` (not `SELECT * EXCEPT (…)`). */
function isSetOperator(nodes: SqlNode[], k: number): boolean {
  if (isWord(nodes[k], 'UNION', 'INTERSECT')) return true;
  return isWord(nodes[k], 'EXCEPT') && !isOp(nodes[k - 1], '*');
}

/**
 * The columns (lower-cased) that the WHERE clause of the query block holding
 * `nodes[at]` filters for partition elimination, counting unqualified names
 * and names qualified by one of `names` (lower-cased alias or table name).
 */
export function partitionFilterColumns(nodes: SqlNode[], at: number, names: readonly string[]): string[] {
  let end = nodes.length;
  for (let k = at + 1; k < nodes.length; k++) {
    if (isSetOperator(nodes, k)) {
      end = k;
      break;
    }
  }
  const where = nodes.findIndex((n, k) => k > at && k < end && isWord(n, 'WHERE'));
  if (where < 0) return [];
  let whereEnd = end;
  for (let k = where + 1; k < end; k++) {
    if (isWord(nodes[k], ...WHERE_ENDERS)) {
      whereEnd = k;
      break;
    }
  }
  const columns = new Set<string>();
  for (const conjunct of conjuncts(nodes.slice(where + 1, whereEnd))) {
    const col = filteredColumn(conjunct, names);
    if (col !== undefined) columns.add(col);
  }
  return [...columns];
}

/** Splits on top-level AND (not the AND of BETWEEN, nor one inside CASE … END); a top-level OR makes the whole one conjunct. */
function conjuncts(nodes: SqlNode[]): SqlNode[][] {
  if (splitOn(nodes, 'OR').length > 1) return [nodes];
  // `(a AND b)` is two conjuncts.
  return splitOn(nodes, 'AND').flatMap((c) => (c.length === 1 && isGroup(c[0]) && !isQuery(c[0].items) ? conjuncts(c[0].items) : [c]));
}

/** Splits on a top-level AND or OR: outside CASE … END, and for AND not the one that closes a BETWEEN. */
function splitOn(nodes: SqlNode[], word: 'AND' | 'OR'): SqlNode[][] {
  const out: SqlNode[][] = [[]];
  let between = false;
  let caseDepth = 0;
  for (const n of nodes) {
    if (isWord(n, 'CASE')) caseDepth++;
    else if (isWord(n, 'END') && caseDepth > 0) caseDepth--;
    else if (isWord(n, 'BETWEEN')) between = true;
    else if (caseDepth === 0 && isWord(n, 'AND') && between) between = false;
    else if (caseDepth === 0 && isWord(n, word)) {
      out.push([]);
      continue;
    }
    (out[out.length - 1] as SqlNode[]).push(n);
  }
  return out;
}

/** The partition-usable column a conjunct filters, if any. */
function filteredColumn(conjunct: SqlNode[], names: readonly string[]): string | undefined {
  const only = conjunct.length === 1 ? conjunct[0] : undefined;
  const branches = isGroup(only) && !isQuery(only.items) ? splitOn(only.items, 'OR') : splitOn(conjunct, 'OR');
  if (branches.length === 1) return predicateColumn(branches[0] as SqlNode[], names);
  const cols = branches.map((b) => (b.length === 1 && isGroup(b[0]) && !isQuery(b[0].items) ? filteredColumn(b[0].items, names) : predicateColumn(b, names)));
  const first = cols[0];
  return first !== undefined && cols.every((c) => c === first) ? first : undefined;
}

/** `col op const`, `const op col`, `col BETWEEN c AND c`, `col IN (…)`, `col IS NULL`. */
function predicateColumn(p: SqlNode[], names: readonly string[]): string | undefined {
  const op = p.findIndex((n) => COMPARISONS.some((o) => isOp(n, o)));
  if (op > 0) {
    if (p.some((n, k) => k !== op && COMPARISONS.some((o) => isOp(n, o)))) return undefined;
    const left = p.slice(0, op);
    const right = p.slice(op + 1);
    const l = columnRef(left, names);
    if (l !== undefined && isConstant(right)) return l;
    const r = columnRef(right, names);
    if (r !== undefined && isConstant(left)) return r;
    return undefined;
  }
  const between = p.findIndex((n) => isWord(n, 'BETWEEN'));
  if (between > 0) {
    const and = p.findIndex((n, k) => k > between && isWord(n, 'AND'));
    if (and < 0) return undefined;
    const col = columnRef(p.slice(0, between), names);
    return col !== undefined && isConstant(p.slice(between + 1, and)) && isConstant(p.slice(and + 1)) ? col : undefined;
  }
  const inAt = p.findIndex((n) => isWord(n, 'IN'));
  if (inAt > 0) {
    const col = columnRef(p.slice(0, inAt), names);
    const rest = p.slice(inAt + 1);
    if (col === undefined) return undefined;
    if (rest.length === 1 && isGroup(rest[0]) && !isQuery(rest[0].items) && splitCommas(rest[0].items).every(isConstant)) return col;
    if (rest.length === 2 && isWord(rest[0], 'UNNEST') && isGroup(rest[1]) && isConstant(rest[1].items)) return col;
    return undefined;
  }
  if (p.length >= 3 && isWord(p[p.length - 2], 'IS') && isWord(p[p.length - 1], 'NULL')) return columnRef(p.slice(0, -2), names);
  return undefined;
}

/** A column reference `col`, `alias.col` or `` `alias.col` `` naming one of `names` (lower-cased column). */
function columnRef(nodes: SqlNode[], names: readonly string[]): string | undefined {
  const parts: string[] = [];
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k] as SqlNode;
    if (k % 2 === 1) {
      if (!isOp(n, '.')) return undefined;
      continue;
    }
    if (n.t !== 'tok') return undefined;
    if (n.tok.kind === 'qident') parts.push(...(n.tok.value as string).split('.'));
    else if (n.tok.kind === 'ident' && !isGroup(nodes[k + 1]) && (k > 0 || !VALUE_WORDS.has(n.tok.text.toUpperCase()))) parts.push(n.tok.text);
    else return undefined;
  }
  if (nodes.length % 2 === 0 || parts.length === 0 || parts.length > 2) return undefined;
  if (parts.length === 2 && !names.includes((parts[0] as string).toLowerCase())) return undefined;
  return (parts[parts.length - 1] as string).toLowerCase();
}

/** True when the nodes are a query (a subquery's contents). */
function isQuery(items: SqlNode[]): boolean {
  return isWord(items[0], 'SELECT', 'WITH') || (isGroup(items[0]) && isQuery(items[0].items));
}

/** Literals, parameters, operators and calls over them: no column, no subquery. */
function isConstant(nodes: SqlNode[]): boolean {
  if (nodes.length === 0) return false;
  return nodes.every((n, k) => {
    if (n.t === 'group') return n.items.length === 0 || (!isQuery(n.items) && isConstant(n.items));
    switch (n.tok.kind) {
      case 'string':
      case 'bytes':
      case 'number':
      case 'param':
      case 'posparam':
        return true;
      case 'op':
        return !isOp(n, '.');
      case 'ident':
        return constantWord(nodes, k);
      default:
        return false;
    }
  });
}

/** A word inside a constant expression: a call, a value, an operator word, a typed literal's type, a cast's type or a date part. */
function constantWord(nodes: SqlNode[], k: number): boolean {
  const word = wordOf(nodes[k]) as string;
  const prev = nodes[k - 1];
  const next = nodes[k + 1];
  if (isGroup(next) || VALUE_WORDS.has(word) || OPERATOR_WORDS.has(word)) return true;
  if (TYPED_LITERALS.has(word) && next?.t === 'tok' && next.tok.kind === 'string') return true;
  if (isWord(prev, 'AS')) return true;
  return DATE_PARTS.has(word) && (isOp(prev, ',') || isWord(next, 'FROM') || nodes.slice(0, k).some((n) => isWord(n, 'INTERVAL')));
}
