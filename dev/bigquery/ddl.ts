/**
 * The DDL subset a partitioning migration needs, with BigQuery's semantics:
 *
 * - `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t [(col TYPE [NOT NULL] [OPTIONS(description='…')], …)]
 *    [PARTITION BY col | DATE(col) | TIMESTAMP_TRUNC(col, unit) | DATE_TRUNC(col, unit) | DATETIME_TRUNC(col, unit)]
 *    [CLUSTER BY a, b] [OPTIONS(…)] [AS query]`
 * - `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] t (COPY | CLONE) src [OPTIONS(…)]` — data, schema,
 *    partitioning, clustering and table options of `src` (options may be overridden);
 * - `ALTER TABLE [IF EXISTS] t RENAME TO t2`;
 * - `DROP TABLE [IF EXISTS] t`.
 *
 * Each statement is atomic: the DuckDB DDL, the data and the endpoint's
 * metadata row change in one DuckDB transaction on the caller's connection,
 * so a failure (or a killed process) leaves the previous state. Anything else
 * (snapshots, views, temp tables, other ALTER forms, other OPTIONS) is
 * rejected as unsupported.
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { cleanLabels, createTableSql, now, validatePartitioning } from './catalog.js';
import type { Catalog, TableMeta } from './catalog.js';
import { duplicate, invalidQuery, notFound, unsupported } from './errors.js';
import { translateTokens, withEnd } from './sql/index.js';
import type { TableRef, Token, TranslateContext, Translation } from './sql/index.js';
import { canonicalType, duckTypeToBqField, normalizeSchema, quoteIdent } from './types.js';
import type { BqField } from './types.js';

/** BigQuery's `statementType` of the DDL statements supported. */
export type DdlStatementType = 'CREATE_TABLE' | 'CREATE_TABLE_AS_SELECT' | 'ALTER_TABLE' | 'DROP_TABLE';

/** The partitioning expression of `PARTITION BY`. */
interface PartitionSpec {
  /** `COLUMN` for a bare DATE column, otherwise the function. */
  fn: 'COLUMN' | 'DATE' | 'TIMESTAMP_TRUNC' | 'DATE_TRUNC' | 'DATETIME_TRUNC';
  column: string;
  unit: string;
}

/** Table options of `OPTIONS(…)` that the endpoint models. */
interface TableOptions {
  description?: string | null;
  friendlyName?: string | null;
  requirePartitionFilter?: boolean;
  labels?: Record<string, string>;
  partitionExpirationDays?: number;
}

/** A parsed DDL statement. */
export type DdlStatement =
  | {
      kind: 'create';
      statementType: 'CREATE_TABLE' | 'CREATE_TABLE_AS_SELECT';
      target: TableRef;
      orReplace: boolean;
      ifNotExists: boolean;
      columns?: BqField[];
      partition?: PartitionSpec;
      clustering?: string[];
      options: TableOptions;
      query?: Translation;
    }
  | { kind: 'copy'; statementType: 'CREATE_TABLE'; target: TableRef; source: TableRef; orReplace: boolean; ifNotExists: boolean; options: TableOptions }
  | { kind: 'rename'; statementType: 'ALTER_TABLE'; target: TableRef; newTableId: string; ifExists: boolean }
  | { kind: 'drop'; statementType: 'DROP_TABLE'; target: TableRef; ifExists: boolean };

/** What a DDL statement did (`ddlOperationPerformed` in job statistics). */
export interface DdlOutcome {
  ddlOperationPerformed: 'CREATE' | 'REPLACE' | 'SKIP' | 'DROP' | 'ALTER';
  ddlTargetTable: TableRef;
  /** Rows written by CTAS / COPY. */
  rows?: number;
}

/** First words that make a statement DDL. */
export const DDL_STARTS = new Set(['CREATE', 'ALTER', 'DROP']);

const SCALAR_COLUMN_TYPES = new Set(['STRING', 'INT64', 'INTEGER', 'FLOAT64', 'FLOAT', 'NUMERIC', 'BIGNUMERIC', 'BOOL', 'BOOLEAN', 'BYTES', 'DATE', 'DATETIME', 'TIMESTAMP', 'TIME', 'JSON']);
const PARTITION_UNITS: Record<PartitionSpec['fn'], string[]> = {
  COLUMN: ['DAY'],
  DATE: ['DAY'],
  TIMESTAMP_TRUNC: ['DAY', 'HOUR', 'MONTH', 'YEAR'],
  DATETIME_TRUNC: ['DAY', 'HOUR', 'MONTH', 'YEAR'],
  DATE_TRUNC: ['MONTH', 'YEAR'],
};
const PARTITION_EXPR_ERROR =
  'PARTITION BY expression must be DATE(<timestamp_column>), DATE(<datetime_column>), DATETIME_TRUNC(<datetime_column>, DAY/HOUR/MONTH/YEAR), a DATE column, TIMESTAMP_TRUNC(<timestamp_column>, DAY/HOUR/MONTH/YEAR), DATE_TRUNC(<date_column>, MONTH/YEAR)';

