/**
 * The resolver: one walk over a statement's tree, in source order, that
 * decides what each name means before anything is emitted.
 *
 * - a table path becomes a CTE (one-part name of a CTE in scope), an implicit
 *   UNNEST (`FROM t, t.arr`: its head is an earlier FROM alias) or a table
 *   (`project.dataset.table`, with the request's project and `defaultDataset`
 *   rules);
 * - parameters get their `$n` (named ones by first use, `?` by position);
 * - every table read gets the columns its query block filters for partition
 *   elimination (`partitionFilters.ts`);
 * - the statement kind and the DML target are read off the root.
 */
import { invalid, invalidQuery, notFound } from '../errors.js';
import { lastPart } from './ast.js';
import type { Expr, FromItem, Name, Query, QueryBody, Select, Statement, TableItem } from './ast.js';
import { partitionFilterColumns } from './partitionFilters.js';
import { walkExpr } from './walk.js';

/** Where a query runs: decides how table names resolve. */
export interface TranslateContext {
  /** The endpoint's own project id. */
  projectId: string;
  /** The project in the request URL (also accepted in table names). */
  requestProjectId?: string;
  /** `defaultDataset` of the request, used for one-part table names. */
  defaultDataset?: { datasetId: string; projectId?: string };
}

/** A table the query reads or writes. */
export interface TableRef {
  projectId: string;
  datasetId: string;
  tableId: string;
  /**
   * Set when the statement reads the table's rows (FROM/JOIN, or the target of
   * UPDATE/DELETE/MERGE): the columns (lower-cased) that every such read
   * filters in a way usable for partition elimination. Unset for a table that
   * is only written (INSERT's target) or named by DDL.
   */
  readFilters?: string[];
}

/** The statement kinds the endpoint runs. */
export type StatementType = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'MERGE';

/** What the resolver found. */
export interface Resolution {
  statementType: StatementType;
  namedParams: string[];
  positionalCount: number;
  tables: TableRef[];
  dmlTarget?: TableRef;
  /** Each table read, with the WHERE that filters it (its query block's, or the DML statement's), for the byte estimate. */
  reads: TableRead[];
}

/** One read of a table in a statement. */
export interface TableRead {
  ref: TableRef;
  item: TableItem;
  where: Expr | undefined;
  /** The UPDATE/DELETE/MERGE target: BigQuery bills all its columns of the scanned partitions. */
  modified?: boolean;
}

/** A scope: CTE names and FROM aliases visible at a point. */
interface Scope {
  ctes: Set<string>;
  aliases: Set<string>;
  parent?: Scope;
}

function visible(scope: Scope | undefined, pick: (s: Scope) => Set<string>, name: string): boolean {
  for (let s = scope; s; s = s.parent) if (pick(s).has(name)) return true;
  return false;
}

const lower = (n: Name): string => n.text.toLowerCase();

/** Resolves `stmt` in place (sets `resolved`, `implicitUnnest` and parameter indexes) and reports what it found. */
export function resolveStatement(stmt: Statement, ctx: TranslateContext): Resolution {
  return new Resolver(ctx).statement(stmt);
}

/** Resolves a query on its own (CREATE TABLE … AS). */
export function resolveQuery(query: Query, ctx: TranslateContext): Resolution {
  return new Resolver(ctx).statement({ k: 'queryStatement', query });
}

class Resolver {
  private readonly tables = new Map<string, TableRef>();
  private readonly named: string[] = [];
  private positional = 0;
  /** Parameters as met; numbered in text order at the end (FROM is resolved before the select list). */
  private readonly params: (Expr & { k: 'param' | 'posparam' })[] = [];
  private readonly reads: Resolution['reads'] = [];

  constructor(private readonly ctx: TranslateContext) {}

