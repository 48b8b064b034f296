/**
 * Partition pruning, as BigQuery's dry run and billing do it: a query reads
 * only the partitions that a constant filter on the partitioning column can
 * select ("Query partitioned tables",
 * https://cloud.google.com/bigquery/docs/querying-partitioned-tables#pruning_limiting_partitions).
 *
 * The filters that count are the ones `require_partition_filter` accepts
 * (`partitionFilters.ts`): top-level conjuncts of the read's WHERE comparing
 * the partitioning column with constants (`=`, `<`, `<=`, `>`, `>=`,
 * `BETWEEN`, `IN (…)`, `IN UNNEST(…)`, `IS NULL`, and ORs of those). Each is
 * turned into a condition on the partition the row lies in — its first value
 * `s` and its last value `last` (a DAY partition of a DATE column holds one
 * value; a DAY partition of a TIMESTAMP column runs from midnight to the last
 * microsecond) — so a partition is read when some value it can hold passes
 * the filter, whether or not a stored row does. NULLs sit in their own
 * partition, read only under `IS NULL`.
 */
import { quoteIdent } from '../types.js';
import type { Expr } from './ast.js';
import { ExpressionEmitter } from './emitExpression.js';
import { columnOf, conjuncts, disjuncts, filteredColumn, unparen } from './partitionFilters.js';
import { walkExpr } from './walk.js';

/** How a table is partitioned (time-unit column partitioning). */
export interface Partitioning {
  /** The column, as named in the schema. */
  column: string;
  columnType: 'DATE' | 'TIMESTAMP' | 'DATETIME';
  unit: 'DAY' | 'HOUR' | 'MONTH' | 'YEAR';
}


const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };

/**
 * A DuckDB condition over the table's rows that keeps the rows of the
 * partitions `where` selects for a table read under `alias`, or undefined
 * when nothing prunes. The statement's parameters it uses are appended to
 * `params` (shared by the conditions of one estimate query) and written as
 * their position there.
 */
export function partitionPredicate(where: Expr | undefined, alias: string, p: Partitioning, params: number[]): string | undefined {
  if (!where) return undefined;
  const column = p.column.toLowerCase();
  const names = [alias];
  const usable = conjuncts(where).filter((c) => filteredColumn(c, names) === column);
  if (usable.length === 0) return undefined;
  for (const c of usable) {
    walkExpr(c, (n) => {
      if ((n.k === 'param' || n.k === 'posparam') && n.index !== undefined && !params.includes(n.index)) params.push(n.index);
      return true;
    });
  }
  const em = new ExpressionEmitter(
    {
      query: () => {
        throw new Error('a partition filter constant holds no query');
      },
    },
    (n) => params.indexOf(n) + 1,
  );
  const col = quoteIdent(p.column);
  const { s, last } = bounds(col, p);
  const condition = (pred: Expr): string => {
    const u = unparen(pred);
    const c = (x: Expr): string => `(${em.expr(x)})`;
    switch (u.k) {
      case 'binary': {
        const onLeft = columnOf(u.left, names) !== undefined;
        const op = onLeft ? u.op : (FLIP[u.op] as string);
        const value = c(onLeft ? u.right : u.left);
        if (op === '=') return `(${s} <= ${value} AND ${value} <= ${last})`;
        if (op === '<' || op === '<=') return `${s} ${op} ${value}`;
        return `${last} ${op} ${value}`;
      }
      case 'between':
        return `(${s} <= ${c(u.high)} AND ${last} >= ${c(u.low)})`;
      case 'in':
        if (u.unnest) return `EXISTS (SELECT 1 FROM (SELECT UNNEST(${em.expr(u.unnest)}) AS v) AS __in WHERE ${s} <= v AND v <= ${last})`;
        return `(${(u.list ?? []).map((x) => `(${s} <= ${c(x)} AND ${c(x)} <= ${last})`).join(' OR ')})`;
      case 'is':
        return `${col} IS NULL`;
      default:
        throw new Error(`not a partition filter: ${u.k}`);
    }
  };
  return usable.map((conj) => `(${disjuncts(conj).map(condition).join(' OR ')})`).join(' AND ');
}

/** SQL for the first and last value of the partition holding the row. */
function bounds(col: string, p: Partitioning): { s: string; last: string } {
  if (p.columnType === 'DATE') {
    if (p.unit === 'DAY') return { s: col, last: col };
    const s = `CAST(date_trunc('${p.unit.toLowerCase()}', ${col}) AS DATE)`;
    return { s, last: `CAST(${s} + INTERVAL 1 ${p.unit} - INTERVAL 1 DAY AS DATE)` };
  }
  const s = `date_trunc('${p.unit.toLowerCase()}', ${col})`;
  return { s, last: `(${s} + INTERVAL 1 ${p.unit} - INTERVAL 1 MICROSECOND)` };
}
