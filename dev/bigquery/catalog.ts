/**
 * Datasets and tables: BigQuery metadata on top of DuckDB schemas/tables.
 *
 * A dataset is a DuckDB schema and a table a DuckDB table, but BigQuery
 * metadata DuckDB has no place for (labels, descriptions, partitioning,
 * clustering, original field types such as GEOGRAPHY, timestamps) lives in
 * one metadata table inside the same database file, so a persistent
 * `--data` file keeps it across restarts. An in-memory copy serves reads.
 */
import { createHash } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Engine } from './engine.js';
import { BigQueryApiError, duplicate, invalid, notFound } from './errors.js';
import { canonicalType, fieldDdl, normalizeSchema, quoteIdent } from './types.js';
import type { BqField, BqSchema } from './types.js';

const META_SCHEMA = '__bq_local_meta';
const META_TABLE = `${quoteIdent(META_SCHEMA)}.resources`;

/** Stored dataset metadata (project-independent). */
export interface DatasetMeta {
  datasetId: string;
  friendlyName?: string;
  description?: string;
  labels?: Record<string, string>;
  defaultTableExpirationMs?: string;
  defaultPartitionExpirationMs?: string;
  location: string;
  creationTime: string;
  lastModifiedTime: string;
}

/** Stored table metadata. */
export interface TableMeta {
  datasetId: string;
  tableId: string;
  schema: BqSchema;
  friendlyName?: string;
  description?: string;
  labels?: Record<string, string>;
  timePartitioning?: { type: string; field?: string; expirationMs?: string; requirePartitionFilter?: boolean };
  rangePartitioning?: unknown;
  clustering?: { fields: string[] };
  requirePartitionFilter?: boolean;
  expirationTime?: string;
  creationTime: string;
  lastModifiedTime: string;
}

/** Page of a list call. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

const ID_RE = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE_ID_RE = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u;

/** Milliseconds since the epoch as BigQuery's string timestamps. */
export function now(): string {
  return String(Date.now());
}

function etagOf(value: unknown): string {
  return createHash('md5').update(JSON.stringify(value)).digest('base64');
}

function pageOf<T>(all: T[], maxResults: number | undefined, pageToken: string | undefined): Page<T> {
  const start = pageToken ? Number(Buffer.from(pageToken, 'base64url').toString()) || 0 : 0;
  const size = maxResults && maxResults > 0 ? maxResults : 50;
  const items = all.slice(start, start + size);
  const page: Page<T> = { items };
  if (start + size < all.length) page.nextPageToken = Buffer.from(String(start + size)).toString('base64url');
  return page;
}

/** Validates labels (null values dropped). */
export function cleanLabels(labels: unknown): Record<string, string> | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object') throw invalid('labels must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (!/^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u.test(k)) throw invalid(`Invalid label key: ${k}`, 'labels');
    out[k] = scalarText(v);
  }
  return out;
}

/** Merges label patches like BigQuery: a null value removes the key. */
function mergeLabels(current: Record<string, string> | undefined, patch: unknown): Record<string, string> | undefined {
  if (patch === undefined) return current;
  if (patch === null) return undefined;
  const out: Record<string, string> = { ...(current ?? {}) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
  }
  return { ...out, ...(cleanLabels(patch) ?? {}) };
}

/** The catalog of datasets and tables. */
export class Catalog {
  private readonly datasets = new Map<string, DatasetMeta>();
  private readonly tables = new Map<string, TableMeta>();

  private constructor(
    private readonly engine: Engine,
    private readonly baseUrl: () => string,
  ) {}

