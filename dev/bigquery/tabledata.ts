/**
 * tabledata.insertAll (streaming inserts) and tabledata.list.
 *
 * insertAll de-duplicates on `insertId` like BigQuery's best-effort
 * de-duplication: each table remembers the last {@link DEDUP_WINDOW} ids it
 * accepted, and a row whose id is in that window (or repeated within the same
 * request) is acknowledged but not stored again.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Catalog } from './catalog.js';
import type { Engine } from './engine.js';
import { invalid } from './errors.js';
import { insertRows } from './insertRows.js';
import { quoteIdent } from './types.js';
import { encodeRow, rowToValues, ValueError } from './values.js';
import type { TimestampFormat } from './values.js';

/** insertIds remembered per table. */
export const DEDUP_WINDOW = 100_000;
/** Default tabledata.list page size. */
const DEFAULT_LIST_ROWS = 100_000;

/** A bounded insertion-ordered set. */
class BoundedSet {
  private readonly set = new Set<string>();
  constructor(private readonly limit: number) {}
  has(v: string): boolean {
    return this.set.has(v);
  }
  add(v: string): void {
    this.set.add(v);
    if (this.set.size > this.limit) {
      const oldest = this.set.values().next().value;
      if (oldest !== undefined) this.set.delete(oldest);
    }
  }
}

interface InsertRow {
  insertId?: string;
  json?: unknown;
}

/** Streaming-insert and list operations. */
export class TableData {
  private readonly seenIds = new Map<string, BoundedSet>();
  /** Rows accepted / skipped as duplicates (for stats). */
  readonly counters = { rowsInserted: 0, rowsDeduplicated: 0 };

  constructor(
    private readonly engine: Engine,
    private readonly catalog: Catalog,
  ) {}

  /** tabledata.insertAll */
  async insertAll(projectId: string, datasetId: string, tableId: string, body: Record<string, unknown>): Promise<unknown> {
    const table = this.catalog.requireTable(projectId, datasetId, tableId);
    if (body.templateSuffix) throw invalid('Unsupported by the local BigQuery endpoint: templateSuffix', 'templateSuffix');
    const rows = body.rows;
    if (!Array.isArray(rows)) throw invalid('No rows present in the request.', 'rows');
    const skipInvalid = body.skipInvalidRows === true;
    const ignoreUnknown = body.ignoreUnknownValues === true;
    const fields = table.schema.fields;
    const key = `${datasetId}.${tableId}`;

    const converted: { index: number; insertId?: string; values: DuckDBValue[] }[] = [];
    const insertErrors: { index: number; errors: Record<string, string>[] }[] = [];
    (rows as InsertRow[]).forEach((row, index) => {
      try {
        const values = rowToValues(fields, row?.json, { ignoreUnknownValues: ignoreUnknown });
        const entry: { index: number; insertId?: string; values: DuckDBValue[] } = { index, values };
        if (typeof row?.insertId === 'string' && row.insertId !== '') entry.insertId = row.insertId;
        converted.push(entry);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        insertErrors.push({ index, errors: [{ reason: 'invalid', location: err.location, debugInfo: '', message: err.message }] });
      }
    });

    // Without skipInvalidRows one bad row fails the whole request; the good rows report `stopped`.
    if (insertErrors.length > 0 && !skipInvalid) {
      for (const c of converted) insertErrors.push({ index: c.index, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] });
      insertErrors.sort((a, b) => a.index - b.index);
      return { kind: 'bigquery#tableDataInsertAllResponse', insertErrors };
    }