  statement(stmt: Statement): Resolution {
    const root: Scope = { ctes: new Set(), aliases: new Set() };
    let statementType: StatementType = 'SELECT';
    let dmlTarget: TableRef | undefined;
    switch (stmt.k) {
      case 'queryStatement':
        this.query(stmt.query, root);
        break;
      case 'insert':
        statementType = 'INSERT';
        dmlTarget = this.target(stmt.target);
        if (stmt.source.k === 'query') this.query(stmt.source.query, root);
        else for (const row of stmt.source.rows) for (const e of row) this.expr(e, root);
        break;
      case 'update': {
        statementType = 'UPDATE';
        dmlTarget = this.target(stmt.target);
        const scope: Scope = { ctes: new Set(), aliases: new Set([aliasOf(stmt.target)]), parent: root };
        for (const a of stmt.set) this.expr(a.value, scope);
        if (stmt.from) this.from(stmt.from, scope, stmt.where);
        this.expr(stmt.where, scope);
        this.noteRead(dmlTarget, stmt.target, stmt.where, true);
        break;
      }
      case 'delete':
        statementType = 'DELETE';
        dmlTarget = this.target(stmt.target);
        this.expr(stmt.where, { ctes: new Set(), aliases: new Set([aliasOf(stmt.target)]), parent: root });
        this.noteRead(dmlTarget, stmt.target, stmt.where, true);
        break;
      case 'merge': {
        statementType = 'MERGE';
        dmlTarget = this.target(stmt.target);
        const scope: Scope = { ctes: new Set(), aliases: new Set([aliasOf(stmt.target)]), parent: root };
        if (stmt.source.k === 'table') {
          const ref = this.tableRef(stmt.source, root);
          if (ref) this.noteRead(ref, stmt.source, undefined);
          scope.aliases.add(aliasOf(stmt.source));
        } else {
          this.query(stmt.source.query, root);
          if (stmt.source.alias) scope.aliases.add(lower(stmt.source.alias));
        }
        this.expr(stmt.on, scope);
        for (const clause of stmt.clauses) {
          if (clause.cond) this.expr(clause.cond, scope);
          if (clause.k === 'notMatchedByTarget') {
            if (clause.values !== 'ROW') for (const v of clause.values) this.expr(v, scope);
          } else if (clause.action.k === 'update') for (const a of clause.action.set) this.expr(a.value, scope);
        }
        // The ON condition is what prunes MERGE's target (BigQuery: filter the target in the search condition).
        this.noteRead(dmlTarget, stmt.target, stmt.on, true);
        break;
      }
    }
    this.numberParams();
    if (this.named.length > 0 && this.positional > 0) throw invalidQuery('Query cannot mix named (@name) and positional (?) parameters');
    const out: Resolution = { statementType, namedParams: this.named, positionalCount: this.positional, tables: [...this.tables.values()], reads: this.reads };
    if (dmlTarget) out.dmlTarget = dmlTarget;
    return out;
  }

  /** Named parameters get `$n` by first use in the text, `?` by position. */
  private numberParams(): void {
    this.params.sort((a, b) => a.tok.line - b.tok.line || a.tok.col - b.tok.col);
    for (const node of this.params) {
      if (node.k === 'posparam') {
        node.index = ++this.positional;
        continue;
      }
      const key = node.name.toLowerCase();
      let idx = this.named.indexOf(key);
      if (idx < 0) idx = this.named.push(key) - 1;
      node.index = idx + 1;
    }
  }

  private target(item: TableItem): TableRef {
    const ref = this.table(item.path);
    item.resolved = { cte: false, projectId: ref.projectId, datasetId: ref.datasetId, tableId: ref.tableId };
    return ref;
  }

  /** Records a read of `ref` filtered by `where`; a table read twice keeps the columns both reads filter. */
  private noteRead(ref: TableRef, item: TableItem, where: Expr | undefined, modified = false): void {
    const columns = partitionFilterColumns(where, [aliasOf(item)]);
    ref.readFilters = ref.readFilters === undefined ? columns : ref.readFilters.filter((c) => columns.includes(c));
    this.reads.push(modified ? { ref, item, where, modified } : { ref, item, where });
  }

  query(q: Query, parent: Scope): void {
    const scope: Scope = { ctes: new Set(), aliases: new Set(), parent };
    if (q.with) {
      for (const cte of q.with.ctes) {
        if (q.with.recursive) scope.ctes.add(lower(cte.name));
        this.query(cte.query, scope);
        scope.ctes.add(lower(cte.name));
      }
    }
    this.body(q.body, scope);
    for (const o of q.orderBy ?? []) this.expr(o.expr, scope);
    if (q.limit) this.expr(q.limit, scope);
    if (q.offset) this.expr(q.offset, scope);
  }

  private body(b: QueryBody, scope: Scope): void {
    if (b.k === 'setOp') {
      this.body(b.left, scope);
      this.body(b.right, scope);
    } else if (b.k === 'parenQuery') this.query(b.query, scope);
    else this.select(b, scope);
  }

