/**
 * DuckDB SQL for queries, FROM items and DML statements (expressions are the
 * expression emitter's). Runs after the resolver: tables are already
 * `dataset.table`, CTEs and implicit UNNESTs are marked, parameters numbered.
 */
import { invalidQuery, unsupported } from '../errors.js';
import { quoteIdent } from '../types.js';
import { lastPart } from './ast.js';
import type { Assignment, FromItem, Name, Query, QueryBody, Select, SelectItem, Statement, TableItem } from './ast.js';
import { raise } from './checks.js';
import { ExpressionEmitter } from './emitExpression.js';
import { duckString } from './helpers.js';
import type { QueryEmitter } from './emitExpression.js';

const name = (n: Name): string => quoteIdent(n.text);

/** Emits one statement; `emitStatement` is the entry. */
class StatementEmitter implements QueryEmitter {
  private readonly e = new ExpressionEmitter(this);
  private unnestCounter = 0;
  /** The outermost SELECT, whose unnamed columns get BigQuery's `fN_` names. */
  private outermost: Select | undefined;

  statement(stmt: Statement): string {
    switch (stmt.k) {
      case 'queryStatement':
        this.outermost = leftmostSelect(stmt.query.body);
        return this.query(stmt.query);
      case 'insert': {
        const cols = stmt.columns ? ` (${stmt.columns.map(name).join(', ')})` : '';
        const rows = stmt.source.k === 'values' ? `VALUES ${stmt.source.rows.map((r) => `(${r.map((x) => this.e.expr(x)).join(', ')})`).join(', ')}` : this.query(stmt.source.query);
        return `INSERT INTO ${this.table(stmt.target)}${cols} ${rows}`;
      }
      case 'update': {
        const from = stmt.from ? ` FROM ${this.from(stmt.from)}` : '';
        return `UPDATE ${this.table(stmt.target)}${this.alias(stmt.target)} SET ${this.assignments(stmt.set)}${from} WHERE ${this.e.expr(stmt.where)}`;
      }
      case 'delete':
        return `DELETE FROM ${this.table(stmt.target)}${this.alias(stmt.target)} WHERE ${this.e.expr(stmt.where)}`;
      case 'merge':
        return this.merge(stmt);
    }
  }

  /**
   * MERGE onto DuckDB's MERGE INTO, with BigQuery's rule that a target row may
   * match at most one source row when a WHEN MATCHED clause can act on it:
   * the source is filtered by a guard that counts the matches per target row
   * and raises BigQuery's error before any row changes (DuckDB would apply the
   * clauses once per match). `RETURNING merge_action` lets the job count
   * inserted, updated and deleted rows for `dmlStats`.
   */
  private merge(stmt: Statement & { k: 'merge' }): string {
    // DuckDB's MERGE INTO takes the target's alias only after AS.
    const target = `${this.table(stmt.target)}${stmt.target.alias ? ` AS ${name(stmt.target.alias)}` : ''}`;
    const on = this.e.expr(stmt.on);
    const sourceName = stmt.source.alias ? name(stmt.source.alias) : stmt.source.k === 'table' ? quoteIdent(lastPart(stmt.source.path).text) : undefined;
    if (!sourceName) throw invalidQuery('MERGE needs an alias for a subquery source');
    const sourceSql = stmt.source.k === 'table' ? this.table(stmt.source) : `(${this.query(stmt.source.query)})`;
    let source = `${sourceSql} AS ${sourceName}`;
    if (stmt.clauses.some((c) => c.k === 'matched')) {
      const targetName = quoteIdent(stmt.target.alias?.text ?? lastPart(stmt.target.path).text);
      const matches = `SELECT count(*) AS n FROM ${target} JOIN ${source} ON ${on} GROUP BY ${targetName}.rowid`;
      const guard = `(SELECT CASE WHEN max(n) > 1 THEN ${raise(duckString('UPDATE/MERGE must match at most one source row for each target row'))} ELSE TRUE END FROM (${matches}))`;
      source = `(SELECT * FROM ${source} WHERE ${guard}) AS ${sourceName}`;
    }
    const clauses = stmt.clauses.map((c) => {
      const cond = c.cond ? ` AND ${this.e.expr(c.cond)}` : '';
      if (c.k === 'notMatchedByTarget') {
        if (c.values === 'ROW') throw unsupported('MERGE … INSERT ROW (list the columns and values)');
        const cols = c.columns ? ` (${c.columns.map(name).join(', ')})` : '';
        return `WHEN NOT MATCHED BY TARGET${cond} THEN INSERT${cols} VALUES (${c.values.map((v) => this.e.expr(v)).join(', ')})`;
      }
      const head = c.k === 'matched' ? 'WHEN MATCHED' : 'WHEN NOT MATCHED BY SOURCE';
      // DuckDB's SET names a target column unqualified.
      const action = c.action.k === 'delete' ? 'DELETE' : `UPDATE SET ${c.action.set.map((a) => `${name(lastPart(a.column))} = ${this.e.expr(a.value)}`).join(', ')}`;
      return `${head}${cond} THEN ${action}`;
    });
    return `MERGE INTO ${target} USING ${source} ON ${on} ${clauses.join(' ')} RETURNING merge_action`;
  }

  assignments(set: Assignment[]): string {
    return set.map((a) => `${a.column.map(name).join('.')} = ${this.e.expr(a.value)}`).join(', ');
  }