    await this.engine.withLocks([key], async () => {
      let seen = this.seenIds.get(key);
      if (!seen) {
        seen = new BoundedSet(DEDUP_WINDOW);
        this.seenIds.set(key, seen);
      }
      const seenSet = seen;
      const batchIds = new Set<string>();
      const fresh = converted.filter((c) => {
        if (c.insertId === undefined) return true;
        if (seenSet.has(c.insertId) || batchIds.has(c.insertId)) {
          this.counters.rowsDeduplicated++;
          return false;
        }
        batchIds.add(c.insertId);
        return true;
      });
      if (fresh.length === 0 || fields.length === 0) return;
      await this.engine.with(async (conn) => {
        await conn.run('BEGIN TRANSACTION');
        try {
          await insertRows(conn, datasetId, tableId, fields, fresh.map((row) => row.values));
          await conn.run('COMMIT');
        } catch (err) {
          await conn.run('ROLLBACK');
          throw err;
        }
      });
      // Only ids of committed rows count as seen, so a retry after a failure is not swallowed.
      for (const id of batchIds) seenSet.add(id);
      this.counters.rowsInserted += fresh.length;
      this.catalog.touch(datasetId, tableId);
    });

    const out: Record<string, unknown> = { kind: 'bigquery#tableDataInsertAllResponse' };
    if (insertErrors.length > 0) out.insertErrors = insertErrors;
    return out;
  }

  /** tabledata.list */
  async list(projectId: string, datasetId: string, tableId: string, qs: URLSearchParams): Promise<unknown> {
    const table = this.catalog.requireTable(projectId, datasetId, tableId);
    let fields = table.schema.fields;
    const selected = qs.get('selectedFields');
    if (selected) {
      const names = selected.split(',').map((s) => s.trim()).filter(Boolean);
      if (names.some((n) => n.includes('.'))) throw invalid('Unsupported by the local BigQuery endpoint: nested selectedFields', 'selectedFields');
      const wanted = new Set(names.map((n) => n.toLowerCase()));
      for (const n of wanted) if (!fields.some((f) => f.name.toLowerCase() === n)) throw invalid(`Invalid field selection ${n}`, 'selectedFields');
      fields = fields.filter((f) => wanted.has(f.name.toLowerCase()));
    }
    const pageToken = qs.get('pageToken');
    const start = pageToken ? decodeListToken(pageToken) : Math.max(0, Number(qs.get('startIndex') ?? 0) || 0);
    const maxResults = Number(qs.get('maxResults') ?? 0);
    const size = maxResults > 0 ? maxResults : DEFAULT_LIST_ROWS;
    const format = listTimestampFormat(qs);
    const { rows, total } = await this.engine.with(async (conn) => {
      const countReader = await conn.runAndReadAll(`SELECT count(*) FROM ${quoteIdent(datasetId)}.${quoteIdent(tableId)}`);
      const total = Number(countReader.getRows()[0]?.[0] ?? 0);
      if (fields.length === 0) return { rows: [] as DuckDBValue[][], total };
      // rowid keeps insertion order stable across pages.
      const reader = await conn.runAndReadAll(
        `SELECT ${fields.map((f) => quoteIdent(f.name)).join(', ')} FROM ${quoteIdent(datasetId)}.${quoteIdent(tableId)} ORDER BY rowid LIMIT ${size} OFFSET ${start}`,
      );
      return { rows: reader.getRows(), total };
    });
    const out: Record<string, unknown> = {
      kind: 'bigquery#tableDataList',
      etag: Buffer.from(`${table.lastModifiedTime}:${start}`).toString('base64'),
      totalRows: String(total),
      rows: rows.map((r) => encodeRow(fields, r, { timestampFormat: format })),
    };
    if (start + size < total) out.pageToken = Buffer.from(`o:${start + size}`).toString('base64url');
    return out;
  }
}

function decodeListToken(token: string): number {
  const m = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  if (!m) throw invalid(`Invalid page token: ${token}`, 'pageToken');
  return Number(m[1]);
}

function listTimestampFormat(qs: URLSearchParams): TimestampFormat {
  const explicit = qs.get('formatOptions.timestampOutputFormat');
  if (explicit === 'ISO8601_STRING') return 'iso';
  if (explicit === 'INT64') return 'int64';
  if (explicit === 'FLOAT64') return 'float';
  return qs.get('formatOptions.useInt64Timestamp') === 'true' ? 'int64' : 'float';
}