  /** Loads (creating if needed) the metadata table. */
  static async open(engine: Engine, baseUrl: () => string): Promise<Catalog> {
    const catalog = new Catalog(engine, baseUrl);
    await engine.with(async (conn) => {
      await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(META_SCHEMA)}`);
      await conn.run(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (kind VARCHAR, dataset VARCHAR, name VARCHAR, body VARCHAR, PRIMARY KEY (kind, dataset, name))`);
      const reader = await conn.runAndReadAll(`SELECT kind, body FROM ${META_TABLE}`);
      for (const [kind, body] of reader.getRows() as [string, string][]) {
        const parsed: unknown = JSON.parse(body);
        if (kind === 'dataset') {
          const d = parsed as DatasetMeta;
          catalog.datasets.set(d.datasetId, d);
        } else {
          const t = parsed as TableMeta;
          catalog.tables.set(`${t.datasetId}.${t.tableId}`, t);
        }
      }
    });
    return catalog;
  }

  private async persist(kind: 'dataset' | 'table', dataset: string, name: string, body: unknown): Promise<void> {
    await this.engine.with(async (conn) => {
      await conn.run(`DELETE FROM ${META_TABLE} WHERE kind = $1 AND dataset = $2 AND name = $3`, [kind, dataset, name]);
      if (body !== null) await conn.run(`INSERT INTO ${META_TABLE} VALUES ($1, $2, $3, $4)`, [kind, dataset, name, JSON.stringify(body)]);
    });
  }

  // ---------------------------------------------------------------- datasets

  /** Dataset metadata or 404 `Not found: Dataset p:d`. */
  requireDataset(projectId: string, datasetId: string): DatasetMeta {
    const d = this.datasets.get(datasetId);
    if (!d) throw notFound(`Dataset ${projectId}:${datasetId}`);
    return d;
  }

  /** datasets.insert */
  async createDataset(projectId: string, body: Record<string, unknown>): Promise<unknown> {
    const ref = (body.datasetReference ?? {}) as { datasetId?: string };
    const datasetId = ref.datasetId;
    if (!datasetId || !ID_RE.test(datasetId)) throw invalid(`Invalid dataset ID "${String(datasetId)}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`);
    if (datasetId === META_SCHEMA || datasetId.toLowerCase() === 'main') throw invalid(`Dataset ID "${datasetId}" is reserved by the local endpoint`);
    if (this.datasets.has(datasetId)) throw duplicate(`Dataset ${projectId}:${datasetId}`);
    const t = now();
    const meta: DatasetMeta = { datasetId, location: typeof body.location === 'string' ? body.location : 'US', creationTime: t, lastModifiedTime: t };
    if (typeof body.friendlyName === 'string') meta.friendlyName = body.friendlyName;
    if (typeof body.description === 'string') meta.description = body.description;
    const labels = cleanLabels(body.labels);
    if (labels) meta.labels = labels;
    if (body.defaultTableExpirationMs !== undefined) meta.defaultTableExpirationMs = scalarText(body.defaultTableExpirationMs);
    if (body.defaultPartitionExpirationMs !== undefined) meta.defaultPartitionExpirationMs = scalarText(body.defaultPartitionExpirationMs);
    await this.engine.with((conn) => conn.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(datasetId)}`));
    this.datasets.set(datasetId, meta);
    await this.persist('dataset', datasetId, '', meta);
    return this.datasetResource(projectId, meta);
  }

  /** datasets.get */
  getDataset(projectId: string, datasetId: string): unknown {
    return this.datasetResource(projectId, this.requireDataset(projectId, datasetId));
  }

  /** datasets.list */
  listDatasets(projectId: string, q: { maxResults?: number; pageToken?: string; filter?: string }): unknown {
    let all = [...this.datasets.values()].sort((a, b) => a.datasetId.localeCompare(b.datasetId));
    if (q.filter) all = all.filter((d) => matchesLabelFilter(d.labels, q.filter as string));
    const page = pageOf(all, q.maxResults, q.pageToken);
    const out: Record<string, unknown> = {
      kind: 'bigquery#datasetList',
      etag: etagOf(page.items),
      datasets: page.items.map((d) => ({
        kind: 'bigquery#dataset',
        id: `${projectId}:${d.datasetId}`,
        datasetReference: { datasetId: d.datasetId, projectId },
        labels: d.labels,
        friendlyName: d.friendlyName,
        location: d.location,
      })),
    };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /** datasets.patch (merge) / datasets.update (replace). */
  async patchDataset(projectId: string, datasetId: string, body: Record<string, unknown>, replace: boolean): Promise<unknown> {
    const cur = this.requireDataset(projectId, datasetId);
    const next: DatasetMeta = replace
      ? { datasetId, location: cur.location, creationTime: cur.creationTime, lastModifiedTime: now() }
      : { ...cur, lastModifiedTime: now() };
    if ('friendlyName' in body) setOrDelete(next, 'friendlyName', body.friendlyName);
    if ('description' in body) setOrDelete(next, 'description', body.description);
    if ('labels' in body) {
      const labels = replace ? cleanLabels(body.labels) : mergeLabels(cur.labels, body.labels);
      if (labels && Object.keys(labels).length > 0) next.labels = labels;
      else delete next.labels;
    }
    if ('defaultTableExpirationMs' in body) setOrDelete(next, 'defaultTableExpirationMs', body.defaultTableExpirationMs === null ? null : scalarText(body.defaultTableExpirationMs));
    this.datasets.set(datasetId, next);
    await this.persist('dataset', datasetId, '', next);
    return this.datasetResource(projectId, next);
  }

  /** datasets.delete */
  async deleteDataset(projectId: string, datasetId: string, deleteContents: boolean): Promise<void> {
    this.requireDataset(projectId, datasetId);
    const tables = [...this.tables.values()].filter((t) => t.datasetId === datasetId);
    if (tables.length > 0 && !deleteContents) {
      throw new BigQueryApiError(400, 'resourceInUse', `Dataset ${projectId}:${datasetId} is still in use`);
    }
    await this.engine.with((conn) => conn.run(`DROP SCHEMA IF EXISTS ${quoteIdent(datasetId)} CASCADE`));
    for (const t of tables) {
      this.tables.delete(`${t.datasetId}.${t.tableId}`);
      await this.persist('table', datasetId, t.tableId, null);
    }
    this.datasets.delete(datasetId);
    await this.persist('dataset', datasetId, '', null);
  }

  private datasetResource(projectId: string, d: DatasetMeta): unknown {
    const body: Record<string, unknown> = {
      kind: 'bigquery#dataset',
      id: `${projectId}:${d.datasetId}`,
      selfLink: `${this.baseUrl()}/bigquery/v2/projects/${projectId}/datasets/${d.datasetId}`,
      datasetReference: { datasetId: d.datasetId, projectId },
      friendlyName: d.friendlyName,
      description: d.description,
      labels: d.labels,
      defaultTableExpirationMs: d.defaultTableExpirationMs,
      defaultPartitionExpirationMs: d.defaultPartitionExpirationMs,
      access: [],
      creationTime: d.creationTime,
      lastModifiedTime: d.lastModifiedTime,
      location: d.location,
      type: 'DEFAULT',
    };
    body.etag = etagOf(body);
    return stripUndefined(body);
  }

  // ---------------------------------------------------------------- tables

  /** Table metadata or 404 `Not found: Table p:d.t`. */
  requireTable(projectId: string, datasetId: string, tableId: string): TableMeta {
    this.requireDataset(projectId, datasetId);
    const t = this.tables.get(`${datasetId}.${tableId}`);
    if (!t) throw notFound(`Table ${projectId}:${datasetId}.${tableId}`);
    return t;
  }

  /** Table metadata or undefined. */
  findTable(datasetId: string, tableId: string): TableMeta | undefined {
    return this.tables.get(`${datasetId}.${tableId}`);
  }

  /** True when the dataset exists. */
  hasDataset(datasetId: string): boolean {
    return this.datasets.has(datasetId);
  }

  /** tables.insert */
  async createTable(projectId: string, datasetId: string, body: Record<string, unknown>): Promise<unknown> {
    this.requireDataset(projectId, datasetId);
    const ref = (body.tableReference ?? {}) as { tableId?: string };
    const tableId = ref.tableId;
    if (!tableId || !TABLE_ID_RE.test(tableId)) throw invalid(`Invalid table ID "${String(tableId)}".`);
    if (body.view || body.materializedView || body.externalDataConfiguration) {
      throw invalid('Unsupported by the local BigQuery endpoint: views, materialized views and external tables');
    }
    if (this.tables.has(`${datasetId}.${tableId}`)) throw duplicate(`Table ${projectId}:${datasetId}.${tableId}`);
    const schema = normalizeSchema(body.schema as BqSchema | undefined);
    const t = now();
    const meta: TableMeta = { datasetId, tableId, schema, creationTime: t, lastModifiedTime: t };
    this.applyTableFields(meta, body, false);
    validatePartitioning(meta);
    await this.engine.with((conn) => conn.run(createTableSql(datasetId, tableId, schema)));
    this.tables.set(`${datasetId}.${tableId}`, meta);
    await this.persist('table', datasetId, tableId, meta);
    return this.tableResource(projectId, meta);
  }

  /** Applies a table resource's optional fields (description, labels, partitioning, clustering, …) to `meta` (tables.insert/patch, load jobs). */
  applyTableFields(meta: TableMeta, body: Record<string, unknown>, replace: boolean): void {
    for (const key of ['friendlyName', 'description'] as const) {
      if (key in body) setOrDelete(meta, key, body[key]);
    }
    if ('labels' in body) {
      const labels = replace ? cleanLabels(body.labels) : mergeLabels(meta.labels, body.labels);
      if (labels && Object.keys(labels).length > 0) meta.labels = labels;
      else delete meta.labels;
    }
    if ('timePartitioning' in body) {
      const tp = body.timePartitioning as TableMeta['timePartitioning'] | null;
      if (tp) {
        const out: NonNullable<TableMeta['timePartitioning']> = { type: String(tp.type ?? 'DAY').toUpperCase() };
        if (tp.field) out.field = tp.field;
        if (tp.expirationMs !== undefined && tp.expirationMs !== null) out.expirationMs = String(tp.expirationMs);
        if (tp.requirePartitionFilter !== undefined) out.requirePartitionFilter = tp.requirePartitionFilter;
        meta.timePartitioning = out;
      } else delete meta.timePartitioning;
    }
    if ('rangePartitioning' in body) setOrDelete(meta, 'rangePartitioning', body.rangePartitioning);
    if ('clustering' in body) {
      const c = body.clustering as { fields?: string[] } | null;
      if (c && Array.isArray(c.fields) && c.fields.length > 0) meta.clustering = { fields: [...c.fields] };
      else delete meta.clustering;
    }
    if ('requirePartitionFilter' in body) setOrDelete(meta, 'requirePartitionFilter', body.requirePartitionFilter);
    if ('expirationTime' in body) setOrDelete(meta, 'expirationTime', body.expirationTime === null ? null : scalarText(body.expirationTime));
  }

  /** tables.get */
  async getTable(projectId: string, datasetId: string, tableId: string): Promise<unknown> {
    return this.tableResource(projectId, this.requireTable(projectId, datasetId, tableId));
  }

  /** tables.list */
  listTables(projectId: string, datasetId: string, q: { maxResults?: number; pageToken?: string }): unknown {
    this.requireDataset(projectId, datasetId);
    const all = [...this.tables.values()].filter((t) => t.datasetId === datasetId).sort((a, b) => a.tableId.localeCompare(b.tableId));
    const page = pageOf(all, q.maxResults, q.pageToken);
    const out: Record<string, unknown> = {
      kind: 'bigquery#tableList',
      etag: etagOf(page.items),
      totalItems: all.length,
      tables: page.items.map((t) =>
        stripUndefined({
          kind: 'bigquery#table',
          id: `${projectId}:${t.datasetId}.${t.tableId}`,
          tableReference: { projectId, datasetId: t.datasetId, tableId: t.tableId },
          type: 'TABLE',
          friendlyName: t.friendlyName,
          labels: t.labels,
          timePartitioning: t.timePartitioning,
          clustering: t.clustering,
          creationTime: t.creationTime,
          expirationTime: t.expirationTime,
        }),
      ),
    };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    return out;
  }

  /** tables.patch (merge) / tables.update (replace). Schema changes may only add columns or relax REQUIRED. */
  async patchTable(projectId: string, datasetId: string, tableId: string, body: Record<string, unknown>, replace: boolean): Promise<unknown> {
    const cur = this.requireTable(projectId, datasetId, tableId);
    const next: TableMeta = replace
      ? { datasetId, tableId, schema: cur.schema, creationTime: cur.creationTime, lastModifiedTime: now() }
      : { ...cur, lastModifiedTime: now() };
    if (replace) {
      // PUT keeps partitioning/clustering unless given (they cannot be dropped in BigQuery either).
      if (cur.timePartitioning) next.timePartitioning = cur.timePartitioning;
      if (cur.clustering) next.clustering = cur.clustering;
    }
    this.applyTableFields(next, body, replace);
    const ddl: string[] = [];
    if (body.schema) {
      const newSchema = normalizeSchema(body.schema as BqSchema);
      ddl.push(...schemaChanges(projectId, cur, newSchema));
      next.schema = newSchema;
    }
    validatePartitioning(next);
    if (ddl.length > 0) {
      await this.engine.withLocks([`${datasetId}.${tableId}`], () =>
        this.engine.with(async (conn) => {
          for (const stmt of ddl) await conn.run(stmt);
        }),
      );
    }
    this.tables.set(`${datasetId}.${tableId}`, next);
    await this.persist('table', datasetId, tableId, next);
    return this.tableResource(projectId, next);
  }

  /** tables.delete */
  async deleteTable(projectId: string, datasetId: string, tableId: string): Promise<void> {
    this.requireTable(projectId, datasetId, tableId);
    await this.engine.withLocks([`${datasetId}.${tableId}`], () =>
      this.engine.with((conn) => conn.run(`DROP TABLE IF EXISTS ${quoteIdent(datasetId)}.${quoteIdent(tableId)}`)),
    );
    this.tables.delete(`${datasetId}.${tableId}`);
    await this.persist('table', datasetId, tableId, null);
  }

  /**
   * Writes (or with `null` removes) a table's metadata row on `conn`, inside the
   * caller's DuckDB transaction, so DDL and its metadata commit or roll back
   * together. Call {@link setTableMeta} once the transaction has committed.
   */
  async writeTableMeta(conn: DuckDBConnection, datasetId: string, tableId: string, meta: TableMeta | null): Promise<void> {
    await conn.run(`DELETE FROM ${META_TABLE} WHERE kind = 'table' AND dataset = $1 AND name = $2`, [datasetId, tableId]);
    if (meta) await conn.run(`INSERT INTO ${META_TABLE} VALUES ('table', $1, $2, $3)`, [datasetId, tableId, JSON.stringify(meta)]);
  }

  /** Makes committed table metadata (from {@link writeTableMeta}) visible; `null` forgets the table. */
  setTableMeta(datasetId: string, tableId: string, meta: TableMeta | null): void {
    if (meta) this.tables.set(`${datasetId}.${tableId}`, meta);
    else this.tables.delete(`${datasetId}.${tableId}`);
  }

  /** Records a data change (insertAll / DML) for `lastModifiedTime`. */
  touch(datasetId: string, tableId: string): void {
    const t = this.tables.get(`${datasetId}.${tableId}`);
    if (t) t.lastModifiedTime = now();
  }

  /** Current row count of a table. */
  async rowCount(datasetId: string, tableId: string): Promise<number> {
    return this.engine.with(async (conn) => {
      const r = await conn.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(datasetId)}.${quoteIdent(tableId)}`);
      return Number(r.getRows()[0]?.[0] ?? 0);
    });
  }

  private async tableResource(projectId: string, t: TableMeta): Promise<unknown> {
    const numRows = await this.rowCount(t.datasetId, t.tableId);
    const body: Record<string, unknown> = {
      kind: 'bigquery#table',
      id: `${projectId}:${t.datasetId}.${t.tableId}`,
      selfLink: `${this.baseUrl()}/bigquery/v2/projects/${projectId}/datasets/${t.datasetId}/tables/${t.tableId}`,
      tableReference: { projectId, datasetId: t.datasetId, tableId: t.tableId },
      schema: t.schema,
      friendlyName: t.friendlyName,
      description: t.description,
      labels: t.labels,
      timePartitioning: t.timePartitioning,
      rangePartitioning: t.rangePartitioning,
      clustering: t.clustering,
      requirePartitionFilter: t.requirePartitionFilter,
      expirationTime: t.expirationTime,
      numRows: String(numRows),
      numBytes: '0',
      numLongTermBytes: '0',
      creationTime: t.creationTime,
      lastModifiedTime: t.lastModifiedTime,
      type: 'TABLE',
      location: this.datasets.get(t.datasetId)?.location ?? 'US',
    };
    body.etag = etagOf(body);
    return stripUndefined(body);
  }
}

