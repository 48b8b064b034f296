/**
 * The children of an expression node, for the passes that look at every
 * node (the resolver's parameters, the partition-filter and byte-estimate
 * column readers). Queries inside expressions are handed to the visitor as
 * nodes (`subquery`, `exists`, `in`) and not entered: each pass decides how
 * a query is scoped.
 */
import type { Expr } from './ast.js';

/** The direct sub-expressions of `e`, in source order. */
export function childrenOf(e: Expr): Expr[] {
  switch (e.k) {
    case 'unary':
    case 'not':
    case 'is':
    case 'paren':
      return [e.k === 'paren' ? e.expr : e.arg];
    case 'binary':
      return [e.left, e.right];
    case 'between':
      return [e.arg, e.low, e.high];
    case 'like':
      return [e.arg, e.pattern];
    case 'in':
      return [e.arg, ...(e.list ?? []), ...(e.unnest ? [e.unnest] : [])];
    case 'case':
      return [...(e.operand ? [e.operand] : []), ...e.whens.flatMap((w) => [w.when, w.then]), ...(e.else ? [e.else] : [])];
    case 'call':
      return [
        ...e.args,
        ...(e.orderBy ?? []).map((o) => o.expr),
        ...(e.limit ? [e.limit] : []),
        ...(e.over?.partitionBy ?? []),
        ...(e.over?.orderBy ?? []).map((o) => o.expr),
        ...(e.over?.frame ?? []).flatMap((b) => ('expr' in b ? [b.expr] : [])),
      ];
    case 'cast':
    case 'extract':
      return [e.arg];
    case 'interval':
      return [e.value];
    case 'array':
      return e.items;
    case 'struct':
      return e.fields.map((f) => f.value);
    case 'subscript':
      return [e.arg, e.index];
    case 'field':
      return [e.arg];
    case 'atTimeZone':
      return [e.arg, e.zone];
    default:
      return [];
  }
}

/** Visits `e` and its descendants depth-first; a visitor returning false skips that node's children. */
export function walkExpr(e: Expr, visit: (node: Expr) => boolean): void {
  if (!visit(e)) return;
  for (const child of childrenOf(e)) walkExpr(child, visit);
}