/** A cursor over the tokens of one statement. */
class Cursor {
  i = 0;
  constructor(readonly toks: Token[]) {}
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  word(k = 0): string | undefined {
    const t = this.peek(k);
    return t && t.kind === 'ident' ? t.text.toUpperCase() : undefined;
  }
  isOp(op: string, k = 0): boolean {
    const t = this.peek(k);
    return t !== undefined && t.kind === 'op' && t.text === op;
  }
  acceptWord(...words: string[]): boolean {
    const w = this.word();
    if (w !== undefined && words.includes(w)) {
      this.i++;
      return true;
    }
    return false;
  }
  expectWord(w: string): void {
    if (!this.acceptWord(w)) throw syntax(`Expected keyword ${w}`, this.peek());
  }
  expectOp(op: string): void {
    if (!this.isOp(op)) throw syntax(`Expected "${op}"`, this.peek());
    this.i++;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  /** A plain or backtick identifier. */
  name(): string {
    const t = this.peek();
    if (!t || (t.kind !== 'ident' && t.kind !== 'qident')) throw syntax('Expected an identifier', t);
    this.i++;
    return t.kind === 'qident' ? (t.value as string) : t.text;
  }
}

function syntax(msg: string, at: Token | undefined): Error {
  return invalidQuery(`Syntax error: ${msg}${at ? ` but got "${at.text}" at [${at.line}:${at.col}]` : ' but got end of statement'}`);
}

/** True when `sql` (one statement) starts with CREATE / ALTER / DROP. */
export function isDdl(tokens: Token[]): boolean {
  const t = tokens[0];
  return t !== undefined && t.kind === 'ident' && DDL_STARTS.has(t.text.toUpperCase());
}

/**
 * Parses one DDL statement: its tokens as the script splitter cut them (no
 * trailing `;`, no `eof`).
 *
 * @throws BigQueryApiError `invalidQuery` for syntax errors and unsupported forms.
 */
export function parseDdl(tokens: Token[], ctx: TranslateContext): DdlStatement {
  const c = new Cursor(tokens.filter((t) => t.kind !== 'eof'));
  const verb = c.word();
  c.i++;
  if (verb === 'DROP') {
    if (!c.acceptWord('TABLE')) throw unsupported(`statement DROP ${c.word() ?? ''}`.trim());
    const ifExists = c.acceptWord('IF') ? (c.expectWord('EXISTS'), true) : false;
    const target = tableName(c, ctx);
    end(c);
    return { kind: 'drop', statementType: 'DROP_TABLE', target, ifExists };
  }
  if (verb === 'ALTER') {
    if (!c.acceptWord('TABLE')) throw unsupported(`statement ALTER ${c.word() ?? ''}`.trim());
    const ifExists = c.acceptWord('IF') ? (c.expectWord('EXISTS'), true) : false;
    const target = tableName(c, ctx);
    if (!(c.word() === 'RENAME' && c.word(1) === 'TO')) throw unsupported(`ALTER TABLE ${c.word() ?? ''} (only RENAME TO)`.trim());
    c.i += 2;
    const newTableId = c.name();
    if (newTableId.includes('.') || c.isOp('.')) throw invalidQuery('ALTER TABLE RENAME TO takes a table name without project or dataset');
    end(c);
    return { kind: 'rename', statementType: 'ALTER_TABLE', target, newTableId, ifExists };
  }
  // CREATE
  let orReplace = false;
  if (c.acceptWord('OR')) {
    c.expectWord('REPLACE');
    orReplace = true;
  }
  const kindWord = c.word();
  if (kindWord !== 'TABLE') throw unsupported(`statement CREATE ${kindWord ?? ''}${kindWord === 'SNAPSHOT' ? ' TABLE' : ''}`.trim());
  c.i++;
  let ifNotExists = false;
  if (c.acceptWord('IF')) {
    c.expectWord('NOT');
    c.expectWord('EXISTS');
    ifNotExists = true;
  }
  if (orReplace && ifNotExists) throw invalidQuery('CREATE TABLE cannot have both OR REPLACE and IF NOT EXISTS');
  const target = tableName(c, ctx);

  if (c.word() === 'COPY' || c.word() === 'CLONE') {
    c.i++;
    const source = tableName(c, ctx);
    if (c.word() === 'FOR') throw unsupported('FOR SYSTEM_TIME AS OF (time travel)');
    const options = c.word() === 'OPTIONS' ? parseOptions(c) : {};
    end(c);
    return { kind: 'copy', statementType: 'CREATE_TABLE', target, source, orReplace, ifNotExists, options };
  }

  let columns: BqField[] | undefined;
  if (c.isOp('(')) columns = parseColumns(c);
  let partition: PartitionSpec | undefined;
  let clustering: string[] | undefined;
  let options: TableOptions = {};
  let query: Translation | undefined;
  while (!c.done()) {
    const w = c.word();
    if (w === 'PARTITION' && c.word(1) === 'BY') {
      c.i += 2;
      partition = parsePartition(c);
    } else if (w === 'CLUSTER' && c.word(1) === 'BY') {
      c.i += 2;
      clustering = [c.name()];
      while (c.isOp(',')) {
        c.i++;
        clustering.push(c.name());
      }
    } else if (w === 'OPTIONS') {
      options = parseOptions(c);
    } else if (w === 'AS') {
      c.i++;
      if (!c.peek()) throw syntax('Expected a query after AS', undefined);
      query = translateTokens(withEnd(c.toks.slice(c.i)), ctx);
      if (query.statementType !== 'SELECT') throw invalidQuery('CREATE TABLE AS needs a query (SELECT or WITH)');
      c.i = c.toks.length;
    } else if (w === 'DEFAULT' || w === 'WITH' || w === 'LIKE') {
      throw unsupported(`CREATE TABLE … ${w}`);
    } else {
      throw syntax('Expected PARTITION BY, CLUSTER BY, OPTIONS or AS', c.peek());
    }
  }
  if (!columns && !query) throw invalidQuery('CREATE TABLE needs a column list or AS query');
  const stmt: DdlStatement = { kind: 'create', statementType: query ? 'CREATE_TABLE_AS_SELECT' : 'CREATE_TABLE', target, orReplace, ifNotExists, options };
  if (columns) stmt.columns = columns;
  if (partition) stmt.partition = partition;
  if (clustering) stmt.clustering = clustering;
  if (query) stmt.query = query;
  return stmt;
}

function end(c: Cursor): void {
  if (!c.done()) throw syntax('Expected end of statement', c.peek());
}

/** `project.dataset.table` in any quoting; the project must be the endpoint's or the request's. */
function tableName(c: Cursor, ctx: TranslateContext): TableRef {
  const parts: string[] = [];
  for (;;) {
    const t = c.peek();
    if (!t || (t.kind !== 'ident' && t.kind !== 'qident')) throw syntax('Expected a table name', t);
    c.i++;
    parts.push(...(t.kind === 'qident' ? (t.value as string).split('.') : [t.text]));
    if (!c.isOp('.')) break;
    c.i++;
  }
  let ref: TableRef;
  if (parts.length === 3) ref = { projectId: parts[0] as string, datasetId: parts[1] as string, tableId: parts[2] as string };
  else if (parts.length === 2) ref = { projectId: '', datasetId: parts[0] as string, tableId: parts[1] as string };
  else if (parts.length === 1) {
    if (!ctx.defaultDataset) throw invalidQuery(`Table "${parts[0] as string}" must be qualified with a dataset (e.g. dataset.table).`);
    ref = { projectId: ctx.defaultDataset.projectId ?? '', datasetId: ctx.defaultDataset.datasetId, tableId: parts[0] as string };
  } else throw invalidQuery(`Invalid table name ${parts.join('.')}`);
  if (ref.projectId && ref.projectId !== ctx.projectId && ref.projectId !== ctx.requestProjectId) {
    throw notFound(`Dataset ${ref.projectId}:${ref.datasetId}`);
  }
  return ref;
}

/** `(name TYPE [NOT NULL] [OPTIONS(description='…')], …)` — scalar types only. */
function parseColumns(c: Cursor): BqField[] {
  c.expectOp('(');
  const fields: BqField[] = [];
  for (;;) {
    const name = c.name();
    const typeTok = c.peek();
    const type = c.word();
    if (!type || !SCALAR_COLUMN_TYPES.has(type)) throw unsupported(`column type ${typeTok?.text ?? '(missing)'} in CREATE TABLE (scalar types only)`);
    c.i++;
    if (c.isOp('(') || c.isOp('<')) throw unsupported(`parameterized or nested column type ${type}`);
    const field: BqField = { name, type: canonicalType(type), mode: 'NULLABLE' };
    if (c.word() === 'NOT' && c.word(1) === 'NULL') {
      c.i += 2;
      field.mode = 'REQUIRED';
    }
    if (c.word() === 'OPTIONS') {
      const o = parseOptions(c, true);
      if (typeof o.description === 'string') field.description = o.description;
    }
    fields.push(field);
    if (c.isOp(',')) {
      c.i++;
      continue;
    }
    c.expectOp(')');
    break;
  }
  return normalizeSchema({ fields }, 'query').fields;
}

function parsePartition(c: Cursor): PartitionSpec {
  const w = c.word();
  if (w && ['DATE', 'TIMESTAMP_TRUNC', 'DATE_TRUNC', 'DATETIME_TRUNC'].includes(w) && c.isOp('(', 1)) {
    c.i += 2;
    const column = c.name();
    let unit = 'DAY';
    if (w !== 'DATE') {
      c.expectOp(',');
      unit = c.name().toUpperCase();
    }
    c.expectOp(')');
    const fn = w as PartitionSpec['fn'];
    if (!PARTITION_UNITS[fn].includes(unit)) throw invalidQuery(PARTITION_EXPR_ERROR);
    return { fn, column, unit };
  }
  if (w === 'RANGE_BUCKET') throw unsupported('integer range partitioning (RANGE_BUCKET)');
  if (w === '_PARTITIONDATE' || w === '_PARTITIONTIME') throw unsupported('ingestion-time partitioning');
  const column = c.name();
  if (c.isOp('(') || c.isOp('.')) throw invalidQuery(PARTITION_EXPR_ERROR);
  return { fn: 'COLUMN', column, unit: 'DAY' };
}

/** `OPTIONS(name = value, …)`; only the options the endpoint models are accepted. */
function parseOptions(c: Cursor, column = false): TableOptions {
  c.expectWord('OPTIONS');
  c.expectOp('(');
  const out: TableOptions = {};
  if (c.isOp(')')) {
    c.i++;
    return out;
  }
  for (;;) {
    const key = c.name().toLowerCase();
    c.expectOp('=');
    const v = c.peek();
    if (!v) throw syntax('Expected an option value', v);
    const allowed = column ? ['description'] : ['description', 'friendly_name', 'require_partition_filter', 'labels', 'partition_expiration_days'];
    if (!allowed.includes(key)) throw unsupported(`OPTIONS(${key}=…)`);
    if (key === 'description' || key === 'friendly_name') {
      let value: string | null;
      if (v.kind === 'string') value = v.value as string;
      else if (v.kind === 'ident' && v.text.toUpperCase() === 'NULL') value = null;
      else throw invalidQuery(`Option ${key} must be a string literal`);
      c.i++;
      if (key === 'description') out.description = value;
      else out.friendlyName = value;
    } else if (key === 'require_partition_filter') {
      const b = v.kind === 'ident' ? v.text.toUpperCase() : '';
      if (b !== 'TRUE' && b !== 'FALSE') throw invalidQuery('Option require_partition_filter must be TRUE or FALSE');
      c.i++;
      out.requirePartitionFilter = b === 'TRUE';
    } else if (key === 'partition_expiration_days') {
      if (v.kind !== 'number') throw invalidQuery('Option partition_expiration_days must be a number');
      c.i++;
      out.partitionExpirationDays = Number(v.text);
    } else {
      // labels = [('k', 'v'), …]
      c.expectOp('[');
      const labels: Record<string, string> = {};
      while (!c.isOp(']')) {
        c.expectOp('(');
        const k = c.peek();
        c.i++;
        c.expectOp(',');
        const val = c.peek();
        c.i++;
        c.expectOp(')');
        if (k?.kind !== 'string' || val?.kind !== 'string') throw invalidQuery('Option labels must be an array of (STRING, STRING) pairs');
        labels[k.value as string] = val.value as string;
        if (c.isOp(',')) c.i++;
      }
      c.i++;
      out.labels = cleanLabels(labels) ?? {};
    }
    if (c.isOp(',')) {
      c.i++;
      continue;
    }
    c.expectOp(')');
    return out;
  }
}

/** Tables a DDL statement writes (for the engine's write locks). */
export function ddlWrites(stmt: DdlStatement): TableRef[] {
  if (stmt.kind === 'rename') return [stmt.target, { ...stmt.target, tableId: stmt.newTableId }];
  return [stmt.target];
}

/** Tables a DDL statement reads. */
export function ddlReads(stmt: DdlStatement): TableRef[] {
  if (stmt.kind === 'copy') return [stmt.source];
  if (stmt.kind === 'create' && stmt.query) return stmt.query.tables;
  return [];
}

/** Bound parameters of a CTAS query. */
export interface BoundParams {
  values: DuckDBValue[];
  types: DuckDBType[];
  /** The query's SQL after parameter binding (large arrays rewrite their placeholders). */
  sql?: string;
}

function tableSql(ref: { datasetId: string; tableId: string }): string {
  return `${quoteIdent(ref.datasetId)}.${quoteIdent(ref.tableId)}`;
}

function applyOptions(meta: TableMeta, o: TableOptions): void {
  if (o.description !== undefined) {
    if (o.description === null) delete meta.description;
    else meta.description = o.description;
  }
  if (o.friendlyName !== undefined) {
    if (o.friendlyName === null) delete meta.friendlyName;
    else meta.friendlyName = o.friendlyName;
  }
  if (o.labels !== undefined) {
    if (Object.keys(o.labels).length > 0) meta.labels = o.labels;
    else delete meta.labels;
  }
  if (o.requirePartitionFilter !== undefined) meta.requirePartitionFilter = o.requirePartitionFilter;
  if (o.partitionExpirationDays !== undefined && meta.timePartitioning) {
    meta.timePartitioning.expirationMs = String(Math.round(o.partitionExpirationDays * 86_400_000));
  }
}

/** Resolves `PARTITION BY` against the schema like BigQuery does. */
function timePartitioning(spec: PartitionSpec, fields: BqField[]): NonNullable<TableMeta['timePartitioning']> {
  const f = fields.find((x) => x.name.toLowerCase() === spec.column.toLowerCase());
  if (!f) throw invalidQuery(`Unrecognized name: ${spec.column}`);
  const type = canonicalType(f.type);
  const ok =
    f.mode !== 'REPEATED' &&
    ((spec.fn === 'COLUMN' && type === 'DATE') ||
      (spec.fn === 'DATE' && (type === 'TIMESTAMP' || type === 'DATETIME')) ||
      (spec.fn === 'TIMESTAMP_TRUNC' && type === 'TIMESTAMP') ||
      (spec.fn === 'DATETIME_TRUNC' && type === 'DATETIME') ||
      (spec.fn === 'DATE_TRUNC' && type === 'DATE'));
  if (!ok) throw invalidQuery(PARTITION_EXPR_ERROR);
  return { type: spec.unit, field: f.name };
}

/**
 * Runs one DDL statement on `conn`, which must not be inside a transaction:
 * the statement opens and commits its own.
 */
export async function runDdl(conn: DuckDBConnection, catalog: Catalog, projectId: string, stmt: DdlStatement, params: BoundParams): Promise<DdlOutcome> {
  const target = stmt.target;
  const outcome = (op: DdlOutcome['ddlOperationPerformed'], rows?: number): DdlOutcome => {
    const o: DdlOutcome = { ddlOperationPerformed: op, ddlTargetTable: { projectId, datasetId: target.datasetId, tableId: target.tableId } };
    if (rows !== undefined) o.rows = rows;
    return o;
  };
  if (!catalog.hasDataset(target.datasetId)) throw notFound(`Dataset ${projectId}:${target.datasetId}`);
  const existing = catalog.findTable(target.datasetId, target.tableId);
  const fqn = `${projectId}:${target.datasetId}.${target.tableId}`;

  if (stmt.kind === 'drop') {
    if (!existing) {
      if (stmt.ifExists) return outcome('SKIP');
      throw notFound(`Table ${fqn}`);
    }
    await inTransaction(conn, async () => {
      await conn.run(`DROP TABLE ${tableSql(target)}`);
      await catalog.writeTableMeta(conn, target.datasetId, target.tableId, null);
    });
    catalog.setTableMeta(target.datasetId, target.tableId, null);
    return outcome('DROP');
  }

  if (stmt.kind === 'rename') {
    if (!existing) {
      if (stmt.ifExists) return outcome('SKIP');
      throw notFound(`Table ${fqn}`);
    }
    if (catalog.findTable(target.datasetId, stmt.newTableId)) throw duplicate(`Table ${projectId}:${target.datasetId}.${stmt.newTableId}`);
    const renamed: TableMeta = { ...existing, tableId: stmt.newTableId, lastModifiedTime: now() };
    await inTransaction(conn, async () => {
      await conn.run(`ALTER TABLE ${tableSql(target)} RENAME TO ${quoteIdent(stmt.newTableId)}`);
      await catalog.writeTableMeta(conn, target.datasetId, target.tableId, null);
      await catalog.writeTableMeta(conn, target.datasetId, stmt.newTableId, renamed);
    });
    catalog.setTableMeta(target.datasetId, target.tableId, null);
    catalog.setTableMeta(target.datasetId, stmt.newTableId, renamed);
    return outcome('ALTER');
  }

  if (existing && stmt.ifNotExists) return outcome('SKIP');
  if (existing && !stmt.orReplace) throw duplicate(`Table ${fqn}`);
  const t = now();
  let meta: TableMeta;
  let fill: { sql: string; params?: BoundParams };

  if (stmt.kind === 'copy') {
    if (!catalog.hasDataset(stmt.source.datasetId)) throw notFound(`Dataset ${projectId}:${stmt.source.datasetId}`);
    const src = catalog.findTable(stmt.source.datasetId, stmt.source.tableId);
    if (!src) throw notFound(`Table ${projectId}:${stmt.source.datasetId}.${stmt.source.tableId}`);
    meta = structuredClone({ ...src, datasetId: target.datasetId, tableId: target.tableId, creationTime: t, lastModifiedTime: t });
    applyOptions(meta, stmt.options);
    fill = { sql: `INSERT INTO ${tableSql(target)} SELECT * FROM ${tableSql(stmt.source)}` };
  } else {
    let fields: BqField[];
    if (stmt.query) {
      const prepared = await conn.prepare(params.sql ?? stmt.query.sql);
      let queryFields: BqField[];
      try {
        queryFields = [];
        for (let i = 0; i < prepared.columnCount; i++) queryFields.push(duckTypeToBqField(prepared.columnName(i), prepared.columnType(i)));
      } finally {
        prepared.destroySync();
      }
      if (stmt.columns && stmt.columns.length !== queryFields.length) {
        throw invalidQuery(`The number of columns in the column definition list does not match the number of columns produced by the query: ${stmt.columns.length} vs ${queryFields.length}`);
      }
      fields = stmt.columns ?? normalizeSchema({ fields: queryFields }, 'query').fields;
      const cols = fields.map((f) => quoteIdent(f.name)).join(', ');
      fill = { sql: `INSERT INTO ${tableSql(target)} (${cols}) SELECT * FROM (${params.sql ?? stmt.query.sql})`, params };
    } else {
      fields = stmt.columns ?? [];
      fill = { sql: '' };
    }
    meta = { datasetId: target.datasetId, tableId: target.tableId, schema: { fields }, creationTime: t, lastModifiedTime: t };
    if (stmt.partition) meta.timePartitioning = timePartitioning(stmt.partition, fields);
    if (stmt.clustering) meta.clustering = { fields: stmt.clustering };
    applyOptions(meta, stmt.options);
    if (meta.requirePartitionFilter && !meta.timePartitioning) {
      throw invalidQuery('require_partition_filter can only be set on partitioned tables');
    }
  }
  validatePartitioning(meta);
  let rows = 0;
  await inTransaction(conn, async () => {
    if (existing) await conn.run(`DROP TABLE ${tableSql(target)}`);
    await conn.run(createTableSql(target.datasetId, target.tableId, meta.schema));
    if (fill.sql) {
      const r = fill.params && fill.params.values.length > 0 ? await conn.run(fill.sql, fill.params.values, fill.params.types) : await conn.run(fill.sql);
      rows = Number(r.rowsChanged);
    }
    await catalog.writeTableMeta(conn, target.datasetId, target.tableId, meta);
  });
  catalog.setTableMeta(target.datasetId, target.tableId, meta);
  return outcome(existing ? 'REPLACE' : 'CREATE', stmt.kind === 'create' && !stmt.query ? undefined : rows);
}

/** Runs `fn` in one DuckDB transaction on `conn`; rolls back on any error. */
async function inTransaction(conn: DuckDBConnection, fn: () => Promise<void>): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await fn();
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