/** DDL for an allowed schema change; throws `invalid` for removals / type changes like BigQuery. */
function schemaChanges(projectId: string, cur: TableMeta, next: BqSchema): string[] {
  const table = `${quoteIdent(cur.datasetId)}.${quoteIdent(cur.tableId)}`;
  const ddl: string[] = [];
  const byName = new Map(next.fields.map((f) => [f.name.toLowerCase(), f]));
  for (const old of cur.schema.fields) {
    const nf = byName.get(old.name.toLowerCase());
    if (!nf) throw invalid(`Provided Schema does not match Table ${projectId}:${cur.datasetId}.${cur.tableId}. Cannot add fields (field: ${old.name}) — a field is missing`, 'schema');
    if (fieldDdl(nf) !== fieldDdl(old)) {
      if (canonicalType(nf.type) === 'RECORD' && canonicalType(old.type) === 'RECORD' && nf.mode === old.mode) {
        throw invalid(`Unsupported by the local BigQuery endpoint: changing the nested fields of RECORD ${old.name}`, 'schema');
      }
      throw invalid(`Provided Schema does not match Table ${projectId}:${cur.datasetId}.${cur.tableId}. Field ${old.name} has changed type from ${old.type} to ${nf.type}`, 'schema');
    }
    if (old.mode === 'REQUIRED' && nf.mode === 'NULLABLE') ddl.push(`ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(old.name)} DROP NOT NULL`);
    else if (old.mode !== nf.mode) throw invalid(`Provided Schema does not match Table ${projectId}:${cur.datasetId}.${cur.tableId}. Field ${old.name} has changed mode from ${old.mode} to ${nf.mode}`, 'schema');
  }
  const existing = new Set(cur.schema.fields.map((f) => f.name.toLowerCase()));
  for (const f of next.fields) {
    if (existing.has(f.name.toLowerCase())) continue;
    if (f.mode === 'REQUIRED') throw invalid(`Provided Schema does not match Table ${projectId}:${cur.datasetId}.${cur.tableId}. Cannot add required fields to an existing schema. (field: ${f.name})`, 'schema');
    ddl.push(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(f.name)} ${fieldDdl(f)}`);
  }
  return ddl;
}

/** Validates partitioning and clustering against the schema (tables.insert/patch and DDL). */
export function validatePartitioning(meta: TableMeta): void {
  const tp = meta.timePartitioning;
  if (tp) {
    if (!['DAY', 'HOUR', 'MONTH', 'YEAR'].includes(tp.type)) throw invalid(`Invalid timePartitioning.type: ${tp.type}`, 'timePartitioning');
    if (tp.field) {
      const f = meta.schema.fields.find((x: BqField) => x.name.toLowerCase() === tp.field?.toLowerCase());
      if (!f) throw invalid(`The field specified for time partitioning can only be found in the top-level fields; ${tp.field} was not found in the schema`, 'timePartitioning.field');
      if (!['DATE', 'TIMESTAMP', 'DATETIME'].includes(canonicalType(f.type)) || f.mode === 'REPEATED') {
        throw invalid(`The field specified for time partitioning can only be of type TIMESTAMP, DATE or DATETIME. The type found is: ${f.type}.`, 'timePartitioning.field');
      }
    }
  }
  if (meta.clustering) {
    if (meta.clustering.fields.length > 4) throw invalid('Too many clustering fields: at most 4 are allowed', 'clustering.fields');
    for (const name of meta.clustering.fields) {
      const f = meta.schema.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
      if (!f) throw invalid(`The field specified for clustering cannot be found in the schema. Invalid field: ${name}.`, 'clustering.fields');
      if (f.mode === 'REPEATED' || ['RECORD', 'FLOAT', 'JSON'].includes(canonicalType(f.type))) {
        throw invalid(`Field ${name} is of type ${f.type}${f.mode === 'REPEATED' ? ' (REPEATED)' : ''} which is not supported for clustering.`, 'clustering.fields');
      }
    }
  }
}

/** DuckDB `CREATE TABLE` for a BigQuery schema (REQUIRED → NOT NULL). */
export function createTableSql(datasetId: string, tableId: string, schema: BqSchema): string {
  const cols = schema.fields.map((f) => `${quoteIdent(f.name)} ${fieldDdl(f)}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`);
  return `CREATE TABLE ${quoteIdent(datasetId)}.${quoteIdent(tableId)} (${cols.length ? cols.join(', ') : '"__no_columns" BOOLEAN'})`;
}

/** `labels.key:value` / `labels.key` filters of datasets.list. */
function matchesLabelFilter(labels: Record<string, string> | undefined, filter: string): boolean {
  return filter
    .split(/\s+/)
    .filter(Boolean)
    .every((term) => {
      const m = /^labels\.([^:]+)(?::(.*))?$/.exec(term);
      if (!m) return true;
      const v = labels?.[m[1] as string];
      return m[2] === undefined ? v !== undefined : v === m[2];
    });
}

function setOrDelete<T extends object>(obj: T, key: keyof T, value: unknown): void {
  if (value === null || value === undefined) delete obj[key];
  else (obj as Record<string, unknown>)[key as string] = value;
}

/** Text of a scalar JSON value (numbers and strings both arrive for int64 fields). */
function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : JSON.stringify(v);
}

/** Drops `undefined` keys so responses stay tidy. */
export function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