  private select(s: Select, parent: Scope): void {
    const scope: Scope = { ctes: new Set(), aliases: new Set(), parent };
    // Select items are written before FROM but read its aliases: resolve FROM first
    // (parameters are numbered in text order regardless, see `numberParams`).
    if (s.from) this.from(s.from, scope, s.where);
    for (const item of s.items) {
      if (item.k === 'expr') this.expr(item.expr, scope);
      else for (const r of item.replace ?? []) this.expr(r.expr, scope);
    }
    if (s.where) this.expr(s.where, scope);
    for (const g of s.groupBy?.items ?? []) this.expr(g, scope);
    if (s.having) this.expr(s.having, scope);
    if (s.qualify) this.expr(s.qualify, scope);
    for (const w of s.windows ?? []) {
      for (const e of w.spec.partitionBy ?? []) this.expr(e, scope);
      for (const o of w.spec.orderBy ?? []) this.expr(o.expr, scope);
    }
  }

  private from(item: FromItem, scope: Scope, where: Expr | undefined): void {
    switch (item.k) {
      case 'join':
        this.from(item.left, scope, where);
        this.from(item.right, scope, where);
        if (item.on) this.expr(item.on, scope);
        return;
      case 'subqueryItem':
        this.query(item.query, scope);
        if (item.alias) scope.aliases.add(lower(item.alias));
        return;
      case 'unnestItem':
        this.expr(item.arg, scope);
        if (item.alias) scope.aliases.add(lower(item.alias));
        return;
      case 'table': {
        const ref = this.tableRef(item, scope);
        if (ref) this.noteRead(ref, item, where);
        scope.aliases.add(aliasOf(item));
      }
    }
  }

  /** Resolves a FROM path: CTE, implicit UNNEST or table (returned). */
  private tableRef(item: TableItem, scope: Scope): TableRef | undefined {
    const head = lower(item.path[0] as Name);
    if (item.path.length >= 2 && visible(scope, (s) => s.aliases, head)) {
      item.implicitUnnest = true;
      return undefined;
    }
    if (item.path.length === 1 && visible(scope, (s) => s.ctes, head)) {
      item.resolved = { cte: true, name: (item.path[0] as Name).text };
      return undefined;
    }
    return this.target(item);
  }

  /** A table path to `project.dataset.table` under the request's rules, recorded once. */
  private table(path: Name[]): TableRef {
    const parts = path.map((p) => p.text);
    let ref: TableRef;
    if (parts.length === 1) {
      const dd = this.ctx.defaultDataset;
      if (!dd) throw invalid(`Table "${parts[0] as string}" must be qualified with a dataset (e.g. dataset.table).`);
      ref = { projectId: dd.projectId ?? this.ctx.requestProjectId ?? this.ctx.projectId, datasetId: dd.datasetId, tableId: parts[0] as string };
    } else if (parts.length === 2) {
      ref = { projectId: this.ctx.requestProjectId ?? this.ctx.projectId, datasetId: parts[0] as string, tableId: parts[1] as string };
    } else if (parts.length === 3) {
      const [p, ds, t] = parts as [string, string, string];
      if (p !== this.ctx.projectId && p !== this.ctx.requestProjectId) {
        throw notFound(`Dataset ${p}:${ds} was not found in location US (the local endpoint only serves project ${this.ctx.projectId})`);
      }
      ref = { projectId: p, datasetId: ds, tableId: t };
    } else {
      throw invalidQuery(`Invalid table name: ${parts.join('.')}`);
    }
    const key = `${ref.projectId}:${ref.datasetId}.${ref.tableId}`.toLowerCase();
    const known = this.tables.get(key);
    if (known) return known;
    this.tables.set(key, ref);
    return ref;
  }

  /** Parameters and the queries inside an expression. */
  private expr(e: Expr, scope: Scope): void {
    walkExpr(e, (node) => {
      if (node.k === 'param' || node.k === 'posparam') {
        this.params.push(node);
      } else if (node.k === 'subquery' || node.k === 'exists') {
        this.query(node.query, scope);
        return false;
      } else if (node.k === 'in' && node.query) {
        this.expr(node.arg, scope);
        this.query(node.query, scope);
        return false;
      }
      return true;
    });
  }
}

/** The name a FROM table is known by: its alias, else its table name (lower-cased). */
export function aliasOf(item: TableItem): string {
  return (item.alias ?? lastPart(item.path)).text.toLowerCase();
}