  query(q: Query): string {
    let sql = '';
    if (q.with) sql += `WITH ${q.with.recursive ? 'RECURSIVE ' : ''}${q.with.ctes.map((c) => `${name(c.name)} AS (${this.query(c.query)})`).join(', ')} `;
    sql += this.body(q.body);
    if (q.orderBy) sql += ` ORDER BY ${this.e.orderItems(q.orderBy)}`;
    if (q.limit) sql += ` LIMIT ${this.e.expr(q.limit)}`;
    if (q.offset) sql += ` OFFSET ${this.e.expr(q.offset)}`;
    return sql;
  }

  private body(b: QueryBody): string {
    switch (b.k) {
      case 'setOp':
        return `${this.body(b.left)} ${b.op}${b.all ? ' ALL' : ''} ${this.body(b.right)}`;
      case 'parenQuery':
        return `(${this.query(b.query)})`;
      case 'select':
        return this.select(b);
    }
  }

  private select(s: Select): string {
    let anonymous = 0;
    const items = s.items.map((item) => {
      const sql = this.selectItem(item);
      // BigQuery names unaliased, non-column items f0_, f1_, …; DuckDB would name them after the expression text.
      if (s === this.outermost && item.k === 'expr' && !item.alias && item.expr.k !== 'path') {
        // `(expr).field` is named after the field, as a column path is.
        return `${sql} AS ${quoteIdent(item.expr.k === 'field' ? item.expr.name.text : `f${anonymous++}_`)}`;
      }
      return sql;
    });
    let sql = `SELECT ${s.distinct ? 'DISTINCT ' : ''}${items.join(', ')}`;
    if (s.from) sql += ` FROM ${this.from(s.from)}`;
    if (s.where) sql += ` WHERE ${this.e.expr(s.where)}`;
    if (s.groupBy) {
      const list = s.groupBy.items.map((g) => this.e.expr(g)).join(', ');
      sql += ` GROUP BY ${s.groupBy.rollup ? `ROLLUP (${list})` : list}`;
    }
    if (s.having) sql += ` HAVING ${this.e.expr(s.having)}`;
    if (s.qualify) sql += ` QUALIFY ${this.e.expr(s.qualify)}`;
    if (s.windows) sql += ` WINDOW ${s.windows.map((w) => `${name(w.name)} AS (${this.e.windowSpec(w.spec)})`).join(', ')}`;
    return sql;
  }

  private selectItem(item: SelectItem): string {
    if (item.k === 'expr') return `${this.e.expr(item.expr)}${item.alias ? ` ${item.aliasAs ? 'AS ' : ''}${name(item.alias)}` : ''}`;
    let sql = item.qualifier ? `${item.qualifier.map(name).join('.')}.*` : '*';
    // `* EXCEPT (a, b)` is DuckDB's `* EXCLUDE (a, b)`.
    if (item.except) sql += ` EXCLUDE (${item.except.map(name).join(', ')})`;
    if (item.replace) sql += ` REPLACE (${item.replace.map((r) => `${this.e.expr(r.expr)} AS ${name(r.alias)}`).join(', ')})`;
    return sql;
  }

  private from(item: FromItem): string {
    switch (item.k) {
      case 'join': {
        const left = this.from(item.left);
        const right = this.from(item.right);
        if (item.type === 'COMMA') return `${left}, ${right}`;
        let sql = `${left} ${item.written} ${right}`;
        if (item.on) sql += ` ON ${this.e.expr(item.on)}`;
        if (item.using) sql += ` USING (${item.using.map(name).join(', ')})`;
        return sql;
      }
      case 'subqueryItem':
        return `(${this.query(item.query)})${item.alias ? ` AS ${name(item.alias)}` : ''}`;
      case 'unnestItem':
        return this.unnest(this.e.expr(item.arg), item.alias?.text ?? 'f0_');
      case 'table':
        if (item.implicitUnnest) return this.unnest(item.path.map(name).join('.'), (item.alias ?? lastPart(item.path)).text);
        return `${this.table(item)}${this.alias(item)}`;
    }
  }

  /** `UNNEST(x) AS alias` → DuckDB's `UNNEST(x) AS "__unnest_N"("alias")` (a table alias with one column). */
  private unnest(arg: string, alias: string): string {
    this.unnestCounter++;
    return `UNNEST(${arg}) AS ${quoteIdent(`__unnest_${this.unnestCounter}`)}(${quoteIdent(alias)})`;
  }

  private table(item: TableItem): string {
    const r = item.resolved;
    if (!r) throw new Error('table emitted before it was resolved');
    return r.cte ? quoteIdent(r.name) : `${quoteIdent(r.datasetId)}.${quoteIdent(r.tableId)}`;
  }

  private alias(item: TableItem): string {
    return item.alias ? ` ${item.aliasAs ? 'AS ' : ''}${name(item.alias)}` : '';
  }
}

/** The first SELECT of a query body (the one whose column names a set operation keeps). */
function leftmostSelect(b: QueryBody): Select | undefined {
  if (b.k === 'select') return b;
  if (b.k === 'setOp') return leftmostSelect(b.left);
  return leftmostSelect(b.query.body);
}

/** DuckDB SQL for a resolved statement. */
export function emitStatement(stmt: Statement): string {
  return new StatementEmitter().statement(stmt);
}
